//! A bit-exact decoder for the `invisible-watermark` Python package (PyPI `invisible-watermark`
//! 0.2.0, module `imwatermark`), whose `dwtDct` method the reference code of Stable Diffusion
//! 1.x/2.x, SDXL and FLUX.1 uses to mark every output. Finding one of those messages is evidence
//! that a generator made the image; it carries no asset id and no signature.
//!
//! The algorithm, as the package implements it (see `docs/watermark.md` §2 for the measurements):
//! the image, taken as BGR, is converted to YUV the way OpenCV does (fixed point for `uint8`,
//! float for `float32` input, where U is offset by 0.5 instead of 128); the U plane, cut to a
//! multiple of 4, goes through one level of a Haar DWT; the approximation band is cut into 4×4
//! blocks in raster order and block `n` votes for bit `n % length`. `dwtDct` reads the largest
//! non-DC coefficient of the block (no DCT is actually applied), `dwtDctSvd` the largest singular
//! value; a block votes 1 when that magnitude modulo 36 exceeds 18, and a bit is 1 when at least
//! half of its votes are (the package computes `mean·255 > 127`).
//!
//! The generators call the package in different ways (uint8 BGR, float BGR, float RGB passed as
//! if it were BGR, see [`Variant`]); each message is read only in the ways its generator's code
//! writes it, which keeps the number of decodes, and with it the false-positive bound, small.

use image::RgbImage;

use crate::cpu::dispatch_avx2;

/// The quantisation step both methods use for the U channel.
const STEP: f64 = 36.0;
/// The package refuses images with fewer pixels.
const MIN_PIXELS: usize = 256 * 256;
/// The DWT block size.
const BLOCK: usize = 4;

/// The two DWT methods of the package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `dwtDct`: the largest-magnitude non-DC coefficient of each block.
    DwtDct,
    /// `dwtDctSvd`: the largest singular value of each block's DCT (equal to the block's own).
    DwtDctSvd,
}

/// How the marked pixels reached the package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    /// The image was handed over in RGB order although the package reads BGR (diffusers).
    pub rgb_as_bgr: bool,
    /// The image was a float array in 0..255 (SDXL, FLUX), not `uint8` (SD 1.x/2.x).
    pub float: bool,
}

impl Variant {
    /// The four ways a checker must try.
    pub const ALL: [Variant; 4] = [
        Variant {
            rgb_as_bgr: false,
            float: false,
        },
        Variant {
            rgb_as_bgr: false,
            float: true,
        },
        Variant {
            rgb_as_bgr: true,
            float: false,
        },
        Variant {
            rgb_as_bgr: true,
            float: true,
        },
    ];

    /// A short name, e.g. `float32 RGB-as-BGR`.
    pub fn describe(self) -> String {
        format!(
            "{} {}",
            if self.float { "float32" } else { "uint8" },
            if self.rgb_as_bgr { "RGB-as-BGR" } else { "BGR" }
        )
    }
}

/// Each 4×4 block's vote, in the package's raster order. Compute once per method and variant,
/// then read any message length from it.
pub struct BlockVotes {
    votes: Vec<bool>,
}

impl BlockVotes {
    /// The votes of every block of `image`, or `None` when the package would refuse the image
    /// (fewer than 256×256 pixels).
    pub fn new(image: &RgbImage, method: Method, variant: Variant) -> Option<BlockVotes> {
        let (width, height) = (image.width() as usize, image.height() as usize);
        if width * height < MIN_PIXELS {
            return None;
        }
        let approximation = if variant.float {
            // pywt keeps float32 input in float32.
            float_haar(image, variant)
                .into_iter()
                .map(f64::from)
                .collect()
        } else {
            fixed_haar(image, variant)
        };
        let (rows, cols) = (height / 4 * 2, width / 4 * 2);
        let mut votes = Vec::with_capacity((rows / BLOCK) * (cols / BLOCK));
        let mut block = [0.0f64; BLOCK * BLOCK];
        for i in 0..rows / BLOCK {
            for j in 0..cols / BLOCK {
                for (r, row) in block.chunks_exact_mut(BLOCK).enumerate() {
                    let start = (i * BLOCK + r) * cols + j * BLOCK;
                    row.copy_from_slice(&approximation[start..start + BLOCK]);
                }
                let magnitude = match method {
                    Method::DwtDct => largest_ac(&block),
                    Method::DwtDctSvd => largest_singular_value(&block),
                };
                votes.push(upper_half_of_step(magnitude));
            }
        }
        Some(BlockVotes { votes })
    }

