//! The imperceptible watermark layer: a tiled spread-spectrum mark in the luma channel that
//! carries a 64-bit payload (version, 40-bit asset id, check) and survives metadata stripping,
//! re-encoding, resizing, cropping, mirroring, small rotations and screenshots.
//!
//! The design (after the measured prototype in `docs/watermark.md`): the image is viewed at a
//! canonical scale (short side 512 px; 384 px for images smaller than that, see `grid`) where a
//! 64×64-pixel tile of 2×2 chips is repeated over the whole picture; each chip carries part of a
//! fixed pilot and one bit of the convolutionally coded payload, scaled by a texture mask so
//! flat areas get little. Because the mark is defined at the
//! canonical scale, resizing does not move it; the detector finds any remaining zoom, rotation or
//! aspect change from the autocorrelation of the tile lattice and the translation and mirroring
//! from the pilot. See [`embed`] and [`detect`] for the two halves.

mod embed;
mod evidence;
mod fold;
mod grid;
pub mod imwatermark;
mod lattice;
mod pattern;
mod payload;
mod pilot;
mod plane;
mod sampler;
mod spectrum;
mod visibility;

mod detect;

pub use detect::{analyse, detect, Analysis, Detection};
pub use embed::{embed, luma_residual, WatermarkError, DEFAULT_STRENGTH, TARGET_PSNR};
pub use evidence::{evidence, WatermarkFindings};
pub use grid::MIN_SIDE;
pub use payload::{pack, AssetId, ALGORITHM};
