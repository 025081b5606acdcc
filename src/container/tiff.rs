//! TIFF structure, shared by TIFF files and EXIF blocks: the byte order, the one reader of image
//! file directories ([`Tiff::ifd`] and the chain from the header, [`Tiff::chain`]; every offset
//! checked) and the one writer ([`entry`], [`directory`]).
//!
//! The reader is lenient and says how complete it was: an [`Ifd`] yields the entries that fit
//! in the file and tells whether its whole table and its next-IFD offset did
//! ([`Ifd::is_complete`]). The format check and re-encoding insist on complete tables; the
//! metadata readers take what is there.

use std::collections::HashSet;

/// Little-endian (`II*\0`) or big-endian (`MM\0*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteOrder {
    little: bool,
}

impl ByteOrder {
    pub const LITTLE: ByteOrder = ByteOrder { little: true };
    pub const BIG: ByteOrder = ByteOrder { little: false };

    /// The order a TIFF header declares; `None` when `bytes` does not start with one.
    pub fn of_tiff(bytes: &[u8]) -> Option<Self> {
        match bytes.get(..4)? {
            b"II*\0" => Some(Self::LITTLE),
            b"MM\0*" => Some(Self::BIG),
            _ => None,
        }
    }

    /// The four header bytes that declare this order (for the tests' own files).
    #[cfg(test)]
    pub fn header(self) -> [u8; 4] {
        if self.little {
            *b"II*\0"
        } else {
            *b"MM\0*"
        }
    }

    pub fn u16(self, bytes: [u8; 2]) -> u16 {
        if self.little {
            u16::from_le_bytes(bytes)
        } else {
            u16::from_be_bytes(bytes)
        }
    }

    pub fn u32(self, bytes: [u8; 4]) -> u32 {
        if self.little {
            u32::from_le_bytes(bytes)
        } else {
            u32::from_be_bytes(bytes)
        }
    }

    /// The 16-bit integer at `at`, if it lies inside `bytes`.
    pub fn u16_at(self, bytes: &[u8], at: usize) -> Option<usize> {
        Some(self.u16(bytes.get(at..at.checked_add(2)?)?.try_into().ok()?) as usize)
    }

    /// The 32-bit integer at `at`, if it lies inside `bytes`.
    pub fn u32_at(self, bytes: &[u8], at: usize) -> Option<usize> {
        Some(self.u32(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?) as usize)
    }

    pub fn put16(self, value: u16) -> [u8; 2] {
        if self.little {
            value.to_le_bytes()
        } else {
            value.to_be_bytes()
        }
    }

    pub fn put32(self, value: u32) -> [u8; 4] {
        if self.little {
            value.to_le_bytes()
        } else {
            value.to_be_bytes()
        }
    }
}

/// Field types by their TIFF number.
pub mod kind {
    pub const BYTE: u16 = 1;
    pub const ASCII: u16 = 2;
    pub const SHORT: u16 = 3;
    pub const LONG: u16 = 4;
    pub const UNDEFINED: u16 = 7;
}

/// The size in bytes of one value of a field type; `None` for types this reader does not know.
fn unit_size(kind: u16) -> Option<usize> {
    match kind {
        1 | 2 | 6 | 7 => Some(1),   // BYTE, ASCII, SBYTE, UNDEFINED
        3 | 8 => Some(2),           // SHORT, SSHORT
        4 | 9 | 11 | 13 => Some(4), // LONG, SLONG, FLOAT, IFD
        5 | 10 | 12 => Some(8),     // RATIONAL, SRATIONAL, DOUBLE
        _ => None,
    }
}

/// Where the chain of IFDs from the header stops making sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Break {
    /// The header (byte order and first IFD offset) is cut off.
    HeaderCutOff,
    /// The first IFD offset points into the 8-byte header.
    IntoHeader { at: usize },
    /// An IFD's entry count lies past the end of the file.
    IfdCutOff { at: usize },
    /// An IFD names one already visited as its next: readers following it go round forever.
    Loop { at: usize },
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Break::HeaderCutOff => f.write_str("the header is cut off"),
            Break::IntoHeader { at } => {
                write!(f, "the first IFD offset {at} points into the header")
            }
            Break::IfdCutOff { at } => {
                write!(f, "the IFD at byte {at} lies past the end of the file")
            }
            Break::Loop { at } => write!(f, "the chain of IFDs loops back to byte {at}"),
        }
    }
}

