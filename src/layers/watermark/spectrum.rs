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
        rows.process(data);
        let mut transposed = vec![Complex::default(); data.len()];
        transpose(data, &mut transposed, self.width, self.height);
        columns.process(&mut transposed);
        transpose(&transposed, data, self.height, self.width);
    }
}

fn transpose(from: &[Complex<f32>], to: &mut [Complex<f32>], width: usize, height: usize) {
    for y in 0..height {
        for x in 0..width {
            to[x * height + y] = from[y * width + x];
        }
    }
}

/// The autocorrelation of `plane` (`size × size`) after whitening its spectrum to magnitude
/// |F| (instead of |F|²): periodic structure such as the tile lattice turns into sharp peaks while
/// the image's own smooth correlation is flattened. Returned with lag (0,0) at index 0 and
/// normalised so that lag 0 is 1.
pub fn whitened_autocorrelation(plane: &[f32], size: usize) -> Vec<f32> {
    let fft = Fft2::new(size, size);
    let mean = plane.iter().sum::<f32>() / plane.len() as f32;
    let mut data: Vec<Complex<f32>> = plane.iter().map(|&v| Complex::new(v - mean, 0.0)).collect();
    fft.process(&mut data, false);
    for c in &mut data {
        *c = Complex::new(c.norm(), 0.0);
    }
    fft.process(&mut data, true);
    let zero = data[0].re.max(1e-12);
    data.iter().map(|c| c.re / zero).collect()
}

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
        let acf = whitened_autocorrelation(&plane, size);
        assert!(acf[period] > 0.9, "{}", acf[period]);
        assert!(acf[period * size] > 0.9);
        assert!(acf[period / 2 + 3] < 0.5);
    }
}
