//! What the checker reports from the watermark layer: the pixels are decoded once and searched
//! for synthmark's watermark, whose asset id is compared with the soft binding the manifest
//! declares, if any, and for the invisible watermarks generators' reference code embeds.

use super::detect;
use super::imwatermark;
use super::payload::{unpack, AssetId, ALGORITHM};
use crate::layers::c2pa::detect::SoftBinding;
use crate::layers::Input;
use crate::verdict::{Evidence, Finding, Layer};

/// What the watermark layer found in one image.
#[derive(Debug, Default)]
pub struct WatermarkFindings {
    pub evidence: Vec<Evidence>,
    /// The asset id of the synthmark watermark found in the pixels, for the registry.
    pub asset_id: Option<AssetId>,
}

/// Watermark evidence for an image, given the soft bindings its manifest declares.
pub fn evidence(input: &Input, soft_bindings: &[SoftBinding]) -> WatermarkFindings {
    // No decoder (AVIF, HEIC), not decodable, or pixel layers off: nothing to look at.
    let Some(image) = input.pixels.image() else {
        return WatermarkFindings::default();
    };
    let declared: Vec<u64> = soft_bindings
        .iter()
        .filter(|b| b.alg == ALGORITHM)
        .filter_map(|b| <[u8; 8]>::try_from(b.value.as_slice()).ok())
        .map(u64::from_be_bytes)
        .collect();
    let declared_id = declared.iter().find_map(|&word| unpack(word));

    let mut found = Vec::new();
    // Most decoded images are already 8-bit RGB: borrow those rather than copy them.
    let rgb = match image.as_rgb8() {
        Some(rgb) => std::borrow::Cow::Borrowed(rgb),
        None => std::borrow::Cow::Owned(image.to_rgb8()),
    };
    if let Some(mark) = imwatermark::detect_generator(&rgb) {
        let message = mark.message;
        found.push(
            Evidence::new(
                Layer::Watermark,
                Finding::GeneratorTrace,
                format!(
                    "generator watermark: {} (invisible-watermark dwtDct, {}; {}/{} bits match, {} decode)",
                    message.generator,
                    message.source,
                    mark.matched,
                    message.bits.len(),
                    mark.variant.describe()
                ),
            )
            .with_value(message.generator),
        );
    }
    let detection = detect(image);
    let asset_id = detection.as_ref().map(|d| d.asset_id);
    match detection {
        Some(detection) => {
            let id = detection.asset_id;
            let mut how = format!("pilot z-score {:.1}", detection.confidence);
            if detection.mirrored {
                how.push_str(", mirrored");
            }
            if (detection.zoom - 1.0).abs() > 0.02 {
                how.push_str(&format!(", scaled {:.2}×", 1.0 / detection.zoom));
            }
            if detection.rotation.abs() > 0.3 {
                how.push_str(&format!(", rotated {:.1}°", detection.rotation));
            }
            found.push(
                Evidence::new(
                    Layer::Watermark,
                    Finding::Watermark,
                    format!(
                        "synthmark watermark ({}) with asset id {id} ({how})",
                        ALGORITHM
                    ),
                )
                .with_value(id.to_string()),
            );
            if let Some(declared) = declared_id.filter(|&d| d != id) {
                found.push(
                    Evidence::new(
                        Layer::Watermark,
                        Finding::SoftBindingMismatch,
                        format!("the watermark carries asset id {id}, but the manifest's soft binding names {declared}: the credentials may belong to another image"),
                    )
                    .with_value(id.to_string()),
                );
            }
        }
        None => {
            if let Some(declared) = declared_id {
                found.push(Evidence::new(
                    Layer::Watermark,
                    Finding::SoftBindingMismatch,
                    format!("the manifest declares a synthmark watermark (asset id {declared}) that was not found in the pixels"),
                ));
            }
        }
    }
    WatermarkFindings {
        evidence: found,
        asset_id,
    }
}
