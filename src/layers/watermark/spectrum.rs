//! Two-dimensional FFTs (through `rustfft`) and what the detector builds from them: the
//! spectrally whitened autocorrelation that reveals the tile lattice, and circular
//! cross-correlation with the pilot.

use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

use crate::cpu::dispatch_avx2;

/// A reusable 2-D FFT of one size.
pub struct Fft2 {
    width: usize,
    height: usize,
    rows: std::sync::Arc<dyn rustfft::Fft<f32>>,
    columns: std::sync::Arc<dyn rustfft::Fft<f32>>,
    rows_inverse: std::sync::Arc<dyn rustfft::Fft<f32>>,
    columns_inverse: std::sync::Arc<dyn rustfft::Fft<f32>>,
}

impl Fft2 {
    pub fn new(width: usize, height: usize) -> Self {
        let mut planner = FftPlanner::new();
        Fft2 {
            width,
            height,
            rows: planner.plan_fft_forward(width),
            columns: planner.plan_fft_forward(height),
            rows_inverse: planner.plan_fft_inverse(width),
            columns_inverse: planner.plan_fft_inverse(height),
        }
    }

    /// In-place transform of a row-major `height × width` array (unnormalised both ways).
    pub fn process(&self, data: &mut [Complex<f32>], inverse: bool) {
        let (rows, columns) = if inverse {
            (&self.rows_inverse, &self.columns_inverse)
        } else {
            (&self.rows, &self.columns)
        };
        let scratch_len = rows
            .get_inplace_scratch_len()
            .max(columns.get_inplace_scratch_len());
        let mut scratch = vec![Complex::default(); scratch_len];
        rows.process_with_scratch(data, &mut scratch);
        let mut transposed = vec![Complex::default(); data.len()];
        transpose(data, &mut transposed, self.width, self.height);
        columns.process_with_scratch(&mut transposed, &mut scratch);
        transpose(&transposed, data, self.height, self.width);
    }
}

/// `to` = `from` (`height` rows of `width`) transposed, by the `transpose` crate's cache-friendly
/// tiling: a 512 × 512 complex array is 2 MiB, and a naive or fixed-block walk misses on every
/// write.
fn transpose<T: Copy>(from: &[T], to: &mut [T], width: usize, height: usize) {
    transpose::transpose(from, to, width, height);
}

/// Radius (bins) of the neighbourhood a power-spectrum bin is compared with.
const WHITENING_RADIUS: usize = 4;
/// A bin may stand at most this many times above its neighbourhood (the image's own periodic
/// structure, such as a screen-door pattern or a grid of text, must not drown the tile's).
const WHITENING_CLIP: f32 = 8.0;

/// A 2-D FFT of real `size × size` arrays. A real array's spectrum is conjugate-symmetric
/// (`X(−k) = X(k)*`), so only its columns `0 ..= size/2` are computed: the rows by real-input
/// FFTs (`realfft`), then those columns; half the work of a complex transform.
///
/// Those columns are the *half layout* every spectrum here is kept in: row `kx` of
/// `size/2 + 1` rows holds the `size` values of column `kx`, indexed by `ky`.
struct RealFft2 {
    size: usize,
    rows: std::sync::Arc<dyn realfft::RealToComplex<f32>>,
    columns: std::sync::Arc<dyn rustfft::Fft<f32>>,
    /// Complex-to-real, for transforms whose result is known to be real.
    real_rows: std::sync::Arc<dyn realfft::ComplexToReal<f32>>,
}

impl RealFft2 {
    fn new(size: usize) -> Self {
        let mut planner = realfft::RealFftPlanner::new();
        RealFft2 {
            size,
            rows: planner.plan_fft_forward(size),
            columns: FftPlanner::new().plan_fft_forward(size),
            real_rows: planner.plan_fft_inverse(size),
        }
    }

    fn half(&self) -> usize {
        self.size / 2 + 1
    }

    /// Scratch for the row plan and for another plan that needs `other` values.
    fn scratch(&self, other: usize) -> Vec<Complex<f32>> {
        vec![Complex::default(); self.rows.get_scratch_len().max(other)]
    }

