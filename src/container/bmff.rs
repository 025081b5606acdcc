//! ISO base media file format boxes (AVIF, HEIC, the JPEG XL container): the one reader
//! ([`boxes`], the boxes of one level between two offsets, every size checked). A caller
//! descends by reading a box's body as the next level.

use std::ops::Range;

/// One box: its type and where its body is (after the size, type and any 64-bit size).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BmffBox {
    pub kind: [u8; 4],
    /// Where the box starts (its size field).
    pub start: usize,
    pub body: Range<usize>,
}

/// Where the boxes of a level stop chaining.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Break {
    /// The size and type of the box at `at` are cut off.
    HeaderCutOff { at: usize },
    /// The box at `at` is smaller than its header or runs past the end of its container.
    Overrun { kind: [u8; 4], at: usize },
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Break::HeaderCutOff { at } => write!(f, "box header at byte {at} is cut off"),
            Break::Overrun { kind, at } => write!(
                f,
                "box '{}' at byte {at} runs past the end of its container",
                String::from_utf8_lossy(kind)
            ),
        }
    }
}

/// The boxes in `bytes[start..end]`, in order. A size of 0 runs to `end`; a size of 1 is
/// followed by a 64-bit size. Where the chain breaks, the iterator yields that [`Break`] and
/// stops.
pub fn boxes(bytes: &[u8], start: usize, end: usize) -> Boxes<'_> {
    Boxes {
        bytes,
        pos: start,
        end: end.min(bytes.len()),
        done: false,
    }
}

/// Every box of a level, or the first break.
pub fn all_boxes(bytes: &[u8], start: usize, end: usize) -> Result<Vec<BmffBox>, Break> {
    boxes(bytes, start, end).collect()
}

/// See [`boxes`].
pub struct Boxes<'a> {
    bytes: &'a [u8],
    pos: usize,
    end: usize,
    done: bool,
}

impl Iterator for Boxes<'_> {
    type Item = Result<BmffBox, Break>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.end {
            return None;
        }
        let (at, end) = (self.pos, self.end);
        self.done = true;
        let field = |from: usize, len: usize| self.bytes.get(from..from.checked_add(len)?);
        let Some(header) = field(at, 8).filter(|_| at + 8 <= end) else {
            return Some(Err(Break::HeaderCutOff { at }));
        };
        let kind = [header[4], header[5], header[6], header[7]];
        let (size, header_len) =
            match u32::from_be_bytes([header[0], header[1], header[2], header[3]]) {
                0 => (end - at, 8),
                1 => {
                    let Some(large) = field(at + 8, 8) else {
                        return Some(Err(Break::HeaderCutOff { at }));
                    };
                    let large = u64::from_be_bytes(large.try_into().expect("eight bytes"));
                    (usize::try_from(large).unwrap_or(usize::MAX), 16)
                }
                n => (n as usize, 8),
            };
        if size < header_len || at.checked_add(size).is_none_or(|box_end| box_end > end) {
            return Some(Err(Break::Overrun { kind, at }));
        }
        self.pos = at + size;
        self.done = false;
        Some(Ok(BmffBox {
            kind,
            start: at,
            body: at + header_len..at + size,
        }))
    }
}

/// A whole box with a 32-bit size. synthmark never writes BMFF files; the tests build theirs
/// with this.
#[cfg(test)]
pub fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::boxed as bmff_box;

    #[test]
    fn reads_a_level_with_compact_large_and_to_the_end_sizes() {
        let mut file = bmff_box(b"ftyp", b"avif");
        let large_at = file.len();
        file.extend_from_slice(&1u32.to_be_bytes());
        file.extend_from_slice(b"meta");
        file.extend_from_slice(&20u64.to_be_bytes());
        file.extend_from_slice(b"abcd");
        let last_at = file.len();
        file.extend_from_slice(&0u32.to_be_bytes());
        file.extend_from_slice(b"mdat");
        file.extend_from_slice(b"pixels");
        let read = all_boxes(&file, 0, file.len()).unwrap();
        let kinds: Vec<&[u8; 4]> = read.iter().map(|b| &b.kind).collect();
        assert_eq!(kinds, [b"ftyp", b"meta", b"mdat"]);
        assert_eq!(&file[read[0].body.clone()], b"avif");
        assert_eq!(read[1].start, large_at);
        assert_eq!(&file[read[1].body.clone()], b"abcd");
        assert_eq!(read[2].start, last_at);
        assert_eq!(&file[read[2].body.clone()], b"pixels");
    }

    #[test]
    fn every_break_is_named_with_where_it_is() {
        let mut file = bmff_box(b"ftyp", b"avif");
        file.extend_from_slice(&100u32.to_be_bytes());
        file.extend_from_slice(b"mdat");
        assert_eq!(
            all_boxes(&file, 0, file.len()),
            Err(Break::Overrun {
                kind: *b"mdat",
                at: 12
            })
        );
        assert_eq!(
            Break::Overrun {
                kind: *b"mdat",
                at: 12
            }
            .to_string(),
            "box 'mdat' at byte 12 runs past the end of its container"
        );
        // A box may not run past the end of its parent, even when the file goes on.
        let parent = bmff_box(b"meta", &bmff_box(b"hdlr", b"1234"));
        assert!(all_boxes(&parent, 8, parent.len() - 1).is_err());
        // Cut-off headers, and sizes that would wrap or stand still.
        assert_eq!(
            all_boxes(b"\0\0\0\x10ft", 0, 6),
            Err(Break::HeaderCutOff { at: 0 })
        );
        let mut huge = 1u32.to_be_bytes().to_vec();
        huge.extend_from_slice(b"mdat");
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        assert!(matches!(
            all_boxes(&huge, 0, huge.len()),
            Err(Break::Overrun { .. })
        ));
        let stuck = [0, 0, 0, 4, b'f', b'r', b'e', b'e'];
        assert!(all_boxes(&stuck, 0, 8).is_err());
    }
}
