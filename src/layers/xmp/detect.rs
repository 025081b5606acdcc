//! What the image's own XMP says about AI, reported as (unsigned) evidence.
//!
//! - IPTC `DigitalSourceType` and the deprecated `DigitalSourcefileType`, matched by namespace URI
//!   (Meta binds the namespace to `iptcExt:`, others to `Iptc4xmpExt:`), full URIs or bare codes;
//! - the IPTC 2025 AI properties (`AISystemUsed`, `AISystemVersionUsed`, `AIPromptInformation`,
//!   `AIPromptWriterName`);
//! - credit lines that AI tools write (`photoshop:Credit` "Made with Google AI");
//! - the Chinese GB 45438-2025 implicit label (`TC260:AIGC` JSON with `Label` 1 = generated).
//!
//! None of it is signed: anyone can write or remove it, so it supports `unlabelled-ai`, never
//! `labelled-ai`.

use super::{find_property, read_packet, IPTC_EXT_NS};
use crate::layers::Input;
use crate::source_type;
use crate::verdict::{Evidence, Finding, Layer};

const PHOTOSHOP_NS: &str = "http://ns.adobe.com/photoshop/1.0/";
const TC260_NS: &str = "http://www.tc260.org.cn/ns/AIGC/1.0/";

/// IPTC 2025 properties that only an AI workflow fills in.
const IPTC_AI_PROPERTIES: [&str; 4] = [
    "AISystemUsed",
    "AISystemVersionUsed",
    "AIPromptInformation",
    "AIPromptWriterName",
];

/// Credit lines written by AI tools (lower case; matched as a prefix of the credit).
const AI_CREDITS: [(&str, &str); 3] = [
    ("made with google ai", "Google generative AI"),
    ("edited with google ai", "Google generative AI"),
    ("modified with clean up", "Apple Photos Clean Up"),
];

/// Evidence from the XMP packet of an image.
pub fn detect(input: &Input) -> Vec<Evidence> {
    match read_packet(input.format, input.bytes) {
        Some(packet) => detect_in_packet(&packet),
        None => Vec::new(),
    }
}

fn detect_in_packet(packet: &str) -> Vec<Evidence> {
    let mut evidence = Vec::new();
    for property in ["DigitalSourceType", "DigitalSourcefileType"] {
        if let Some(value) = find_property(packet, IPTC_EXT_NS, "Iptc4xmpExt", property) {
            let (finding, kind) = source_type::finding(&value);
            evidence.push(
                Evidence::new(
                    Layer::Xmp,
                    finding,
                    format!(
                        "unsigned XMP Iptc4xmpExt:{property} declares {kind} {}",
                        source_type::code(&value)
                    ),
                )
                .with_value(value),
            );
        }
    }
    for property in IPTC_AI_PROPERTIES {
        if let Some(value) = find_property(packet, IPTC_EXT_NS, "Iptc4xmpExt", property) {
            if !value.trim().is_empty() {
                evidence.push(
                    Evidence::new(
                        Layer::Xmp,
                        Finding::AiDeclaration,
                        format!(
                            "unsigned XMP Iptc4xmpExt:{property} is set ({})",
                            clip(&value)
                        ),
                    )
                    .with_value(value),
                );
            }
        }
    }
    if let Some(credit) = find_property(packet, PHOTOSHOP_NS, "photoshop", "Credit") {
        let lower = credit.trim().to_lowercase();
        if let Some((_, tool)) = AI_CREDITS.iter().find(|(line, _)| lower.starts_with(line)) {
            evidence.push(
                Evidence::new(
                    Layer::Xmp,
                    Finding::AiDeclaration,
                    format!(
                        "unsigned XMP photoshop:Credit \"{}\" ({tool})",
                        clip(&credit)
                    ),
                )
                .with_value(credit),
            );
        }
    }
    if let Some(label) = find_property(packet, TC260_NS, "TC260", "AIGC") {
        evidence.push(aigc_evidence(Layer::Xmp, &label));
    }
    evidence
}

