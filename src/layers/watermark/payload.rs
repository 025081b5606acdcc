//! The 64-bit watermark payload and its channel code.
//!
//! Layout, most significant bit first: `version` (4 bits) · `asset id` (40 bits) · `check`
//! (20 bits). The check is the first 20 bits of SHA-256 over a domain string, the version and the
//! id, so a decoder fed noise passes it with probability 2⁻²⁰ whatever the noise looks like, and
//! only version 1 is accepted: 24 bits must match by chance, p = 2⁻²⁴ ≈ 6·10⁻⁸ per decoding
//! attempt (see `detect::MAX_DECODES` for the per-image bound).
//!
//! On the image the payload travels through a rate-½, constraint-length-7 convolutional code (the
//! NASA/CCSDS 171/133 generators, zero-terminated: 70 steps → 140 coded bits), decoded with a
//! soft-decision Viterbi decoder: about 5 dB of coding gain over sending the 64 bits bare.

use sha2::{Digest, Sha256};

/// The soft-binding algorithm identifier written into C2PA manifests. Not (yet) on the C2PA
/// soft-binding algorithm list, so it uses our own reverse-domain namespace.
pub const ALGORITHM: &str = "org.synthmark.tiledss.1";
/// The only payload version this build writes and accepts.
pub const VERSION: u8 = 1;
/// Bits in the asset identifier.
pub const ASSET_ID_BITS: u32 = 40;
const CHECK_BITS: u32 = 20;
/// Payload bits.
pub const PAYLOAD_BITS: usize = 64;
const CONSTRAINT: usize = 7;
const TAIL: usize = CONSTRAINT - 1;
/// Coded bits carried by the watermark tile.
pub const CODED_BITS: usize = 2 * (PAYLOAD_BITS + TAIL);
const GENERATORS: [u32; 2] = [0o171, 0o133];
const CHECK_DOMAIN: &[u8] = b"synthmark watermark payload v1";

/// The identifier a watermark carries: the link between the watermark, the C2PA soft binding and
/// the registry. 40 random bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AssetId(u64);

impl AssetId {
    /// The largest identifier plus one.
    const LIMIT: u64 = 1 << ASSET_ID_BITS;

    /// A fresh random identifier from the operating system's generator.
    pub fn random() -> Self {
        let mut bytes = [0u8; 8];
        // The OS generator only fails on platforms synthmark does not run on; an identifier
        // is not a secret, so the clock is an acceptable last resort there.
        if getrandom::fill(&mut bytes).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            bytes = Sha256::digest(nanos.to_le_bytes())[..8]
                .try_into()
                .unwrap_or(bytes);
        }
        AssetId(u64::from_le_bytes(bytes) % Self::LIMIT)
    }

    /// An identifier from its numeric value; `None` beyond 40 bits.
    pub fn new(value: u64) -> Option<Self> {
        (value < Self::LIMIT).then_some(AssetId(value))
    }

    pub fn value(self) -> u64 {
        self.0
    }

    /// Parses the 10-hex-digit form printed by [`std::fmt::Display`].
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() || text.len() > 10 {
            return None;
        }
        u64::from_str_radix(text, 16).ok().and_then(AssetId::new)
    }
}

impl std::fmt::Display for AssetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:010x}", self.0)
    }
}

/// The 64 payload bits for `id`, version included.
pub fn pack(id: AssetId) -> u64 {
    let head = (u64::from(VERSION) << ASSET_ID_BITS) | id.0;
    (head << CHECK_BITS) | check(head)
}

/// The asset id inside `word`, if the version is ours and the check matches.
pub fn unpack(word: u64) -> Option<AssetId> {
    let head = word >> CHECK_BITS;
    let version = (head >> ASSET_ID_BITS) as u8;
    (version == VERSION && check(head) == word & ((1 << CHECK_BITS) - 1))
        .then_some(AssetId(head & (AssetId::LIMIT - 1)))
}

fn check(head: u64) -> u64 {
    let digest = Sha256::new()
        .chain_update(CHECK_DOMAIN)
        .chain_update(head.to_be_bytes())
        .finalize();
    let first = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    u64::from(first >> (32 - CHECK_BITS))
}

/// Convolutionally encodes the 64 payload bits (MSB first) into [`CODED_BITS`] bits.
pub fn encode(word: u64) -> [bool; CODED_BITS] {
    let mut coded = [false; CODED_BITS];
    let mut state = 0u32;
    for step in 0..PAYLOAD_BITS + TAIL {
        let bit = step < PAYLOAD_BITS && (word >> (PAYLOAD_BITS - 1 - step)) & 1 == 1;
        state = ((state << 1) | u32::from(bit)) & ((1 << CONSTRAINT) - 1);
        for (g, generator) in GENERATORS.iter().enumerate() {
            coded[2 * step + g] = (state & generator).count_ones() % 2 == 1;
        }
    }
    coded
}

