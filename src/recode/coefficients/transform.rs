//! The 8×8 DCT of JPEG on the luma component: the plane a decoder would show, and the blocks
//! with the mark's residual added on their own quantisation grid.

use super::baseline::{Component, AC_LIMIT, DC_RANGE};
use crate::cpu::dispatch_avx2;

dispatch_avx2! {
    /// [`Frame::luma`]: each block dequantised and inverse transformed, level-shifted, clamped.
    /// Written a band of eight rows at a time into memory that is not cleared first (clearing
    /// the plane was a whole extra pass over it); a block the component lacks reads as 0.
    pub(super) fn luma_plane(luma: &Component, width: usize, height: usize) -> Vec<f32> {
        let basis = Basis::new();
        let quant = luma.quant.map(f32::from);
        let mut plane: Vec<f32> = Vec::with_capacity(width * height);
        for y0 in (0..height).step_by(8) {
            let rows = (height - y0).min(8);
            let band = &mut plane.spare_capacity_mut()[..rows * width];
            for x0 in (0..width).step_by(8) {
                let columns = (width - x0).min(8);
                // A missing block: samples of −128, which level-shift to 0.
                let samples = luma
                    .blocks
                    .get(y0 / 8 * luma.blocks_w + x0 / 8)
                    .filter(|_| x0 / 8 < luma.blocks_w)
                    .map_or([[-128.0; 8]; 8], |block| {
                        basis.dequantised_inverse(block, &quant)
                    });
                for (row, line) in samples.iter().take(rows).enumerate() {
                    let out = &mut band[row * width + x0..][..columns];
                    for (o, &v) in out.iter_mut().zip(line) {
                        o.write((v + 128.0).clamp(0.0, 255.0));
                    }
                }
            }
            // SAFETY: the blocks at x0 = 0, 8, … each wrote columns x0 .. x0 + min(8, width −
            // x0) of every one of the band's `rows` rows: all rows × width samples.
            unsafe { plane.set_len(plane.len() + rows * width) };
        }
        plane
    }
}

dispatch_avx2! {
    /// The luma blocks with `residual × gain` added: each block's coefficients move by the
    /// residual's DCT, quantised on the block's own grid (blocks wholly in the padding beyond
    /// the image stay as they are).
    pub(super) fn marked_luma(
        luma: &Component,
        width: usize,
        height: usize,
        residual: &[f32],
        gain: f32,
    ) -> Vec<[i16; 64]> {
        let basis = Basis::new();
        let quant = luma.quant.map(f32::from);
        let steps = luma.quant.map(|q| 1.0 / f32::from(q));
        // Coefficients read from the file are within these already, so the clamp changes only
        // what the mark would push past them.
        let mut low = [-AC_LIMIT as f32; 64];
        let mut high = [AC_LIMIT as f32; 64];
        (low[0], high[0]) = (DC_RANGE.0 as f32, DC_RANGE.1 as f32);
        let mut blocks = luma.blocks.clone();
        for (b, block) in blocks.iter_mut().enumerate() {
            let (x0, y0) = (b % luma.blocks_w * 8, b / luma.blocks_w * 8);
            if x0 >= width || y0 >= height {
                continue;
            }
            // The pixel path quantised the decoded block (the decoder's rounded, clamped
            // pixels) plus the residual, so the decoder's rounding error dithered the mark's
            // components smaller than a quantisation step instead of each rounding to nothing.
            // The same here, less what that rounding alone would have moved: the mark's own
            // change, with no generation loss where the mark does not reach.
            let exact = basis.dequantised_inverse(block, &quant);
            let mut rounding = [[0.0f32; 8]; 8];
            let mut samples = [[0.0f32; 8]; 8];
            let (rows, columns) = ((height - y0).min(8), (width - x0).min(8));
            for (row, ((line, error), exact)) in samples
                .iter_mut()
                .zip(rounding.iter_mut())
                .zip(&exact)
                .take(rows)
                .enumerate()
            {
                let source = &residual[(y0 + row) * width + x0..][..columns];
                for (((s, e), &r), &v) in line.iter_mut().zip(error.iter_mut()).zip(source).zip(exact) {
                    let shown = (v + 128.0).round().clamp(0.0, 255.0);
                    *e = shown - (v + 128.0);
                    *s = r * gain;
                }
            }
            let mark = basis.forward(&samples);
            let dither = basis.forward(&rounding);
            // In whole passes over the 64 values (each a few 8-lane operations): the new
            // coefficients are integers in range, so the float sums are exact.
            let mut moved = [0.0f32; 64];
            for (m, (((&f, &d), &s), &v)) in moved.iter_mut().zip(
                mark.as_flattened()
                    .iter()
                    .zip(dither.as_flattened())
                    .zip(&steps)
                    .zip(block.iter()),
            ) {
                *m = f32::from(v) + ((f + d) * s).round_ties_even() - (d * s).round_ties_even();
            }
            // Clamped and converted by whole arrays, through i32 (float-to-i16 casts and zips of
            // four arrays were left scalar by the compiler); the values are whole numbers.
            let mut clamped = [0i32; 64];
            for k in 0..64 {
                clamped[k] = moved[k].max(low[k]).min(high[k]) as i32;
            }
            for k in 0..64 {
                block[k] = clamped[k] as i16;
            }
        }
        blocks
    }
}

