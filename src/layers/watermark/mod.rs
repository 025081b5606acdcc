//! The imperceptible watermark layer: a tiled spread-spectrum mark in the luma channel that
//! carries a 64-bit payload (version, 40-bit asset id, check) and survives metadata stripping,
//! re-encoding, resizing, cropping, mirroring, small rotations and screenshots.
//!
//! The design (after the measured prototype in `docs/watermark.md`): the image is viewed at a
//! canonical scale (short side 512 px) where a 64×64-pixel tile of 2×2 chips is repeated over the
//! whole picture; each chip carries part of a fixed pilot and one bit of the convolutionally coded
//! payload, scaled by a texture mask so flat areas get little. Because the mark is defined at the
//! canonical scale, resizing does not move it; the detector finds any remaining zoom, rotation or
//! aspect change from the autocorrelation of the tile lattice and the translation and mirroring
//! from the pilot. See [`embed`] and [`detect`] for the two halves.

mod embed;
mod evidence;
pub mod imwatermark;
mod lattice;
mod pattern;
mod payload;
mod plane;
mod spectrum;
mod visibility;

pub mod detect;

pub use detect::{analyse, detect, Analysis, Detection};
pub use embed::{embed, target_psnr, TARGET_PSNR};
pub use evidence::evidence;
pub use payload::{pack, AssetId};

/// The soft-binding algorithm identifier written into C2PA manifests. Not (yet) on the C2PA
/// soft-binding algorithm list, so it uses our own reverse-domain namespace.
pub const ALGORITHM: &str = "org.synthmark.tiledss.1";
/// Default embedding strength: the chip amplitude, in 0–255 luma steps, where the texture mask is 1.
pub const DEFAULT_STRENGTH: f32 = 4.5;
/// The short side of the canonical grid.
const CANONICAL: usize = 512;
/// Images whose short side is smaller cannot hold the mark reliably.
pub const MIN_SIDE: usize = 256;

/// Why an image could not be watermarked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum WatermarkError {
    #[error("the image is too small for the watermark ({width}×{height}; the short side must be at least {MIN_SIDE} px)")]
    TooSmall { width: usize, height: usize },
    #[error("the image's pixel layout cannot be watermarked")]
    PixelLayout,
}

/// Below this short side the detector does not look (a thumbnail of a marked image can still be
/// read down to about half of [`MIN_SIDE`]).
const MIN_DETECT_SIDE: usize = 96;

/// The canonical grid size for an image: short side [`CANONICAL`], aspect kept. `minimum` is the
/// smallest short side accepted.
fn canonical_size(
    width: usize,
    height: usize,
    minimum: usize,
) -> Result<(usize, usize), WatermarkError> {
    let short = width.min(height);
    if short < minimum {
        return Err(WatermarkError::TooSmall { width, height });
    }
    let scale = CANONICAL as f64 / short as f64;
    let side = |n: usize| ((n as f64 * scale).round() as usize).max(CANONICAL);
    Ok((side(width), side(height)))
}
