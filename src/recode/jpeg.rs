//! JPEG: decoded by `image`, re-encoded by `jpeg-encoder` with the input's own quantisation
//! tables (or, when they cannot be reused, its estimated quality), chroma subsampling and
//! progressive mode, then the input's own metadata segments are put back in their original order.
//!
//! Three choices keep the output close to the input and readable everywhere:
//! - baseline output is *interleaved* (one scan, standard Huffman tables). `jpeg-encoder` writes
//!   one scan per component when asked for optimised tables, and `image`'s decoder (zune-jpeg)
//!   misplaces the chroma of such subsampled files, which once made a stamped 4:2:0 JPEG lose its
//!   own watermark (see [`crate::pixels`] for how such files already in the wild are decoded);
//! - subsampled chroma is written so that it decodes back to the input's own (see
//!   [`super::chroma`]), not box-averaged again, which blurs it once more on every re-encode;
//! - component ids are 1, 2, 3 (JFIF's), not `jpeg-encoder`'s 0, 1, 2.

use image::DynamicImage;
use jpeg_encoder::{
    ChromaSubsamplingMethod, ColorType, Encoder, QuantizationTableType, SamplingFactor,
};

use crate::container::jpeg;
use crate::format::Format;
use crate::limits::Limits;

use super::chroma::PreSubsampled;
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
    /// APP0–APP15 and COM segments (marker included) to copy, in order. APP14 (Adobe colour
    /// transform, which describes the old encoding) and what [`jpeg::dropped_on_rewrite`]
    /// names (the old C2PA store, the index of images after the end) are left out.
    metadata: Vec<&'a [u8]>,
    components: u8,
    luma_sampling: (u8, u8),
    progressive: bool,
    luma_table_sum: Option<u32>,
    /// The quantisation table (natural order) of the first component and of the second, when
    /// both are 8-bit tables the encoder can reuse.
    tables: Option<([u16; 64], [u16; 64])>,
}

fn layout(bytes: &[u8]) -> Result<Layout<'_>, RecodeError> {
    let mut layout = Layout {
        metadata: Vec::new(),
        components: 0,
        luma_sampling: (2, 2),
        progressive: false,
        luma_table_sum: None,
        tables: None,
    };
    let mut defined: [Option<[u16; 64]>; 4] = [None; 4];
    let mut table_of_component: Vec<usize> = Vec::new();
    for segment in jpeg::segments(bytes) {
        let segment = match segment {
            Ok(segment) if segment.marker == jpeg::SOS => break,
            Ok(segment) => segment,
            Err(
                jpeg::Break::CutOff
                | jpeg::Break::EndOfImage { .. }
                | jpeg::Break::HeaderCutOff { .. },
            ) => break,
            Err(jpeg::Break::NotAMarker { .. }) => {
                return Err(RecodeError::Decode("JPEG segments are out of step".into()))
            }
            Err(jpeg::Break::Overrun { .. }) => {
                return Err(RecodeError::Decode(
                    "a JPEG segment runs past the end".into(),
                ))
            }
        };
        let (marker, body) = (segment.marker, segment.data);
        let segment = &bytes[segment.start..segment.end];
        match marker {
            0xE0..=0xEF | 0xFE if marker != 0xEE && !jpeg::dropped_on_rewrite(marker, body) => {
                layout.metadata.push(segment)
            }
            0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                layout.progressive = matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE);
                layout.components = body.get(5).copied().unwrap_or(0);
                if let Some(&factors) = body.get(7) {
                    layout.luma_sampling = (factors >> 4, factors & 0x0F);
                }
                table_of_component = body
                    .get(6..)
                    .unwrap_or_default()
                    .chunks_exact(3)
                    .take(usize::from(layout.components))
                    .map(|c| usize::from(c[2] & 0x03))
                    .collect();
            }
            0xDB => {
                let mut at = 0;
                while at < body.len() {
                    let (precision, id) = (body[at] >> 4, body[at] & 0x0F);
                    let width = if precision == 0 { 1 } else { 2 };
                    let values = body.get(at + 1..at + 1 + 64 * width).unwrap_or_default();
                    if values.len() == 64 * width {
                        let zigzag: Vec<u16> = values
                            .chunks(width)
                            .map(|v| v.iter().fold(0u16, |acc, &b| (acc << 8) | u16::from(b)))
                            .collect();
                        if id == 0 {
                            layout.luma_table_sum =
                                Some(zigzag.iter().map(|&v| u32::from(v)).sum());
                        }
                        if precision == 0 && zigzag.iter().all(|&v| v > 0) {
                            let mut natural = [0u16; 64];
                            for (k, &v) in zigzag.iter().enumerate() {
                                natural[usize::from(ZIGZAG[k])] = v;
                            }
                            defined[usize::from(id & 0x03)] = Some(natural);
                        } else {
                            defined[usize::from(id & 0x03)] = None;
                        }
                    }
                    at += 1 + 64 * width;
                }
            }
            _ => {}
        }
    }
    let table = |component: usize| table_of_component.get(component).and_then(|&t| defined[t]);
    layout.tables = match layout.components {
        1 => table(0).map(|luma| (luma, luma)),
        3 => table(0).zip(table(1)),
        _ => None,
    };
    Ok(layout)
}

