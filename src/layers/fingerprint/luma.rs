//! PDQ's luma plane as the reference computes it (in double precision, then to float) and its
//! Jarosz smoothing (two passes of box filters along rows, then columns), with the reference's
//! float operations in the reference's order, so the same bits, only faster.

/// Luma as the reference's Python binding computes it: in double precision, then to float.
#[inline(always)]
fn luma_of_pixel(p: &[u8]) -> f32 {
    (f64::from(p[0]) * 0.299 + f64::from(p[1]) * 0.587 + f64::from(p[2]) * 0.114) as f32
}

/// [`luma_of_pixel`] of every pixel (`channels` samples each), in loops the compiler vectorises
/// for RGB and RGBA.
pub(super) fn luma(pixels: &[u8], channels: usize) -> Vec<f32> {
    let mut out = vec![0.0; pixels.len() / channels];
    match channels {
        3 => luma_rgb(pixels, &mut out),
        4 => luma_rgba(pixels, &mut out),
        _ => {
            for (l, p) in out.iter_mut().zip(pixels.chunks_exact(channels)) {
                *l = luma_of_pixel(p);
            }
        }
    }
    out
}

/// The loop of [`luma`] for `C` channels.
#[inline(always)]
fn luma_loop<const C: usize>(pixels: &[u8], out: &mut [f32]) {
    for (l, p) in out.iter_mut().zip(pixels.chunks_exact(C)) {
        *l = luma_of_pixel(p);
    }
}

crate::cpu::dispatch_avx2! {
    /// [`luma_loop`] for RGB.
    fn luma_rgb(pixels: &[u8], out: &mut [f32]) {
        luma_loop::<3>(pixels, out)
    }
}

crate::cpu::dispatch_avx2! {
    /// [`luma_loop`] for RGBA.
    fn luma_rgba(pixels: &[u8], out: &mut [f32]) {
        luma_loop::<4>(pixels, out)
    }
}

/// [`box_1d`] along every row of `input` (`width` samples each) into `output`. Eight rows at a
/// time, side by side: each row's running sum is one long chain of dependent additions, and
/// eight independent chains keep the adder busy where one leaves it waiting. Each row gets
/// exactly [`box_1d`]'s additions in its order, so the same bits.
#[inline(always)]
fn box_rows(input: &[f32], output: &mut [f32], width: usize, window: usize) {
    const ROWS: usize = 8;
    let band = ROWS * width;
    let mut inputs = input.chunks_exact(band);
    let mut outputs = output.chunks_exact_mut(band);
    for (input, output) in (&mut inputs).zip(&mut outputs) {
        box_band::<ROWS>(input, output, width, window);
    }
    for (row_in, row_out) in inputs
        .remainder()
        .chunks_exact(width)
        .zip(outputs.into_remainder().chunks_exact_mut(width))
    {
        box_1d(row_in, row_out, window);
    }
}

/// [`box_1d`] on `R` rows at once (see [`box_rows`]).
#[inline(always)]
fn box_band<const R: usize>(input: &[f32], output: &mut [f32], width: usize, window: usize) {
    let half = (window + 2) / 2;
    let (mut left, mut right, mut out) = (0usize, 0usize, 0usize);
    let mut sums = [0f32; R];
    let mut size = 0usize;
    let add = |sums: &mut [f32; R], at: usize| {
        for (r, sum) in sums.iter_mut().enumerate() {
            *sum += input[r * width + at];
        }
    };
    let subtract = |sums: &mut [f32; R], at: usize| {
        for (r, sum) in sums.iter_mut().enumerate() {
            *sum -= input[r * width + at];
        }
    };
    let mut emit = |sums: &[f32; R], at: usize, size: usize| {
        for (r, sum) in sums.iter().enumerate() {
            output[r * width + at] = sum / size as f32;
        }
    };
    for _ in 0..half - 1 {
        add(&mut sums, right);
        size += 1;
        right += 1;
    }
    for _ in 0..window - half + 1 {
        add(&mut sums, right);
        size += 1;
        emit(&sums, out, size);
        right += 1;
        out += 1;
    }
    for _ in 0..width.saturating_sub(window) {
        add(&mut sums, right);
        subtract(&mut sums, left);
        emit(&sums, out, size);
        left += 1;
        right += 1;
        out += 1;
    }
    for _ in 0..half - 1 {
        subtract(&mut sums, left);
        size -= 1;
        emit(&sums, out, size);
        left += 1;
        out += 1;
    }
}

crate::cpu::dispatch_avx2! {
    /// Two passes of box filters along rows then columns, each window sized so the 64 samples
    /// cover the image (the reference's `jaroszFilterFloat` with two passes). Its loops are
    /// inlined here, so that with AVX2 they take eight samples at a time (the same operations
    /// on each, so the same bits).
    pub(super) fn jarosz_filter(luma: &mut [f32], width: usize, height: usize) {
        let window_along_rows = width.div_ceil(2 * 64);
        let window_along_columns = height.div_ceil(2 * 64);
        let mut scratch = vec![0f32; luma.len()];
        for _ in 0..2 {
            box_rows(luma, &mut scratch, width, window_along_rows);
            box_columns(&scratch, luma, width, height, window_along_columns);
        }
    }
}

