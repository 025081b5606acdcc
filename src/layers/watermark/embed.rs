//! Embedding: the tile, shaped by the visibility model at the canonical scale, resampled to the
//! image's own size, scaled so the mark as it lands there meets the quality target, and added
//! equally to every colour channel (a pure luma change; chroma is what JPEG throws away first).

use image::DynamicImage;

use super::grid::{embedding_grid, grid_size, MIN_SIDE};
use super::pattern::{expand, Pattern, TILE};
use super::payload::{encode, pack, AssetId};
use super::plane::Plane;
use super::visibility;
use crate::cpu::dispatch_avx2;
use crate::sample::round_to_u8;

/// Default embedding strength: the chip amplitude, in 0–255 luma steps, where the texture mask is 1.
pub const DEFAULT_STRENGTH: f32 = 4.5;

/// Why an image could not be watermarked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum WatermarkError {
    #[error("the image is too small for the watermark ({width}×{height}; the short side must be at least {MIN_SIDE} px)")]
    TooSmall { width: usize, height: usize },
    #[error("the image's pixel layout cannot be watermarked")]
    PixelLayout,
}

/// The mark alone costs at most this PSNR (RGB), measured on the mark as it lands in the image:
/// after resampling to the image's own size, so its RMS there is at most 255 / 10^(43/20) ≈ 1.8
/// grey levels, whatever the strength asked for. (Capping it at the canonical scale instead left
/// most images 1–2.5 dB short of the target, because resampling smooths the chips: the mark was
/// weaker than the quality allowed, most of all on images smaller than the canonical grid.)
pub const TARGET_PSNR: f32 = 43.0;

/// Adds the watermark carrying `id` to `image` in place. `strength` is the chip amplitude (0–255
/// luma steps) where the visibility mask is 1; it is lowered for this image when the mark would
/// otherwise cost more than [`TARGET_PSNR`].
pub fn embed(image: &mut DynamicImage, id: AssetId, strength: f32) -> Result<(), WatermarkError> {
    let luma = Plane::luma(image);
    let (residual, gain) = luma_residual(luma.data, luma.width, luma.height, id, strength)?;
    add_to_colour(image, &residual, gain)
}

/// The mark carrying `id` for an image whose luma plane (`width × height`, 0–255) is `luma`:
/// the residual to add to every colour channel (equivalently, to luma alone) and the gain to
/// multiply it by, which [`embed`] applies sample by sample as it adds. `strength` as for
/// [`embed`].
pub fn luma_residual(
    luma: Vec<f32>,
    width: usize,
    height: usize,
    id: AssetId,
    strength: f32,
) -> Result<(Vec<f32>, f32), WatermarkError> {
    let grid = embedding_grid(width, height);
    luma_residual_on(grid, luma, width, height, id, strength)
}

/// [`luma_residual`] on the grid of short side `grid` (the tests mark small images on the
/// canonical grid, as builds before the coarse grid did).
pub(super) fn luma_residual_on(
    grid: usize,
    luma: Vec<f32>,
    width: usize,
    height: usize,
    id: AssetId,
    strength: f32,
) -> Result<(Vec<f32>, f32), WatermarkError> {
    let (cw, ch) = grid_size(width, height, grid, MIN_SIDE)
        .ok_or(WatermarkError::TooSmall { width, height })?;
    let luma = Plane {
        width,
        height,
        data: luma,
    }
    .resized(cw, ch);

    let pattern = Pattern::new();
    let tile = expand(&pattern.chips(&encode(pack(id))));
    let mut residual = visibility::mask(&luma);
    for (y, row) in residual.data.chunks_exact_mut(cw).enumerate() {
        let tile_row = &tile[(y % TILE) * TILE..][..TILE];
        for (values, chips) in row.chunks_mut(TILE).zip(std::iter::repeat(tile_row)) {
            for (value, chip) in values.iter_mut().zip(chips) {
                *value *= chip;
            }
        }
    }
    let residual = residual.resized(width, height);
    let rms = (residual.data.iter().map(|v| v * v).sum::<f32>() / residual.data.len() as f32)
        .sqrt()
        .max(1e-6);
    let limit = 255.0 / 10f32.powf(TARGET_PSNR / 20.0);
    Ok((residual.data, strength.min(limit / rms)))
}

/// Adds a luma residual (0–255 scale), times `gain`, to every colour channel, leaving alpha
/// alone. The gain is applied here, sample by sample, rather than in a pass of its own over the
/// full-size residual.
fn add_to_colour(
    image: &mut DynamicImage,
    residual: &[f32],
    gain: f32,
) -> Result<(), WatermarkError> {
    let r = residual;
    match image {
        DynamicImage::ImageLuma8(b) => add_u8(b, 1, 1, r, gain),
        DynamicImage::ImageLumaA8(b) => add_u8(b, 2, 1, r, gain),
        DynamicImage::ImageRgb8(b) => add_rgb8(b, r, gain),
        DynamicImage::ImageRgba8(b) => add_rgba8(b, r, gain),
        DynamicImage::ImageLuma16(b) => add_u16(b, 1, 1, r, gain),
        DynamicImage::ImageLumaA16(b) => add_u16(b, 2, 1, r, gain),
        DynamicImage::ImageRgb16(b) => add_u16(b, 3, 3, r, gain),
        DynamicImage::ImageRgba16(b) => add_u16(b, 4, 3, r, gain),
        DynamicImage::ImageRgb32F(b) => add_f32(b, 3, 3, r, gain),
        DynamicImage::ImageRgba32F(b) => add_f32(b, 4, 3, r, gain),
        _ => return Err(WatermarkError::PixelLayout),
    }
    Ok(())
}

