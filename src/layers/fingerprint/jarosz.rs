//! PDQ's Jarosz smoothing (two passes of box filters along rows, then columns) read at the
//! 64×64 points the hash samples, with the reference's float operations in the reference's
//! order, so the same bits, only faster.

/// Where PDQ reads its 64 samples along a side of `length` pixels (the reference's
/// `decimateFloat`): the middle of each 64th, rounded down. Repeats when `length` < 64.
fn sample_positions(length: usize) -> [usize; 64] {
    std::array::from_fn(|i| ((i as f64 + 0.5) * length as f64 / 64.0) as usize)
}

/// The 64 [`sample_positions`] of a side, met in order as a filter's outputs go by.
struct Samples {
    positions: [usize; 64],
    next: usize,
}

impl Samples {
    fn along(length: usize) -> Samples {
        Samples {
            positions: sample_positions(length),
            next: 0,
        }
    }

    /// Calls `pick(k)` for every sample `k` at output `out` (none, one, or several when the
    /// side is shorter than 64).
    #[inline(always)]
    fn at(&mut self, out: usize, mut pick: impl FnMut(usize)) {
        while self.next < 64 && self.positions[self.next] == out {
            pick(self.next);
            self.next += 1;
        }
    }

    /// The same positions, from the first again.
    fn restart(&mut self) {
        self.next = 0;
    }
}

crate::cpu::dispatch_avx2! {
    /// PDQ's Jarosz smoothing (two passes of box filters along rows, then columns, each window
    /// sized so the 64 samples cover the image: the reference's `jaroszFilterFloat` with two
    /// passes) read at the 64×64 [`sample_positions`]: the same bits as filtering the whole
    /// plane and then sampling it, without computing what is not read. The second pass's row
    /// sums still walk every sample, but divide only at the sampled columns, and its column
    /// sums walk only those. `luma` is overwritten. The loops are inlined here, so that with
    /// AVX2 they take eight samples at a time (the same operations on each, so the same bits).
    pub(super) fn jarosz_sampled(luma: &mut [f32], width: usize, height: usize) -> [[f32; 64]; 64] {
        let window_along_rows = width.div_ceil(2 * 64);
        let window_along_columns = height.div_ceil(2 * 64);
        filter_rows_in_place(luma, width, window_along_rows);
        let mut filtered = Vec::with_capacity(luma.len());
        box_columns(luma, width, height, window_along_columns, |_, sums, size| {
            // Rows come out in order, each once.
            let divisor = size as f32;
            filtered.extend(sums.iter().map(|sum| sum / divisor));
        });
        let mut columns = Samples::along(width);
        let sampled = filter_rows_at(&filtered, width, window_along_rows, &mut columns);
        let mut rows = Samples::along(height);
        let mut small = [[0f32; 64]; 64];
        box_columns(&sampled, 64, height, window_along_columns, |out, sums, size| {
            rows.at(out, |k| {
                let divisor = size as f32;
                for (target, sum) in small[k].iter_mut().zip(sums) {
                    *target = sum / divisor;
                }
            });
        });
        small
    }
}

/// The box filter along every row of `plane` (`width` samples each), in place. Eight rows at
/// a time: each row's running sum is one long chain of dependent additions and divisions, so
/// the eight rows are laid out a column at a time (by 8×8 transposes) and summed in the eight
/// lanes of one vector, each lane with exactly the reference's operations in its order, so the
/// same bits.
#[inline(always)]
fn filter_rows_in_place(plane: &mut [f32], width: usize, window: usize) {
    let (mut columns, mut filtered) = (vec![[0f32; 8]; width], vec![[0f32; 8]; width]);
    let mut bands = plane.chunks_exact_mut(8 * width);
    for band in &mut bands {
        transpose_in(band, width, &mut columns);
        filter_band(&columns, window, |out, sums, size| {
            let divisor = size as f32;
            filtered[out] = sums.map(|sum| sum / divisor);
        });
        transpose_out(&filtered, width, band);
    }
    let mut input = Vec::with_capacity(width);
    for row in bands.into_remainder().chunks_exact_mut(width) {
        input.clear();
        input.extend_from_slice(row);
        filter_row(&input, window, |out, sum, size| {
            row[out] = sum / size as f32
        });
    }
}