    /// The message of `length` bits the package's decoder would read.
    pub fn bits(&self, length: usize) -> Vec<bool> {
        let mut ones = vec![0usize; length];
        let mut all = vec![0usize; length];
        for (n, &vote) in self.votes.iter().enumerate() {
            all[n % length] += 1;
            ones[n % length] += usize::from(vote);
        }
        // `mean * 255 > 127`, in integers: a tie reads 1, a bit without blocks reads 0 (NaN).
        ones.iter()
            .zip(&all)
            .map(|(&one, &count)| count > 0 && one * 255 > 127 * count)
            .collect()
    }
}

/// The message of `length` bits, as `WatermarkDecoder('bits', length).decode(image, method)`
/// reads it from the image handed over in `variant`'s way.
pub fn decode(
    image: &RgbImage,
    method: Method,
    variant: Variant,
    length: usize,
) -> Option<Vec<bool>> {
    BlockVotes::new(image, method, variant).map(|votes| votes.bits(length))
}

/// OpenCV's fixed-point U for 8-bit input (checked against cv2 for all 2²⁴ colours).
#[inline(always)]
fn u_fixed(r: u8, g: u8, b: u8) -> u8 {
    const SHIFT: i32 = 14;
    let descale = |x: i32| (x + (1 << (SHIFT - 1))) >> SHIFT;
    let y = descale(4899 * i32::from(r) + 9617 * i32::from(g) + 1868 * i32::from(b)).clamp(0, 255);
    descale((i32::from(b) - y) * 8061 + (128 << SHIFT)).clamp(0, 255) as u8
}

/// OpenCV's U for float input: `0.492·(B − Y) + 0.5` (the offset is 0.5, not 128).
#[inline(always)]
fn u_float(r: u8, g: u8, b: u8) -> f32 {
    let (r, g, b) = (f32::from(r), f32::from(g), f32::from(b));
    let y = b * 0.114 + g * 0.587 + r * 0.299;
    (b - y) * 0.492 + 0.5
}

dispatch_avx2! {
    /// [`haar_of_u`] of OpenCV's U for `uint8` input.
    fn fixed_haar(image: &RgbImage, variant: Variant) -> Vec<f64> {
        let u = |r, g, b| f64::from(u_fixed(r, g, b));
        haar_of_u(image, u, variant, std::f64::consts::FRAC_1_SQRT_2)
    }
}

dispatch_avx2! {
    /// [`haar_of_u`] of OpenCV's U for `float32` input.
    fn float_haar(image: &RgbImage, variant: Variant) -> Vec<f32> {
        haar_of_u(image, u_float, variant, std::f32::consts::FRAC_1_SQRT_2)
    }
}

/// The approximation band of `pywt.dwt2(u_plane, 'haar')`, where the U plane is OpenCV's
/// `COLOR_BGR2YUV` U by `u(r, g, b)` over the rows and columns the package reads (both cut to a
/// multiple of 4). pywt's order of operations (vertical pairs first, then horizontal) and
/// precision are kept, so the values are bit-identical; U is computed row pair by row pair, so
/// the full-size plane is never stored. The values modulo the step are exact in any precision,
/// so the votes are too.
#[inline(always)]
fn haar_of_u<T>(image: &RgbImage, u: impl Fn(u8, u8, u8) -> T, variant: Variant, haar: T) -> Vec<T>
where
    T: Copy + Default + std::ops::Mul<Output = T> + std::ops::Add<Output = T>,
{
    let (width, height) = (
        image.width() as usize / 4 * 4,
        image.height() as usize / 4 * 4,
    );
    let stride = image.width() as usize * 3;
    let u_of = |pixel: &[u8]| {
        // What the package believes are red and blue.
        let (r, g, b) = (pixel[0], pixel[1], pixel[2]);
        let (r, b) = if variant.rgb_as_bgr { (b, r) } else { (r, b) };
        u(r, g, b)
    };
    let raw = image.as_raw();
    let mut out = Vec::with_capacity((height / 2) * (width / 2));
    // One row of U at a time into a buffer, then the pairs as whole-row zips: loops the
    // compiler vectorises, with the same operations in the same order as pixel by pixel.
    let (mut upper, mut lower) = (vec![T::default(); width], vec![T::default(); width]);
    let mut pairs = vec![T::default(); width];
    for y in (0..height).step_by(2) {
        for (row, u_row) in [(y, &mut upper), (y + 1, &mut lower)] {
            let pixels = raw[row * stride..][..width * 3].chunks_exact(3);
            for (slot, pixel) in u_row.iter_mut().zip(pixels) {
                *slot = u_of(pixel);
            }
        }
        for ((pair, &u), &l) in pairs.iter_mut().zip(&upper).zip(&lower) {
            *pair = haar * l + haar * u;
        }
        out.extend(
            pairs
                .chunks_exact(2)
                .map(|pair| haar * pair[1] + haar * pair[0]),
        );
    }
    out
}