    /// The real-input FFT of every `size`-sample row of `values`: `size/2 + 1` values per row.
    /// `scratch` must hold the plan's scratch length.
    fn row_spectra(&self, values: &[f32], scratch: &mut [Complex<f32>]) -> Vec<Complex<f32>> {
        let (size, half) = (self.size, self.half());
        // The real-input FFT uses its input as scratch.
        let mut input = values.to_vec();
        let mut rows = vec![Complex::default(); values.len() / size * half];
        for (row, out) in input
            .chunks_exact_mut(size)
            .zip(rows.chunks_exact_mut(half))
        {
            self.rows
                .process_with_scratch(row, out, scratch)
                .expect("buffers sized for the plan");
        }
        rows
    }

    /// The spectrum of `values` (row-major) in the half layout.
    fn half_spectrum(&self, values: &[f32]) -> Vec<Complex<f32>> {
        let (size, half) = (self.size, self.half());
        let mut scratch = self.scratch(self.columns.get_inplace_scratch_len());
        let rows = self.row_spectra(values, &mut scratch);
        let mut columns = vec![Complex::default(); size * half];
        transpose(&rows, &mut columns, half, size);
        self.columns
            .process_with_scratch(&mut columns, &mut scratch);
        columns
    }

    /// The transform of a real array that is even, `v(−k) = v(k)` (a power spectrum), given in
    /// the half layout; its transform is real and even too, and is returned as a full
    /// `size × size` row-major array. Evenness halves the work again: each half-layout row is
    /// transformed by a real-input FFT, and the other axis, conjugate-symmetric as a result,
    /// by a complex-to-real one.
    fn even_transform(&self, half_columns: &[f32]) -> Vec<f32> {
        let (size, half) = (self.size, self.half());
        let mut scratch = self.scratch(self.real_rows.get_scratch_len());
        // Along ky, for every kx = 0 ..= size/2: G(kx, y) for y = 0 ..= size/2.
        let partial = self.row_spectra(half_columns, &mut scratch);
        // Along kx, for every y: the sequence over all kx is conjugate-symmetric, since
        // G(−kx, y) = conj(G(kx, y)) for an even real array, so its transform is real. The
        // complex-to-real FFT computes Σ X(k)·e^(+2πi·kx·x/n); conjugating the input gives the
        // forward sign. G(0, y) and G(size/2, y) are real (their columns are even in ky): their
        // rounding residue is dropped, as the complex-to-real FFT requires.
        let mut by_y = vec![Complex::default(); half * half];
        transpose(&partial, &mut by_y, half, half);
        let mut full = vec![0.0f32; size * size];
        for (row, out) in by_y.chunks_exact_mut(half).zip(full.chunks_exact_mut(size)) {
            for value in row.iter_mut() {
                *value = value.conj();
            }
            row[0].im = 0.0;
            if size % 2 == 0 {
                row[half - 1].im = 0.0;
            }
            self.real_rows
                .process_with_scratch(row, out, &mut scratch)
                .expect("buffers sized for the plan");
        }
        // The rows y > size/2 by evenness: A(x, y) = A(−x, −y).
        for y in half..size {
            let (done, rest) = full.split_at_mut(y * size);
            let source = &done[(size - y) * size..][..size];
            let out = &mut rest[..size];
            out[0] = source[0];
            for (x, slot) in out.iter_mut().enumerate().skip(1) {
                *slot = source[size - x];
            }
        }
        full
    }
}

