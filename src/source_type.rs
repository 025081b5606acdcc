//! The IPTC Digital Source Type vocabulary: which source types declare AI-generated media.
//!
//! C2PA actions and the image's own XMP both name the source of an image with a term from
//! <http://cv.iptc.org/newscodes/digitalsourcetype/>. Only terms that mean *trained* generative
//! AI count as an AI declaration: `algorithmicMedia` (procedural, not trained) does not, and
//! `composite` alone is ambiguous (its ingredients decide).

/// Created by a generative model trained on sampled content.
pub const TRAINED_ALGORITHMIC_MEDIA: &str =
    "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia";

/// An existing image augmented, corrected or edited with generative AI (inpainting, outpainting).
pub const COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA: &str =
    "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia";

/// Codes whose presence declares generative-AI involvement.
const AI_CODES: [&str; 4] = [
    "trainedAlgorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia",
    "compositeSynthetic",
    "trainedAlgorithmicData",
];

/// The bare code of a source type: the last path segment of the IPTC or C2PA URI (either scheme),
/// or the value itself when it is already bare (as Meta writes it).
pub fn code(source_type: &str) -> &str {
    let trimmed = source_type.trim().trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// The finding a declared source type supports, and how to name it in a sentence.
pub(crate) fn finding(source_type: &str) -> (crate::verdict::Finding, &'static str) {
    use crate::verdict::Finding;
    if is_ai(source_type) {
        (Finding::AiSourceType, "AI source type")
    } else {
        (Finding::SourceType, "source type")
    }
}

/// True when `source_type` (a full URI or a bare code) declares generative AI.
pub fn is_ai(source_type: &str) -> bool {
    let trimmed = source_type.trim();
    let known_vocabulary = !trimmed.contains('/')
        || [
            "cv.iptc.org/newscodes/digitalsourcetype/",
            "c2pa.org/digitalsourcetype/",
        ]
        .iter()
        .any(|base| trimmed.contains(base));
    known_vocabulary && AI_CODES.contains(&code(trimmed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trained_and_composite_ai_are_ai() {
        assert!(is_ai(TRAINED_ALGORITHMIC_MEDIA));
        assert!(is_ai(COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA));
        assert!(is_ai(
            "https://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
        ));
        assert!(is_ai("trainedAlgorithmicMedia"));
        assert!(is_ai(
            "http://c2pa.org/digitalsourcetype/trainedAlgorithmicData"
        ));
    }

    #[test]
    fn procedural_capture_and_ambiguous_types_are_not() {
        for not_ai in [
            "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia",
            "http://cv.iptc.org/newscodes/digitalsourcetype/composite",
            "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture",
            "http://example.com/trainedAlgorithmicMedia",
            "",
        ] {
            assert!(!is_ai(not_ai), "{not_ai}");
        }
    }
}
