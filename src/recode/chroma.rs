//! Chroma subsampling that undoes the decoder's upsampling, so re-encoding a subsampled JPEG
//! gives back the chroma it had.
//!
//! A 4:2:0 or 4:2:2 JPEG stores chroma at half resolution; every common decoder (libjpeg-turbo,
//! zune-jpeg inside `image`) rebuilds full resolution with the "fancy" triangle filter (¾ of the
//! nearer sample, ¼ of the farther). Box-averaging that output again, as libjpeg's encoder does,
//! does not give the stored samples back: each re-encode blurs the chroma once more, which cost
//! 42 dB on its own on a saturated pixel-art render, before any watermark. The watermark changes
//! luma only, so the best chroma to write is the one that decodes back to what was decoded: the
//! samples `s` with `box(upsample(s)) = box(decoded)`. Per axis `box ∘ upsample` is the filter
//! [⅛, ¾, ⅛] on the subsampled grid, whose response never falls below ½, so a few Jacobi steps
//! solve it; for an unchanged JPEG they return the stored samples up to rounding.
//!
//! The samples are handed to `jpeg-encoder` replicated over their block, where its box average
//! returns them exactly.

use jpeg_encoder::{ImageBuffer, JpegColorType};

use crate::cpu::dispatch_avx2;
use crate::sample::round_to_u8;

/// Jacobi steps: the error at the highest chroma frequency shrinks by at least ¾ per step in 2-D
/// (½ per axis), and real chroma has little energy there.
const STEPS: usize = 4;

/// An RGB image whose chroma is subsampled `fx` × `fy` (each 1 or 2) ahead of the encoder.
pub(super) struct PreSubsampled<'a> {
    rgb: &'a [u8],
    width: u16,
    height: u16,
    fy: usize,
    /// Subsampled Cb and Cr, each sample repeated over the `fx` columns of its block: one row
    /// of `width` samples per subsampled row, copied as it is for each of the block's rows.
    cb: Vec<u8>,
    cr: Vec<u8>,
}

impl<'a> PreSubsampled<'a> {
    /// `None` when nothing is subsampled (4:4:4 needs no help), for factors other than 1 or 2
    /// (4:1:1 and rarer layouts keep the encoder's own box average) and for an empty image.
    pub(super) fn new(rgb: &'a [u8], width: u16, height: u16, fx: u8, fy: u8) -> Option<Self> {
        if !matches!((fx, fy), (2, 1) | (1, 2) | (2, 2)) || width == 0 || height == 0 {
            return None;
        }
        let (fx, fy) = (usize::from(fx), usize::from(fy));
        let (w, h) = (usize::from(width), usize::from(height));
        let (sw, sh) = (w.div_ceil(fx), h.div_ceil(fy));
        // RGB sums over each block (chroma is affine in RGB, so the block's mean chroma is the
        // chroma of its mean colour: one conversion per block, integer sums per pixel). A block
        // cut by the image edge counts its last pixel again, as the encoder pads. (Factors are
        // 1 or 2: shifts, not divisions.)
        let shift_y = fy.trailing_zeros();
        let mut sums = vec![[0u32; 3]; sw * sh];
        for y in 0..sh * fy {
            let row = &rgb[y.min(h - 1) * w * 3..][..w * 3];
            let cells = &mut sums[(y >> shift_y) * sw..][..sw];
            if fx == 2 {
                // Two pixels per cell, zipped rather than indexed (no bounds test per pixel).
                for (cell, pair) in cells.iter_mut().zip(row.chunks_exact(6)) {
                    add_pixel(cell, &pair[..3]);
                    add_pixel(cell, &pair[3..]);
                }
                if w % 2 == 1 {
                    add_pixel(&mut cells[sw - 1], &row[(w - 1) * 3..]);
                }
            } else {
                for (cell, p) in cells.iter_mut().zip(row.chunks_exact(3)) {
                    add_pixel(cell, p);
                }
            }
            if sw * fx > w {
                add_pixel(&mut cells[sw - 1], &row[(w - 1) * 3..]);
            }
        }
        let area = (fx * fy) as f32;
        let (cb, cr): (Vec<f32>, Vec<f32>) = sums.iter().map(|s| mean_chroma(s, area)).unzip();
        let solve = |target: Vec<f32>| {
            let solved = invert_upsampling(target, sw, sh, fx == 2, fy == 2);
            let mut spread = vec![0u8; w * sh];
            for (out, row) in spread.chunks_exact_mut(w).zip(solved.chunks_exact(sw)) {
                if fx == 2 {
                    let mut pairs = out.chunks_exact_mut(2);
                    for (pair, &v) in (&mut pairs).zip(row) {
                        let level = round_to_u8(v);
                        pair[0] = level;
                        pair[1] = level;
                    }
                    // An odd width's last column is half a block.
                    if let ([last], Some(&v)) = (pairs.into_remainder(), row.last()) {
                        *last = round_to_u8(v);
                    }
                } else {
                    for (o, &v) in out.iter_mut().zip(row) {
                        *o = round_to_u8(v);
                    }
                }
            }
            spread
        };
        Some(PreSubsampled {
            rgb,
            width,
            height,
            fy,
            cb: solve(cb),
            cr: solve(cr),
        })
    }
}