/// The GB 45438-2025 implicit label: JSON whose `Label` is 1 (generated), 2 (possibly generated)
/// or 3 (suspected). Only 1 is a declaration; 2 and 3 are reported as information.
pub(crate) fn aigc_evidence(layer: Layer, label_json: &str) -> Evidence {
    let parsed: Option<serde_json::Value> = serde_json::from_str(label_json).ok();
    let label = parsed.as_ref().and_then(|v| match &v["Label"] {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    let producer = parsed
        .as_ref()
        .and_then(|v| v["ContentProducer"].as_str().map(str::to_string));
    let by = producer
        .map(|p| format!(", producer {}", clip(&p)))
        .unwrap_or_default();
    let (finding, meaning) = match label.as_deref() {
        Some("1") => (Finding::AiDeclaration, "AI-generated"),
        Some("2") => (Finding::SourceType, "possibly AI-generated"),
        Some("3") => (Finding::SourceType, "suspected AI-generated"),
        _ => (Finding::SourceType, "an unrecognised label"),
    };
    Evidence::new(
        layer,
        finding,
        format!("unsigned GB 45438-2025 implicit label (TC260 AIGC) says {meaning}{by}"),
    )
    .with_value(label_json.to_string())
}

/// At most 80 characters of a value, for one-line descriptions.
fn clip(value: &str) -> String {
    let value = value.trim();
    match value.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &value[..at]),
        None => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(packet: &str) -> Vec<(Finding, String)> {
        detect_in_packet(packet)
            .into_iter()
            .map(|e| (e.finding, e.value.unwrap_or_default()))
            .collect()
    }

    #[test]
    fn meta_style_prefix_and_bare_code() {
        let meta = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:iptcExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" iptcExt:DigitalSourceType="trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>"#;
        assert_eq!(
            findings(meta),
            vec![(Finding::AiSourceType, "trainedAlgorithmicMedia".to_string())]
        );
    }

    #[test]
    fn google_style_credit_and_deprecated_property() {
        let google = r#"<rdf:Description xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" photoshop:Credit="Made with Google AI" Iptc4xmpExt:DigitalSourcefileType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/>"#;
        let found = findings(google);
        assert!(found.contains(&(
            Finding::AiSourceType,
            source_type::TRAINED_ALGORITHMIC_MEDIA.to_string()
        )));
        assert!(found.contains(&(Finding::AiDeclaration, "Made with Google AI".to_string())));
    }

    #[test]
    fn iptc_ai_fields_and_aigc_labels() {
        let fields = r#"<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"><Iptc4xmpExt:AISystemUsed>ExampleGen</Iptc4xmpExt:AISystemUsed></rdf:Description>"#;
        assert_eq!(
            findings(fields),
            vec![(Finding::AiDeclaration, "ExampleGen".to_string())]
        );
        let aigc = r#"<rdf:Description xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/" TC260:AIGC="{&quot;Label&quot;:&quot;1&quot;,&quot;ContentProducer&quot;:&quot;001&quot;}"/>"#;
        assert_eq!(findings(aigc)[0].0, Finding::AiDeclaration);
        let maybe = r#"<rdf:Description xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/" TC260:AIGC='{"Label":"2"}'/>"#;
        assert_eq!(findings(maybe)[0].0, Finding::SourceType);
        assert_eq!(
            aigc_evidence(Layer::Xmp, "not json").finding,
            Finding::SourceType
        );
    }

    #[test]
    fn camera_and_procedural_metadata_is_not_ai() {
        let capture = r#"<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture" photoshop:Credit="Reuters"/>"#;
        assert_eq!(
            findings(capture),
            vec![(
                Finding::SourceType,
                "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture".to_string()
            )]
        );
        assert!(findings("<rdf:Description/>").is_empty());
        assert!(findings("").is_empty());
    }
}