/// Position in natural (row-major) order of the k-th coefficient in zig-zag order.
const ZIGZAG: [u8; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

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
    // Optimised tables make `jpeg-encoder` write a baseline file one component per scan (see
    // the module comment); progressive files have per-component scans anyway.
    encoder.set_optimized_huffman_tables(layout.progressive);
    encoder.set_progressive(layout.progressive);
    if let (None, Some((luma, chroma))) = (options.quality, layout.tables) {
        // Re-quantising on the input's own grid loses the least.
        encoder.set_quantization_tables(
            QuantizationTableType::Custom(Box::new(luma)),
            QuantizationTableType::Custom(Box::new(chroma)),
        );
    }
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
        // A decoded JPEG is 8-bit RGB already: no copy of it.
        let converted;
        let rgb = match image {
            DynamicImage::ImageRgb8(rgb) => rgb,
            other => {
                converted = other.to_rgb8();
                &converted
            }
        };
        match PreSubsampled::new(rgb.as_raw(), width, height, h, v) {
            Some(buffer) => {
                // Its chroma samples are replicated over their blocks, so the top-left one is
                // the block's average: the encoder need not average again.
                encoder.set_chroma_subsampling_method(ChromaSubsamplingMethod::Nearest);
                encoder.encode_image(buffer).map_err(fail)?
            }
            None => {
                // Other layouts (4:1:1 and rarer; 4:4:4 has nothing to average) keep the
                // encoder's box average, as libjpeg's.
                encoder.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
                encoder
                    .encode(rgb.as_raw(), width, height, ColorType::Rgb)
                    .map_err(fail)?
            }
        }
    }
    let mut out = with_metadata(&encoded, &layout.metadata);
    renumber_components(&mut out);
    Ok(out)
}

/// Rewrites `jpeg-encoder`'s component ids 0, 1, 2 (in SOF and every SOS) as JFIF's 1, 2, 3.
/// Files whose first component is not 0 are left as they are.
fn renumber_components(jpeg: &mut [u8]) {
    // Where each component id is: the SOF's (after precision, height, width and count; three
    // bytes per component) and every SOS's (after the count; two bytes per component).
    let mut ids = Vec::new();
    for segment in jpeg::all_segments(jpeg).map_while(Result::ok) {
        let data_at = segment.start + 4;
        let (first, stride, count) = match segment.marker {
            0xC0..=0xC2 => (6, 3, segment.data.get(5)),
            jpeg::SOS => (1, 2, segment.data.first()),
            _ => continue,
        };
        let count = usize::from(count.copied().unwrap_or(0));
        ids.extend(
            (0..count)
                .map(|c| first + c * stride)
                .take_while(|&at| at < segment.data.len())
                .map(|at| data_at + at),
        );
    }
    // The first id is the frame's first component: zero-based only if it is 0.
    if ids.first().map(|&at| jpeg[at]) != Some(0) {
        return;
    }
    for at in ids {
        jpeg[at] = jpeg[at].wrapping_add(1);
    }
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

    /// A 4:2:0 baseline JPEG as Pillow writes it by default (quality 95).
    const PILLOW_420: &[u8] = include_bytes!("../../tests/fixtures/inputs/pillow-420-q95.jpg");
    /// A progressive 4:2:0 JPEG from Pillow.
    const PILLOW_PROGRESSIVE: &[u8] =
        include_bytes!("../../tests/fixtures/inputs/pillow-420-progressive.jpg");
    /// A 4:2:0 JPEG from libjpeg's cjpeg with restart markers.
    const CJPEG_RESTART: &[u8] =
        include_bytes!("../../tests/fixtures/inputs/cjpeg-420-restart.jpg");

    #[test]
    fn the_rewrite_keeps_the_inputs_tables_and_is_interleaved_with_jfif_ids() {
        let input = layout(PILLOW_420).unwrap();
        assert_eq!((input.components, input.luma_sampling), (3, (2, 2)));
        assert!(input.tables.is_some());
        let image = decode(PILLOW_420, &Limits::default()).unwrap();
        let out = encode(PILLOW_420, &image, EncodeOptions::default()).unwrap();
        let output = layout(&out).unwrap();
        assert_eq!(output.tables, input.tables);
        assert_eq!(output.luma_sampling, (2, 2));
        let scan = crate::jpeg_layout::read(&out).unwrap();
        assert_eq!((scan.components, scan.first_scan_components), (3, 3));
        // Component ids 1, 2, 3 in the frame header.
        let sof = out.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        let ids: Vec<u8> = (0..3).map(|c| out[sof + 10 + 3 * c]).collect();
        assert_eq!(ids, [1, 2, 3]);
        // … and in every scan header.
        for input in [PILLOW_420, PILLOW_PROGRESSIVE, CJPEG_RESTART] {
            let image = decode(input, &Limits::default()).unwrap();
            let out = encode(input, &image, EncodeOptions::default()).unwrap();
            let scans: Vec<jpeg::Segment> = jpeg::all_segments(&out)
                .map(Result::unwrap)
                .filter(|s| s.marker == jpeg::SOS)
                .collect();
            assert!(!scans.is_empty());
            for scan in scans {
                let count = usize::from(scan.data[0]);
                let ids: Vec<u8> = (0..count).map(|c| scan.data[1 + 2 * c]).collect();
                assert!(ids.iter().all(|id| (1..=3).contains(id)), "{ids:?}");
            }
        }
        // An explicit quality replaces the tables.
        let q60 = encode(PILLOW_420, &image, EncodeOptions { quality: Some(60) }).unwrap();
        assert_ne!(layout(&q60).unwrap().tables, input.tables);
    }

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
