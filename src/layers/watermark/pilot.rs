//! The pilot search: where, and in which of the square's 8 orientations (mirror, 90° turns,
//! transposes), a folded tile correlates best with the pilot.
//!
//! Orienting the fold and correlating it with the pilot gives the same correlation values as
//! correlating the fold as it is with the pilot oriented the inverse way, at re-indexed offsets.
//! So the fold is transformed once, multiplied by the 8 oriented pilots' spectra (computed once
//! per image), and the 8 real correlations come back two per inverse FFT (the real and the
//! imaginary part): 5 transforms per fold instead of 16, and only the winning orientation is
//! ever copied out.

use rustfft::num_complex::Complex;

use super::pattern::TILE;
use super::spectrum::{conjugate_spectrum, Fft2};

/// One of the square's 8 symmetries: bit 0 transposes, bit 1 flips x, bit 2 flips y.
pub(super) type Orientation = u8;

/// The best orientation and offset of the pilot in one fold.
pub(super) struct Found {
    /// The correlation peak's z-score over every offset of its orientation.
    pub z: f32,
    pub orientation: Orientation,
    /// The fold, oriented and shifted so that the pilot starts at its origin.
    pub aligned: Vec<f32>,
}

/// The pilot's spectrum in every orientation, and the index maps between orientations.
pub(super) struct PilotSearch {
    fft: Fft2,
    /// The conjugate spectrum of the pilot under each orientation's linear part.
    spectra: Vec<Vec<Complex<f32>>>,
    /// For each orientation, the tile index that its linear part maps to each index.
    inverse: Vec<Vec<u16>>,
}

impl PilotSearch {
    pub(super) fn new(pilot: &[f32]) -> Self {
        let fft = Fft2::new(TILE, TILE);
        let mut spectra = Vec::with_capacity(8);
        let mut inverse = Vec::with_capacity(8);
        for orientation in 0..8 {
            let mut back = vec![0u16; TILE * TILE];
            let mut oriented = vec![0.0f32; TILE * TILE];
            for (p, &value) in pilot.iter().enumerate() {
                let q = linear(orientation, p);
                back[q] = p as u16;
                oriented[q] = value;
            }
            spectra.push(conjugate_spectrum(&fft, &oriented));
            inverse.push(back);
        }
        PilotSearch {
            fft,
            spectra,
            inverse,
        }
    }

    /// The orientation (of all 8, or only `only`) and offset at which `folded` correlates best
    /// with the pilot.
    pub(super) fn best(&self, folded: &[f32], only: Option<Orientation>) -> Option<Found> {
        let orientations: Vec<Orientation> = match only {
            Some(o) => vec![o],
            None => (0..8).collect(),
        };
        let mut spectrum: Vec<Complex<f32>> =
            folded.iter().map(|&v| Complex::new(v, 0.0)).collect();
        self.fft.process(&mut spectrum, false);
        // (z, orientation, offset in the correlation of the fold with the oriented pilot)
        let mut best: Option<(f32, Orientation, usize)> = None;
        for pair in orientations.chunks(2) {
            // Two real correlations in one inverse transform: the first in the real part, the
            // second (times i) in the imaginary part.
            let mut data: Vec<Complex<f32>> = match pair {
                [a, b] => spectrum
                    .iter()
                    .zip(&self.spectra[*a as usize])
                    .zip(&self.spectra[*b as usize])
                    .map(|((f, p), q)| f * p + Complex::new(0.0, 1.0) * (f * q))
                    .collect(),
                _ => spectrum
                    .iter()
                    .zip(&self.spectra[pair[0] as usize])
                    .map(|(f, p)| f * p)
                    .collect(),
            };
            self.fft.process(&mut data, true);
            keep_best(&mut best, pair[0], data.iter().map(|c| c.re));
            if let [_, b] = pair {
                keep_best(&mut best, *b, data.iter().map(|c| c.im));
            }
        }
        let (z, orientation, t) = best?;
        // The fold oriented as `orientation` correlates at offset s = L⁻¹(t − c), where L is
        // the orientation's linear part and c its flips' offset (a flip is x → −1 − x).
        let (tx, ty) = (t % TILE, t / TILE);
        let cx = if orientation & 2 == 2 { 1 } else { 0 };
        let cy = if orientation & 4 == 4 { 1 } else { 0 };
        let (ux, uy) = ((tx + cx) % TILE, (ty + cy) % TILE);
        let s = self.inverse[orientation as usize][uy * TILE + ux] as usize;
        let (sx, sy) = (s % TILE, s / TILE);
        let oriented = orient(folded, orientation);
        let mut aligned = vec![0.0; TILE * TILE];
        for y in 0..TILE {
            for x in 0..TILE {
                aligned[y * TILE + x] = oriented[((y + sy) % TILE) * TILE + (x + sx) % TILE];
            }
        }
        Some(Found {
            z,
            orientation,
            aligned,
        })
    }
}