impl ImageBuffer for PreSubsampled<'_> {
    fn get_jpeg_color_type(&self) -> JpegColorType {
        JpegColorType::Ycbcr
    }

    fn width(&self) -> u16 {
        self.width
    }

    fn height(&self) -> u16 {
        self.height
    }

    fn fill_buffers(&self, y: u16, buffers: &mut [Vec<u8>; 4]) {
        let w = usize::from(self.width);
        let row = &self.rgb[usize::from(y) * w * 3..][..w * 3];
        let luma = &mut buffers[0];
        let at = luma.len();
        luma.resize(at + w, 0);
        luma_row(row, &mut luma[at..]);
        let sub_row = usize::from(y) / self.fy * w;
        for (buffer, samples) in buffers[1..3].iter_mut().zip([&self.cb, &self.cr]) {
            buffer.extend_from_slice(&samples[sub_row..][..w]);
        }
    }
}

dispatch_avx2! {
    /// The Y of every pixel of a packed RGB row (vectorised with AVX2 where the CPU has it).
    fn luma_row(rgb: &[u8], out: &mut [u8]) {
        for (y, p) in out.iter_mut().zip(rgb.chunks_exact(3)) {
            *y = luma_of(p[0], p[1], p[2]);
        }
    }
}

/// The Y of [`jpeg_encoder::rgb_to_ycbcr`], by its integer arithmetic (the whole conversion,
/// whose chroma is not used here, would not vectorise).
#[inline(always)]
fn luma_of(r: u8, g: u8, b: u8) -> u8 {
    let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
    ((19595 * r + 38470 * g + 7471 * b + 0x7FFF) >> 16) as u8
}

fn add_pixel(sum: &mut [u32; 3], pixel: &[u8]) {
    for (s, &c) in sum.iter_mut().zip(pixel) {
        *s += u32::from(c);
    }
}

/// Mean Cb and Cr (JFIF, unrounded) of `area` pixels whose R, G and B add up to `sum`.
fn mean_chroma(sum: &[u32; 3], area: f32) -> (f32, f32) {
    let [r, g, b] = sum.map(|s| s as f32 / area);
    (
        -0.168_736 * r - 0.331_264 * g + 0.5 * b + 128.0,
        0.5 * r - 0.418_688 * g - 0.081_312 * b + 128.0,
    )
}

