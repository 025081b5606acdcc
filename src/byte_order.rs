//! The byte order of TIFF-structured data (TIFF files, EXIF blocks): reading and writing its
//! integers at offsets that come from untrusted input.

/// Little-endian (`II*\0`) or big-endian (`MM\0*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByteOrder {
    little: bool,
}

impl ByteOrder {
    /// The order a TIFF header declares; `None` when `bytes` does not start with one.
    pub fn of_tiff(bytes: &[u8]) -> Option<Self> {
        match bytes.get(..4)? {
            b"II*\0" => Some(ByteOrder { little: true }),
            b"MM\0*" => Some(ByteOrder { little: false }),
            _ => None,
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

    /// The tag number of a 12-byte IFD entry.
    pub fn tag(self, entry: &[u8; 12]) -> u16 {
        self.u16([entry[0], entry[1]])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