/// Replaces `best` with this orientation's (z, orientation, peak offset) if its z-score is higher.
fn keep_best(
    best: &mut Option<(f32, Orientation, usize)>,
    orientation: Orientation,
    corr: impl Iterator<Item = f32>,
) {
    if let Some((z, peak)) = peak_z(corr) {
        if best.is_none_or(|b| z > b.0) {
            *best = Some((z, orientation, peak));
        }
    }
}

/// The z-score of a correlation's maximum over all its offsets, and where it is.
fn peak_z(corr: impl Iterator<Item = f32>) -> Option<(f32, usize)> {
    let (mut sum, mut sum2, mut n) = (0.0f64, 0.0f64, 0usize);
    let mut peak: Option<(usize, f32)> = None;
    for (i, c) in corr.enumerate() {
        sum += f64::from(c);
        sum2 += f64::from(c) * f64::from(c);
        n += 1;
        if peak.is_none_or(|p| c >= p.1) {
            peak = Some((i, c));
        }
    }
    let (at, value) = peak?;
    let mean = sum / n as f64;
    let var = (sum2 / n as f64 - mean * mean).max(0.0);
    let z = (f64::from(value) - mean) / var.sqrt().max(1e-12);
    Some((z as f32, at))
}

/// The tile index `p` under the linear part of `orientation` (flips as x → −x mod TILE).
fn linear(orientation: Orientation, p: usize) -> usize {
    let (x, y) = (p % TILE, p / TILE);
    let (mut sx, mut sy) = if orientation & 1 == 1 { (y, x) } else { (x, y) };
    if orientation & 2 == 2 {
        sx = (TILE - sx) % TILE;
    }
    if orientation & 4 == 4 {
        sy = (TILE - sy) % TILE;
    }
    sy * TILE + sx
}

/// `tile` under one of the square's 8 symmetries (flips as x → TILE − 1 − x).
pub(super) fn orient(tile: &[f32], orientation: Orientation) -> Vec<f32> {
    let last = TILE - 1;
    let mut out = vec![0.0; TILE * TILE];
    for y in 0..TILE {
        for x in 0..TILE {
            let (mut sx, mut sy) = if orientation & 1 == 1 { (y, x) } else { (x, y) };
            if orientation & 2 == 2 {
                sx = last - sx;
            }
            if orientation & 4 == 4 {
                sy = last - sy;
            }
            out[y * TILE + x] = tile[sy * TILE + sx];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::watermark::spectrum::correlate;

    /// The direct search this module replaces: orient the fold 8 ways, correlate each.
    fn direct(folded: &[f32], pilot: &[f32]) -> Vec<(f32, usize)> {
        let fft = Fft2::new(TILE, TILE);
        let conj = conjugate_spectrum(&fft, pilot);
        (0..8)
            .map(|o| {
                let corr = correlate(&fft, &orient(folded, o), &conj);
                peak_z(corr.into_iter()).unwrap()
            })
            .collect()
    }

    fn noise(seed: u64) -> Vec<f32> {
        let mut random = crate::test_random::XorShift64::new(seed);
        (0..TILE * TILE).map(|_| random.unit() - 0.5).collect()
    }

    #[test]
    fn finds_the_pilot_in_every_orientation_and_offset_as_the_direct_search_does() {
        let pilot = noise(7);
        let search = PilotSearch::new(&pilot);
        for orientation in 0..8u8 {
            // A fold holding the pilot shifted by (13, 41), then seen under `orientation`'s
            // inverse, plus noise: the search must undo both.
            let (sx, sy) = (13, 41);
            let mut shifted = vec![0.0; TILE * TILE];
            for y in 0..TILE {
                for x in 0..TILE {
                    shifted[((y + sy) % TILE) * TILE + (x + sx) % TILE] = pilot[y * TILE + x];
                }
            }
            // orient() is an involution for every orientation except the two 90° turns.
            let inverse = match orientation {
                3 => 5,
                5 => 3,
                o => o,
            };
            let extra = noise(100 + orientation as u64);
            let folded: Vec<f32> = orient(&shifted, inverse)
                .iter()
                .zip(&extra)
                .map(|(s, n)| s + 2.0 * n)
                .collect();
            assert_eq!(orient(&orient(&shifted, inverse), orientation), shifted);
            let found = search.best(&folded, None).unwrap();
            assert_eq!(found.orientation, orientation);
            // Aligned: the pilot at the origin again.
            let dot: f32 = found.aligned.iter().zip(&pilot).map(|(a, p)| a * p).sum();
            let norm: f32 = pilot.iter().map(|p| p * p).sum();
            assert!(
                dot > 0.8 * norm,
                "orientation {orientation}: {dot} vs {norm}"
            );
            // The same z-scores as orienting the fold and correlating each orientation.
            let reference = direct(&folded, &pilot);
            let best = reference.iter().map(|r| r.0).fold(f32::MIN, f32::max);
            assert!(
                (found.z - best).abs() < 1e-3 * best,
                "{} vs {best}",
                found.z
            );
            let only = search.best(&folded, Some(orientation)).unwrap();
            assert_eq!(only.aligned, found.aligned);
        }
    }
}