/// The box filter along every row of `plane` (`width` samples each), kept only at the 64
/// sampled `columns`: `height` rows of 64 (as [`filter_rows_in_place`] computes them).
#[inline(always)]
fn filter_rows_at(plane: &[f32], width: usize, window: usize, columns: &mut Samples) -> Vec<f32> {
    let mut out = vec![0f32; plane.len() / width * 64];
    let (mut transposed, mut picked) = (vec![[0f32; 8]; width], [[0f32; 8]; 64]);
    let mut bands = plane.chunks_exact(8 * width);
    for (band, out) in (&mut bands).zip(out.chunks_exact_mut(8 * 64)) {
        transpose_in(band, width, &mut transposed);
        columns.restart();
        filter_band(&transposed, window, |at, sums, size| {
            columns.at(at, |k| {
                let divisor = size as f32;
                picked[k] = sums.map(|sum| sum / divisor);
            });
        });
        transpose_out(&picked, 64, out);
    }
    let done = out.len() - bands.remainder().len() / width * 64;
    for (row, out) in bands
        .remainder()
        .chunks_exact(width)
        .zip(out[done..].chunks_exact_mut(64))
    {
        columns.restart();
        filter_row(row, window, |at, sum, size| {
            columns.at(at, |k| out[k] = sum / size as f32);
        });
    }
    out
}

/// The running sums of eight rows laid out a column at a time (`columns[x][r]` is row `r`'s
/// sample `x`), one row per lane: `emit(x, sums, size)` for every output `x`.
#[inline(always)]
fn filter_band(columns: &[[f32; 8]], window: usize, mut emit: impl FnMut(usize, &[f32; 8], usize)) {
    let mut lanes = Lanes {
        columns,
        sums: [0f32; 8],
    };
    running_box(&mut lanes, columns.len(), window, |out, lanes, size| {
        emit(out, &lanes.sums, size)
    });
}

/// The running sum along one row: `emit(x, sum, size)` for every output `x`.
#[inline(always)]
fn filter_row(row: &[f32], window: usize, mut emit: impl FnMut(usize, f32, usize)) {
    let mut sums = Row {
        input: row,
        sum: 0.0,
    };
    running_box(&mut sums, row.len(), window, |out, row, size| {
        emit(out, row.sum, size)
    });
}

/// The walk every box filter here shares (the reference's `box1DFloat`, including its float
/// summation order): over `length` samples, each output is the mean of a window of `window`
/// samples around it, which shrinks at both ends. `sums` takes samples in and out, and
/// `emit(out, sums, size)` writes output `out` from sums of `size` samples.
#[inline(always)]
fn running_box<S: RunningSums>(
    sums: &mut S,
    length: usize,
    window: usize,
    mut emit: impl FnMut(usize, &S, usize),
) {
    let half = (window + 2) / 2;
    let (mut left, mut right, mut out) = (0usize, 0usize, 0usize);
    let mut size = 0usize;
    for _ in 0..half - 1 {
        sums.add(right);
        size += 1;
        right += 1;
    }
    for _ in 0..window - half + 1 {
        sums.add(right);
        size += 1;
        emit(out, sums, size);
        right += 1;
        out += 1;
    }
    for _ in 0..length.saturating_sub(window) {
        sums.slide(right, left);
        emit(out, sums, size);
        left += 1;
        right += 1;
        out += 1;
    }
    for _ in 0..half - 1 {
        sums.subtract(left);
        size -= 1;
        emit(out, sums, size);
        left += 1;
        out += 1;
    }
}

/// Running sums that [`running_box`] moves along: sample `at` in, sample `at` out.
trait RunningSums {
    fn add(&mut self, at: usize);
    fn subtract(&mut self, at: usize);
    /// One step of the window: `adding` in, then `removing` out (the reference's order).
    #[inline(always)]
    fn slide(&mut self, adding: usize, removing: usize) {
        self.add(adding);
        self.subtract(removing);
    }
}

/// The running sums of eight rows, one per lane, over the rows' samples laid out a column at
/// a time (see [`filter_rows_in_place`]).
struct Lanes<'a> {
    columns: &'a [[f32; 8]],
    sums: [f32; 8],
}

impl RunningSums for Lanes<'_> {
    #[inline(always)]
    fn add(&mut self, at: usize) {
        for (sum, v) in self.sums.iter_mut().zip(self.columns[at]) {
            *sum += v;
        }
    }

    #[inline(always)]
    fn subtract(&mut self, at: usize) {
        for (sum, v) in self.sums.iter_mut().zip(self.columns[at]) {
            *sum -= v;
        }
    }
}

/// The running sum of one row.
struct Row<'a> {
    input: &'a [f32],
    sum: f32,
}

impl RunningSums for Row<'_> {
    #[inline(always)]
    fn add(&mut self, at: usize) {
        self.sum += self.input[at];
    }

    #[inline(always)]
    fn subtract(&mut self, at: usize) {
        self.sum -= self.input[at];
    }
}

/// The running sums down every column of a plane `width` samples wide, one per column.
struct Columns<'a> {
    input: &'a [f32],
    width: usize,
    sums: Vec<f32>,
}

