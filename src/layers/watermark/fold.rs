//! Folding: summing the listening plane onto one tile under a lattice hypothesis, so that every
//! sample whose lattice coordinates fall on the same tile position adds up. It is the hot loop of
//! detection (up to seven full folds per unmarked image, each reading the plane once), so the
//! bilinear sampling along a row of lattice positions runs eight lanes at a time where the CPU
//! has AVX2, with a scalar loop computing exactly the same values elsewhere.

use super::cpu::has_avx2;
use super::lattice::Lattice;
use super::pattern::TILE;
use super::plane::Plane;

/// Folds `high` onto one tile under `lattice`. The origin is the image centre. With `stride` 2
/// only every second tile row and column is sampled: one sample per 2×2 chip and tile, a quarter
/// of the work. `None` for a degenerate lattice.
pub(super) fn fold(high: &Plane, lattice: Lattice, stride: usize) -> Option<Vec<f32>> {
    let det = lattice.determinant();
    if det.abs() < 1.0 {
        return None;
    }
    let t = TILE as f32;
    // image = centre + M · (u, v), M = [a b] / TILE; (u, v) = M⁻¹ · (image − centre).
    let m = [
        [lattice.a[0] / t, lattice.b[0] / t],
        [lattice.a[1] / t, lattice.b[1] / t],
    ];
    let inv_det = 1.0 / (m[0][0] * m[1][1] - m[0][1] * m[1][0]);
    let inv = [
        [m[1][1] * inv_det, -m[0][1] * inv_det],
        [-m[1][0] * inv_det, m[0][0] * inv_det],
    ];
    let (cx, cy) = (high.width as f32 / 2.0, high.height as f32 / 2.0);
    let corners = [
        (0.0, 0.0),
        (high.width as f32, 0.0),
        (0.0, high.height as f32),
        (high.width as f32, high.height as f32),
    ];
    let (mut umin, mut umax, mut vmin, mut vmax) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for (x, y) in corners {
        let (dx, dy) = (x - cx, y - cy);
        let u = inv[0][0] * dx + inv[0][1] * dy;
        let v = inv[1][0] * dx + inv[1][1] * dy;
        umin = umin.min(u);
        umax = umax.max(u);
        vmin = vmin.min(v);
        vmax = vmax.max(v);
    }
    let mut tile = vec![0.0f32; TILE * TILE];
    let (u0, u1) = (umin.floor() as isize, umax.ceil() as isize);
    // Even tile coordinates only when striding, so every chip gets its sample.
    let even = |n: isize| if stride > 1 { n - n.rem_euclid(2) } else { n };
    let u0 = even(u0);
    let count = ((u1 - u0).max(0) as usize) / stride + 1;
    let step = [m[0][0] * stride as f32, m[1][0] * stride as f32];
    let sampler = Sampler::new(high);
    let mut samples = vec![0.0f32; count];
    const _: () = assert!(TILE.is_power_of_two());
    for v in (even(vmin.floor() as isize)..=vmax.ceil() as isize).step_by(stride) {
        let row = v.rem_euclid(TILE as isize) as usize * TILE;
        let tile_row = &mut tile[row..row + TILE];
        let (vf, uf0) = (v as f32, u0 as f32);
        let start = [
            cx + m[0][0] * uf0 + m[0][1] * vf,
            cy + m[1][0] * uf0 + m[1][1] * vf,
        ];
        let Some(inside) = sampler.inside(start, step, count) else {
            continue;
        };
        let out = &mut samples[inside.clone()];
        sampler.row(start, step, inside.start, out);
        let mut column = (u0 + (inside.start * stride) as isize).rem_euclid(TILE as isize) as usize;
        if stride == 1 {
            // Runs of consecutive columns up to the tile's edge (vectorised additions).
            let mut rest: &[f32] = out;
            while !rest.is_empty() {
                let run = rest.len().min(TILE - column);
                for (cell, &sample) in tile_row[column..column + run].iter_mut().zip(rest) {
                    *cell += sample;
                }
                rest = &rest[run..];
                column = 0;
            }
        } else {
            for &sample in out.iter() {
                tile_row[column] += sample;
                column = (column + stride) & (TILE - 1);
            }
        }
    }
    Some(tile)
}

