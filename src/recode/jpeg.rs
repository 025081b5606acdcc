//! JPEG: decoded by `image`, re-encoded by `jpeg-encoder` (optimised Huffman tables) at the
//! input's estimated quality with its chroma subsampling and progressive mode, then the input's
//! own metadata segments are put back in their original order.

use image::DynamicImage;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

use crate::format::Format;
use crate::limits::Limits;

use super::{decode_with, EncodeOptions, RecodeError};

/// Quality when the input's cannot be estimated.
const DEFAULT_QUALITY: u8 = 90;
/// The estimate is kept within this range: below it the watermark would suffer, above it the
/// file would only grow.
const QUALITY_RANGE: (u8, u8) = (60, 97);

/// The IJG (Annex K) luminance table that quality 50 uses.
const STANDARD_LUMA: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

/// What the encoder needs to know about the original.
struct Layout<'a> {
    /// APP0–APP15 and COM segments (marker included) to copy, in order. APP11 (the old C2PA
    /// store) and APP14 (Adobe colour transform, which describes the old encoding) are left out.
    metadata: Vec<&'a [u8]>,
    components: u8,
    luma_sampling: (u8, u8),
    progressive: bool,
    luma_table_sum: Option<u32>,
}

fn layout(bytes: &[u8]) -> Result<Layout<'_>, RecodeError> {
    let mut layout = Layout {
        metadata: Vec::new(),
        components: 0,
        luma_sampling: (2, 2),
        progressive: false,
        luma_table_sum: None,
    };
    let mut pos = 2;
    while pos + 4 <= bytes.len() {
        if bytes[pos] != 0xFF {
            return Err(RecodeError::Decode("JPEG segments are out of step".into()));
        }
        let marker = bytes[pos + 1];
        if marker == 0xFF {
            pos += 1;
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            break;
        }
        let len = usize::from(u16::from_be_bytes([bytes[pos + 2], bytes[pos + 3]]));
        let end = pos + 2 + len;
        let segment = bytes
            .get(pos..end)
            .ok_or_else(|| RecodeError::Decode("a JPEG segment runs past the end".into()))?;
        let body = &segment[4.min(segment.len())..];
        match marker {
            0xE0..=0xEF | 0xFE if marker != 0xEB && marker != 0xEE => layout.metadata.push(segment),
            0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                layout.progressive = matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE);
                layout.components = body.get(5).copied().unwrap_or(0);
                if let Some(&factors) = body.get(7) {
                    layout.luma_sampling = (factors >> 4, factors & 0x0F);
                }
            }
            0xDB => {
                let mut at = 0;
                while at < body.len() {
                    let (precision, id) = (body[at] >> 4, body[at] & 0x0F);
                    let width = if precision == 0 { 1 } else { 2 };
                    let values = body.get(at + 1..at + 1 + 64 * width).unwrap_or_default();
                    if id == 0 && values.len() == 64 * width {
                        let sum = values
                            .chunks(width)
                            .map(|v| v.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
                            .sum();
                        layout.luma_table_sum = Some(sum);
                    }
                    at += 1 + 64 * width;
                }
            }
            _ => {}
        }
        pos = end;
    }
    Ok(layout)
}

/// The IJG quality whose luminance table has the same total as the input's.
fn estimated_quality(table_sum: u32) -> u8 {
    let standard: u32 = STANDARD_LUMA.iter().map(|&v| u32::from(v)).sum();
    let scale = 100.0 * f64::from(table_sum) / f64::from(standard);
    let quality = if scale <= 100.0 {
        (200.0 - scale) / 2.0
    } else {
        5000.0 / scale
    };
    (quality.round() as u8).clamp(QUALITY_RANGE.0, QUALITY_RANGE.1)
}

pub(super) fn decode(bytes: &[u8], limits: &Limits) -> Result<DynamicImage, RecodeError> {
    let layout = layout(bytes)?;
    if layout.components == 4 {
        return Err(RecodeError::Unsupported(
            "CMYK JPEGs are not re-encoded (the colour conversion would change the image)".into(),
        ));
    }
    decode_with(Format::Jpeg, bytes, limits)
}

pub(super) fn encode(
    original: &[u8],
    image: &DynamicImage,
    options: EncodeOptions,
) -> Result<Vec<u8>, RecodeError> {
    let layout = layout(original)?;
    let quality = options
        .quality
        .or(layout.luma_table_sum.map(estimated_quality))
        .unwrap_or(DEFAULT_QUALITY);
    let mut encoded = Vec::with_capacity(original.len() + original.len() / 4);
    let mut encoder = Encoder::new(&mut encoded, quality);
    encoder.set_optimized_huffman_tables(true);
    encoder.set_progressive(layout.progressive);
    let (h, v) = layout.luma_sampling;
    encoder
        .set_sampling_factor(SamplingFactor::from_factors(h, v).unwrap_or(SamplingFactor::F_2_2));
    let fail = |e: jpeg_encoder::EncodingError| RecodeError::Encode(e.to_string());
    let (width, height) = (
        u16::try_from(image.width())
            .map_err(|_| RecodeError::Encode("wider than 65,535 px".into()))?,
        u16::try_from(image.height())
            .map_err(|_| RecodeError::Encode("taller than 65,535 px".into()))?,
    );
    if layout.components == 1 {
        encoder
            .encode(image.to_luma8().as_raw(), width, height, ColorType::Luma)
            .map_err(fail)?;
    } else {
        encoder
            .encode(image.to_rgb8().as_raw(), width, height, ColorType::Rgb)
            .map_err(fail)?;
    }
    Ok(with_metadata(&encoded, &layout.metadata))
}

/// SOI, the original's metadata segments, then the new encoding minus its own SOI and JFIF APP0
/// (the original's APP0, if it had one, is among the metadata).
fn with_metadata(encoded: &[u8], metadata: &[&[u8]]) -> Vec<u8> {
    let mut body = &encoded[2..];
    if body.starts_with(&[0xFF, 0xE0]) && body.len() >= 4 {
        let len = usize::from(u16::from_be_bytes([body[2], body[3]]));
        body = &body[(2 + len).min(body.len())..];
    }
    let extra: usize = metadata.iter().map(|s| s.len()).sum();
    let mut out = Vec::with_capacity(encoded.len() + extra);
    out.extend_from_slice(&[0xFF, 0xD8]);
    for segment in metadata {
        out.extend_from_slice(segment);
    }
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_is_estimated_from_the_luma_table() {
        let sum = |q: u32| -> u32 {
            let scale = if q < 50 { 5000 / q } else { 200 - 2 * q };
            STANDARD_LUMA
                .iter()
                .map(|&v| ((u32::from(v) * scale + 50) / 100).clamp(1, 255))
                .sum()
        };
        assert_eq!(estimated_quality(sum(75)), 75);
        assert_eq!(estimated_quality(sum(90)), 90);
        assert_eq!(estimated_quality(sum(20)), QUALITY_RANGE.0);
        assert_eq!(estimated_quality(64), QUALITY_RANGE.1);
    }
}