/// The samples whose triangle upsampling, box-averaged back, is `target` (a `w` × `h` grid;
/// `along_x`/`along_y` say which axes were subsampled).
fn invert_upsampling(
    target: Vec<f32>,
    w: usize,
    h: usize,
    along_x: bool,
    along_y: bool,
) -> Vec<f32> {
    let mut estimate = target.clone();
    let mut blurred = vec![0.0; target.len()];
    // The pass along x has a plane of its own only when a pass along y follows it.
    let mut across = if along_y {
        vec![0.0; target.len()]
    } else {
        Vec::new()
    };
    for _ in 0..STEPS {
        box_of_upsampled(&estimate, &mut across, &mut blurred, w, h, along_x, along_y);
        for ((e, t), b) in estimate.iter_mut().zip(&target).zip(&blurred) {
            *e += t - b;
        }
    }
    estimate
}

/// `box(upsample(s))` on the subsampled grid, into `out`: [⅛, ¾, ⅛] along each subsampled axis,
/// edges replicated (the decoders' first and last outputs are the edge sample itself). `across`
/// holds the pass along x when both axes are subsampled.
fn box_of_upsampled(
    s: &[f32],
    across: &mut [f32],
    out: &mut [f32],
    w: usize,
    h: usize,
    along_x: bool,
    along_y: bool,
) {
    // Written as zips of whole rows (no clamped index per sample) so that it vectorises.
    let smooth = |out: &mut [f32], centre: &[f32], before: &[f32], after: &[f32]| {
        for (((o, &c), &l), &r) in out.iter_mut().zip(centre).zip(before).zip(after) {
            *o = 0.75 * c + 0.125 * (l + r);
        }
    };
    let horizontal = if along_y { &mut *across } else { &mut *out };
    if along_x && w > 1 {
        for (row_in, row_out) in s.chunks_exact(w).zip(horizontal.chunks_exact_mut(w)) {
            smooth(
                &mut row_out[1..w - 1],
                &row_in[1..w - 1],
                &row_in[..w - 2],
                &row_in[2..],
            );
            let last = w - 1;
            row_out[0] = 0.75 * row_in[0] + 0.125 * (row_in[0] + row_in[1]);
            row_out[last] = 0.75 * row_in[last] + 0.125 * (row_in[last - 1] + row_in[last]);
        }
    } else {
        horizontal.copy_from_slice(s);
    }
    if along_y {
        let row = |y: usize| &across[y * w..][..w];
        for (y, row_out) in out.chunks_exact_mut(w).enumerate() {
            let (up, down) = (y.saturating_sub(1), (y + 1).min(h - 1));
            smooth(row_out, row(y), row(up), row(down));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jpeg_encoder::rgb_to_ycbcr;

    #[test]
    fn luma_is_the_encoders_own_for_every_colour_in_both_versions() {
        let rgb: Vec<u8> = (0..1u32 << 24)
            .flat_map(|c| <[u8; 3]>::try_from(&c.to_le_bytes()[..3]).unwrap())
            .collect();
        let expected: Vec<u8> = rgb
            .chunks_exact(3)
            .map(|p| rgb_to_ycbcr(p[0], p[1], p[2]).0)
            .collect();
        let mut dispatched = vec![0; expected.len()];
        luma_row(&rgb, &mut dispatched);
        assert!(dispatched == expected, "the dispatched version differs");
        let mut portable = vec![0; expected.len()];
        crate::cpu::portable_only(|| luma_row(&rgb, &mut portable));
        assert!(portable == expected, "the portable version differs");
    }

    /// libjpeg's / zune-jpeg's h2v2 fancy upsampling of a `w` × `h` grid, in floating point.
    fn upsample(s: &[f32], w: usize, h: usize) -> Vec<f32> {
        let at = |x: isize, y: isize| {
            s[(y.clamp(0, h as isize - 1) as usize) * w + x.clamp(0, w as isize - 1) as usize]
        };
        let mut out = vec![0.0; 4 * w * h];
        for y in 0..2 * h {
            for x in 0..2 * w {
                let (sx, sy) = ((x / 2) as isize, (y / 2) as isize);
                let nx = if x % 2 == 0 { sx - 1 } else { sx + 1 };
                let ny = if y % 2 == 0 { sy - 1 } else { sy + 1 };
                let v = |yy| 0.75 * at(sx, yy) + 0.25 * at(nx, yy);
                out[y * 2 * w + x] = 0.75 * v(sy) + 0.25 * v(ny);
            }
        }
        out
    }

    #[test]
    fn the_stored_samples_come_back_where_box_averaging_blurs_them() {
        let (w, h) = (16, 12);
        // Saturated, pixel-art-like chroma: blocks with hard edges.
        let stored: Vec<f32> = (0..w * h)
            .map(|i| {
                if (i % w / 3 + i / w / 2) % 2 == 0 {
                    40.0
                } else {
                    220.0
                }
            })
            .collect();
        let decoded = upsample(&stored, w, h);
        let boxed: Vec<f32> = (0..w * h)
            .map(|i| {
                let (x, y) = (2 * (i % w), 2 * (i / w));
                let at = |dx, dy| decoded[(y + dy) * 2 * w + x + dx];
                (at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1)) / 4.0
            })
            .collect();
        let error = |s: &[f32]| {
            (s.iter()
                .zip(&stored)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f32>()
                / s.len() as f32)
                .sqrt()
        };
        let recovered = invert_upsampling(boxed.clone(), w, h, true, true);
        assert!(
            error(&boxed) > 15.0,
            "box averaging blurs: {}",
            error(&boxed)
        );
        assert!(error(&recovered) < 3.0, "recovered: {}", error(&recovered));
    }

    #[test]
    fn the_encoder_reads_the_same_chroma_without_averaging_it() {
        use jpeg_encoder::{ChromaSubsamplingMethod, Encoder, SamplingFactor};
        // Odd sizes, so that blocks are cut by both edges and padded by the encoder.
        let (w, h) = (37u16, 29u16);
        let mut random = crate::test_random::XorShift64::new(0x2545_f491);
        let rgb: Vec<u8> = (0..usize::from(w) * usize::from(h) * 3)
            .map(|_| random.byte())
            .collect();
        for (fx, fy, factor) in [
            (2, 2, SamplingFactor::F_2_2),
            (2, 1, SamplingFactor::F_2_1),
            (1, 2, SamplingFactor::F_1_2),
        ] {
            let encode = |method, pre_subsampled: bool| {
                let mut out = Vec::new();
                let mut encoder = Encoder::new(&mut out, 90);
                encoder.set_sampling_factor(factor);
                encoder.set_chroma_subsampling_method(method);
                if pre_subsampled {
                    let image = PreSubsampled::new(&rgb, w, h, fx, fy).expect("supported");
                    encoder.encode_image(image).expect("encodes");
                } else {
                    encoder
                        .encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb)
                        .expect("encodes");
                }
                out
            };
            assert_eq!(
                encode(ChromaSubsamplingMethod::Nearest, true),
                encode(ChromaSubsamplingMethod::Average, true),
                "{fx}×{fy}"
            );
            // Full-resolution chroma is another matter: the comparison can fail.
            assert_ne!(
                encode(ChromaSubsamplingMethod::Nearest, false),
                encode(ChromaSubsamplingMethod::Average, false),
                "{fx}×{fy}"
            );
        }
    }

    #[test]
    fn blocks_hold_their_sample_and_luma_is_per_pixel() {
        let (w, h) = (5u16, 3u16);
        let rgb: Vec<u8> = (0..15).flat_map(|i| [i * 16, 255 - i * 16, 128]).collect();
        let image = PreSubsampled::new(&rgb, w, h, 2, 2).expect("2×2 is supported");
        let mut rows: [Vec<u8>; 4] = Default::default();
        image.fill_buffers(2, &mut rows);
        assert_eq!(rows[0].len(), 5);
        assert_eq!(rows[1][0], rows[1][1]);
        assert_eq!(rows[0][4], rgb_to_ycbcr(rgb[42], rgb[43], rgb[44]).0);
        assert!(PreSubsampled::new(&rgb, w, h, 4, 1).is_none());
        assert!(PreSubsampled::new(&rgb, w, h, 1, 1).is_none());
    }
}