dispatch_avx2! {
    /// [`add_u8`] for packed RGB, the common case (vectorised with AVX2 where the CPU has it).
    fn add_rgb8(raw: &mut [u8], residual: &[f32], gain: f32) {
        add_packed_u8::<3>(raw, residual, gain)
    }
}

dispatch_avx2! {
    /// [`add_u8`] for packed RGBA.
    fn add_rgba8(raw: &mut [u8], residual: &[f32], gain: f32) {
        add_packed_u8::<4>(raw, residual, gain)
    }
}

/// [`add_u8`] for packed pixels of `C` samples whose first three are colour, in two flat loops
/// that vectorise (a loop over 3- or 4-byte pixels does not): each pixel's step is spread over
/// its samples in a small buffer (0 for alpha, which adding 0 and rounding leaves as it was),
/// then every byte gets the step beside it. Same operations, same bits as [`add_u8`].
#[inline(always)]
fn add_packed_u8<const C: usize>(raw: &mut [u8], residual: &[f32], gain: f32) {
    const PIXELS: usize = 256;
    let mut steps = [[0.0f32; C]; PIXELS];
    for (samples, residual) in raw.chunks_mut(C * PIXELS).zip(residual.chunks(PIXELS)) {
        for (step, &r) in steps.iter_mut().zip(residual) {
            let d = r * gain;
            step[..3].fill(d);
        }
        for (c, &d) in samples.iter_mut().zip(steps.as_flattened()) {
            *c = round_to_u8(f32::from(*c) + d);
        }
    }
}

#[inline(always)]
fn add_u8(raw: &mut [u8], channels: usize, colour: usize, residual: &[f32], gain: f32) {
    for (pixel, &r) in raw.chunks_exact_mut(channels).zip(residual) {
        let d = r * gain;
        for c in &mut pixel[..colour] {
            *c = round_to_u8(f32::from(*c) + d);
        }
    }
}

fn add_u16(raw: &mut [u16], channels: usize, colour: usize, residual: &[f32], gain: f32) {
    for (pixel, &r) in raw.chunks_exact_mut(channels).zip(residual) {
        let d = r * gain;
        for c in &mut pixel[..colour] {
            *c = ((f32::from(*c) + d * 257.0).clamp(0.0, 65535.0) + 0.5) as u16;
        }
    }
}

fn add_f32(raw: &mut [f32], channels: usize, colour: usize, residual: &[f32], gain: f32) {
    for (pixel, &r) in raw.chunks_exact_mut(channels).zip(residual) {
        let d = r * gain;
        for c in &mut pixel[..colour] {
            *c += d / 255.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::{portable_only, test_samples};

    #[test]
    fn the_mark_as_it_lands_meets_the_quality_target_at_every_size() {
        // A strength far above the cap, so the cap decides; images smaller and larger than the
        // canonical grid, where resampling changes the mark's RMS.
        for (w, h) in [(300u32, 300u32), (512, 768), (1500, 1000)] {
            // Noise whose amplitude grows across the image, so the mask (and the mark) takes
            // every value between its floor and its ceiling, as on a real image.
            let original = image::RgbImage::from_fn(w, h, |x, y| {
                let noise = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)) % 64;
                let amplitude = 1 + 40 * x / w;
                let v = 100 + noise * amplitude / 64;
                image::Rgb([v as u8; 3])
            });
            let mut marked = DynamicImage::ImageRgb8(original.clone());
            embed(&mut marked, AssetId::new(0x5eed).expect("id"), 50.0).expect("embed");
            let mse = original
                .as_raw()
                .iter()
                .zip(marked.to_rgb8().as_raw())
                .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
                .sum::<f64>()
                / original.as_raw().len() as f64;
            let psnr = 10.0 * (255.0f64 * 255.0 / mse).log10();
            // Rounding to 8 bits moves it a little either way.
            assert!(
                (f64::from(TARGET_PSNR) - 0.5..=f64::from(TARGET_PSNR) + 0.5).contains(&psnr),
                "{w}×{h}: {psnr:.2} dB"
            );
        }
    }

    #[test]
    fn the_flat_avx2_and_baseline_additions_agree_with_the_checked_per_pixel_one_bit_for_bit() {
        // Residuals that push samples past both ends of the range (and a NaN and infinities),
        // every byte value, and more pixels than one buffer of steps, with a part-filled last
        // one.
        let mut residual: Vec<f32> = test_samples(1001, 9)
            .iter()
            .map(|v| v / 4.0 - 32.0)
            .collect();
        residual[5..8].copy_from_slice(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY]);
        for (channels, add) in [(3, add_rgb8 as fn(&mut [u8], &[f32], f32)), (4, add_rgba8)] {
            let pixels: Vec<u8> = (0..channels * 1001).map(|i| (i * 7) as u8).collect();
            // The per-pixel loop with the checked conversion that the flat loops replace.
            let mut reference = pixels.clone();
            for (pixel, &r) in reference.chunks_exact_mut(channels).zip(&residual) {
                let d = r * 1.3;
                for c in &mut pixel[..3] {
                    *c = ((f32::from(*c) + d).clamp(0.0, 255.0) + 0.5) as u8;
                }
            }
            let (mut portable, mut dispatched) = (pixels.clone(), pixels);
            portable_only(|| add(&mut portable, &residual, 1.3));
            add(&mut dispatched, &residual, 1.3);
            assert_eq!(portable, reference);
            assert_eq!(dispatched, reference);
        }
    }
}
