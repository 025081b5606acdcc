//! TIFF: uncompressed, interleaved 8- or 16-bit grey/RGB(A) images are rewritten in place — the
//! new samples go into the same strips, so every tag (EXIF, ICC, resolution, XMP …) is kept
//! byte for byte. Compressed, tiled, planar or other photometric layouts are refused.

use image::DynamicImage;

use crate::format::Format;
use crate::limits::Limits;

use super::{decode_with, RecodeError};
use crate::container::tiff::{kind, ByteOrder, Tiff};

/// Where the samples live.
struct Strips {
    order: ByteOrder,
    bits: u16,
    samples: usize,
    /// (offset, length) of every strip, in order.
    ranges: Vec<(usize, usize)>,
}

fn unsupported(reason: &str) -> RecodeError {
    RecodeError::Unsupported(format!("this TIFF cannot be rewritten in place: {reason}"))
}

/// Reads IFD0 and checks that its layout can be rewritten in place.
fn strips(bytes: &[u8]) -> Result<Strips, RecodeError> {
    let malformed = || RecodeError::Decode("the TIFF's first IFD cannot be read".into());
    let tiff = Tiff::new(bytes).ok_or_else(malformed)?;
    let ifd = tiff
        .first_ifd()
        .and_then(|at| tiff.ifd(at))
        .ok()
        .filter(|ifd| ifd.is_complete())
        .ok_or_else(malformed)?;
    let mut tags: Vec<(u16, Vec<usize>)> = Vec::with_capacity(ifd.declared());
    for entry in ifd.entries() {
        if !matches!(entry.kind(), kind::SHORT | kind::LONG) {
            continue;
        }
        let values = entry.unsigned(1 << 20).ok_or_else(malformed)?;
        tags.push((entry.tag(), values));
    }
    let get = |tag: u16| {
        tags.iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, v)| v.as_slice())
    };
    let first =
        |tag: u16, default: usize| get(tag).and_then(|v| v.first().copied()).unwrap_or(default);
    if first(259, 1) != 1 {
        return Err(unsupported("it is compressed"));
    }
    if get(322).is_some() {
        return Err(unsupported("it is tiled"));
    }
    if first(284, 1) != 1 {
        return Err(unsupported("its colour planes are stored separately"));
    }
    if !matches!(first(262, 99), 1 | 2) {
        return Err(unsupported("it is not greyscale (BlackIsZero) or RGB"));
    }
    if first(339, 1) != 1 {
        return Err(unsupported("its samples are not unsigned integers"));
    }
    let samples = first(277, 1);
    let bits = get(258).unwrap_or(&[1]);
    let depth = bits.first().copied().unwrap_or(1);
    if !(1..=4).contains(&samples) || !matches!(depth, 8 | 16) || bits.iter().any(|&b| b != depth) {
        return Err(unsupported(
            "it is not 8 or 16 bits per sample with 1–4 samples",
        ));
    }
    let (offsets, lengths) = (
        get(273).ok_or_else(malformed)?,
        get(279).ok_or_else(malformed)?,
    );
    if offsets.len() != lengths.len() {
        return Err(malformed());
    }
    let ranges: Vec<(usize, usize)> = offsets
        .iter()
        .copied()
        .zip(lengths.iter().copied())
        .collect();
    if ranges
        .iter()
        .any(|&(o, l)| o.checked_add(l).is_none_or(|end| end > bytes.len()))
    {
        return Err(malformed());
    }
    Ok(Strips {
        order: tiff.order,
        bits: depth as u16,
        samples,
        ranges,
    })
}

pub(super) fn decode(bytes: &[u8], limits: &Limits) -> Result<DynamicImage, RecodeError> {
    strips(bytes)?;
    decode_with(Format::Tiff, bytes, limits)
}

pub(super) fn encode(original: &[u8], image: &DynamicImage) -> Result<Vec<u8>, RecodeError> {
    let layout = strips(original)?;
    let raw: Vec<u8> = match (layout.bits, layout.samples) {
        (8, 1) => image.to_luma8().into_raw(),
        (8, 2) => image.to_luma_alpha8().into_raw(),
        (8, 3) => image.to_rgb8().into_raw(),
        (8, 4) => image.to_rgba8().into_raw(),
        (16, samples) => {
            let words: Vec<u16> = match samples {
                1 => image.to_luma16().into_raw(),
                2 => image.to_luma_alpha16().into_raw(),
                3 => image.to_rgb16().into_raw(),
                _ => image.to_rgba16().into_raw(),
            };
            words.iter().flat_map(|&w| layout.order.put16(w)).collect()
        }
        _ => return Err(unsupported("unexpected sample layout")),
    };
    let total: usize = layout.ranges.iter().map(|r| r.1).sum();
    if total < raw.len() {
        return Err(RecodeError::Encode(
            "the strips are smaller than the image".into(),
        ));
    }
    let mut out = original.to_vec();
    let mut from = 0;
    for (offset, length) in layout.ranges {
        let take = length.min(raw.len() - from);
        out[offset..offset + take].copy_from_slice(&raw[from..from + take]);
        from += take;
    }
    Ok(out)
}