/// TIFF-structured bytes: a TIFF file, or the block after `Exif\0\0`.
#[derive(Debug, Clone, Copy)]
pub struct Tiff<'a> {
    pub bytes: &'a [u8],
    pub order: ByteOrder,
}

impl<'a> Tiff<'a> {
    /// `None` when `bytes` does not start with a TIFF byte-order mark.
    pub fn new(bytes: &'a [u8]) -> Option<Self> {
        Some(Tiff {
            order: ByteOrder::of_tiff(bytes)?,
            bytes,
        })
    }

    /// The offset of IFD0 the header gives.
    pub fn first_ifd(&self) -> Result<usize, Break> {
        let at = self
            .order
            .u32_at(self.bytes, 4)
            .ok_or(Break::HeaderCutOff)?;
        if at < 8 {
            return Err(Break::IntoHeader { at });
        }
        Ok(at)
    }

    /// The IFD at `at`; an error only when not even its entry count is in the file.
    pub fn ifd(&self, at: usize) -> Result<Ifd<'a>, Break> {
        let count = self
            .order
            .u16_at(self.bytes, at)
            .ok_or(Break::IfdCutOff { at })?;
        Ok(Ifd {
            tiff: *self,
            at,
            count,
        })
    }

    /// IFD0, IFD1 … by their next-IFD offsets. Where the chain breaks (a loop, an IFD past the
    /// end), the iterator yields that [`Break`] and stops.
    pub fn chain(&self) -> Chain<'a> {
        Chain {
            tiff: *self,
            next: Some(self.first_ifd()),
            seen: HashSet::new(),
        }
    }
}

/// See [`Tiff::chain`].
pub struct Chain<'a> {
    tiff: Tiff<'a>,
    next: Option<Result<usize, Break>>,
    seen: HashSet<usize>,
}

impl<'a> Iterator for Chain<'a> {
    type Item = Result<Ifd<'a>, Break>;

    fn next(&mut self) -> Option<Self::Item> {
        let at = match self.next.take()? {
            Ok(at) => at,
            Err(broken) => return Some(Err(broken)),
        };
        if !self.seen.insert(at) {
            return Some(Err(Break::Loop { at }));
        }
        let ifd = match self.tiff.ifd(at) {
            Ok(ifd) => ifd,
            Err(broken) => return Some(Err(broken)),
        };
        self.next = ifd.next().filter(|&next| next != 0).map(Ok);
        Some(Ok(ifd))
    }
}

/// One image file directory: a count, that many 12-byte entries, the next IFD's offset.
#[derive(Debug, Clone, Copy)]
pub struct Ifd<'a> {
    tiff: Tiff<'a>,
    /// Where the IFD starts (its entry count).
    pub at: usize,
    count: usize,
}

impl<'a> Ifd<'a> {
    /// The byte order of the file the IFD is in.
    pub fn order(&self) -> ByteOrder {
        self.tiff.order
    }

    /// How many entries the IFD declares.
    pub fn declared(&self) -> usize {
        self.count
    }

    /// Where the next-IFD offset is (after the last declared entry).
    fn next_at(&self) -> usize {
        self.at + 2 + self.count * 12
    }

    /// The next IFD's offset (0 ends the chain); `None` when the table runs past the end.
    pub fn next(&self) -> Option<usize> {
        self.tiff.order.u32_at(self.tiff.bytes, self.next_at())
    }

    /// Whether every declared entry and the next-IFD offset are in the file.
    pub fn is_complete(&self) -> bool {
        self.next().is_some()
    }

    /// The entries that fit in the file, in order.
    pub fn entries(&self) -> impl Iterator<Item = Entry<'a>> + 'a {
        let (tiff, first) = (self.tiff, self.at + 2);
        (0..self.count).map_while(move |i| {
            let at = first + i * 12;
            let raw: [u8; 12] = tiff.bytes.get(at..at + 12)?.try_into().ok()?;
            Some(Entry { tiff, at, raw })
        })
    }

