//! One sentence for a moderator: what a verdict rests on, and what it does not prove. Beside
//! [`crate::verdict::decide`], which picks the verdict; this only words it, choosing the most
//! specific evidence when several layers agree.

use crate::verdict::{Evidence, Finding, Layer, Trust, Verdict, REGISTRY_AMBIGUOUS};

/// What the sentence is made from: the decided verdict, the evidence behind it, and what the
/// C2PA layer said about the signer.
#[derive(Debug, Clone, Copy)]
pub struct Grounds<'a> {
    pub verdict: Verdict,
    pub evidence: &'a [Evidence],
    /// The signer's common name (or its issuer's), when credentials were read.
    pub signer: Option<&'a str>,
    pub trust: Option<Trust>,
    /// Why the file could not be checked (verdict `error`).
    pub error: Option<&'a str>,
}

/// The explanation of a verdict.
pub fn explain(grounds: Grounds<'_>) -> String {
    match grounds.verdict {
        Verdict::LabelledAi => {
            let who = grounds.signer.unwrap_or("an unnamed signer");
            let trust = match grounds.trust {
                Some(Trust::Trusted) => "a trusted signer",
                Some(Trust::Expired) => "a signer whose certificate has expired",
                Some(Trust::Revoked) => "a revoked signer",
                _ => "a signer not on the configured trust list",
            };
            format!("Signed C2PA credentials from {who} ({trust}) declare this image AI-generated, and they verify.")
        }
        Verdict::UnlabelledAi => unlabelled(strongest_unsigned_ai(grounds.evidence)),
        Verdict::Tampered => {
            let cause = grounds
                .evidence
                .iter()
                .find(|e| e.is_integrity_failure())
                .map(|e| e.code.clone().unwrap_or_else(|| e.detail.clone()))
                .unwrap_or_default();
            format!("It carries C2PA credentials that fail verification ({cause}), so its label cannot be relied on.")
        }
        Verdict::NoSignal => "No machine-readable AI label or generator trace was found; that does not prove the image is not AI-generated.".to_string(),
        Verdict::Error => format!(
            "The file could not be checked: {}.",
            grounds.error.unwrap_or("unknown reason")
        ),
    }
}

/// The most specific unsigned AI evidence: the registry's recovered credentials, then our own
/// watermark, then the first of the rest.
fn strongest_unsigned_ai(evidence: &[Evidence]) -> Option<&Evidence> {
    evidence
        .iter()
        .filter(|e| e.is_unsigned_ai_evidence())
        .min_by_key(|e| match e.finding {
            Finding::RegistryMatch => 0,
            Finding::Watermark => 1,
            _ => 2,
        })
}