/// Bilinear samples of a plane along a row of lattice positions `start + k · step`, 0 where a
/// position's right or lower neighbour is outside the plane.
struct Sampler<'a> {
    plane: &'a Plane,
    /// Positions must satisfy 0 ≤ x < `x_end` and 0 ≤ y < `y_end` (NaN is outside).
    x_end: f32,
    y_end: f32,
    simd: bool,
}

impl<'a> Sampler<'a> {
    fn new(plane: &'a Plane) -> Self {
        // The vector kernel indexes with i32 lanes.
        let fits = plane.data.len() < i32::MAX as usize / 2;
        Sampler {
            plane,
            x_end: plane.width.saturating_sub(1) as f32,
            y_end: plane.height.saturating_sub(1) as f32,
            simd: fits && has_avx2(),
        }
    }

    /// The steps `k` of `0..count` that can land inside the plane (a conservative interval:
    /// samples at its ends may still be outside and read 0), or `None` if none can.
    fn inside(
        &self,
        start: [f32; 2],
        step: [f32; 2],
        count: usize,
    ) -> Option<std::ops::Range<usize>> {
        let (mut low, mut high) = (0.0f32, count as f32);
        for (s, d, end) in [
            (start[0], step[0], self.x_end),
            (start[1], step[1], self.y_end),
        ] {
            if d.abs() < 1e-9 {
                if !(s >= 0.0 && s < end) {
                    return None;
                }
                continue;
            }
            let (a, b) = ((0.0 - s) / d, (end - s) / d);
            low = low.max(a.min(b));
            high = high.min(a.max(b));
        }
        if low.is_nan() || high.is_nan() || low > high {
            return None;
        }
        let first = (low.floor() - 1.0).max(0.0) as usize;
        let last = ((high.ceil() + 1.0).max(0.0) as usize).min(count);
        (first < last).then_some(first..last)
    }