    /// The first entry with `tag`.
    pub fn find(&self, tag: u16) -> Option<Entry<'a>> {
        self.entries().find(|entry| entry.tag() == tag)
    }
}

/// One IFD entry: tag, type, count and a value (inline when it fits in four bytes, else the
/// offset of the value).
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    tiff: Tiff<'a>,
    /// Where the entry is in the file.
    pub at: usize,
    /// The 12 bytes as stored.
    pub raw: [u8; 12],
}

impl<'a> Entry<'a> {
    pub fn tag(&self) -> u16 {
        self.tiff.order.u16([self.raw[0], self.raw[1]])
    }

    pub fn kind(&self) -> u16 {
        self.tiff.order.u16([self.raw[2], self.raw[3]])
    }

    pub fn count(&self) -> usize {
        self.tiff
            .order
            .u32([self.raw[4], self.raw[5], self.raw[6], self.raw[7]]) as usize
    }

    /// The value field read as an offset (where a long value, or a sub-IFD, is).
    pub fn offset(&self) -> usize {
        self.tiff
            .order
            .u32([self.raw[8], self.raw[9], self.raw[10], self.raw[11]]) as usize
    }

    /// Where a value of `len` bytes is: in the entry itself when it fits in four bytes, else at
    /// the entry's offset.
    fn value_at(&self, len: usize) -> usize {
        if len <= 4 {
            self.at + 8
        } else {
            self.offset()
        }
    }

    /// The value's bytes, inline or at its offset; `None` for an unknown type or a value that
    /// runs past the end.
    pub fn value(&self) -> Option<&'a [u8]> {
        let len = unit_size(self.kind())?.checked_mul(self.count())?;
        let start = self.value_at(len);
        self.tiff.bytes.get(start..start.checked_add(len)?)
    }

    /// A SHORT or LONG value as numbers, at most `max` of them; `None` for other types or a
    /// value that runs past the end.
    pub fn unsigned(&self, max: usize) -> Option<Vec<usize>> {
        let order = self.tiff.order;
        let size = match self.kind() {
            kind::SHORT => 2,
            kind::LONG => 4,
            _ => return None,
        };
        let n = self.count().min(max);
        let start = self.value_at(self.count().checked_mul(size)?);
        let bytes = self
            .tiff
            .bytes
            .get(start..start.checked_add(n.checked_mul(size)?)?)?;
        Some(
            bytes
                .chunks_exact(size)
                .map(|unit| match size {
                    2 => order.u16([unit[0], unit[1]]) as usize,
                    _ => order.u32([unit[0], unit[1], unit[2], unit[3]]) as usize,
                })
                .collect(),
        )
    }
}

/// A 12-byte IFD entry. `value` is the value itself when it fits in four bytes (left-aligned),
/// else its offset.
pub fn entry(order: ByteOrder, tag: u16, kind: u16, count: u32, value: [u8; 4]) -> [u8; 12] {
    let mut out = [0u8; 12];
    out[0..2].copy_from_slice(&order.put16(tag));
    out[2..4].copy_from_slice(&order.put16(kind));
    out[4..8].copy_from_slice(&order.put32(count));
    out[8..12].copy_from_slice(&value);
    out
}