/// `|block.flatten()[1:]|`'s largest value, first maximum winning (numpy's `argmax`).
/// The package's vote, `magnitude % STEP > STEP / 2`, with the same remainder computed without
/// a call to `fmod` (a bit-by-bit loop in Rust's runtime library, 1 % of a check). For a finite
/// magnitude `m` ≥ 0 below 10¹⁵ (an absolute value or a singular value is far below), both
/// steps are exact:
/// - `⌊fl(m / 36)⌋ = ⌊m / 36⌋`: a correctly rounded quotient can only go wrong by rounding up
///   to an integer `k` from below, but the largest `m` under `36k` is one ulp of `36k` below
///   it, which puts `m / 36` more than half an ulp of `k` below `k`;
/// - `m − 36q` with that floor `q`: `36q` is an exact small integer, and for `q ≥ 1` it is
///   within a factor of two of `m`, so the difference is exact (Sterbenz).
///
/// Anything else takes `%` itself.
fn upper_half_of_step(magnitude: f64) -> bool {
    if !(magnitude.is_finite() && (0.0..1e15).contains(&magnitude)) {
        return magnitude % STEP > STEP / 2.0;
    }
    magnitude - (magnitude / STEP).floor() * STEP > STEP / 2.0
}

fn largest_ac(block: &[f64; BLOCK * BLOCK]) -> f64 {
    block[1..]
        .iter()
        .map(|v| v.abs())
        .fold(f64::NEG_INFINITY, |best, v| if v > best { v } else { best })
}

