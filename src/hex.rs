//! Lower-case hexadecimal, for SHA-256 digests and PDQ hashes in reports, the registry and the
//! command line.

/// `bytes` as lower-case hex digits.
pub fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 32 bytes from exactly 64 hex digits (either case).
pub fn decode_32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips_and_refuses_other_lengths() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 37) as u8);
        assert_eq!(super::decode_32(&super::encode(&bytes)), Some(bytes));
        assert_eq!(super::decode_32(&"AB".repeat(32)), Some([0xab; 32]));
        assert_eq!(super::decode_32("abc"), None);
        assert_eq!(super::decode_32(&"zz".repeat(32)), None);
    }
}
