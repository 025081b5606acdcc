//! Perceptual fingerprints: Meta's PDQ hash (256 bits), computed the way the reference
//! implementation computes it, so hashes are interchangeable with other PDQ users.
//!
//! PDQ: RGB → float luma → two passes of a Jarosz (tent) box filter along rows and columns, sized
//! to the 64×64 target → decimate to 64×64 → 16×16 corner of a DCT (without the DC row/column) →
//! one bit per coefficient: above the median or not. The quality score (0–100) measures gradient
//! energy in the 64×64 image; Meta treats hashes below [`QUALITY_THRESHOLD`] as too unreliable to
//! match on, and two hashes within [`MATCH_DISTANCE`] bits as the same picture.
//!
//! A fingerprint survives re-encoding, resizing and screenshots (distance typically < 15), not
//! crops of 10 % or more; the watermark covers those. The eight dihedral variants (rotations and
//! mirrors) come from sign changes and a transposition of the DCT, at no extra filtering cost.
//!
//! Byte order: [`PdqHash`] holds the 64-hex-digit form Meta's tools print (the 16-bit word of bits
//! 240–255 first), so `to_hex` output can be compared with any PDQ implementation.

mod jarosz;
mod luma;

use std::fmt;
use std::sync::OnceLock;

use crate::format::Format;
use crate::limits::Limits;
use crate::pixels::LazyPixels;

use jarosz::jarosz_sampled;
use luma::luma;

/// Hashes at most this many bits apart are the same picture (Meta's
/// `PDQ_CONFIDENT_MATCH_THRESHOLD`).
pub const MATCH_DISTANCE: u32 = 31;

/// Hashes of images with a lower quality score are too unreliable to match on (Meta's
/// `QUALITY_THRESHOLD`): flat or nearly flat pictures all hash alike.
pub const QUALITY_THRESHOLD: u8 = 50;

/// Images smaller than this in either dimension have no hash (the reference's `MIN_HASHABLE_DIM`).
const MIN_DIMENSION: usize = 5;

/// A 256-bit PDQ hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PdqHash(pub [u8; 32]);

impl PdqHash {
    /// Number of differing bits.
    pub fn distance(&self, other: &PdqHash) -> u32 {
        let mut total = 0;
        for (a, b) in self.0.chunks_exact(8).zip(other.0.chunks_exact(8)) {
            let a = u64::from_be_bytes(a.try_into().expect("8 bytes"));
            let b = u64::from_be_bytes(b.try_into().expect("8 bytes"));
            total += (a ^ b).count_ones();
        }
        total
    }

    /// The `index`-th 16-bit word (0..16) in the hex form's order: the unit of multi-index hashing.
    pub fn word(&self, index: usize) -> u16 {
        u16::from_be_bytes([self.0[2 * index], self.0[2 * index + 1]])
    }

    /// The 64 hex digits Meta's tools print.
    pub fn to_hex(&self) -> String {
        crate::hex::encode(&self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(hex: &str) -> Option<PdqHash> {
        crate::hex::decode_32(hex).map(PdqHash)
    }

    /// Bit `k` as the reference numbers them: `k = 16·row + column` of the 16×16 DCT.
    fn set_bit(&mut self, k: usize) {
        let word = k >> 4;
        let bit = k & 15;
        let byte = 2 * (15 - word) + usize::from(bit < 8);
        self.0[byte] |= 1 << (bit & 7);
    }
}

impl fmt::Debug for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PdqHash({})", self.to_hex())
    }
}

impl fmt::Display for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// A PDQ hash with its quality score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    pub hash: PdqHash,
    /// 0–100; below [`QUALITY_THRESHOLD`] the hash should not be matched on.
    pub quality: u8,
}

impl Fingerprint {
    /// Whether the hash is reliable enough to match on.
    pub fn is_matchable(&self) -> bool {
        self.quality >= QUALITY_THRESHOLD
    }
}

/// The hash of an image and of its seven rotations and mirrors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dihedral {
    pub original: Fingerprint,
    /// The hashes the image would have rotated 90°, 180°, 270°, mirrored top–bottom ("flip x"),
    /// left–right ("flip y"), and across either diagonal: the reference's order.
    pub variants: [PdqHash; 7],
}

/// PDQ of an encoded image; `None` when this build cannot decode it within `limits`.
pub fn of_encoded(format: Format, bytes: &[u8], limits: &Limits) -> Option<Fingerprint> {
    let image = LazyPixels::new(format, bytes, *limits);
    let rgba = image.rgba()?;
    pdq(
        rgba.as_raw(),
        rgba.width() as usize,
        rgba.height() as usize,
        4,
    )
}

/// PDQ of an interleaved 8-bit image with `channels` (3 = RGB, 4 = RGBA; alpha is ignored) per
/// pixel. `None` when the image is smaller than 5×5.
pub fn pdq(pixels: &[u8], width: usize, height: usize, channels: usize) -> Option<Fingerprint> {
    let (dct, quality) = dct16(pixels, width, height, channels)?;
    Some(Fingerprint {
        hash: bits_above_median(&dct),
        quality,
    })
}

