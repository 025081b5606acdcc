//! Evidence and verdicts: what each layer reports, and the one policy that turns it into a verdict.
//!
//! Layers never decide. They return [`Evidence`]; [`decide`] reads the whole list and says which
//! [`Verdict`] it supports and which layers that verdict rests on, so the policy is readable and
//! testable in one place. Trust in the signer is reported beside the verdict ([`Trust`]), never
//! folded into it: an untrusted or expired signature is a trust finding, not tampering.

use std::fmt;

use serde::Serialize;

/// The answer for one file.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema, PartialOrd, Ord,
)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Verdict {
    /// An intact C2PA manifest declares an AI source type (in the active manifest or an ingredient).
    LabelledAi,
    /// Another layer shows AI (unsigned IPTC metadata, ...), but no intact signed label declares it.
    UnlabelledAi,
    /// No machine-readable AI evidence was found.
    NoSignal,
    /// Credentials are present but a hash or signature does not verify, or they cannot be parsed.
    Tampered,
    /// The file could not be read as an image; the report says why.
    Error,
}

impl Verdict {
    /// The verdict's name as printed and serialised, e.g. `labelled-ai`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::LabelledAi => "labelled-ai",
            Verdict::UnlabelledAi => "unlabelled-ai",
            Verdict::NoSignal => "no-signal",
            Verdict::Tampered => "tampered",
            Verdict::Error => "error",
        }
    }

    /// Every verdict, in the order of the table in the README.
    pub const ALL: [Verdict; 5] = [
        Verdict::LabelledAi,
        Verdict::UnlabelledAi,
        Verdict::NoSignal,
        Verdict::Tampered,
        Verdict::Error,
    ];

    /// The verdict named `name` (as [`Verdict::as_str`] prints it).
    pub fn parse(name: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.as_str() == name)
    }

    /// True for verdicts that make `check` exit non-zero by default.
    pub fn is_failure(self) -> bool {
        matches!(self, Verdict::Tampered | Verdict::Error)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far the signing credential can be trusted, independent of integrity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Trust {
    /// The certificate chain reaches a configured trust anchor and was valid when it signed.
    Trusted,
    /// The chain does not reach a configured anchor (or the credential is not acceptable).
    Untrusted,
    /// The certificate had expired at the time that counts (now, without a timestamp).
    Expired,
    /// The certificate was revoked.
    Revoked,
}

impl Trust {
    /// The trust level's name as printed and serialised, e.g. `untrusted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Trust::Trusted => "trusted",
            Trust::Untrusted => "untrusted",
            Trust::Expired => "expired",
            Trust::Revoked => "revoked",
        }
    }
}

impl fmt::Display for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The marking layer a piece of evidence comes from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema, PartialOrd, Ord,
)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Layer {
    /// Signed C2PA metadata (the manifest store).
    C2pa,
    /// The image's own XMP packet (IPTC and other AI properties); unsigned.
    Xmp,
    /// Generation parameters that generators write into PNG text chunks and EXIF; unsigned.
    GeneratorMetadata,
    /// Generation parameters hidden in the least-significant bits of the pixels; unsigned.
    StealthMetadata,
    /// An imperceptible watermark in the pixels: synthmark's own, or a generator's.
    Watermark,
    /// The provider's registry of stamped outputs (asset id, file hash, PDQ fingerprint).
    Registry,
}

impl Layer {
    /// The layer's name as printed and serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::C2pa => "c2pa",
            Layer::Xmp => "xmp",
            Layer::GeneratorMetadata => "generator-metadata",
            Layer::StealthMetadata => "stealth-metadata",
            Layer::Watermark => "watermark",
            Layer::Registry => "registry",
        }
    }
}

