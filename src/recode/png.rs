//! PNG: decoded by `image` (bit depth kept), re-encoded losslessly, and the original's ancillary
//! chunks put back on the same side of the image data as before.

use std::io::Cursor;

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{DynamicImage, ImageEncoder};

use crate::container::png::{self, SIGNATURE};
use crate::format::Format;
use crate::limits::Limits;

use super::{decode_with, RecodeError};

/// Chunks that are not copied: the image's own structure, chunks whose meaning depends on the
/// old colour type or palette, the old C2PA store, and animation.
const NOT_COPIED: [&[u8; 4]; 12] = [
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"sBIT", b"bKGD", b"hIST", b"caBX", b"acTL",
    b"fcTL", b"fdAT",
];

/// A chunk with its length, type, data and CRC.
struct Chunk<'a> {
    kind: [u8; 4],
    whole: &'a [u8],
}

fn chunks(bytes: &[u8]) -> Result<Vec<Chunk<'_>>, RecodeError> {
    let mut out = Vec::new();
    for chunk in png::chunks(bytes) {
        match chunk {
            Ok(chunk) => out.push(Chunk {
                kind: chunk.kind,
                whole: &bytes[chunk.start..chunk.end],
            }),
            // Anything after the last whole chunk is left behind, as before.
            Err(png::Break::HeaderCutOff { .. }) => break,
            Err(png::Break::Overrun { .. }) => {
                return Err(RecodeError::Decode("a PNG chunk runs past the end".into()))
            }
        }
    }
    Ok(out)
}

pub(super) fn decode(bytes: &[u8], limits: &Limits) -> Result<DynamicImage, RecodeError> {
    if chunks(bytes)?.iter().any(|c| &c.kind == b"acTL") {
        return Err(RecodeError::Unsupported(
            "animated PNGs are not re-encoded (only the first frame would survive)".into(),
        ));
    }
    decode_with(Format::Png, bytes, limits)
}

pub(super) fn encode(original: &[u8], image: &DynamicImage) -> Result<Vec<u8>, RecodeError> {
    let mut encoded = Vec::new();
    PngEncoder::new_with_quality(
        Cursor::new(&mut encoded),
        CompressionType::Default,
        FilterType::Adaptive,
    )
    .write_image(
        image.as_bytes(),
        image.width(),
        image.height(),
        image.color().into(),
    )
    .map_err(|e| RecodeError::Encode(e.to_string()))?;

    let old = chunks(original)?;
    let first_data = old
        .iter()
        .position(|c| &c.kind == b"IDAT")
        .unwrap_or(old.len());
    let keep = |c: &&Chunk| !NOT_COPIED.contains(&&c.kind);
    let before: Vec<&Chunk> = old[..first_data].iter().filter(keep).collect();
    let after: Vec<&Chunk> = old[first_data..].iter().filter(keep).collect();

    let new = chunks(&encoded)?;
    let mut out = Vec::with_capacity(encoded.len() + original.len() / 8);
    out.extend_from_slice(SIGNATURE);
    let mut placed_before = false;
    for chunk in &new {
        if !placed_before && (&chunk.kind == b"IDAT" || &chunk.kind == b"IEND") {
            before.iter().for_each(|c| out.extend_from_slice(c.whole));
            placed_before = true;
        }
        if &chunk.kind == b"IEND" {
            after.iter().for_each(|c| out.extend_from_slice(c.whole));
        }
        out.extend_from_slice(chunk.whole);
    }
    Ok(out)
}