/// The 8-point DCT of JPEG, `C(u)/2 · cos((2x + 1)uπ/16)` with C(0) = 1/√2, by rows of 8 so
/// that each product of a pass is one 8-lane multiply-add.
struct Basis {
    /// `by_x[x][u]`, and its transpose.
    by_x: [[f32; 8]; 8],
    by_u: [[f32; 8]; 8],
}

impl Basis {
    fn new() -> Self {
        let mut by_x = [[0.0f32; 8]; 8];
        for (x, row) in by_x.iter_mut().enumerate() {
            for (u, b) in row.iter_mut().enumerate() {
                let c = if u == 0 {
                    std::f64::consts::FRAC_1_SQRT_2
                } else {
                    1.0
                };
                let angle = (2 * x + 1) as f64 * u as f64 * std::f64::consts::PI / 16.0;
                *b = (c / 2.0 * angle.cos()) as f32;
            }
        }
        Basis {
            by_x,
            by_u: Self::transposed(&by_x),
        }
    }

    /// `out[y][·] = Σᵢ m[y][i] · rows[i][·]`: a product of 8×8 matrices, row by row, each
    /// output row summed in a local (one 8-lane register) and stored once.
    #[inline(always)]
    fn product(m: &[[f32; 8]; 8], rows: &[[f32; 8]; 8]) -> [[f32; 8]; 8] {
        // (Not `m.map(..)`: array::map is not inlined into the AVX2 copies of the callers.)
        let mut out = [[0.0f32; 8]; 8];
        for (o, weights) in out.iter_mut().zip(m) {
            let mut sum = [0.0f32; 8];
            for (&w, row) in weights.iter().zip(rows) {
                for (a, &r) in sum.iter_mut().zip(row) {
                    *a += w * r;
                }
            }
            *o = sum;
        }
        out
    }

    #[inline(always)]
    fn transposed(m: &[[f32; 8]; 8]) -> [[f32; 8]; 8] {
        let mut t = [[0.0f32; 8]; 8];
        for (i, row) in m.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                t[j][i] = v;
            }
        }
        t
    }

    /// The samples (before the level shift) of a block of quantised coefficients, natural
    /// order, and its quantisation table.
    #[inline(always)]
    fn dequantised_inverse(&self, block: &[i16; 64], quant: &[f32; 64]) -> [[f32; 8]; 8] {
        let mut coefficients = [[0.0f32; 8]; 8];
        for ((c, &v), &q) in coefficients
            .as_flattened_mut()
            .iter_mut()
            .zip(block)
            .zip(quant)
        {
            *c = f32::from(v) * q;
        }
        self.inverse(&coefficients)
    }

    /// Samples `f[y][x]` of coefficients `F[v][u]`: `f = B · F · Bᵀ` with `B = by_x`.
    #[inline(always)]
    fn inverse(&self, coefficients: &[[f32; 8]; 8]) -> [[f32; 8]; 8] {
        // (B · F) · Bᵀ: rows of B·F times the transposed basis.
        let left = Self::product(&self.by_x, coefficients);
        Self::product(&left, &self.by_u)
    }

    /// Coefficients `F[v][u]` of samples `f[y][x]`: `F = Bᵀ · f · B`.
    #[inline(always)]
    fn forward(&self, samples: &[[f32; 8]; 8]) -> [[f32; 8]; 8] {
        let left = Self::product(&self.by_u, samples);
        Self::product(&left, &self.by_x)
    }
}