/// What kind of observation a piece of evidence is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Finding {
    /// A layer declares an AI digital source type (`value` holds the URI or code).
    AiSourceType,
    /// A layer declares AI involvement some other way: an AI credit line, an IPTC AI field, a
    /// regulatory AI label (`value` holds what was found).
    AiDeclaration,
    /// Generation metadata a known generator writes (`value` holds the tool).
    GeneratorTrace,
    /// A manifest declares a source type that is not AI (`value` holds the URI).
    SourceType,
    /// Signed credentials were found (`detail` names the signer).
    Credentials,
    /// A hash, signature or structural check of the active manifest failed (`code`).
    IntegrityFailure,
    /// A finding about the signing credential: untrusted, expired, revoked (`code`).
    TrustFinding,
    /// A CAWG identity assertion (who the creator is) could not be verified: its credential is
    /// untrusted or expired, its DID cannot be resolved offline (`code`). Not about the content.
    IdentityFinding,
    /// Validating an ingredient's manifest now found a failure (`code`). An integrity code
    /// means the provenance chain was altered after signing (the verdict is then tampered); a
    /// trust or identity code about the ingredient's signer is informational.
    IngredientFailure,
    /// A manifest store is embedded but cannot be parsed.
    Unreadable,
    /// A manifest store is embedded in a format that predates C2PA 1.0 and cannot be validated
    /// (`code` `c2pa.prerelease`); not evidence of tampering.
    ObsoleteCredentials,
    /// The signature carries an RFC 3161 timestamp (`value` holds the time); informational.
    Timestamp,
    /// The image points at a manifest stored elsewhere (`value` holds the URL); not fetched.
    RemoteManifest,
    /// A synthmark watermark was decoded from the pixels (`value` holds the asset id).
    Watermark,
    /// The watermark and the manifest's soft binding disagree, or the manifest declares a
    /// watermark that the pixels no longer carry (`value` holds the watermark's asset id, if any).
    SoftBindingMismatch,
    /// The registry logged this image when it was stamped; its credentials were recovered
    /// (`value` holds the asset id, or the stamped file's SHA-256). With the code
    /// `registry.ambiguous`, several entries fit and none is certain (shared asset id, equally
    /// near fingerprints): still a registered output, but nothing was recovered (`value` holds
    /// the watermark's asset id, if any).
    RegistryMatch,
    /// The registry could not be asked (`detail` says why); the verdict rests on the other layers.
    Unavailable,
}

/// The status code of a registry match that names no single entry for certain.
pub const REGISTRY_AMBIGUOUS: &str = "registry.ambiguous";

/// One observation by one layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Evidence {
    pub layer: Layer,
    pub finding: Finding,
    /// The observation is covered by a cryptographic signature (C2PA), not plain metadata.
    pub signed: bool,
    /// One human-readable line.
    pub detail: String,
    /// The C2PA manifest the observation is about, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    /// A machine-readable status code, e.g. `assertion.dataHash.mismatch`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The observed value, e.g. a digital source type URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl Evidence {
    /// Evidence with only a layer, a finding and a description.
    pub fn new(layer: Layer, finding: Finding, detail: impl Into<String>) -> Self {
        Evidence {
            layer,
            finding,
            signed: layer == Layer::C2pa,
            detail: detail.into(),
            manifest: None,
            code: None,
            value: None,
        }
    }

    /// AI evidence from a layer other than signed C2PA credentials.
    pub fn is_unsigned_ai_evidence(&self) -> bool {
        self.layer != Layer::C2pa
            && matches!(
                self.finding,
                Finding::AiSourceType
                    | Finding::AiDeclaration
                    | Finding::GeneratorTrace
                    | Finding::Watermark
                    | Finding::RegistryMatch
            )
    }

    /// The integrity policy: this evidence makes the file `tampered`. A hash, signature or
    /// structural failure of the active manifest, a store that cannot be parsed, and an
    /// integrity failure found now in any ingredient manifest the active one links to (the
    /// chain was altered after signing). An ingredient signer's trust or identity findings are
    /// not, and neither are the historic validation results an ingredient assertion recorded
    /// when it was signed (they are not evidence at all).
    pub fn is_integrity_failure(&self) -> bool {
        match self.finding {
            Finding::IntegrityFailure | Finding::Unreadable => true,
            Finding::IngredientFailure => self.code.as_deref().is_some_and(|code| {
                crate::c2pa_status::classify(code).class
                    == crate::c2pa_status::StatusClass::Integrity
            }),
            _ => false,
        }
    }

    /// Sets the manifest label.
    pub fn in_manifest(mut self, label: impl Into<String>) -> Self {
        self.manifest = Some(label.into());
        self
    }

    /// Sets the status code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Sets the observed value.
    pub fn with_value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }
}