/// The largest singular value of a 4×4 block: the square root of the largest eigenvalue of
/// `BᵀB`, found by cyclic Jacobi rotations (the orthonormal DCT the package applies first does
/// not change singular values).
fn largest_singular_value(block: &[f64; BLOCK * BLOCK]) -> f64 {
    let mut m = [[0.0f64; BLOCK]; BLOCK];
    for (i, row) in m.iter_mut().enumerate() {
        for (j, cell) in row.iter_mut().enumerate() {
            *cell = (0..BLOCK)
                .map(|k| block[k * BLOCK + i] * block[k * BLOCK + j])
                .sum();
        }
    }
    for _sweep in 0..32 {
        let off: f64 = (0..BLOCK)
            .flat_map(|i| (i + 1..BLOCK).map(move |j| (i, j)))
            .map(|(i, j)| m[i][j] * m[i][j])
            .sum();
        let scale: f64 = (0..BLOCK).map(|i| m[i][i] * m[i][i]).sum();
        if off <= scale * 1e-32 || off == 0.0 {
            break;
        }
        for p in 0..BLOCK {
            for q in p + 1..BLOCK {
                if m[p][q] == 0.0 {
                    continue;
                }
                let theta = (m[q][q] - m[p][p]) / (2.0 * m[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // M ← Jᵀ·M·J: columns p and q, then rows p and q.
                for row in m.iter_mut() {
                    let (mkp, mkq) = (row[p], row[q]);
                    row[p] = c * mkp - s * mkq;
                    row[q] = s * mkp + c * mkq;
                }
                let (row_p, row_q) = (m[p], m[q]);
                for k in 0..BLOCK {
                    m[p][k] = c * row_p[k] - s * row_q[k];
                    m[q][k] = s * row_p[k] + c * row_q[k];
                }
            }
        }
    }
    (0..BLOCK).map(|i| m[i][i]).fold(0.0f64, f64::max).sqrt()
}

/// A message a generator's reference code embeds with `dwtDct`.
pub struct KnownMessage {
    /// The generator, as the evidence names it.
    pub generator: &'static str,
    /// Where the message comes from.
    pub source: &'static str,
    /// The message bits, most significant first.
    pub bits: &'static [bool],
    /// The fewest matching bits that count as a detection. The chance that an unmarked image
    /// reaches it is the binomial tail: 8.5e-14 (SD 1.x), 1.2e-7 (SD 2.x), 3.1e-7 per variant
    /// (SDXL), 1.6e-7 (FLUX.1); 9.0e-7 per image for the five decodes together.
    pub threshold: usize,
    /// How the generator's reference code hands its pixels to the package.
    pub variants: &'static [Variant],
}

const UINT8_BGR: Variant = Variant {
    rgb_as_bgr: false,
    float: false,
};
const FLOAT_BGR: Variant = Variant {
    rgb_as_bgr: false,
    float: true,
};
const FLOAT_RGB_AS_BGR: Variant = Variant {
    rgb_as_bgr: true,
    float: true,
};

/// Bits of `value`'s binary form without leading zeros, as the generators write them
/// (`bin(x)[2:]`; this is why FLUX's message is 46 bits long).
const fn value_bits<const N: usize>(value: u64) -> [bool; N] {
    let mut bits = [false; N];
    let mut i = 0;
    while i < N {
        bits[i] = (value >> (N - 1 - i)) & 1 == 1;
        i += 1;
    }
    bits
}

/// Bits of a byte string, most significant bit of each byte first (`np.unpackbits`).
const fn byte_bits<const N: usize>(bytes: &[u8]) -> [bool; N] {
    let mut bits = [false; N];
    let mut i = 0;
    while i < N {
        bits[i] = (bytes[i / 8] >> (7 - i % 8)) & 1 == 1;
        i += 1;
    }
    bits
}

const SD1: [bool; 136] = byte_bits(b"StableDiffusionV1");
const SD2: [bool; 32] = byte_bits(b"SDV2");
const SDXL: [bool; 48] = value_bits(0xB3EC_907B_B19E);
const FLUX: [bool; 46] = value_bits(0x2AFE_879C_F52E);

/// The messages of the generators' reference code (docs/watermark.md §2.4).
pub const KNOWN_MESSAGES: [KnownMessage; 4] = [
    KnownMessage {
        generator: "Stable Diffusion 1.x",
        source: "CompVis stable-diffusion scripts/txt2img.py, message \"StableDiffusionV1\"",
        bits: &SD1,
        threshold: 110,
        // `cv2.cvtColor(RGB2BGR)` on the uint8 image.
        variants: &[UINT8_BGR],
    },
    KnownMessage {
        generator: "Stable Diffusion 2.x",
        source: "Stability-AI stablediffusion scripts/txt2img.py, message \"SDV2\"",
        bits: &SD2,
        threshold: 30,
        variants: &[UINT8_BGR],
    },
    KnownMessage {
        generator: "SDXL",
        source: "Stability-AI generative-models and diffusers, message 0xB3EC907BB19E",
        bits: &SDXL,
        threshold: 41,
        // generative-models flips to BGR; diffusers hands over RGB.
        variants: &[FLOAT_BGR, FLOAT_RGB_AS_BGR],
    },
    KnownMessage {
        generator: "FLUX.1",
        source: "black-forest-labs flux reference code, message 0x2AFE879CF52E (46 bits)",
        bits: &FLUX,
        threshold: 40,
        variants: &[FLOAT_BGR],
    },
];

/// A generator's message found in an image.
pub struct GeneratorMark {
    pub message: &'static KnownMessage,
    /// How many bits matched, of `message.bits.len()`.
    pub matched: usize,
    /// The decode that read it.
    pub variant: Variant,
}

/// Reads every known message in the ways its generator writes it and returns the best match
/// that meets its threshold.
pub fn detect_generator(image: &RgbImage) -> Option<GeneratorMark> {
    let mut votes: Vec<(Variant, BlockVotes)> = Vec::new();
    let mut best: Option<(f64, GeneratorMark)> = None;
    for message in &KNOWN_MESSAGES {
        for &variant in message.variants {
            if !votes.iter().any(|(v, _)| *v == variant) {
                votes.push((variant, BlockVotes::new(image, Method::DwtDct, variant)?));
            }
            let (_, block_votes) = votes.iter().find(|(v, _)| *v == variant)?;
            let read = block_votes.bits(message.bits.len());
            let matched = read
                .iter()
                .zip(message.bits)
                .filter(|(a, b)| a == b)
                .count();
            let share = matched as f64 / message.bits.len() as f64;
            if matched >= message.threshold && best.as_ref().is_none_or(|(s, _)| share > *s) {
                best = Some((
                    share,
                    GeneratorMark {
                        message,
                        matched,
                        variant,
                    },
                ));
            }
        }
    }
    best.map(|(_, mark)| mark)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_avx2_and_baseline_haar_agree_bit_for_bit() {
        use crate::cpu::{portable_only, test_samples};
        let bytes: Vec<u8> = test_samples(3 * 97 * 61, 5)
            .iter()
            .map(|&v| v as u8)
            .collect();
        let image = RgbImage::from_raw(97, 61, bytes).unwrap();
        for variant in Variant::ALL {
            assert_eq!(
                portable_only(|| fixed_haar(&image, variant)),
                fixed_haar(&image, variant)
            );
            assert_eq!(
                portable_only(|| float_haar(&image, variant)),
                float_haar(&image, variant)
            );
        }
    }

    /// The package's decode written plainly: the whole U plane pixel by pixel, the whole
    /// approximation band, then every block's vote with `%`.
    fn reference_votes(image: &RgbImage, method: Method, variant: Variant) -> Vec<bool> {
        let (width, height) = (
            image.width() as usize / 4 * 4,
            image.height() as usize / 4 * 4,
        );
        let u = |x: usize, y: usize| {
            let p = image.get_pixel(x as u32, y as u32).0;
            let (r, g, b) = if variant.rgb_as_bgr {
                (p[2], p[1], p[0])
            } else {
                (p[0], p[1], p[2])
            };
            (f64::from(u_fixed(r, g, b)), u_float(r, g, b))
        };
        let (rows, cols) = (height / 2, width / 2);
        let mut band = vec![0.0f64; rows * cols];
        for i in 0..rows {
            for j in 0..cols {
                let [a, b, c, d] =
                    [(0, 0), (1, 0), (0, 1), (1, 1)].map(|(dx, dy)| u(2 * j + dx, 2 * i + dy));
                band[i * cols + j] = if variant.float {
                    let h = std::f32::consts::FRAC_1_SQRT_2;
                    let (left, right) = (h * c.1 + h * a.1, h * d.1 + h * b.1);
                    f64::from(h * right + h * left)
                } else {
                    let h = std::f64::consts::FRAC_1_SQRT_2;
                    let (left, right) = (h * c.0 + h * a.0, h * d.0 + h * b.0);
                    h * right + h * left
                };
            }
        }
        let mut votes = Vec::new();
        for i in 0..rows / BLOCK {
            for j in 0..cols / BLOCK {
                let mut block = [0.0; BLOCK * BLOCK];
                for r in 0..BLOCK {
                    for c in 0..BLOCK {
                        block[r * BLOCK + c] = band[(i * BLOCK + r) * cols + j * BLOCK + c];
                    }
                }
                let magnitude = match method {
                    Method::DwtDct => largest_ac(&block),
                    Method::DwtDctSvd => largest_singular_value(&block),
                };
                votes.push(magnitude % STEP > STEP / 2.0);
            }
        }
        votes
    }

    #[test]
    fn the_vote_without_fmod_is_the_remainders_own() {
        // Every multiple of the step and its half up to far beyond any block's magnitude, a few
        // ulps either side (where the quotient's rounding matters), and spread-out values.
        let mut values = vec![
            0.0,
            f64::MIN_POSITIVE,
            1e-300,
            17.999_999,
            18.0,
            35.999_999_9,
        ];
        for k in 0..20_000u32 {
            for base in [f64::from(k) * STEP, f64::from(k) * STEP + STEP / 2.0] {
                let mut up = base;
                let mut down = base;
                for _ in 0..4 {
                    values.extend([up, down]);
                    up = f64::from_bits(up.to_bits() + 1);
                    down = if down > 0.0 {
                        f64::from_bits(down.to_bits() - 1)
                    } else {
                        0.0
                    };
                }
            }
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..1_000_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push((x >> 11) as f64 / (1u64 << 53) as f64 * 1e6);
        }
        values.extend([1e15, 1e300, f64::INFINITY, f64::NAN, -1.0]);
        for v in values {
            assert_eq!(upper_half_of_step(v), v % STEP > STEP / 2.0, "{v:e}");
        }
    }

    #[test]
    fn every_variant_votes_as_the_plain_decode_does() {
        use crate::cpu::{portable_only, test_samples};
        // Odd sizes (rows and columns the package cuts off, a partial row of blocks) and every
        // byte value.
        let (width, height) = (301, 263);
        let bytes: Vec<u8> = test_samples(3 * width * height, 5)
            .iter()
            .map(|&v| v as u8)
            .collect();
        let image = RgbImage::from_raw(width as u32, height as u32, bytes).unwrap();
        for method in [Method::DwtDct, Method::DwtDctSvd] {
            for variant in Variant::ALL {
                let expected = reference_votes(&image, method, variant);
                let dispatched = BlockVotes::new(&image, method, variant).unwrap().votes;
                let portable =
                    portable_only(|| BlockVotes::new(&image, method, variant).unwrap().votes);
                assert_eq!(dispatched, expected, "{method:?} {variant:?}");
                assert_eq!(portable, expected, "{method:?} {variant:?}");
            }
        }
    }

    #[test]
    fn fixed_point_u_matches_opencv_reference_values() {
        // Values computed with cv2.cvtColor(..., COLOR_BGR2YUV) (opencv-python-headless 4.x).
        assert_eq!(u_fixed(0, 0, 0), 128);
        assert_eq!(u_fixed(255, 255, 255), 128);
        assert_eq!(u_fixed(0, 0, 255), 239);
        assert_eq!(u_fixed(255, 0, 0), 91);
        assert_eq!(u_fixed(10, 200, 30), 82);
        // And cv2's float path (offset 0.5).
        assert!((u_float(0, 0, 255) - 111.65756).abs() < 1e-4);
        assert!((u_float(10, 200, 30) + 45.654522).abs() < 1e-4);
    }

    #[test]
    fn messages_have_the_generators_lengths() {
        let lengths: Vec<usize> = KNOWN_MESSAGES.iter().map(|m| m.bits.len()).collect();
        assert_eq!(lengths, vec![136, 32, 48, 46]);
        // FLUX's constant starts with two zero bits that `bin(x)[2:]` drops: it starts with 1.
        assert!(FLUX[0] && SDXL[0]);
    }

    #[test]
    fn singular_value_of_a_rank_one_block() {
        // u·vᵀ with |u| = 2, |v| = 3 has one singular value, 6.
        let u = [2.0, 0.0, 0.0, 0.0];
        let v = [1.0, 2.0, 2.0, 0.0];
        let mut block = [0.0; 16];
        for i in 0..4 {
            for j in 0..4 {
                block[i * 4 + j] = u[i] * v[j];
            }
        }
        assert!((largest_singular_value(&block) - 6.0).abs() < 1e-12);
    }

    #[test]
    fn unmarked_noise_reads_no_generator() {
        let mut random = crate::test_random::XorShift64::new(0x2545_F491_4F6C_DD1D);
        let image = RgbImage::from_fn(320, 320, |_, _| {
            let x = random.next_u64();
            image::Rgb([x as u8, (x >> 8) as u8, (x >> 16) as u8])
        });
        assert!(detect_generator(&image).is_none());
        assert!(detect_generator(&RgbImage::new(200, 200)).is_none());
    }
}