    /// `out[i]` = the sample at step `first + i`.
    fn row(&self, start: [f32; 2], step: [f32; 2], first: usize, out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if self.simd {
            // SAFETY: `simd` is only set when the CPU has AVX2 and the plane's indices fit i32
            // lanes; the kernel gathers only lanes whose positions passed the bounds test, and
            // loads only windows that `window` found inside the plane's data.
            unsafe { self.row_avx2(start, step, first, out) };
            return;
        }
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = self.sample(start, step, first + i);
        }
    }

    /// The sample at step `k`, by the same operations, in the same order, as the vector kernel.
    #[inline(always)]
    fn sample(&self, start: [f32; 2], step: [f32; 2], k: usize) -> f32 {
        let kf = k as f32;
        let (x, y) = (start[0] + kf * step[0], start[1] + kf * step[1]);
        if !(x >= 0.0 && x < self.x_end && y >= 0.0 && y < self.y_end) {
            return 0.0;
        }
        let width = self.plane.width;
        let (x0, y0) = (x as usize, y as usize);
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let start = y0 * width + x0;
        let cell = &self.plane.data[start..start + width + 2];
        let top = cell[0] + fx * (cell[1] - cell[0]);
        let bottom = cell[width] + fx * (cell[width + 1] - cell[width]);
        top + fy * (bottom - top)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn row_avx2(&self, start: [f32; 2], step: [f32; 2], first: usize, out: &mut [f32]) {
        use std::arch::x86_64::*;
        let data = self.plane.data.as_ptr();
        let width = self.plane.width as i32;
        let lanes = _mm256_setr_ps(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0);
        let (sx, sy) = (_mm256_set1_ps(start[0]), _mm256_set1_ps(start[1]));
        let (dx, dy) = (_mm256_set1_ps(step[0]), _mm256_set1_ps(step[1]));
        let (x_end, y_end) = (_mm256_set1_ps(self.x_end), _mm256_set1_ps(self.y_end));
        let zero = _mm256_setzero_ps();
        let (one, below, right_below) = (
            _mm256_set1_epi32(1),
            _mm256_set1_epi32(width),
            _mm256_set1_epi32(width + 1),
        );
        let blocks = out.len() / 8;
        for block in 0..blocks {
            let i = block * 8;
            // k as f32 plus a small integer lane is exact, as in `sample`.
            let kf = _mm256_add_ps(_mm256_set1_ps((first + i) as f32), lanes);
            let x = _mm256_add_ps(sx, _mm256_mul_ps(kf, dx));
            let y = _mm256_add_ps(sy, _mm256_mul_ps(kf, dy));
            let inside = _mm256_and_ps(
                _mm256_and_ps(
                    _mm256_cmp_ps::<_CMP_GE_OQ>(x, zero),
                    _mm256_cmp_ps::<_CMP_LT_OQ>(x, x_end),
                ),
                _mm256_and_ps(
                    _mm256_cmp_ps::<_CMP_GE_OQ>(y, zero),
                    _mm256_cmp_ps::<_CMP_LT_OQ>(y, y_end),
                ),
            );
            let (xi, yi) = (_mm256_cvttps_epi32(x), _mm256_cvttps_epi32(y));
            let (fx, fy) = (
                _mm256_sub_ps(x, _mm256_cvtepi32_ps(xi)),
                _mm256_sub_ps(y, _mm256_cvtepi32_ps(yi)),
            );
            let window = self.window(inside, xi, yi);
            let (a, b, c, d) = if let Some(window) = window.as_ref().filter(|w| w.consecutive) {
                // Consecutive columns of one row (the untouched lattice, and near-upright ones
                // at about 1× zoom): the neighbours are four plain loads.
                let at = data.add(window.start);
                let below = self.plane.width;
                (
                    _mm256_loadu_ps(at),
                    _mm256_loadu_ps(at.add(1)),
                    _mm256_loadu_ps(at.add(below)),
                    _mm256_loadu_ps(at.add(below + 1)),
                )
            } else if let Some(window) = window {
                // The four neighbours of every lane from 16-sample windows of the rows they lie
                // on, by in-register permutes: the same values the gathers would read, at a
                // fraction of their cost on CPUs where gathers are slow.
                let width = self.plane.width;
                let load = |row: usize| {
                    let at = data.add(window.start + row * width);
                    (_mm256_loadu_ps(at), _mm256_loadu_ps(at.add(8)))
                };
                let left = _mm256_sub_epi32(xi, _mm256_set1_epi32(window.column));
                let right = _mm256_add_epi32(left, one);
                let seven = _mm256_set1_epi32(7);
                let pick = |(low, high): (__m256, __m256), at: __m256i| {
                    let from_high = _mm256_castsi256_ps(_mm256_cmpgt_epi32(at, seven));
                    _mm256_blendv_ps(
                        _mm256_permutevar8x32_ps(low, at),
                        _mm256_permutevar8x32_ps(high, at),
                        from_high,
                    )
                };
                let (upper, lower) = (load(0), load(1));
                let (a, b) = (pick(upper, left), pick(upper, right));
                let (c, d) = (pick(lower, left), pick(lower, right));
                if window.rows == 1 {
                    (a, b, c, d)
                } else {
                    // Lanes on the window's second row read that row and the third.
                    let below = load(2);
                    let (e, f) = (pick(below, left), pick(below, right));
                    let second =
                        _mm256_castsi256_ps(_mm256_cmpgt_epi32(yi, _mm256_set1_epi32(window.row)));
                    (
                        _mm256_blendv_ps(a, c, second),
                        _mm256_blendv_ps(b, d, second),
                        _mm256_blendv_ps(c, e, second),
                        _mm256_blendv_ps(d, f, second),
                    )
                }
            } else {
                // Lanes outside the plane index 0 and are masked out of the gathers anyway.
                let index = _mm256_and_si256(
                    _mm256_add_epi32(_mm256_mullo_epi32(yi, below), xi),
                    _mm256_castps_si256(inside),
                );
                let gather = |offset: __m256i| {
                    _mm256_mask_i32gather_ps::<4>(
                        zero,
                        data,
                        _mm256_add_epi32(index, offset),
                        inside,
                    )
                };
                (
                    gather(_mm256_setzero_si256()),
                    gather(one),
                    gather(below),
                    gather(right_below),
                )
            };
            let top = _mm256_add_ps(a, _mm256_mul_ps(fx, _mm256_sub_ps(b, a)));
            let bottom = _mm256_add_ps(c, _mm256_mul_ps(fx, _mm256_sub_ps(d, c)));
            let value = _mm256_add_ps(top, _mm256_mul_ps(fy, _mm256_sub_ps(bottom, top)));
            _mm256_storeu_ps(out.as_mut_ptr().add(i), _mm256_and_ps(value, inside));
        }
        for (i, slot) in out.iter_mut().enumerate().skip(blocks * 8) {
            *slot = self.sample(start, step, first + i);
        }
    }

    /// For a block of 8 lanes with integer positions `xi`, `yi`: when every lane is inside the
    /// plane, on one row or two neighbouring ones, within 15 columns of the block's leftmost
    /// (so that its right neighbours too are among 16 consecutive samples), and 16 samples from
    /// there on those rows and the one below lie within the plane's data, where that window
    /// starts. The usual case: lattices are near upright and at most 1.7× zoomed, so a block's
    /// 8 positions span a few columns of one or two rows. Lanes at 8 consecutive columns of one
    /// row are marked `consecutive`: every lane is inside the plane, so its right and lower
    /// neighbours are too, and the 9 samples from the window's start on its row and the next
    /// are in the data whatever the 16-sample test says.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn window(
        &self,
        inside: std::arch::x86_64::__m256,
        xi: std::arch::x86_64::__m256i,
        yi: std::arch::x86_64::__m256i,
    ) -> Option<Window> {
        use std::arch::x86_64::*;
        if _mm256_movemask_ps(inside) != 0xff {
            return None;
        }
        // Positions are monotonic along the lanes, so the extremes are the first and last.
        let (first, last) = (_mm256_extract_epi32::<0>(xi), _mm256_extract_epi32::<7>(xi));
        let (top, bottom) = (_mm256_extract_epi32::<0>(yi), _mm256_extract_epi32::<7>(yi));
        if first.abs_diff(last) > 14 || top.abs_diff(bottom) > 1 {
            return None;
        }
        let (column, row) = (first.min(last), top.min(bottom));
        let rows = 1 + top.abs_diff(bottom) as usize;
        // Inside the plane: 0 ≤ column and 0 ≤ row, so these are in range.
        let width = self.plane.width;
        let start = row as usize * width + column as usize;
        let ascending = _mm256_add_epi32(
            _mm256_set1_epi32(first),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        );
        let consecutive =
            rows == 1 && _mm256_movemask_epi8(_mm256_cmpeq_epi32(xi, ascending)) == -1;
        (consecutive || start + rows * width + 16 <= self.plane.data.len()).then_some(Window {
            start,
            column,
            row,
            rows,
            consecutive,
        })
    }
}