/// The autocorrelation of `windows` (each `size × size`, row-major) after whitening their
/// power spectrum locally: every bin is divided by the mean power of its neighbourhood and
/// clipped. The image's smooth 1/f spectrum becomes flat, so only the bins where a periodic
/// pattern such as the tile lattice stands out of its neighbourhood shape the result, which
/// turns the lattice into sharp peaks. Several windows of one image (a wide image has more than
/// one) are averaged as power spectra (Welch's method): the lattice is at the same bins in all
/// of them and the image's own content is not, so its noise averages down.
/// Returned with lag (0,0) at index 0 and normalised so that lag 0 is 1.
pub fn whitened_autocorrelation(windows: &[&[f32]], size: usize) -> Vec<f32> {
    let fft = RealFft2::new(size);
    // Power and whitening stay in the half layout: the power spectrum is even.
    let mut power = vec![0.0f32; size * fft.half()];
    for plane in windows {
        let mean = plane.iter().sum::<f32>() / plane.len() as f32;
        let centred: Vec<f32> = plane.iter().map(|&v| v - mean).collect();
        for (p, c) in power.iter_mut().zip(fft.half_spectrum(&centred)) {
            *p += c.norm_sqr();
        }
    }
    let local = even_box_mean(&power, size, WHITENING_RADIUS);
    let whitened: Vec<f32> = power
        .iter()
        .zip(&local)
        .map(|(&p, &l)| {
            let ratio = if l > 0.0 { p / l } else { 0.0 };
            ratio.min(WHITENING_CLIP)
        })
        .collect();
    // The autocorrelation is the inverse transform of the whitened power; for a real even
    // array the inverse and forward transforms are the same.
    let acf = fft.even_transform(&whitened);
    let zero = acf[0].max(1e-12);
    acf.iter().map(|v| v / zero).collect()
}

/// The mean over a `(2r+1)²` neighbourhood of a `size × size` array that wraps around and is
/// even, `v(−k) = v(k)` (a power spectrum), given and returned in the half layout (see
/// [`RealFft2`]): along each row (ky), then across rows (kx), where the rows beyond either end
/// of the half are rows inside it read backwards (`v(kx, ky) = v(−kx, −ky)`).
fn even_box_mean(half_columns: &[f32], size: usize, radius: usize) -> Vec<f32> {
    let half = size / 2 + 1;
    let mut along = vec![0.0f32; half_columns.len()];
    let mut line = vec![0.0f32; size + 2 * radius];
    for (input, output) in half_columns
        .chunks_exact(size)
        .zip(along.chunks_exact_mut(size))
    {
        circular_line_mean(input, output, radius, &mut line);
    }
    // Column kx (any integer) as a row of the half layout, reversed in ky when it lies outside.
    let column = |kx: isize, reversed: &mut Vec<f32>| -> bool {
        let k = kx.rem_euclid(size as isize) as usize;
        if k < half {
            return false;
        }
        let source = &along[(size - k) * size..][..size];
        reversed.clear();
        reversed.push(source[0]);
        reversed.extend(source[1..].iter().rev());
        true
    };
    let mut out = vec![0.0f32; half_columns.len()];
    let mut reversed = Vec::with_capacity(size);
    let scale = 1.0 / (2 * radius + 1) as f32;
    for (kx, output) in out.chunks_exact_mut(size).enumerate() {
        for d in -(radius as isize)..=radius as isize {
            let kx = kx as isize + d;
            let row = if column(kx, &mut reversed) {
                &reversed[..]
            } else {
                &along[kx.rem_euclid(size as isize) as usize * size..][..size]
            };
            add_into(output, row);
        }
        scale_in_place(output, scale);
    }
    out
}

dispatch_avx2! {
    /// `output[i] += input[i]`.
    fn add_into(output: &mut [f32], input: &[f32]) {
        for (o, &v) in output.iter_mut().zip(input) {
            *o += v;
        }
    }
}

dispatch_avx2! {
    /// `values[i] *= scale`.
    fn scale_in_place(values: &mut [f32], scale: f32) {
        for v in values.iter_mut() {
            *v *= scale;
        }
    }
}

dispatch_avx2! {
    /// The mean over `2r + 1` neighbours of every sample of a line that wraps around. `line` is
    /// scratch: the input with `r` wrapped samples on either side, so each mean is a sum of
    /// `2r + 1` shifted copies of it, added as whole slices (vectorised). Each mean is its own
    /// short sum: a spectrum spans many orders of magnitude, and a running sum that has passed
    /// the huge bins near DC would swamp the small ones after it.
    fn circular_line_mean(input: &[f32], output: &mut [f32], radius: usize, line: &mut [f32]) {
        let size = input.len();
        let r = radius.min(size);
        line[..r].copy_from_slice(&input[size - r..]);
        line[r..r + size].copy_from_slice(input);
        line[r + size..r + size + r].copy_from_slice(&input[..r]);
        output.copy_from_slice(&line[..size]);
        for k in 1..=2 * r {
            for (o, &v) in output.iter_mut().zip(&line[k..k + size]) {
                *o += v;
            }
        }
        let scale = 1.0 / (2 * r + 1) as f32;
        for o in output.iter_mut() {
            *o *= scale;
        }
    }
}

