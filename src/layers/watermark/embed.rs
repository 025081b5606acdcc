//! Embedding: the tile, scaled by a texture mask at the canonical scale, upsampled to the image's
//! own size and added equally to every colour channel (a pure luma change; chroma is what JPEG
//! throws away first).

use image::DynamicImage;

use super::canonical_size;
use super::pattern::{expand, Pattern, TILE};
use super::payload::{encode, pack, AssetId};
use super::plane::Plane;
use super::WatermarkError;

/// Mask radius: the local contrast is measured in a 9×9 canonical window.
const MASK_RADIUS: usize = 4;
/// Local standard deviation (0–255 scale) at which the mask reaches 1.
const MASK_REFERENCE: f32 = 8.0;
/// The mask never drops below this in flat areas (or the mark would vanish there) …
const MASK_FLOOR: f32 = 0.45;
/// … nor exceeds this in busy ones (or edges would ring).
const MASK_CEILING: f32 = 1.6;

/// Adds the watermark carrying `id` to `image` in place, at `strength` (the chip amplitude in
/// 0–255 luma units at mask 1).
pub fn embed(image: &mut DynamicImage, id: AssetId, strength: f32) -> Result<(), WatermarkError> {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let (cw, ch) = canonical_size(width, height, super::MIN_SIDE)?;
    let luma = Plane::luma(image).resized(cw, ch);

    let pattern = Pattern::new();
    let tile = expand(&pattern.chips(&encode(pack(id))));
    let mean = luma.box_mean(MASK_RADIUS);
    let squares = Plane {
        data: luma.data.iter().map(|v| v * v).collect(),
        ..luma.clone()
    }
    .box_mean(MASK_RADIUS);
    let mut residual = Plane::new(cw, ch);
    for y in 0..ch {
        for x in 0..cw {
            let i = y * cw + x;
            let deviation = (squares.data[i] - mean.data[i] * mean.data[i])
                .max(0.0)
                .sqrt();
            let mask = (deviation / MASK_REFERENCE).clamp(MASK_FLOOR, MASK_CEILING);
            residual.data[i] = strength * mask * tile[(y % TILE) * TILE + x % TILE];
        }
    }
    add_to_colour(image, &residual.resized(width, height))
}

/// Adds a luma residual (0–255 scale) to every colour channel, leaving alpha alone.
fn add_to_colour(image: &mut DynamicImage, residual: &Plane) -> Result<(), WatermarkError> {
    let r = &residual.data;
    match image {
        DynamicImage::ImageLuma8(b) => add_u8(b, 1, 1, r),
        DynamicImage::ImageLumaA8(b) => add_u8(b, 2, 1, r),
        DynamicImage::ImageRgb8(b) => add_u8(b, 3, 3, r),
        DynamicImage::ImageRgba8(b) => add_u8(b, 4, 3, r),
        DynamicImage::ImageLuma16(b) => add_u16(b, 1, 1, r),
        DynamicImage::ImageLumaA16(b) => add_u16(b, 2, 1, r),
        DynamicImage::ImageRgb16(b) => add_u16(b, 3, 3, r),
        DynamicImage::ImageRgba16(b) => add_u16(b, 4, 3, r),
        DynamicImage::ImageRgb32F(b) => add_f32(b, 3, 3, r),
        DynamicImage::ImageRgba32F(b) => add_f32(b, 4, 3, r),
        _ => return Err(WatermarkError::PixelLayout),
    }
    Ok(())
}

fn add_u8(raw: &mut [u8], channels: usize, colour: usize, residual: &[f32]) {
    for (pixel, &d) in raw.chunks_exact_mut(channels).zip(residual) {
        for c in &mut pixel[..colour] {
            // Clamped first, so adding ½ and truncating rounds (and `round()` would be a libm
            // call per sample on baseline x86-64).
            *c = ((f32::from(*c) + d).clamp(0.0, 255.0) + 0.5) as u8;
        }
    }
}

fn add_u16(raw: &mut [u16], channels: usize, colour: usize, residual: &[f32]) {
    for (pixel, &d) in raw.chunks_exact_mut(channels).zip(residual) {
        for c in &mut pixel[..colour] {
            *c = ((f32::from(*c) + d * 257.0).clamp(0.0, 65535.0) + 0.5) as u16;
        }
    }
}

fn add_f32(raw: &mut [f32], channels: usize, colour: usize, residual: &[f32]) {
    for (pixel, &d) in raw.chunks_exact_mut(channels).zip(residual) {
        for c in &mut pixel[..colour] {
            *c += d / 255.0;
        }
    }
}