/// Where [`Sampler::window`]'s samples start: their index in the plane's data, column and row,
/// how many rows the block's lanes lie on (1 or 2; the window spans one more), and whether they
/// are 8 consecutive samples of one row.
#[cfg(target_arch = "x86_64")]
struct Window {
    start: usize,
    column: i32,
    row: i32,
    rows: usize,
    consecutive: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn textured(width: usize, height: usize) -> Plane {
        let mut plane = Plane::new(width, height);
        for (i, v) in plane.data.iter_mut().enumerate() {
            *v = ((i * 37) % 101) as f32 - 50.0;
        }
        plane
    }

    #[test]
    fn the_untouched_fold_adds_every_pixel_to_its_tile_position() {
        // Integer lattice positions: bilinear sampling reads pixels as they are. The origin is
        // the image centre, and a pixel needs its right and lower neighbours to be sampled.
        let (width, height) = (3 * TILE + 10, 2 * TILE + 6);
        let plane = textured(width, height);
        let folded = fold(&plane, Lattice::zoomed(1.0), 1).unwrap();
        let (cx, cy) = (width as isize / 2, height as isize / 2);
        let mut expected = vec![0.0f32; TILE * TILE];
        for y in 0..height - 1 {
            for x in 0..width - 1 {
                let (u, v) = (x as isize - cx, y as isize - cy);
                let at = v.rem_euclid(TILE as isize) as usize * TILE
                    + u.rem_euclid(TILE as isize) as usize;
                expected[at] += plane.data[y * width + x];
            }
        }
        for (got, want) in folded.iter().zip(&expected) {
            assert!((got - want).abs() < 1e-3, "{got} vs {want}");
        }
        // A quarter fold takes every second position of both axes.
        let quarter = fold(&plane, Lattice::zoomed(1.0), 2).unwrap();
        assert!(quarter.iter().any(|&v| v != 0.0));
        assert!(quarter.chunks(TILE).enumerate().all(|(v, row)| row
            .iter()
            .enumerate()
            .all(|(u, &s)| (u % 2 == 0 && v % 2 == 0) || s == 0.0)));
    }