impl<'a> Columns<'a> {
    /// Row `y` of the input.
    #[inline(always)]
    fn row(&self, y: usize) -> &'a [f32] {
        &self.input[y * self.width..(y + 1) * self.width]
    }
}

impl RunningSums for Columns<'_> {
    #[inline(always)]
    fn add(&mut self, at: usize) {
        let row = self.row(at);
        self.sums.iter_mut().zip(row).for_each(|(s, v)| *s += v);
    }

    #[inline(always)]
    fn subtract(&mut self, at: usize) {
        let row = self.row(at);
        self.sums.iter_mut().zip(row).for_each(|(s, v)| *s -= v);
    }

    /// Both rows in one walk over the sums (each sum still adds before it subtracts).
    #[inline(always)]
    fn slide(&mut self, adding: usize, removing: usize) {
        let (adding, removing) = (self.row(adding), self.row(removing));
        for ((s, a), r) in self.sums.iter_mut().zip(adding).zip(removing) {
            *s += a;
            *s -= r;
        }
    }
}

/// Eight rows of `width` samples (`band`) a column at a time: `columns[x][r]` is row `r`'s
/// sample `x`.
#[inline(always)]
fn transpose_in(band: &[f32], width: usize, columns: &mut [[f32; 8]]) {
    let blocks = width / 8 * 8;
    let flat = columns.as_flattened_mut();
    for x in (0..blocks).step_by(8) {
        transpose8x8(&band[x..], width, &mut flat[8 * x..], 8);
    }
    for (x, column) in columns.iter_mut().enumerate().skip(blocks) {
        *column = std::array::from_fn(|r| band[r * width + x]);
    }
}

/// The inverse of [`transpose_in`]: `columns[x][r]` to row `r`'s sample `x` of `band`.
#[inline(always)]
fn transpose_out(columns: &[[f32; 8]], width: usize, band: &mut [f32]) {
    let blocks = width / 8 * 8;
    let flat = columns.as_flattened();
    for x in (0..blocks).step_by(8) {
        transpose8x8(&flat[8 * x..], 8, &mut band[x..], width);
    }
    for (x, column) in columns.iter().enumerate().skip(blocks) {
        for (r, &v) in column.iter().enumerate() {
            band[r * width + x] = v;
        }
    }
}

/// Writes the transpose of the 8×8 block whose row `r` is `source[r * source_stride..][..8]`
/// to `target` (row `r` at `target[r * target_stride..]`).
#[inline(always)]
fn transpose8x8(source: &[f32], source_stride: usize, target: &mut [f32], target_stride: usize) {
    assert!(source.len() >= 7 * source_stride + 8 && target.len() >= 7 * target_stride + 8);
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::has_avx2() {
        // SAFETY: the CPU has AVX2, and the eight rows of eight read and written are inside
        // `source` and `target` (asserted above).
        unsafe {
            transpose8x8_avx2(
                source.as_ptr(),
                source_stride,
                target.as_mut_ptr(),
                target_stride,
            )
        };
        return;
    }
    for r in 0..8 {
        for c in 0..8 {
            target[c * target_stride + r] = source[r * source_stride + c];
        }
    }
}

/// [`transpose8x8`] in AVX2 registers: the standard three rounds of shuffles.
///
/// # Safety
/// The CPU must have AVX2; eight rows of eight `f32` must be readable at `source` (rows
/// `source_stride` apart) and writable at `target` (rows `target_stride` apart).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn transpose8x8_avx2(
    source: *const f32,
    source_stride: usize,
    target: *mut f32,
    target_stride: usize,
) {
    use std::arch::x86_64::*;
    // SAFETY: the caller's contract covers every row read and written here.
    unsafe {
        let row = |r: usize| _mm256_loadu_ps(source.add(r * source_stride));
        let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
        let (r4, r5, r6, r7) = (row(4), row(5), row(6), row(7));
        let (t0, t1) = (_mm256_unpacklo_ps(r0, r1), _mm256_unpackhi_ps(r0, r1));
        let (t2, t3) = (_mm256_unpacklo_ps(r2, r3), _mm256_unpackhi_ps(r2, r3));
        let (t4, t5) = (_mm256_unpacklo_ps(r4, r5), _mm256_unpackhi_ps(r4, r5));
        let (t6, t7) = (_mm256_unpacklo_ps(r6, r7), _mm256_unpackhi_ps(r6, r7));
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        let store = |r: usize, v: __m256| _mm256_storeu_ps(target.add(r * target_stride), v);
        store(0, _mm256_permute2f128_ps::<0x20>(u0, u4));
        store(1, _mm256_permute2f128_ps::<0x20>(u1, u5));
        store(2, _mm256_permute2f128_ps::<0x20>(u2, u6));
        store(3, _mm256_permute2f128_ps::<0x20>(u3, u7));
        store(4, _mm256_permute2f128_ps::<0x31>(u0, u4));
        store(5, _mm256_permute2f128_ps::<0x31>(u1, u5));
        store(6, _mm256_permute2f128_ps::<0x31>(u2, u6));
        store(7, _mm256_permute2f128_ps::<0x31>(u3, u7));
    }
}

