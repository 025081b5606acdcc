//! NovelAI's signature: an Ed25519 `signed_hash` in the generation parameters, made with
//! NovelAI's published key over the image's RGB pixels followed by the parameters without the
//! signature (as Python's `json.dumps` writes them, which is how NovelAI stores them).
//!
//! A signature that verifies proves NovelAI generated these exact pixels; one that does not means
//! the pixels or the parameters changed after generation.

use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};
use image::RgbaImage;

/// NovelAI's published verification key (base64), from NovelAI/novelai-image-metadata.
const NOVELAI_KEY: &str = "Y2JcQAOhLwzwSDUJPNgL04nS0Tbqm7cSRc4xk0vRMic=";

const MEMBER: &str = "\"signed_hash\": \"";

/// Whether `comment` (the parameters JSON text) carries a `signed_hash`.
pub(crate) fn is_signed(comment: &str) -> bool {
    comment.contains(MEMBER)
}

/// `Some(true)` when the signature verifies over `pixels` and `comment`, `Some(false)` when it
/// does not, `None` when there is no well-formed signature to check.
pub(crate) fn verify(pixels: &RgbaImage, comment: &str) -> Option<bool> {
    let (unsigned, signature) = split_signature(comment)?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(signature)
        .ok()?;
    let signature = Signature::from_slice(&signature).ok()?;
    let key_bytes: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(NOVELAI_KEY)
        .ok()?
        .try_into()
        .ok()?;
    let key = VerifyingKey::from_bytes(&key_bytes).ok()?;
    let mut message = Vec::with_capacity(pixels.len() / 4 * 3 + unsigned.len());
    for pixel in pixels.pixels() {
        message.extend_from_slice(&pixel.0[..3]);
    }
    message.extend_from_slice(unsigned.as_bytes());
    Some(key.verify_strict(&message, &signature).is_ok())
}

/// The comment without its `"signed_hash": "…"` member, and the signature's base64.
fn split_signature(comment: &str) -> Option<(String, &str)> {
    let start = comment.find(MEMBER)?;
    let value_start = start + MEMBER.len();
    let value_end = value_start + comment[value_start..].find('"')?;
    let signature = &comment[value_start..value_end];
    let member_end = value_end + 1;
    let before = &comment[..start];
    let after = &comment[member_end..];
    // Remove the member with the separator that joins it to its neighbours.
    let unsigned = if let Some(kept) = before.strip_suffix(", ") {
        format!("{kept}{after}")
    } else if let Some(rest) = after.strip_prefix(", ") {
        format!("{before}{rest}")
    } else {
        format!("{before}{after}")
    };
    Some((unsigned, signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_member_is_cut_out_with_its_separator() {
        let (rest, sig) = split_signature(r#"{"a": 1, "signed_hash": "QUJD", "b": 2}"#).unwrap();
        assert_eq!((rest.as_str(), sig), (r#"{"a": 1, "b": 2}"#, "QUJD"));
        let (rest, _) = split_signature(r#"{"signed_hash": "QUJD", "b": 2}"#).unwrap();
        assert_eq!(rest, r#"{"b": 2}"#);
        let (rest, _) = split_signature(r#"{"signed_hash": "QUJD"}"#).unwrap();
        assert_eq!(rest, "{}");
        assert!(split_signature(r#"{"a": 1}"#).is_none());
    }

    #[test]
    fn a_forged_or_garbled_signature_does_not_verify() {
        let pixels = RgbaImage::from_pixel(4, 4, image::Rgba([1, 2, 3, 255]));
        let zeros = base64::engine::general_purpose::STANDARD.encode([0u8; 64]);
        let forged = format!(r#"{{"steps": 28, "signed_hash": "{zeros}"}}"#);
        assert_eq!(verify(&pixels, &forged), Some(false));
        assert_eq!(verify(&pixels, r#"{"signed_hash": "not base64!"}"#), None);
        assert_eq!(verify(&pixels, r#"{"steps": 28}"#), None);
    }
}