/// Soft-decision Viterbi decoding. `soft[i] > 0` favours coded bit `i` = 1; magnitudes are
/// confidences. Returns the most likely payload word (not yet checked).
pub fn decode(soft: &[f32; CODED_BITS]) -> u64 {
    const STATES: usize = 1 << TAIL;
    let mut metric = [f32::NEG_INFINITY; STATES];
    metric[0] = 0.0;
    // survivors[step][state] = the input bit that led into `state` at `step`.
    let mut survivors = [[0u8; STATES]; PAYLOAD_BITS + TAIL];
    for (step, survivor) in survivors.iter_mut().enumerate() {
        let mut next = [f32::NEG_INFINITY; STATES];
        let inputs: &[u32] = if step < PAYLOAD_BITS { &[0, 1] } else { &[0] };
        for (state, &m) in metric.iter().enumerate() {
            if m == f32::NEG_INFINITY {
                continue;
            }
            for &bit in inputs {
                let register = ((state as u32) << 1) | bit;
                let mut branch = 0.0;
                for (g, generator) in GENERATORS.iter().enumerate() {
                    let out = (register & generator).count_ones() % 2 == 1;
                    let s = soft[2 * step + g];
                    branch += if out { s } else { -s };
                }
                let to = (register as usize) & (STATES - 1);
                // Ties keep the first path; `from` is recoverable from `to` and the oldest bit.
                if m + branch > next[to] {
                    next[to] = m + branch;
                    survivor[to] = ((state >> (TAIL - 1)) & 1) as u8;
                }
            }
        }
        metric = next;
    }
    // Zero-terminated: the path ends in state 0. Trace back.
    let mut state = 0usize;
    let mut word = 0u64;
    for step in (0..PAYLOAD_BITS + TAIL).rev() {
        let input = state & 1;
        if step < PAYLOAD_BITS {
            word |= (input as u64) << (PAYLOAD_BITS - 1 - step);
        }
        let oldest = survivors[step][state] as usize;
        state = (state >> 1) | (oldest << (TAIL - 1));
    }
    word
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soft(coded: &[bool; CODED_BITS]) -> [f32; CODED_BITS] {
        let mut out = [0.0; CODED_BITS];
        for (o, &c) in out.iter_mut().zip(coded) {
            *o = if c { 1.0 } else { -1.0 };
        }
        out
    }

    #[test]
    fn pack_and_unpack_round_trip() {
        for value in [0, 1, 0xab_cdef_0123, AssetId::LIMIT - 1] {
            let id = AssetId::new(value).unwrap();
            assert_eq!(unpack(pack(id)), Some(id));
            assert_eq!(AssetId::parse(&id.to_string()), Some(id));
        }
        assert!(AssetId::new(AssetId::LIMIT).is_none());
        let random = AssetId::random();
        assert_eq!(unpack(pack(random)), Some(random));
    }

    #[test]
    fn any_single_bit_flip_fails_the_check() {
        let word = pack(AssetId::new(0x12_3456_789a).unwrap());
        for bit in 0..64 {
            assert_eq!(unpack(word ^ (1 << bit)), None, "bit {bit}");
        }
    }

    #[test]
    fn viterbi_decodes_clean_and_corrects_errors() {
        let word = pack(AssetId::new(0x5a_5a5a_a5a5).unwrap());
        let coded = encode(word);
        assert_eq!(decode(&soft(&coded)), word);
        // Flip ten well-separated coded bits (free distance 10 corrects any 4 in a window).
        let mut noisy = soft(&coded);
        for i in (3..CODED_BITS).step_by(14) {
            noisy[i] = -noisy[i];
        }
        assert_eq!(decode(&noisy), word);
        // Erase a burst of 12 (soft value 0): still decodes.
        let mut erased = soft(&coded);
        for s in &mut erased[40..52] {
            *s = 0.0;
        }
        assert_eq!(decode(&erased), word);
    }

    #[test]
    fn noise_rarely_passes_the_check() {
        // 20,000 pseudo-random soft vectors: with p = 2^-24 per attempt, none should pass.
        let mut random = crate::test_random::XorShift64::new(0x9e37_79b9_7f4a_7c15);
        let mut passed = 0;
        for _ in 0..20_000 {
            let mut noise = [0.0f32; CODED_BITS];
            for n in &mut noise {
                *n = random.unit() - 0.5;
            }
            passed += usize::from(unpack(decode(&noise)).is_some());
        }
        assert_eq!(passed, 0);
    }
}