/// The box filter down every column of `input` (`width` × `height`) at once: the same
/// additions in the same order per column, but walking the plane a row at a time (a
/// column-by-column walk misses the cache on every sample). `emit(out, sums, size)` writes
/// output row `out`.
#[inline(always)]
fn box_columns(
    input: &[f32],
    width: usize,
    height: usize,
    window: usize,
    mut emit: impl FnMut(usize, &[f32], usize),
) {
    let mut columns = Columns {
        input,
        width,
        sums: vec![0f32; width],
    };
    running_box(&mut columns, height, window, |out, columns, size| {
        emit(out, &columns.sums, size)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference's `box1DFloat`, written as it is: over `length` samples `stride` apart.
    fn reference_box_1d(
        input: &[f32],
        output: &mut [f32],
        length: usize,
        stride: usize,
        window: usize,
    ) {
        let half = (window + 2) / 2;
        let (mut li, mut ri, mut oi) = (0, 0, 0);
        let mut sum = 0f32;
        let mut size = 0;
        for _ in 0..half - 1 {
            sum += input[ri];
            size += 1;
            ri += stride;
        }
        for _ in 0..window - half + 1 {
            sum += input[ri];
            size += 1;
            output[oi] = sum / size as f32;
            ri += stride;
            oi += stride;
        }
        for _ in 0..(length as i64 - window as i64).max(0) {
            sum += input[ri];
            sum -= input[li];
            output[oi] = sum / size as f32;
            li += stride;
            ri += stride;
            oi += stride;
        }
        for _ in 0..half - 1 {
            sum -= input[li];
            size -= 1;
            output[oi] = sum / size as f32;
            li += stride;
            oi += stride;
        }
    }

    /// The reference's `jaroszFilterFloat` (two passes) on the whole plane, then its
    /// `decimateFloat` to 64×64.
    fn reference_jarosz_then_decimate(luma: &[f32], width: usize, height: usize) -> Vec<u32> {
        // The reference's `computeJaroszFilterWindowSize`, as written.
        #[allow(clippy::manual_div_ceil)]
        let window_along_rows = (width + 2 * 64 - 1) / (2 * 64);
        #[allow(clippy::manual_div_ceil)]
        let window_along_columns = (height + 2 * 64 - 1) / (2 * 64);
        let mut buffer1 = luma.to_vec();
        let mut buffer2 = vec![0f32; luma.len()];
        for _ in 0..2 {
            for i in 0..height {
                let (input, output) = (&buffer1[i * width..], &mut buffer2[i * width..]);
                reference_box_1d(input, output, width, 1, window_along_rows);
            }
            for j in 0..width {
                let (input, output) = (&buffer2[j..], &mut buffer1[j..]);
                reference_box_1d(input, output, height, width, window_along_columns);
            }
        }
        let mut out = Vec::with_capacity(64 * 64);
        for i in 0..64 {
            let ini = ((i as f64 + 0.5) * height as f64 / 64.0) as usize;
            for j in 0..64 {
                let inj = ((j as f64 + 0.5) * width as f64 / 64.0) as usize;
                out.push(buffer1[ini * width + inj].to_bits());
            }
        }
        out
    }

    #[test]
    fn the_sampled_filter_gives_the_references_bits() {
        use crate::cpu::{portable_only, test_samples};
        // Sides below 64 (repeated sample positions), windows of 1 to 10, heights with and
        // without a partial band of eight rows, wide and tall planes.
        for (width, height) in [
            (5, 5),
            (7, 300),
            (63, 65),
            (64, 64),
            (301, 203),
            (1153, 9),
            (130, 1281),
        ] {
            let luma = test_samples(width * height, (width * 7 + height) as u64);
            let expected = reference_jarosz_then_decimate(&luma, width, height);
            let bits = |small: [[f32; 64]; 64]| {
                small
                    .iter()
                    .flatten()
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>()
            };
            let dispatched = jarosz_sampled(&mut luma.clone(), width, height);
            assert_eq!(bits(dispatched), expected, "{width}×{height}");
            let portable = portable_only(|| jarosz_sampled(&mut luma.clone(), width, height));
            assert_eq!(bits(portable), expected, "{width}×{height}, portable");
        }
    }
}
