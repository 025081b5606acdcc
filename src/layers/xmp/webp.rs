//! XMP in a WebP `XMP ` chunk (extended file format, `VP8X`).
use super::*;
use crate::container::riff::{all_chunks as chunks, push_chunk, Chunk};

const XMP_FLAG: u8 = 0x04;
const ALPHA_FLAG: u8 = 0x10;

pub(super) fn find(image: &[u8]) -> Option<&[u8]> {
    let chunks = chunks(image)?;
    let chunk = chunks.iter().find(|c| &c.fourcc == b"XMP ")?;
    image.get(chunk.data.clone())
}

pub(super) fn embed(image: &[u8], packet: &str) -> Result<Vec<u8>, XmpError> {
    let chunks = chunks(image).ok_or_else(|| malformed("the WebP chunks are inconsistent"))?;
    let first = chunks
        .first()
        .ok_or_else(|| malformed("the WebP has no chunks"))?;
    let mut out = Vec::with_capacity(image.len() + packet.len() + 64);
    out.extend_from_slice(&image[..12]);
    if &first.fourcc != b"VP8X" {
        let (width, height, alpha) = canvas(image, first)?;
        if width == 0 || height == 0 {
            return Err(malformed("the WebP bitstream declares an empty canvas"));
        }
        let mut vp8x = [0u8; 10];
        vp8x[0] = XMP_FLAG | if alpha { ALPHA_FLAG } else { 0 };
        vp8x[4..7].copy_from_slice(&(width - 1).to_le_bytes()[..3]);
        vp8x[7..10].copy_from_slice(&(height - 1).to_le_bytes()[..3]);
        push_chunk(&mut out, b"VP8X", &vp8x);
    }
    for chunk in &chunks {
        match &chunk.fourcc {
            b"XMP " => {} // replaced below
            b"VP8X" => {
                let mut data = image[chunk.data.clone()].to_vec();
                if let Some(flags) = data.first_mut() {
                    *flags |= XMP_FLAG;
                }
                push_chunk(&mut out, b"VP8X", &data);
            }
            _ => out.extend_from_slice(&image[chunk.start..chunk.end]),
        }
    }
    push_chunk(&mut out, b"XMP ", packet.as_bytes());
    let riff_len = u32::try_from(out.len() - 8).map_err(|_| malformed("the WebP is too large"))?;
    out[4..8].copy_from_slice(&riff_len.to_le_bytes());
    Ok(out)
}

/// Width, height and alpha of a simple (`VP8 ` or `VP8L`) WebP image.
fn canvas(image: &[u8], chunk: &Chunk) -> Result<(u32, u32, bool), XmpError> {
    let data = &image[chunk.data.clone()];
    let cut = || malformed("the WebP bitstream header is cut off");
    match &chunk.fourcc {
        b"VP8 " => {
            let header = data.get(6..10).ok_or_else(cut)?;
            let width = u16::from_le_bytes([header[0], header[1]]) & 0x3FFF;
            let height = u16::from_le_bytes([header[2], header[3]]) & 0x3FFF;
            Ok((width as u32, height as u32, false))
        }
        b"VP8L" => {
            let bits = u32::from_le_bytes(
                data.get(1..5)
                    .ok_or_else(cut)?
                    .try_into()
                    .map_err(|_| cut())?,
            );
            let width = (bits & 0x3FFF) + 1;
            let height = ((bits >> 14) & 0x3FFF) + 1;
            Ok((width, height, bits & (1 << 28) != 0))
        }
        other => Err(malformed(format!(
            "unexpected first WebP chunk {}",
            String::from_utf8_lossy(other)
        ))),
    }
}