#[cfg(test)]
/// Circular cross-correlation of a `size × size` array with a pattern whose conjugate spectrum
/// is `pattern_conj`: `out[s] = Σ a[p + s] · pattern[p]`.
pub fn correlate(fft: &Fft2, a: &[f32], pattern_conj: &[Complex<f32>]) -> Vec<f32> {
    let mut data: Vec<Complex<f32>> = a.iter().map(|&v| Complex::new(v, 0.0)).collect();
    fft.process(&mut data, false);
    for (d, p) in data.iter_mut().zip(pattern_conj) {
        *d *= p;
    }
    fft.process(&mut data, true);
    data.iter().map(|c| c.re).collect()
}

/// The conjugate spectrum of a real `size × size` pattern, for [`correlate`].
pub fn conjugate_spectrum(fft: &Fft2, pattern: &[f32]) -> Vec<Complex<f32>> {
    let mut data: Vec<Complex<f32>> = pattern.iter().map(|&v| Complex::new(v, 0.0)).collect();
    fft.process(&mut data, false);
    data.iter().map(|c| c.conj()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_finds_a_circular_shift() {
        let size = 16;
        let pattern: Vec<f32> = (0..size * size)
            .map(|i| ((i * 7919) % 13) as f32 - 6.0)
            .collect();
        let mut shifted = vec![0.0; size * size];
        for y in 0..size {
            for x in 0..size {
                shifted[((y + 3) % size) * size + (x + 5) % size] = pattern[y * size + x];
            }
        }
        let fft = Fft2::new(size, size);
        let corr = correlate(&fft, &shifted, &conjugate_spectrum(&fft, &pattern));
        let best = (0..corr.len())
            .max_by(|&a, &b| corr[a].total_cmp(&corr[b]))
            .unwrap();
        assert_eq!((best / size, best % size), (3, 5));
    }

    /// Random values in −8 .. 8.
    fn random_values(count: usize, seed: u64) -> Vec<f32> {
        let mut random = crate::test_random::XorShift64::new(seed);
        (0..count).map(|_| 16.0 * random.unit() - 8.0).collect()
    }

    /// The complex 2-D transform of a real row-major array.
    fn complex_transform(values: &[f32], size: usize) -> Vec<Complex<f32>> {
        let mut complex: Vec<Complex<f32>> = values.iter().map(|&v| Complex::new(v, 0.0)).collect();
        Fft2::new(size, size).process(&mut complex, false);
        complex
    }

    #[test]
    fn the_half_spectrum_is_the_complex_transforms_left_columns() {
        for size in [32usize, 15] {
            let values = random_values(size * size, 0x9e37_79b9_7f4a_7c15);
            let complex = complex_transform(&values, size);
            let real = RealFft2::new(size);
            let half = real.half_spectrum(&values);
            assert_eq!(half.len(), real.half() * size);
            for kx in 0..real.half() {
                for ky in 0..size {
                    let (got, want) = (half[kx * size + ky], complex[ky * size + kx]);
                    assert!(
                        (got - want).norm() <= 1e-3 * want.norm().max(1.0),
                        "size {size}, bin ({kx}, {ky}): {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_whitened_autocorrelation_matches_the_definition() {
        // The definition, with nothing of the half layout: the full complex power spectrum,
        // a box mean by modular indexing, and the complex transform back.
        for size in [32usize, 15] {
            let windows = [
                random_values(size * size, 0x2545_f491_4f6c_dd1d),
                random_values(size * size, 0x9e37_79b9_7f4a_7c15),
            ];
            let mut power = vec![0.0f32; size * size];
            for window in &windows {
                let mean = window.iter().sum::<f32>() / window.len() as f32;
                let centred: Vec<f32> = window.iter().map(|v| v - mean).collect();
                for (p, c) in power.iter_mut().zip(complex_transform(&centred, size)) {
                    *p += c.norm_sqr();
                }
            }
            let r = WHITENING_RADIUS as isize;
            let n = size as isize;
            let whitened: Vec<f32> = (0..size * size)
                .map(|i| {
                    let (y, x) = ((i / size) as isize, (i % size) as isize);
                    let mut sum = 0.0f32;
                    for dy in -r..=r {
                        for dx in -r..=r {
                            sum += power
                                [((y + dy).rem_euclid(n) * n + (x + dx).rem_euclid(n)) as usize];
                        }
                    }
                    let local = sum / ((2 * r + 1) * (2 * r + 1)) as f32;
                    (power[i] / local).min(WHITENING_CLIP)
                })
                .collect();
            let reference = complex_transform(&whitened, size);
            let expected: Vec<f32> = reference.iter().map(|c| c.re / reference[0].re).collect();
            let slices: Vec<&[f32]> = windows.iter().map(Vec::as_slice).collect();
            let acf = whitened_autocorrelation(&slices, size);
            for (i, (got, want)) in acf.iter().zip(&expected).enumerate() {
                assert!(
                    (got - want).abs() <= 1e-4,
                    "size {size}, lag ({}, {}): {got} vs {want}",
                    i % size,
                    i / size
                );
            }
        }
    }

    #[test]
    fn the_avx2_and_baseline_whitening_agree_bit_for_bit() {
        use crate::cpu::{portable_only, test_samples};
        // A steep spectrum: huge values beside small ones, as near DC.
        let size = 64;
        let values: Vec<f32> = test_samples(size * (size / 2 + 1), 11)
            .iter()
            .enumerate()
            .map(|(i, v)| v * v * (1.0 + 1e6 / (1.0 + (i % size) as f32)))
            .collect();
        for radius in [1, 4] {
            assert_eq!(
                portable_only(|| even_box_mean(&values, size, radius)),
                even_box_mean(&values, size, radius)
            );
        }
    }

    #[test]
    fn autocorrelation_peaks_at_the_period() {
        let size = 64;
        let period = 16;
        let cell: Vec<f32> = (0..period * period)
            .map(|i| ((i * 31 + 7) % 11) as f32)
            .collect();
        let plane: Vec<f32> = (0..size * size)
            .map(|i| cell[((i / size) % period) * period + (i % size) % period])
            .collect();
        let acf = whitened_autocorrelation(&[&plane], size);
        assert!(acf[period] > 0.9, "{}", acf[period]);
        assert!(acf[period * size] > 0.9);
        assert!(acf[period / 2 + 3] < 0.5);
    }

    #[test]
    fn a_weak_period_stands_out_of_strong_smooth_noise() {
        // Brown-ish noise (the running sum of white noise along both axes: a steep 1/f
        // spectrum like a photograph's) plus a periodic pattern 1/20 of its RMS.
        let (size, period) = (128usize, 16usize);
        let mut random = crate::test_random::XorShift64::new(0x2545_f491_4f6c_dd1d);
        let mut white = || random.unit() - 0.5;
        let mut noise = vec![0.0f32; size * size];
        for y in 0..size {
            for x in 0..size {
                let left = if x > 0 { noise[y * size + x - 1] } else { 0.0 };
                let up = if y > 0 {
                    noise[(y - 1) * size + x]
                } else {
                    0.0
                };
                noise[y * size + x] = 0.5 * (left + up) + white();
            }
        }
        let rms = (noise.iter().map(|v| v * v).sum::<f32>() / noise.len() as f32).sqrt();
        let cell: Vec<f32> = (0..period * period).map(|_| white().signum()).collect();
        let plane: Vec<f32> = (0..size * size)
            .map(|i| {
                noise[i] + rms / 20.0 * cell[((i / size) % period) * period + (i % size) % period]
            })
            .collect();
        let acf = whitened_autocorrelation(&[&plane], size);
        // The strongest lag in the annulus 8..40 (one half-plane) is the period, on an axis.
        let mut best = (0.0f32, 0usize, 0usize);
        for dy in 0..40usize {
            for dx in 0..40usize {
                let r = ((dx * dx + dy * dy) as f32).sqrt();
                if (8.0..40.0).contains(&r) && acf[dy * size + dx] > best.0 {
                    best = (acf[dy * size + dx], dx, dy);
                }
            }
        }
        assert!(
            matches!((best.1, best.2), (16, 0) | (0, 16)),
            "strongest lag {:?}",
            best
        );
    }
}
