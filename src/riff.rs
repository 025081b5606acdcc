//! The RIFF chunk layout of WebP files: listing a file's chunks and writing one, shared by the
//! XMP writer and the pixel re-encoder.

use std::ops::Range;

/// One chunk: its FourCC, where it starts (header included), its data, and where it ends
/// (padding included).
pub(crate) struct Chunk {
    pub fourcc: [u8; 4],
    pub start: usize,
    pub data: Range<usize>,
    pub end: usize,
}

/// The chunks of a RIFF WebP file, within the length its header declares; `None` when a chunk
/// runs past it.
pub(crate) fn chunks(image: &[u8]) -> Option<Vec<Chunk>> {
    let le_u32 = |at: usize| -> Option<usize> {
        Some(u32::from_le_bytes(image.get(at..at.checked_add(4)?)?.try_into().ok()?) as usize)
    };
    let riff_end = (le_u32(4)?.checked_add(8)?).min(image.len());
    let mut pos = 12;
    let mut found = Vec::new();
    while pos + 8 <= riff_end {
        let fourcc: [u8; 4] = image.get(pos..pos + 4)?.try_into().ok()?;
        let len = le_u32(pos + 4)?;
        let data = pos + 8..(pos + 8).checked_add(len)?;
        if data.end > riff_end {
            return None;
        }
        let end = (data.end + (len & 1)).min(riff_end);
        found.push(Chunk {
            fourcc,
            start: pos,
            data,
            end,
        });
        pos = end;
    }
    Some(found)
}

/// Appends a chunk with its header and, for odd lengths, the padding byte.
pub(crate) fn push_chunk(out: &mut Vec<u8>, fourcc: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(fourcc);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
}
