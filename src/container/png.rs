//! PNG chunks: the one reader ([`chunks`], from the signature to `IEND`, every length checked)
//! and the one writer ([`chunk`], length, type, data and CRC-32).
//!
//! Callers choose their own policy for a broken chain from the [`Break`] the reader yields:
//! the format check reports it, the metadata readers keep what came before it, re-encoding
//! refuses the file.

/// The eight bytes every PNG starts with.
pub const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// One chunk: its type, its data, and the byte range of the whole chunk (length, type, data
/// and CRC) in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk<'a> {
    pub kind: [u8; 4],
    pub data: &'a [u8],
    pub start: usize,
    pub end: usize,
}

/// Where the chain of chunks breaks before `IEND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Break {
    /// Fewer than 8 bytes (length and type) are left at `at`, the end of the file included.
    HeaderCutOff { at: usize },
    /// The chunk at `at` claims more bytes than the file has.
    Overrun { kind: [u8; 4], at: usize },
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Break::HeaderCutOff { at } => write!(f, "chunk header at byte {at} is cut off"),
            Break::Overrun { kind, at } => write!(
                f,
                "chunk {} at byte {at} runs past the end of the file",
                String::from_utf8_lossy(kind)
            ),
        }
    }
}

/// The chunks of a PNG file (`bytes` starts with the signature), in order, up to and including
/// `IEND`. Where the chain breaks first, the iterator yields that [`Break`] and stops.
pub fn chunks(bytes: &[u8]) -> Chunks<'_> {
    Chunks {
        bytes,
        pos: SIGNATURE.len(),
        done: false,
    }
}

/// See [`chunks`].
pub struct Chunks<'a> {
    bytes: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Iterator for Chunks<'a> {
    type Item = Result<Chunk<'a>, Break>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.done = true;
        let at = self.pos;
        let Some(header) = self.bytes.get(at..at.checked_add(8)?) else {
            return Some(Err(Break::HeaderCutOff { at }));
        };
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = [header[4], header[5], header[6], header[7]];
        let Some(end) = at
            .checked_add(12)
            .and_then(|p| p.checked_add(len))
            .filter(|&end| end <= self.bytes.len())
        else {
            return Some(Err(Break::Overrun { kind, at }));
        };
        self.pos = end;
        self.done = &kind == b"IEND";
        Some(Ok(Chunk {
            kind,
            data: &self.bytes[at + 8..end - 4],
            start: at,
            end,
        }))
    }
}

/// A whole chunk: length, type, data and the CRC-32 of type and data.
pub fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 12);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32fast::hash(&out[4..]).to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        for c in chunks {
            out.extend_from_slice(c);
        }
        out
    }

    #[test]
    fn reads_every_chunk_up_to_iend_and_nothing_after() {
        let file = png(&[
            chunk(b"IHDR", &[0; 13]),
            chunk(b"tEXt", b"k\0v"),
            chunk(b"IEND", b""),
            b"trailing".to_vec(),
        ]);
        let read: Vec<Chunk> = chunks(&file).map(Result::unwrap).collect();
        let kinds: Vec<&[u8; 4]> = read.iter().map(|c| &c.kind).collect();
        assert_eq!(kinds, [b"IHDR", b"tEXt", b"IEND"]);
        assert_eq!(read[1].data, b"k\0v");
        assert_eq!(read[1].end - read[1].start, 12 + 3);
        assert_eq!(
            &file[read[0].end - 4..read[0].end],
            &crc32fast::hash(b"IHDR\0\0\0\0\0\0\0\0\0\0\0\0\0").to_be_bytes()
        );
    }

    #[test]
    fn a_broken_chain_yields_where_it_breaks_and_stops() {
        let mut overrun = png(&[chunk(b"IHDR", &[0; 13])]);
        overrun.extend_from_slice(&1000u32.to_be_bytes());
        overrun.extend_from_slice(b"IDATshort");
        let read: Vec<_> = chunks(&overrun).collect();
        assert_eq!(read.len(), 2);
        assert_eq!(
            read[1],
            Err(Break::Overrun {
                kind: *b"IDAT",
                at: 33
            })
        );
        assert_eq!(
            read[1].unwrap_err().to_string(),
            "chunk IDAT at byte 33 runs past the end of the file"
        );
        // The file ends without IEND: the header that should follow is cut off.
        let unterminated = png(&[chunk(b"IHDR", &[0; 13])]);
        let read: Vec<_> = chunks(&unterminated).collect();
        assert_eq!(read.last(), Some(&Err(Break::HeaderCutOff { at: 33 })));
        // A length near usize::MAX cannot wrap the bounds check.
        let mut huge = SIGNATURE.to_vec();
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        huge.extend_from_slice(b"IDAT");
        assert!(matches!(
            chunks(&huge).next(),
            Some(Err(Break::Overrun { .. }))
        ));
    }
}