/// PDQ of the image and its dihedral variants (for matching mirrored or rotated copies).
pub fn pdq_dihedral(
    pixels: &[u8],
    width: usize,
    height: usize,
    channels: usize,
) -> Option<Dihedral> {
    let (dct, quality) = dct16(pixels, width, height, channels)?;
    // (transpose, sign flip where this returns true) for each variant, as the DCT of the
    // transformed image relates to the original's.
    type SignRule = fn(usize, usize) -> bool;
    let rules: [(bool, SignRule); 7] = [
        (true, |_, j| j & 1 == 0),        // rotate 90
        (false, |i, j| (i + j) & 1 == 1), // rotate 180
        (true, |i, _| i & 1 == 0),        // rotate 270
        (false, |i, _| i & 1 == 0),       // flip x
        (false, |_, j| j & 1 == 0),       // flip y
        (true, |_, _| false),             // flip along the main diagonal
        (true, |i, j| (i + j) & 1 == 1),  // flip along the anti-diagonal
    ];
    let variants = rules.map(|(transpose, negate)| {
        let mut out = [[0f32; 16]; 16];
        for (i, row) in dct.iter().enumerate() {
            for (j, &value) in row.iter().enumerate() {
                let value = if negate(i, j) { -value } else { value };
                if transpose {
                    out[j][i] = value;
                } else {
                    out[i][j] = value;
                }
            }
        }
        bits_above_median(&out)
    });
    Some(Dihedral {
        original: Fingerprint {
            hash: bits_above_median(&dct),
            quality,
        },
        variants,
    })
}

/// Luma → Jarosz filter → 64×64 → quality and the 16×16 DCT block.
fn dct16(
    pixels: &[u8],
    width: usize,
    height: usize,
    channels: usize,
) -> Option<([[f32; 16]; 16], u8)> {
    if width < MIN_DIMENSION || height < MIN_DIMENSION || channels < 3 {
        return None;
    }
    if pixels.len() < width * height * channels {
        return None;
    }
    let pixels = &pixels[..width * height * channels];
    let mut luma = luma(pixels, channels);
    let small = if width == 64 && height == 64 {
        std::array::from_fn(|i| std::array::from_fn(|j| luma[i * 64 + j]))
    } else {
        jarosz_sampled(&mut luma, width, height)
    };
    Some((dct_64_to_16(&small), quality(&small)))
}

/// Gradient energy of the 64×64 image, 0–100 (the reference's `pdqImageDomainQualityMetric`).
fn quality(small: &[[f32; 64]; 64]) -> u8 {
    let step = |u: f32, v: f32| (((u - v) * 100.0) / 255.0) as i32;
    let mut sum: i64 = 0;
    for pair in small.windows(2) {
        for (&u, &v) in pair[0].iter().zip(&pair[1]) {
            sum += i64::from(step(u, v).abs());
        }
    }
    for row in small {
        for pair in row.windows(2) {
            sum += i64::from(step(pair[0], pair[1]).abs());
        }
    }
    (sum / 90).min(100) as u8
}

/// Rows 1–16 of the 64-point DCT-II matrix (row 0, the mean, carries no structure).
fn dct_matrix() -> &'static [[f32; 64]; 16] {
    static MATRIX: OnceLock<[[f32; 64]; 16]> = OnceLock::new();
    MATRIX.get_or_init(|| {
        let scale = (2.0f64 / 64.0).sqrt() as f32;
        let mut matrix = [[0f32; 64]; 16];
        for (i, row) in matrix.iter_mut().enumerate() {
            for (j, value) in row.iter_mut().enumerate() {
                let angle = std::f64::consts::PI / 2.0 / 64.0 * (i + 1) as f64 * (2 * j + 1) as f64;
                *value = scale * angle.cos() as f32;
            }
        }
        matrix
    })
}

/// `D · A · Dᵀ` for the 16×64 matrix `D`, summed in the reference's order.
fn dct_64_to_16(small: &[[f32; 64]; 64]) -> [[f32; 16]; 16] {
    let d = dct_matrix();
    let mut t = [[0f32; 64]; 16];
    for i in 0..16 {
        for j in 0..64 {
            let mut sum = 0f32;
            for k in 0..64 {
                sum += d[i][k] * small[k][j];
            }
            t[i][j] = sum;
        }
    }
    let mut b = [[0f32; 16]; 16];
    for i in 0..16 {
        for j in 0..16 {
            let mut sum = 0f32;
            for k in 0..64 {
                sum += t[i][k] * d[j][k];
            }
            b[i][j] = sum;
        }
    }
    b
}

/// One bit per coefficient: set when it is above the median of all 256.
fn bits_above_median(dct: &[[f32; 16]; 16]) -> PdqHash {
    let values: Vec<f32> = dct.iter().flatten().copied().collect();
    let median = torben_median(&values);
    let mut hash = PdqHash([0; 32]);
    for (k, &value) in values.iter().enumerate() {
        if value > median {
            hash.set_bit(k);
        }
    }
    hash
}