/// A verdict and the layers whose evidence it rests on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    pub rests_on: Vec<Layer>,
}

/// The verdict policy. Broken credentials outrank everything (a label that does not verify is
/// not a label); then an AI declaration in intact signed credentials; then AI evidence from any
/// unsigned layer; otherwise there is no signal.
pub fn decide(evidence: &[Evidence]) -> Decision {
    let layers_where = |keep: &dyn Fn(&Evidence) -> bool| -> Vec<Layer> {
        let mut layers: Vec<Layer> = evidence
            .iter()
            .filter(|e| keep(e))
            .map(|e| e.layer)
            .collect();
        layers.sort();
        layers.dedup();
        layers
    };
    let broken = layers_where(&Evidence::is_integrity_failure);
    if !broken.is_empty() {
        return Decision {
            verdict: Verdict::Tampered,
            rests_on: broken,
        };
    }
    let labelled =
        layers_where(&|e| e.layer == Layer::C2pa && e.signed && e.finding == Finding::AiSourceType);
    if !labelled.is_empty() {
        // A watermark or a registry entry that agrees is another layer the verdict rests on.
        let mut rests_on = labelled;
        rests_on.extend(layers_where(&|e| {
            matches!(e.finding, Finding::Watermark | Finding::RegistryMatch)
        }));
        return Decision {
            verdict: Verdict::LabelledAi,
            rests_on,
        };
    }
    // Other layers are evidence of AI, not a label, even when signed (NovelAI's signature).
    let unlabelled = layers_where(&|e| e.is_unsigned_ai_evidence());
    if !unlabelled.is_empty() {
        return Decision {
            verdict: Verdict::UnlabelledAi,
            rests_on: unlabelled,
        };
    }
    Decision {
        verdict: Verdict::NoSignal,
        rests_on: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(finding: Finding) -> Evidence {
        Evidence::new(Layer::C2pa, finding, "test")
    }

    #[test]
    fn nothing_is_no_signal() {
        assert_eq!(decide(&[]).verdict, Verdict::NoSignal);
        assert!(decide(&[]).rests_on.is_empty());
        let only_info = [ev(Finding::Credentials), ev(Finding::SourceType)];
        assert_eq!(decide(&only_info).verdict, Verdict::NoSignal);
    }

    #[test]
    fn ai_declaration_is_labelled_and_says_which_layer() {
        let d = decide(&[ev(Finding::Credentials), ev(Finding::AiSourceType)]);
        assert_eq!(d.verdict, Verdict::LabelledAi);
        assert_eq!(d.rests_on, vec![Layer::C2pa]);
    }

    #[test]
    fn integrity_failure_outranks_an_ai_declaration() {
        let d = decide(&[ev(Finding::AiSourceType), ev(Finding::IntegrityFailure)]);
        assert_eq!(d.verdict, Verdict::Tampered);
        assert_eq!(
            decide(&[ev(Finding::Unreadable)]).verdict,
            Verdict::Tampered
        );
    }

    #[test]
    fn unsigned_ai_evidence_is_unlabelled_and_a_signed_label_wins() {
        let xmp = Evidence::new(Layer::Xmp, Finding::AiSourceType, "iptc");
        assert!(!xmp.signed);
        let d = decide(std::slice::from_ref(&xmp));
        assert_eq!(d.verdict, Verdict::UnlabelledAi);
        assert_eq!(d.rests_on, vec![Layer::Xmp]);
        let both = decide(&[xmp.clone(), ev(Finding::AiSourceType)]);
        assert_eq!(both.verdict, Verdict::LabelledAi);
        assert_eq!(both.rests_on, vec![Layer::C2pa]);
        let broken = decide(&[xmp, ev(Finding::IntegrityFailure)]);
        assert_eq!(broken.verdict, Verdict::Tampered);
        let declared = Evidence::new(Layer::Xmp, Finding::AiDeclaration, "credit");
        assert_eq!(decide(&[declared]).verdict, Verdict::UnlabelledAi);
    }

    #[test]
    fn a_watermark_alone_is_unlabelled_and_backs_a_label() {
        let mark = Evidence::new(Layer::Watermark, Finding::Watermark, "synthmark watermark");
        assert!(!mark.signed);
        let stripped = decide(std::slice::from_ref(&mark));
        assert_eq!(stripped.verdict, Verdict::UnlabelledAi);
        assert_eq!(stripped.rests_on, vec![Layer::Watermark]);
        let both = decide(&[ev(Finding::AiSourceType), mark.clone()]);
        assert_eq!(both.verdict, Verdict::LabelledAi);
        assert_eq!(both.rests_on, vec![Layer::C2pa, Layer::Watermark]);
        let mismatch = Evidence::new(Layer::Watermark, Finding::SoftBindingMismatch, "x");
        assert_eq!(decide(&[mismatch]).verdict, Verdict::NoSignal);
        assert_eq!(
            decide(&[mark, ev(Finding::IntegrityFailure)]).verdict,
            Verdict::Tampered
        );
    }

    #[test]
    fn a_registry_match_alone_is_unlabelled_and_an_outage_is_no_evidence() {
        let hit = Evidence::new(Layer::Registry, Finding::RegistryMatch, "recovered");
        assert!(!hit.signed);
        let d = decide(std::slice::from_ref(&hit));
        assert_eq!(d.verdict, Verdict::UnlabelledAi);
        assert_eq!(d.rests_on, vec![Layer::Registry]);
        let both = decide(&[ev(Finding::AiSourceType), hit]);
        assert_eq!(both.rests_on, vec![Layer::C2pa, Layer::Registry]);
        // Several entries fit and none was recovered: still a registered (AI) output.
        let ambiguous = Evidence::new(Layer::Registry, Finding::RegistryMatch, "shared id")
            .with_code("registry.ambiguous");
        assert_eq!(decide(&[ambiguous]).verdict, Verdict::UnlabelledAi);
        let down = Evidence::new(Layer::Registry, Finding::Unavailable, "down");
        assert_eq!(decide(&[down]).verdict, Verdict::NoSignal);
    }

    #[test]
    fn trust_findings_and_ingredient_failures_are_not_tampering() {
        let d = decide(&[
            ev(Finding::AiSourceType),
            ev(Finding::TrustFinding),
            ev(Finding::IdentityFinding),
            ev(Finding::IngredientFailure),
        ]);
        assert_eq!(d.verdict, Verdict::LabelledAi);
    }

    #[test]
    fn an_altered_ingredient_chain_is_tampering_its_signers_trust_is_not() {
        let ingredient = |code: &str| ev(Finding::IngredientFailure).with_code(code.to_string());
        let altered = [
            ev(Finding::AiSourceType),
            ingredient("ingredient.manifest.mismatch"),
        ];
        assert_eq!(decide(&altered).verdict, Verdict::Tampered);
        let hashed = [ingredient("assertion.hashedURI.mismatch")];
        assert_eq!(decide(&hashed).verdict, Verdict::Tampered);
        for informational in [
            "signingCredential.untrusted",
            "signingCredential.expired",
            "cawg.ica.did_unavailable",
        ] {
            let d = decide(&[ev(Finding::AiSourceType), ingredient(informational)]);
            assert_eq!(d.verdict, Verdict::LabelledAi, "{informational}");
        }
    }

    #[test]
    fn an_obsolete_manifest_store_is_no_signal_not_tampering() {
        assert_eq!(
            decide(&[ev(Finding::ObsoleteCredentials)]).verdict,
            Verdict::NoSignal
        );
        assert_eq!(
            decide(&[ev(Finding::IdentityFinding)]).verdict,
            Verdict::NoSignal
        );
    }
}