/// A whole IFD: the entry count, the entries (sorted by tag, as TIFF requires) and the next
/// IFD's offset.
pub fn directory(order: ByteOrder, entries: &[[u8; 12]], next: u32) -> Vec<u8> {
    let mut sorted = entries.to_vec();
    sorted.sort_by_key(|e| order.u16([e[0], e[1]]));
    let mut out = Vec::with_capacity(2 + 12 * sorted.len() + 4);
    out.extend_from_slice(&order.put16(sorted.len() as u16));
    for entry in &sorted {
        out.extend_from_slice(entry);
    }
    out.extend_from_slice(&order.put32(next));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header pointing at IFD0 at byte 8, then `ifd0`.
    fn tiff(order: ByteOrder, ifd0: Vec<u8>) -> Vec<u8> {
        let mut out = order.header().to_vec();
        out.extend_from_slice(&order.put32(8));
        out.extend(ifd0);
        out
    }

    #[test]
    fn reads_both_orders_and_refuses_out_of_range_offsets() {
        let little = ByteOrder::of_tiff(b"II*\0\x08\0\0\0").unwrap();
        let big = ByteOrder::of_tiff(b"MM\0*\0\0\0\x08").unwrap();
        assert_eq!(little.u32_at(b"II*\0\x08\0\0\0", 4), Some(8));
        assert_eq!(big.u32_at(b"MM\0*\0\0\0\x08", 4), Some(8));
        assert_eq!(big.u16_at(b"MM\0*", 3), None);
        assert_eq!(big.u32_at(b"MM\0*", usize::MAX), None);
        assert_eq!(ByteOrder::of_tiff(b"GIF8"), None);
        assert_eq!(little.put16(0x0102), [2, 1]);
        assert_eq!(big.put32(0x01020304), [1, 2, 3, 4]);
    }

    #[test]
    fn reads_inline_and_offset_values_written_by_the_writer() {
        for order in [ByteOrder::LITTLE, ByteOrder::BIG] {
            // IFD0 of two entries at 8 (2 + 24 + 4 = 30 bytes), then the long value at 38.
            let mut words = [0u8; 4];
            words[..2].copy_from_slice(&order.put16(640));
            let entries = [
                entry(order, 305, kind::ASCII, 6, order.put32(38)),
                entry(order, 256, kind::SHORT, 1, words),
            ];
            let mut file = tiff(order, directory(order, &entries, 0));
            file.extend_from_slice(b"synth\0");
            let tiff = Tiff::new(&file).unwrap();
            let ifds: Vec<Ifd> = tiff.chain().map(Result::unwrap).collect();
            assert_eq!(ifds.len(), 1);
            let ifd = ifds[0];
            assert!(ifd.is_complete());
            let tags: Vec<u16> = ifd.entries().map(|e| e.tag()).collect();
            assert_eq!(tags, [256, 305], "the writer sorts by tag");
            assert_eq!(ifd.find(305).unwrap().value(), Some(&b"synth\0"[..]));
            assert_eq!(ifd.find(256).unwrap().unsigned(8), Some(vec![640]));
            assert_eq!(ifd.find(256).unwrap().value().map(<[u8]>::len), Some(2));
        }
    }

    #[test]
    fn every_break_is_named_with_where_it_is() {
        let order = ByteOrder::LITTLE;
        let one = |next: u32| {
            let entries = [entry(order, 256, kind::SHORT, 1, [8, 0, 0, 0])];
            tiff(order, directory(order, &entries, next))
        };
        // IFD0 naming itself as the next.
        let looping = one(8);
        let read: Vec<_> = Tiff::new(&looping).unwrap().chain().collect();
        assert_eq!(read.len(), 2);
        assert_eq!(read[1].unwrap_err(), Break::Loop { at: 8 });
        assert_eq!(
            Break::Loop { at: 8 }.to_string(),
            "the chain of IFDs loops back to byte 8"
        );
        // A next IFD past the end.
        let past = one(4000);
        let last = Tiff::new(&past).unwrap().chain().last().unwrap();
        assert_eq!(last.unwrap_err(), Break::IfdCutOff { at: 4000 });
        // Header faults.
        assert_eq!(
            Tiff::new(b"II*\0\x04\0\0\0").unwrap().first_ifd(),
            Err(Break::IntoHeader { at: 4 })
        );
        assert_eq!(
            Tiff::new(b"II*\0\x08").unwrap().first_ifd(),
            Err(Break::HeaderCutOff)
        );
        // A table that declares more entries than the file holds: the ones there are read,
        // and the IFD says it is incomplete.
        let mut cut = one(0);
        cut[8..10].copy_from_slice(&order.put16(3));
        let ifd = Tiff::new(&cut).unwrap().ifd(8).unwrap();
        assert_eq!(ifd.declared(), 3);
        assert_eq!(ifd.entries().count(), 1);
        assert!(!ifd.is_complete());
        // A value offset near usize::MAX cannot wrap the bounds check.
        let huge = entry(order, 305, kind::ASCII, u32::MAX, order.put32(u32::MAX));
        let file = tiff(order, directory(order, &[huge], 0));
        let tiff = Tiff::new(&file).unwrap();
        let entry = tiff.ifd(8).unwrap().find(305).unwrap();
        assert_eq!(entry.value(), None);
        assert_eq!(entry.unsigned(4), None);
    }
}