    #[test]
    fn the_vector_kernel_samples_exactly_as_the_scalar_loop() {
        // Blocks at 8 consecutive columns of one row read their neighbours by plain loads,
        // blocks whose 8 positions lie on one or two plane rows within 15 columns from
        // registers, the others by gathers; all must give the scalar loop's bits.
        let plane = textured(301, 203);
        let sampler = Sampler::new(&plane);
        // Rows that start outside, cross the plane at an angle and leave it, at odd lengths.
        for (start, step, first, count) in [
            ([-20.3f32, 5.7f32], [0.93f32, 0.11f32], 0, 337),
            ([310.0, 150.2], [-1.07, -0.21], 3, 301),
            ([0.0, 0.0], [1.0, 0.0], 0, 300),
            ([12.5, -40.0], [0.05, 1.3], 1, 190),
            // Along the last rows, where the windows would reach past the plane's data.
            ([0.0, 200.5], [1.0, 0.0], 0, 300),
            ([0.5, 201.5], [1.0, 0.0], 0, 300),
            // The untouched lattice of an odd-sized plane (consecutive columns, half-sample
            // offsets), and a lattice just off it (one row, columns that skip or repeat).
            ([-9.5, 101.5], [1.0, 0.0], 0, 320),
            ([2.5, 10.25], [1.003, 0.004], 0, 298),
            ([2.25, 60.75], [0.997, -0.002], 0, 300),
            ([3.0, 199.9], [0.97, 0.02], 0, 300),
            // Quarter folds: a stride of 2 at 1.7× zoom spreads a block over 24 columns.
            ([1.0, 20.0], [3.4, 0.3], 0, 80),
            ([f32::NAN, 3.0], [1.0, 0.0], 0, 17),
        ] {
            let mut fast = vec![f32::NAN; count];
            sampler.row(start, step, first, &mut fast);
            let slow: Vec<f32> = (0..count)
                .map(|i| sampler.sample(start, step, first + i))
                .collect();
            assert_eq!(
                fast.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                slow.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "row from {start:?} by {step:?}"
            );
        }
    }

    #[test]
    fn the_inside_interval_keeps_every_sample_that_lands_in_the_plane() {
        let plane = textured(200, 150);
        let sampler = Sampler::new(&plane);
        for (start, step) in [
            ([-50.0f32, 10.0f32], [0.9f32, 0.2f32]),
            ([250.0, 140.0], [-1.1, -0.05]),
            ([100.0, -3.0], [0.0, 0.7]),
            ([100.0, 400.0], [1.0, 0.0]),
        ] {
            let count = 400;
            let kept = sampler.inside(start, step, count).unwrap_or(0..0);
            for k in 0..count {
                if sampler.sample(start, step, k) != 0.0 {
                    assert!(kept.contains(&k), "step {k} from {start:?} by {step:?}");
                }
            }
        }
    }
}
