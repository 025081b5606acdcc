//! RIFF chunks (WebP): the one reader ([`chunks`], within the length the RIFF header declares,
//! every length checked) and the one writer ([`push_chunk`], header, data and padding).

use std::ops::Range;

/// One chunk: its FourCC, where it starts (header included), its data, and where it ends
/// (padding included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chunk {
    pub fourcc: [u8; 4],
    pub start: usize,
    pub data: Range<usize>,
    pub end: usize,
}

/// A chunk whose data runs past the RIFF data: where the chain breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overrun {
    pub fourcc: [u8; 4],
    pub at: usize,
}

impl std::fmt::Display for Overrun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "chunk {} at byte {} runs past the end of the RIFF data",
            String::from_utf8_lossy(&self.fourcc),
            self.at
        )
    }
}

/// The chunks after a RIFF file's 12-byte header, up to the length the header declares (or the
/// end of the file, if that comes first); a chunk whose data runs past it is yielded as an
/// [`Overrun`], and nothing after it. Fewer than 8 bytes left over end the chain.
pub(crate) fn chunks(image: &[u8]) -> Chunks<'_> {
    let declared = image
        .get(4..8)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    let end = declared
        .and_then(|len| len.checked_add(8))
        .map_or(0, |end| end.min(image.len()));
    Chunks {
        image,
        pos: 12,
        end,
        broken: false,
    }
}

/// The same chunks up to the end of the file, whatever length the header declares: how a
/// lenient metadata reader treats writers that stream a RIFF file with a length of 0.
pub(crate) fn chunks_to_end(image: &[u8]) -> Chunks<'_> {
    Chunks {
        image,
        pos: 12,
        end: image.len(),
        broken: false,
    }
}

/// See [`chunks`].
pub(crate) struct Chunks<'a> {
    image: &'a [u8],
    pos: usize,
    end: usize,
    broken: bool,
}

impl Iterator for Chunks<'_> {
    type Item = Result<Chunk, Overrun>;

    fn next(&mut self) -> Option<Self::Item> {
        let pos = self.pos;
        if self.broken || pos.checked_add(8)? > self.end {
            return None;
        }
        let header = &self.image[pos..pos + 8];
        let fourcc = [header[0], header[1], header[2], header[3]];
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let data = pos + 8..(pos + 8).checked_add(len)?;
        if data.end > self.end {
            self.broken = true;
            return Some(Err(Overrun { fourcc, at: pos }));
        }
        let end = (data.end + (len & 1)).min(self.end);
        self.pos = end;
        Some(Ok(Chunk {
            fourcc,
            start: pos,
            data,
            end,
        }))
    }
}

/// Every chunk, or `None` when one runs past the RIFF data.
pub(crate) fn all_chunks(image: &[u8]) -> Option<Vec<Chunk>> {
    chunks(image).collect::<Result<_, _>>().ok()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn webp(chunks: &[(&[u8; 4], &[u8])], declared_extra: i64) -> Vec<u8> {
        let mut body = b"WEBP".to_vec();
        for (fourcc, data) in chunks {
            push_chunk(&mut body, fourcc, data);
        }
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&((body.len() as i64 + declared_extra) as u32).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn reads_padded_chunks_within_the_declared_length() {
        let file = webp(&[(b"VP8L", b"abc"), (b"EXIF", b"xy")], 0);
        let read = all_chunks(&file).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(&read[0].fourcc, b"VP8L");
        assert_eq!(&file[read[0].data.clone()], b"abc");
        assert_eq!(read[0].end, 12 + 8 + 4, "odd length padded");
        assert_eq!(read[1].start, read[0].end);
        // A declared length that ends before the second chunk hides it, except from the
        // lenient reader.
        let short = webp(&[(b"VP8L", b"abcd"), (b"EXIF", b"xy")], -10);
        assert_eq!(all_chunks(&short).unwrap().len(), 1);
        assert_eq!(chunks_to_end(&short).count(), 2);
    }

    #[test]
    fn a_chunk_past_the_riff_data_breaks_the_chain() {
        let mut file = webp(&[(b"VP8L", b"abcd")], 0);
        file.extend_from_slice(b"EXIF");
        file.extend_from_slice(&1000u32.to_le_bytes());
        let declared = (file.len() - 8) as u32;
        file[4..8].copy_from_slice(&declared.to_le_bytes());
        let read: Vec<_> = chunks(&file).collect();
        assert_eq!(read.len(), 2);
        let broken = read[1].clone().unwrap_err();
        assert_eq!(
            broken,
            Overrun {
                fourcc: *b"EXIF",
                at: 24
            }
        );
        assert_eq!(
            broken.to_string(),
            "chunk EXIF at byte 24 runs past the end of the RIFF data"
        );
        assert_eq!(all_chunks(&file), None);
    }
}
