//! Bilinear samples of a plane along a row of lattice positions: the fold's inner loop, which
//! is most of the detector's time on an unmarked image. Three kernels give the same bits: sixteen
//! lanes at a time where the CPU has AVX-512, eight where it has AVX2, and a scalar loop
//! elsewhere. All three perform the same IEEE operations in the same order per sample; they
//! differ only in how they fetch a position's four neighbours (plain loads, in-register permutes
//! of short windows of the plane's rows, or gathers).

use super::plane::Plane;
use crate::cpu::{has_avx2, has_avx512};

/// Bilinear samples of a plane along a row of lattice positions `start + k · step`, 0 where a
/// position's right or lower neighbour is outside the plane.
pub(super) struct Sampler<'a> {
    plane: &'a Plane,
    /// Positions must satisfy 0 ≤ x < `x_end` and 0 ≤ y < `y_end` (NaN is outside).
    x_end: f32,
    y_end: f32,
    kernel: Kernel,
}

/// Which version of [`Sampler::row`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl<'a> Sampler<'a> {
    pub(super) fn new(plane: &'a Plane) -> Self {
        // The vector kernel indexes with i32 lanes.
        let fits = plane.data.len() < i32::MAX as usize / 2;
        let kernel = match (fits, has_avx512(), has_avx2()) {
            #[cfg(target_arch = "x86_64")]
            (true, true, true) => Kernel::Avx512,
            #[cfg(target_arch = "x86_64")]
            (true, _, true) => Kernel::Avx2,
            _ => Kernel::Scalar,
        };
        Sampler {
            plane,
            x_end: plane.width.saturating_sub(1) as f32,
            y_end: plane.height.saturating_sub(1) as f32,
            kernel,
        }
    }

    /// The steps `k` of `0..count` that can land inside the plane (a conservative interval:
    /// samples at its ends may still be outside and read 0), or `None` if none can.
    pub(super) fn inside(
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
    pub(super) fn row(&self, start: [f32; 2], step: [f32; 2], first: usize, out: &mut [f32]) {
        // SAFETY (both kernels): `kernel` names a vector kernel only when the CPU has its
        // instructions (AVX-512F comes with AVX2 here) and the plane's indices fit i32 lanes; the
        // kernels gather only lanes whose positions passed the bounds test, and load only windows
        // that `window` / `window16` found inside the plane's data.
        match self.kernel {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { self.row_avx512(start, step, first, out) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { self.row_avx2(start, step, first, out) },
            Kernel::Scalar => self.row_scalar(start, step, first, out),
        }
    }

    fn row_scalar(&self, start: [f32; 2], step: [f32; 2], first: usize, out: &mut [f32]) {
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

    /// [`Self::row_avx2`] sixteen lanes at a time, by the same operations in the same order.
    /// Blocks whose lanes lie on up to three neighbouring plane rows within 30 columns read
    /// their neighbours from 32-sample windows of those rows with two-register permutes (one
    /// instruction per neighbour and row); blocks at 16 consecutive columns of one row by plain
    /// loads; the rest by gathers. The last, partial block goes to the AVX2 kernel.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2")]
    unsafe fn row_avx512(&self, start: [f32; 2], step: [f32; 2], first: usize, out: &mut [f32]) {
        use std::arch::x86_64::*;
        let data = self.plane.data.as_ptr();
        let width = self.plane.width;
        let lanes = _mm512_setr_ps(
            0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0,
        );
        let (sx, sy) = (_mm512_set1_ps(start[0]), _mm512_set1_ps(start[1]));
        let (dx, dy) = (_mm512_set1_ps(step[0]), _mm512_set1_ps(step[1]));
        let (x_end, y_end) = (_mm512_set1_ps(self.x_end), _mm512_set1_ps(self.y_end));
        let zero = _mm512_setzero_ps();
        let one = _mm512_set1_epi32(1);
        let below = _mm512_set1_epi32(width as i32);
        let blocks = out.len() / 16;
        for block in 0..blocks {
            let i = block * 16;
            // k as f32 plus a small integer lane is exact, as in `sample`.
            let kf = _mm512_add_ps(_mm512_set1_ps((first + i) as f32), lanes);
            let x = _mm512_add_ps(sx, _mm512_mul_ps(kf, dx));
            let y = _mm512_add_ps(sy, _mm512_mul_ps(kf, dy));
            let inside = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(x, zero)
                & _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, x_end)
                & _mm512_cmp_ps_mask::<_CMP_GE_OQ>(y, zero)
                & _mm512_cmp_ps_mask::<_CMP_LT_OQ>(y, y_end);
            let (xi, yi) = (_mm512_cvttps_epi32(x), _mm512_cvttps_epi32(y));
            let (fx, fy) = (
                _mm512_sub_ps(x, _mm512_cvtepi32_ps(xi)),
                _mm512_sub_ps(y, _mm512_cvtepi32_ps(yi)),
            );
            let (a, b, c, d) = match self.window16(inside, xi, yi) {
                Some(window) if window.consecutive => {
                    // 16 consecutive columns of one row: four plain loads.
                    let at = data.add(window.start);
                    (
                        _mm512_loadu_ps(at),
                        _mm512_loadu_ps(at.add(1)),
                        _mm512_loadu_ps(at.add(width)),
                        _mm512_loadu_ps(at.add(width + 1)),
                    )
                }
                Some(window) => {
                    let left = _mm512_sub_epi32(xi, _mm512_set1_epi32(window.column));
                    let right = _mm512_add_epi32(left, one);
                    // Every lane's left and right neighbour on window row `line`.
                    let picks = |line: usize| {
                        let at = data.add(window.start + line * width);
                        let (low, high) = (_mm512_loadu_ps(at), _mm512_loadu_ps(at.add(16)));
                        (
                            _mm512_permutex2var_ps(low, left, high),
                            _mm512_permutex2var_ps(low, right, high),
                        )
                    };
                    let (mut a, mut b) = picks(0);
                    let (mut c, mut d) = picks(1);
                    // Lanes on the block's later rows read those rows and the ones below.
                    let offset = _mm512_sub_epi32(yi, _mm512_set1_epi32(window.row));
                    for line in 1..window.rows {
                        let later = _mm512_cmpge_epi32_mask(offset, _mm512_set1_epi32(line as i32));
                        let (e, f) = picks(line + 1);
                        a = _mm512_mask_blend_ps(later, a, c);
                        b = _mm512_mask_blend_ps(later, b, d);
                        c = _mm512_mask_blend_ps(later, c, e);
                        d = _mm512_mask_blend_ps(later, d, f);
                    }
                    (a, b, c, d)
                }
                None => {
                    // Lanes outside the plane index 0 and are masked out of the gathers anyway.
                    let index = _mm512_maskz_add_epi32(inside, _mm512_mullo_epi32(yi, below), xi);
                    let gather = |offset: __m512i| {
                        _mm512_mask_i32gather_ps::<4>(
                            zero,
                            inside,
                            _mm512_add_epi32(index, offset),
                            data,
                        )
                    };
                    (
                        gather(_mm512_setzero_si512()),
                        gather(one),
                        gather(below),
                        gather(_mm512_add_epi32(below, one)),
                    )
                }
            };
            let top = _mm512_add_ps(a, _mm512_mul_ps(fx, _mm512_sub_ps(b, a)));
            let bottom = _mm512_add_ps(c, _mm512_mul_ps(fx, _mm512_sub_ps(d, c)));
            let value = _mm512_add_ps(top, _mm512_mul_ps(fy, _mm512_sub_ps(bottom, top)));
            _mm512_storeu_ps(out.as_mut_ptr().add(i), _mm512_maskz_mov_ps(inside, value));
        }
        let done = blocks * 16;
        self.row_avx2(start, step, first + done, &mut out[done..]);
    }

    /// [`Self::window`] for a block of 16 lanes: when every lane is inside the plane, on at
    /// most three neighbouring rows, within 30 columns of the block's leftmost (so that its right
    /// neighbours too are among 32 consecutive samples), and 32 samples from there on those rows
    /// and the one below lie within the plane's data. Lanes at 16 consecutive columns of one row
    /// are marked `consecutive` (their neighbours are in the data, as for [`Self::window`]).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2")]
    unsafe fn window16(
        &self,
        inside: std::arch::x86_64::__mmask16,
        xi: std::arch::x86_64::__m512i,
        yi: std::arch::x86_64::__m512i,
    ) -> Option<Window> {
        use std::arch::x86_64::*;
        if inside != 0xffff {
            return None;
        }
        // Positions are monotonic along the lanes, so the extremes are the first and last.
        let last_of = |v: __m512i| _mm_extract_epi32::<3>(_mm512_extracti32x4_epi32::<3>(v));
        let x = (_mm512_cvtsi512_si32(xi), last_of(xi));
        let y = (_mm512_cvtsi512_si32(yi), last_of(yi));
        self.window_of(x, y, 30, 2, 32, |first| {
            let ascending = _mm512_add_epi32(
                _mm512_set1_epi32(first),
                _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            );
            _mm512_cmpeq_epi32_mask(xi, ascending) == 0xffff
        })
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
        let x = (_mm256_extract_epi32::<0>(xi), _mm256_extract_epi32::<7>(xi));
        let y = (_mm256_extract_epi32::<0>(yi), _mm256_extract_epi32::<7>(yi));
        self.window_of(x, y, 14, 1, 16, |first| {
            let ascending = _mm256_add_epi32(
                _mm256_set1_epi32(first),
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            );
            _mm256_movemask_epi8(_mm256_cmpeq_epi32(xi, ascending)) == -1
        })
    }

    /// The [`Window`] of a block whose lanes are all inside the plane, from the integer
    /// positions of its first and last lanes (`x`, `y`: first, last): `None` when they lie more
    /// than `column_span` columns or `row_span` rows apart, or when `samples` samples from the
    /// window's start on each of its rows and the one below would reach past the plane's data
    /// (unless the lanes are consecutive columns of one row, which `consecutive(first column)`
    /// tells: their neighbours are inside the plane).
    #[cfg(target_arch = "x86_64")]
    fn window_of(
        &self,
        x: (i32, i32),
        y: (i32, i32),
        column_span: u32,
        row_span: u32,
        samples: usize,
        consecutive: impl FnOnce(i32) -> bool,
    ) -> Option<Window> {
        let ((first, last), (top, bottom)) = (x, y);
        if first.abs_diff(last) > column_span || top.abs_diff(bottom) > row_span {
            return None;
        }
        let (column, row) = (first.min(last), top.min(bottom));
        let rows = 1 + top.abs_diff(bottom) as usize;
        // Inside the plane: 0 ≤ column and 0 ≤ row, so these are in range.
        let width = self.plane.width;
        let start = row as usize * width + column as usize;
        let consecutive = rows == 1 && consecutive(first);
        (consecutive || start + rows * width + samples <= self.plane.data.len()).then_some(Window {
            start,
            column,
            row,
            rows,
            consecutive,
        })
    }
}

/// Where [`Sampler::window`]'s (or [`Sampler::window16`]'s) samples start: their index in the
/// plane's data, column and row, how many rows the block's lanes lie on (1 or 2, or up to 3 for
/// 16 lanes; the window spans one more), and whether they are consecutive samples of one row.
#[cfg(target_arch = "x86_64")]
struct Window {
    start: usize,
    column: i32,
    row: i32,
    rows: usize,
    consecutive: bool,
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A plane of deterministic texture (values in −50..50).
    pub(in crate::layers::watermark) fn textured(width: usize, height: usize) -> Plane {
        let mut plane = Plane::new(width, height);
        for (i, v) in plane.data.iter_mut().enumerate() {
            *v = ((i * 37) % 101) as f32 - 50.0;
        }
        plane
    }

    #[test]
    fn the_vector_kernel_samples_exactly_as_the_scalar_loop() {
        // Blocks at 8 consecutive columns of one row read their neighbours by plain loads,
        // blocks whose 8 positions lie on one or two plane rows within 15 columns from
        // registers, the others by gathers; all must give the scalar loop's bits.
        let plane = textured(301, 203);
        let mut sampler = Sampler::new(&plane);
        // Rows that start outside, cross the plane at an angle and leave it, at odd lengths.
        let rows = [
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
            // Sixteen lanes over two and three rows (permutes), over four (gathers); over 29
            // columns (permutes) and 32 (gathers).
            ([4.0, 30.3], [0.99, 0.07], 0, 290),
            ([4.0, 30.3], [0.98, 0.13], 0, 290),
            ([4.0, 10.3], [0.9, 0.25], 0, 290),
            ([0.5, 100.5], [1.9, 0.01], 0, 150),
            ([0.5, 100.5], [2.1, 0.0], 0, 140),
            // Three-row blocks along the last rows, where 32-sample windows would reach past
            // the plane's data.
            ([150.0, 199.0], [0.97, 0.12], 0, 40),
            ([270.0, 199.5], [0.99, 0.09], 0, 30),
        ];
        let mut kernels = vec![];
        #[cfg(target_arch = "x86_64")]
        {
            if has_avx2() {
                kernels.push(Kernel::Avx2);
            }
            if has_avx512() {
                kernels.push(Kernel::Avx512);
            }
        }
        eprintln!("vector kernels on this CPU: {kernels:?}");
        for kernel in kernels {
            sampler.kernel = kernel;
            for (start, step, first, count) in rows {
                let mut fast = vec![f32::NAN; count];
                sampler.row(start, step, first, &mut fast);
                let slow: Vec<f32> = (0..count)
                    .map(|i| sampler.sample(start, step, first + i))
                    .collect();
                assert_eq!(
                    fast.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    slow.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    "{kernel:?}: row from {start:?} by {step:?}"
                );
            }
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