/// The median as the reference picks it (Torben's method: for an even count, the lower middle
/// value unless ties decide otherwise).
fn torben_median(values: &[f32]) -> f32 {
    let n = values.len();
    let half = n.div_ceil(2);
    let mut min = values.iter().copied().fold(f32::INFINITY, f32::min);
    let mut max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    loop {
        let guess = (min + max) / 2.0;
        let (mut less, mut greater, mut equal) = (0, 0, 0);
        let (mut max_below, mut min_above) = (min, max);
        for &value in values {
            if value < guess {
                less += 1;
                if value > max_below {
                    max_below = value;
                }
            } else if value > guess {
                greater += 1;
                if value < min_above {
                    min_above = value;
                }
            } else {
                equal += 1;
            }
        }
        if less <= half && greater <= half {
            return if less >= half {
                max_below
            } else if less + equal >= half {
                guess
            } else {
                min_above
            };
        }
        if less > greater {
            max = max_below;
        } else {
            min = min_above;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn textured(width: usize, height: usize) -> Vec<u8> {
        let mut pixels = Vec::with_capacity(width * height * 3);
        for y in 0..height {
            for x in 0..width {
                let v = ((x * 7 + y * 13) % 251) as u8 ^ ((x * y) % 256) as u8;
                pixels.extend_from_slice(&[v, v.wrapping_mul(3), 255 - v]);
            }
        }
        pixels
    }

    #[test]
    fn hex_round_trips_and_distance_counts_bits() {
        let a = PdqHash::from_hex(&"f0".repeat(32)).unwrap();
        assert_eq!(a.to_hex(), "f0".repeat(32));
        let b = PdqHash::from_hex(&"0f".repeat(32)).unwrap();
        assert_eq!(a.distance(&b), 256);
        assert_eq!(a.distance(&a), 0);
        assert!(PdqHash::from_hex("abc").is_none());
        assert_eq!(a.word(0), 0xf0f0);
    }

    #[test]
    fn bit_numbering_matches_the_reference_word_order() {
        // Bit 0 is the lowest bit of word 0, printed last; bit 255 the highest of word 15.
        let mut hash = PdqHash([0; 32]);
        hash.set_bit(0);
        assert_eq!(hash.to_hex(), format!("{}01", "0".repeat(62)));
        let mut hash = PdqHash([0; 32]);
        hash.set_bit(255);
        assert_eq!(hash.to_hex(), format!("8{}", "0".repeat(63)));
    }

    #[test]
    fn half_the_bits_are_set_and_a_flat_image_has_no_quality() {
        let fp = pdq(&textured(300, 200), 300, 200, 3).unwrap();
        let ones: u32 = fp.hash.0.iter().map(|b| b.count_ones()).sum();
        assert!((120..=136).contains(&ones), "{ones} bits set");
        let flat = vec![128u8; 100 * 100 * 3];
        assert_eq!(pdq(&flat, 100, 100, 3).unwrap().quality, 0);
        assert!(pdq(&flat, 4, 100, 3).is_none());
    }

    #[test]
    fn dihedral_variants_are_the_hashes_of_the_transformed_images() {
        // Large shapes, as in photographs (a pseudo-random pattern's hash is all noise).
        let (w, h) = (160, 120);
        let mut pixels = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                let disc = (x as i32 - 50).pow(2) + (y as i32 - 45).pow(2) < 900;
                let bar = (100..140).contains(&x) && (20..100).contains(&y);
                let v = if disc {
                    230
                } else if bar {
                    20
                } else {
                    (x + y / 2) as u8
                };
                pixels.extend_from_slice(&[v, v / 2, 255 - v]);
            }
        }
        let dihedral = pdq_dihedral(&pixels, w, h, 3).unwrap();
        // Mirror left-right: the variant "flip y" (index 4) is the mirrored image's hash.
        let mut mirrored = Vec::with_capacity(pixels.len());
        for y in 0..h {
            for x in (0..w).rev() {
                mirrored.extend_from_slice(&pixels[(y * w + x) * 3..(y * w + x) * 3 + 3]);
            }
        }
        let direct = pdq(&mirrored, w, h, 3).unwrap().hash;
        // Not bit-identical (the decimation grid is not symmetric; the reference behaves the
        // same, see tests/fingerprint.rs), but a match.
        let distance = dihedral.variants[4].distance(&direct);
        assert!(distance <= MATCH_DISTANCE, "{distance}");
        assert!(dihedral.original.hash.distance(&direct) > MATCH_DISTANCE);
    }

    #[test]
    fn torben_median_is_the_lower_middle_value() {
        assert_eq!(torben_median(&[4.0, 1.0, 3.0, 2.0]), 2.0);
        assert_eq!(torben_median(&[5.0, 1.0, 3.0]), 3.0);
        assert_eq!(torben_median(&[1.0, 1.0, 1.0, 1.0]), 1.0);
    }
}
