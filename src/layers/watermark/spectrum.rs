//! Two-dimensional FFTs (through `rustfft`) and what the detector builds from them: the
//! spectrally whitened autocorrelation that reveals the tile lattice, and circular
//! cross-correlation with the pilot.

use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

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

/// The autocorrelation of `windows` (each `size × size`, row-major) after whitening their
/// power spectrum locally: every bin is divided by the mean power of its neighbourhood and
/// clipped. The image's smooth 1/f spectrum becomes flat, so only the bins where a periodic
/// pattern such as the tile lattice stands out of its neighbourhood shape the result, which
/// turns the lattice into sharp peaks. Several windows of one image (a wide image has more than
/// one) are averaged as power spectra (Welch's method): the lattice is at the same bins in all
/// of them and the image's own content is not, so its noise averages down.
/// Returned with lag (0,0) at index 0 and normalised so that lag 0 is 1.
pub fn whitened_autocorrelation(windows: &[&[f32]], size: usize) -> Vec<f32> {
    let fft = Fft2::new(size, size);
    let mut power = vec![0.0f32; size * size];
    for plane in windows {
        let mean = plane.iter().sum::<f32>() / plane.len() as f32;
        let mut data: Vec<Complex<f32>> =
            plane.iter().map(|&v| Complex::new(v - mean, 0.0)).collect();
        fft.process(&mut data, false);
        for (p, c) in power.iter_mut().zip(&data) {
            *p += c.norm_sqr();
        }
    }
    let local = circular_box_mean(&power, size, WHITENING_RADIUS);
    let mut data: Vec<Complex<f32>> = power
        .iter()
        .zip(&local)
        .map(|(&p, &l)| {
            let ratio = if l > 0.0 { p / l } else { 0.0 };
            Complex::new(ratio.min(WHITENING_CLIP), 0.0)
        })
        .collect();
    fft.process(&mut data, true);
    let zero = data[0].re.max(1e-12);
    data.iter().map(|c| c.re / zero).collect()
}

/// The mean over a `(2r+1)²` neighbourhood of a `size × size` array that wraps around (a
/// spectrum), by running sums along rows, then columns.
fn circular_box_mean(values: &[f32], size: usize, radius: usize) -> Vec<f32> {
    // Rows, then columns as the rows of the transposed array.
    let mut rows = vec![0.0f32; values.len()];
    let mut line = vec![0.0f64; size + 2 * radius];
    for (input, output) in values.chunks_exact(size).zip(rows.chunks_exact_mut(size)) {
        circular_line_mean(input, output, radius, &mut line);
    }
    let mut columns = vec![0.0f32; values.len()];
    transpose(&rows, &mut columns, size, size);
    for (input, output) in columns.chunks_exact(size).zip(rows.chunks_exact_mut(size)) {
        circular_line_mean(input, output, radius, &mut line);
    }
    transpose(&rows, &mut columns, size, size);
    columns
}

/// The mean over `2r + 1` neighbours of every sample of a line that wraps around, by a running
/// sum in f64 (a spectrum spans many orders of magnitude, and an f32 running sum that has passed
/// the huge bins near DC would swamp the small ones after it). `line` is scratch: the input with
/// `r` wrapped samples on either side, so the running sum needs no index arithmetic.
fn circular_line_mean(input: &[f32], output: &mut [f32], radius: usize, line: &mut [f64]) {
    let size = input.len();
    let window = (2 * radius + 1) as f64;
    for (i, slot) in line.iter_mut().enumerate() {
        *slot = f64::from(input[(i + size - radius % size) % size]);
    }
    let mut sum: f64 = line[..2 * radius + 1].iter().sum();
    for (i, out) in output.iter_mut().enumerate() {
        *out = (sum / window) as f32;
        if i + 1 < size {
            sum += line[i + 2 * radius + 1] - line[i];
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
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut white = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
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
