//! Resource limits for untrusted images, in one place.
//!
//! Every path that decodes pixels (checking, stamping, thumbnails, registry import) goes through
//! [`crate::pixels::decode`], which reads the image header and refuses, before allocating, an
//! image with more than [`Limits::max_pixels`] pixels or more than [`Limits::max_decoded_bytes`]
//! decoded bytes (width × height × channels × bytes per sample). The metadata readers share one
//! [`TextBudget`] per file: all text chunks and EXIF strings together, counted after conversion
//! to UTF-8, may not exceed [`Limits::max_text_bytes`], and once it is spent nothing more is
//! inflated (so a file of many small compression bombs costs at most one budget of work).

use std::io::Read;

/// How much one image may cost to read. The defaults suit a public service; raise them for
/// trusted batch work on large scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Images with more pixels are not decoded.
    ///
    /// Default: 40,000,000 (40 MP)
    pub max_pixels: u64,
    /// Images whose decoded pixels (width × height × channels × bytes per sample) need more bytes
    /// are not decoded: a 16-bit RGBA image costs four times an 8-bit grey one of the same size.
    ///
    /// Default: 256 MiB (40 MP of 8-bit RGBA or 16-bit RGB)
    pub max_decoded_bytes: u64,
    /// The total metadata text read from one file (PNG text chunks inflated, EXIF strings), all
    /// fields together, in bytes of UTF-8.
    ///
    /// Default: 8 MiB
    pub max_text_bytes: usize,
}

/// The default [`Limits::max_pixels`].
pub const MAX_PIXELS: u64 = 40_000_000;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pixels: MAX_PIXELS,
            max_decoded_bytes: 256 << 20,
            max_text_bytes: 8 << 20,
        }
    }
}

/// What is left of one file's text budget. Every inflated or converted string is charged to it;
/// once a string does not fit, the budget is spent and every later request is refused.
#[derive(Debug)]
pub(crate) struct TextBudget {
    remaining: usize,
    spent: bool,
}

impl TextBudget {
    pub fn new(limits: &Limits) -> Self {
        TextBudget {
            remaining: limits.max_text_bytes,
            spent: false,
        }
    }

    /// True once some text did not fit: later fields are not read.
    pub fn is_spent(&self) -> bool {
        self.spent
    }

    /// zlib-inflates `compressed`, or `None` when the stream is corrupt or would not fit (the
    /// budget is then spent). The inflated bytes are not charged yet: the caller converts them
    /// and charges the text with [`TextBudget::charge`].
    pub fn inflate(&mut self, compressed: &[u8]) -> Option<Vec<u8>> {
        if self.spent {
            return None;
        }
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(compressed)
            .take(self.remaining as u64 + 1)
            .read_to_end(&mut out)
            .ok()?;
        if out.len() > self.remaining {
            self.spent = true;
            return None;
        }
        Some(out)
    }

    /// Charges `text` to the budget: `Some(text)` when it fits, else `None` (and the budget is
    /// spent).
    pub fn charge(&mut self, text: String) -> Option<String> {
        if self.spent || text.len() > self.remaining {
            self.spent = true;
            return None;
        }
        self.remaining -= text.len();
        Some(text)
    }

    /// True when `len` raw bytes might still fit once converted (each byte becomes at least one
    /// byte of UTF-8): a cheap test before converting. When they cannot, the budget is spent.
    pub fn admits(&mut self, len: usize) -> bool {
        if self.spent || len > self.remaining {
            self.spent = true;
        }
        !self.spent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(data).unwrap();
        z.finish().unwrap()
    }

    #[test]
    fn text_budget_is_shared_by_every_field_and_stops_once_spent() {
        let limits = Limits {
            max_text_bytes: 100,
            ..Limits::default()
        };
        let mut budget = TextBudget::new(&limits);
        assert_eq!(budget.charge("a".repeat(60)).unwrap().len(), 60);
        assert_eq!(budget.inflate(&zlib(&[b'x'; 40])).unwrap().len(), 40);
        assert!(budget.charge("b".repeat(40)).is_some());
        // Nothing is left: the next field spends the budget, and later small ones are refused.
        assert!(budget.charge("c".to_string()).is_none());
        assert!(budget.is_spent());
        assert!(budget.inflate(&zlib(b"tiny")).is_none());
    }

    #[test]
    fn a_bomb_is_cut_off_at_the_budget() {
        let limits = Limits {
            max_text_bytes: 1 << 20,
            ..Limits::default()
        };
        let mut budget = TextBudget::new(&limits);
        let bomb = zlib(&vec![0xFF; 16 << 20]);
        assert!(budget.inflate(&bomb).is_none());
        assert!(budget.is_spent());
        assert!(budget.inflate(&zlib(b"parameters")).is_none());
    }

    #[test]
    fn corrupt_streams_do_not_spend_the_budget() {
        let mut budget = TextBudget::new(&Limits::default());
        assert!(budget.inflate(b"not zlib").is_none());
        assert!(!budget.is_spent());
        assert!(budget.inflate(&zlib(b"ok")).is_some());
    }
}
