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

use jpeg_encoder::{rgb_to_ycbcr, ImageBuffer, JpegColorType};

/// Jacobi steps: the error at the highest chroma frequency shrinks by at least ¾ per step in 2-D
/// (½ per axis), and real chroma has little energy there.
const STEPS: usize = 4;

/// An RGB image whose chroma is subsampled `fx` × `fy` (each 1 or 2) ahead of the encoder.
pub(super) struct PreSubsampled<'a> {
    rgb: &'a [u8],
    width: u16,
    height: u16,
    fx: usize,
    fy: usize,
    /// Subsampled Cb and Cr, `sub_width` samples per row.
    cb: Vec<u8>,
    cr: Vec<u8>,
    sub_width: usize,
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
        let mut cb = vec![0.0f32; sw * sh];
        let mut cr = vec![0.0f32; sw * sh];
        // Box sums over each block; a block cut by the image edge counts its last pixel again,
        // as the encoder pads. (Factors are 1 or 2: shifts, not divisions, in this loop.)
        let (shift_x, shift_y) = (fx.trailing_zeros(), fy.trailing_zeros());
        for y in 0..sh * fy {
            let row = &rgb[y.min(h - 1) * w * 3..][..w * 3];
            let sums = (y >> shift_y) * sw;
            for x in 0..sw * fx {
                let p = &row[x.min(w - 1) * 3..][..3];
                let (b, r) = chroma(p[0], p[1], p[2]);
                let i = sums + (x >> shift_x);
                cb[i] += b;
                cr[i] += r;
            }
        }
        let area = (fx * fy) as f32;
        let solve = |sums: Vec<f32>| {
            let target: Vec<f32> = sums.iter().map(|s| s / area).collect();
            invert_upsampling(&target, sw, sh, fx == 2, fy == 2)
                .into_iter()
                .map(|v| (v.clamp(0.0, 255.0) + 0.5) as u8)
                .collect()
        };
        Some(PreSubsampled {
            rgb,
            width,
            height,
            fx,
            fy,
            cb: solve(cb),
            cr: solve(cr),
            sub_width: sw,
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
        let sub_row = (usize::from(y) / self.fy) * self.sub_width;
        let shift_x = self.fx.trailing_zeros();
        for (x, p) in row.chunks_exact(3).enumerate() {
            let (luma, _, _) = rgb_to_ycbcr(p[0], p[1], p[2]);
            let i = sub_row + (x >> shift_x);
            buffers[0].push(luma);
            buffers[1].push(self.cb[i]);
            buffers[2].push(self.cr[i]);
        }
    }
}

/// Cb and Cr of one pixel (JFIF), unrounded.
fn chroma(r: u8, g: u8, b: u8) -> (f32, f32) {
    let (r, g, b) = (f32::from(r), f32::from(g), f32::from(b));
    (
        -0.168_736 * r - 0.331_264 * g + 0.5 * b + 128.0,
        0.5 * r - 0.418_688 * g - 0.081_312 * b + 128.0,
    )
}

/// The samples whose triangle upsampling, box-averaged back, is `target` (a `w` × `h` grid;
/// `along_x`/`along_y` say which axes were subsampled).
fn invert_upsampling(target: &[f32], w: usize, h: usize, along_x: bool, along_y: bool) -> Vec<f32> {
    let mut estimate = target.to_vec();
    for _ in 0..STEPS {
        let blurred = box_of_upsampled(&estimate, w, h, along_x, along_y);
        for ((e, t), b) in estimate.iter_mut().zip(target).zip(&blurred) {
            *e += t - b;
        }
    }
    estimate
}

/// `box(upsample(s))` on the subsampled grid: [⅛, ¾, ⅛] along each subsampled axis, edges
/// replicated (the decoders' first and last outputs are the edge sample itself).
fn box_of_upsampled(s: &[f32], w: usize, h: usize, along_x: bool, along_y: bool) -> Vec<f32> {
    let mut out = s.to_vec();
    if along_x {
        for (row_in, row_out) in s.chunks_exact(w).zip(out.chunks_exact_mut(w)) {
            for x in 0..w {
                let (l, r) = (row_in[x.saturating_sub(1)], row_in[(x + 1).min(w - 1)]);
                row_out[x] = 0.75 * row_in[x] + 0.125 * (l + r);
            }
        }
    }
    if along_y {
        let s = out.clone();
        for y in 0..h {
            let (up, down) = (y.saturating_sub(1) * w, (y + 1).min(h - 1) * w);
            for x in 0..w {
                out[y * w + x] = 0.75 * s[y * w + x] + 0.125 * (s[up + x] + s[down + x]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let recovered = invert_upsampling(&boxed, w, h, true, true);
        assert!(
            error(&boxed) > 15.0,
            "box averaging blurs: {}",
            error(&boxed)
        );
        assert!(error(&recovered) < 3.0, "recovered: {}", error(&recovered));
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