/// [`box_1d`] down every column at once: the same additions in the same order per column, but
/// walking the image a row at a time (a column-by-column walk misses the cache on every pixel).
#[inline(always)]
fn box_columns(input: &[f32], output: &mut [f32], width: usize, height: usize, window: usize) {
    let half = (window + 2) / 2;
    let row = |y: usize| &input[y * width..(y + 1) * width];
    let mut sums = vec![0f32; width];
    let (mut left, mut right, mut out) = (0usize, 0usize, 0usize);
    let mut size = 0usize;
    let mut emit = |out: usize, sums: &[f32], size: usize| {
        let divisor = size as f32;
        for (target, sum) in output[out * width..(out + 1) * width].iter_mut().zip(sums) {
            *target = sum / divisor;
        }
    };
    for _ in 0..half - 1 {
        sums.iter_mut().zip(row(right)).for_each(|(s, v)| *s += v);
        size += 1;
        right += 1;
    }
    for _ in 0..window - half + 1 {
        sums.iter_mut().zip(row(right)).for_each(|(s, v)| *s += v);
        size += 1;
        emit(out, &sums, size);
        right += 1;
        out += 1;
    }
    for _ in 0..height.saturating_sub(window) {
        let (adding, removing) = (row(right), row(left));
        for ((s, a), r) in sums.iter_mut().zip(adding).zip(removing) {
            *s += a;
            *s -= r;
        }
        emit(out, &sums, size);
        left += 1;
        right += 1;
        out += 1;
    }
    for _ in 0..half - 1 {
        sums.iter_mut().zip(row(left)).for_each(|(s, v)| *s -= v);
        size -= 1;
        emit(out, &sums, size);
        left += 1;
        out += 1;
    }
}

/// A running-sum box filter whose window shrinks at both ends (the reference's `box1DFloat`,
/// including its float summation order).
#[inline(always)]
fn box_1d(input: &[f32], output: &mut [f32], window: usize) {
    let length = input.len();
    let half = (window + 2) / 2;
    let (mut left, mut right, mut out) = (0usize, 0usize, 0usize);
    let mut sum = 0f32;
    let mut size = 0usize;
    for _ in 0..half - 1 {
        sum += input[right];
        size += 1;
        right += 1;
    }
    for _ in 0..window - half + 1 {
        sum += input[right];
        size += 1;
        output[out] = sum / size as f32;
        right += 1;
        out += 1;
    }
    for _ in 0..length.saturating_sub(window) {
        sum += input[right];
        sum -= input[left];
        output[out] = sum / size as f32;
        left += 1;
        right += 1;
        out += 1;
    }
    for _ in 0..half - 1 {
        sum -= input[left];
        size -= 1;
        output[out] = sum / size as f32;
        left += 1;
        out += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_side_by_side_are_filtered_as_one_at_a_time() {
        use crate::cpu::test_samples;
        // Widths below, at and above the window, heights with and without a partial band of
        // rows, windows of 1 (tiny images) to the reference's size for a wide image.
        for (width, height, window) in [
            (5, 3, 1),
            (9, 8, 2),
            (64, 17, 1),
            (300, 23, 3),
            (1153, 9, 10),
        ] {
            let input = test_samples(width * height, (width + height) as u64);
            let mut expected = vec![0f32; input.len()];
            for (row_in, row_out) in input
                .chunks_exact(width)
                .zip(expected.chunks_exact_mut(width))
            {
                box_1d(row_in, row_out, window);
            }
            let mut output = vec![0f32; input.len()];
            box_rows(&input, &mut output, width, window);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&output),
                bits(&expected),
                "{width}×{height}, window {window}"
            );
        }
    }

    #[test]
    fn the_avx2_and_baseline_filters_agree_bit_for_bit() {
        use crate::cpu::{portable_only, test_samples};
        let (width, height) = (301, 203);
        let luma = test_samples(width * height, 11);
        let (mut portable, mut dispatched) = (luma.clone(), luma);
        portable_only(|| jarosz_filter(&mut portable, width, height));
        jarosz_filter(&mut dispatched, width, height);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&portable), bits(&dispatched));
    }

    #[test]
    fn luma_is_computed_the_same_for_every_channel_count() {
        let rgba: Vec<u8> = (0..4 * 999).map(|i| (i * 37 % 256) as u8).collect();
        let rgb: Vec<u8> = rgba
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        let expected: Vec<f32> = rgb.chunks_exact(3).map(luma_of_pixel).collect();
        assert_eq!(luma(&rgb, 3), expected);
        assert_eq!(luma(&rgba, 4), expected);
        assert_eq!(crate::cpu::portable_only(|| luma(&rgba, 4)), expected);
        // Any other layout: the first three samples of each pixel.
        let five: Vec<u8> = rgb
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 9, 9])
            .collect();
        assert_eq!(luma(&five, 5), expected);
        // The binding's formula, in double precision.
        let p = [200u8, 100, 50];
        assert_eq!(
            luma_of_pixel(&p),
            (200.0f64 * 0.299 + 100.0 * 0.587 + 50.0 * 0.114) as f32
        );
    }
}