fn unlabelled(strongest: Option<&Evidence>) -> String {
    let value = |e: &Evidence| e.value.clone().unwrap_or_else(|| e.detail.clone());
    let ending = "but no valid signed label declares it.";
    match strongest {
        Some(e) if e.layer == Layer::StealthMetadata => format!(
            "Metadata hidden in its pixels shows it was made with AI ({}), {ending}",
            value(e)
        ),
        Some(e)
            if e.finding == Finding::RegistryMatch
                && e.code.as_deref() == Some(REGISTRY_AMBIGUOUS) =>
        {
            format!(
                "It matches images this provider stamped as AI-generated, though not one entry for certain ({}); and no valid signed label is embedded in it.",
                e.detail
            )
        }
        Some(e) if e.finding == Finding::RegistryMatch => format!(
            "It matches an image this provider stamped as AI-generated: {}; but no valid signed label is embedded in it.",
            e.detail
        ),
        Some(e) if e.finding == Finding::Watermark => format!(
            "An imperceptible synthmark watermark in its pixels (asset id {}) shows it was AI-generated and labelled, but the label was stripped: no valid signed label declares it.",
            value(e)
        ),
        Some(e) if e.layer == Layer::Watermark => format!(
            "A generator's invisible watermark in its pixels shows it was made with AI ({}), {ending}",
            value(e)
        ),
        Some(e) if e.layer == Layer::GeneratorMetadata => format!(
            "Its generator metadata shows it was made with AI ({}), {ending}",
            value(e)
        ),
        Some(e) => format!(
            "Its unsigned IPTC/XMP metadata declares it AI-generated ({}), {ending}",
            crate::source_type::code(&value(e))
        ),
        None => format!("Unsigned metadata shows AI involvement, {ending}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source_type::TRAINED_ALGORITHMIC_MEDIA;

    fn grounds(verdict: Verdict, evidence: &[Evidence]) -> Grounds<'_> {
        Grounds {
            verdict,
            evidence,
            signer: None,
            trust: None,
            error: None,
        }
    }

    fn xmp_ai() -> Evidence {
        Evidence::new(
            Layer::Xmp,
            Finding::AiSourceType,
            "IPTC digital source type",
        )
        .with_value(TRAINED_ALGORITHMIC_MEDIA)
    }

    fn watermark(id: &str) -> Evidence {
        Evidence::new(Layer::Watermark, Finding::Watermark, "synthmark watermark").with_value(id)
    }

    fn registry_match(detail: &str) -> Evidence {
        Evidence::new(Layer::Registry, Finding::RegistryMatch, detail)
    }

    #[test]
    fn a_labelled_image_names_its_signer_and_how_far_it_is_trusted() {
        let mut g = grounds(Verdict::LabelledAi, &[]);
        g.signer = Some("Example Diffusion");
        g.trust = Some(Trust::Trusted);
        assert_eq!(
            explain(g),
            "Signed C2PA credentials from Example Diffusion (a trusted signer) declare this image AI-generated, and they verify."
        );
        g.signer = None;
        g.trust = Some(Trust::Untrusted);
        assert!(explain(g)
            .contains("from an unnamed signer (a signer not on the configured trust list)"));
        g.trust = Some(Trust::Expired);
        assert!(explain(g).contains("whose certificate has expired"));
    }

    #[test]
    fn an_unlabelled_image_is_explained_by_its_most_specific_evidence() {
        // The registry outranks the watermark, which outranks metadata, whatever the order.
        let all = [
            xmp_ai(),
            watermark("00000000ab"),
            registry_match("entry 7, by watermark asset id"),
        ];
        assert!(explain(grounds(Verdict::UnlabelledAi, &all))
            .starts_with("It matches an image this provider stamped as AI-generated: entry 7"));
        let without_registry = [xmp_ai(), watermark("00000000ab")];
        assert!(explain(grounds(Verdict::UnlabelledAi, &without_registry))
            .contains("synthmark watermark in its pixels (asset id 00000000ab)"));
        assert!(
            explain(grounds(Verdict::UnlabelledAi, &[xmp_ai()])).contains(
                "unsigned IPTC/XMP metadata declares it AI-generated (trainedAlgorithmicMedia)"
            )
        );
    }

    #[test]
    fn an_ambiguous_registry_match_says_it_is_not_certain() {
        let ambiguous =
            [registry_match("3 entries share asset id 00000000ab").with_code(REGISTRY_AMBIGUOUS)];
        assert!(explain(grounds(Verdict::UnlabelledAi, &ambiguous))
            .contains("though not one entry for certain (3 entries share"));
    }

    #[test]
    fn generator_marks_metadata_and_stealth_metadata_are_named_as_such() {
        let generator_mark = [Evidence::new(
            Layer::Watermark,
            Finding::GeneratorTrace,
            "invisible-watermark",
        )
        .with_value("Stable Diffusion (dwtDct)")];
        assert!(explain(grounds(Verdict::UnlabelledAi, &generator_mark)).starts_with("A generator's invisible watermark in its pixels shows it was made with AI (Stable Diffusion (dwtDct))"));
        let parameters = [Evidence::new(
            Layer::GeneratorMetadata,
            Finding::GeneratorTrace,
            "PNG parameters",
        )
        .with_value("AUTOMATIC1111")];
        assert!(explain(grounds(Verdict::UnlabelledAi, &parameters))
            .starts_with("Its generator metadata shows it was made with AI (AUTOMATIC1111)"));
        let stealth = [Evidence::new(
            Layer::StealthMetadata,
            Finding::GeneratorTrace,
            "stealth_pngcomp",
        )
        .with_value("NovelAI")];
        assert!(explain(grounds(Verdict::UnlabelledAi, &stealth))
            .starts_with("Metadata hidden in its pixels shows it was made with AI (NovelAI)"));
        assert!(explain(grounds(Verdict::UnlabelledAi, &[]))
            .starts_with("Unsigned metadata shows AI involvement"));
    }

    #[test]
    fn tampered_no_signal_and_error_say_what_they_do_not_prove() {
        let broken = [
            Evidence::new(Layer::C2pa, Finding::IntegrityFailure, "hash mismatch")
                .with_code("assertion.dataHash.mismatch"),
        ];
        assert_eq!(
            explain(grounds(Verdict::Tampered, &broken)),
            "It carries C2PA credentials that fail verification (assertion.dataHash.mismatch), so its label cannot be relied on."
        );
        assert!(explain(grounds(Verdict::NoSignal, &[]))
            .contains("does not prove the image is not AI-generated"));
        let mut error = grounds(Verdict::Error, &[]);
        error.error = Some("the file is empty");
        assert_eq!(
            explain(error),
            "The file could not be checked: the file is empty."
        );
        error.error = None;
        assert_eq!(
            explain(error),
            "The file could not be checked: unknown reason."
        );
    }
}
