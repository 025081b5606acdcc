//! Changing an image's pixels without losing anything else: decode to pixels, let a marking
//! layer change them, and write the image back in its own format with its own metadata.
//!
//! Each format keeps what a user would expect to survive an edit: JPEG its APPn segments (EXIF
//! with the orientation, ICC profile, XMP, IPTC) and its chroma subsampling, re-encoded at the
//! input's own estimated quality unless told otherwise; PNG its ancillary chunks (iCCP, eXIf,
//! text, pHYs …) and bit depth, losslessly; WebP its ICC/EXIF/XMP chunks, lossless staying
//! lossless; uncompressed TIFF is rewritten in place (every tag kept). Anything else is
//! refused with [`RecodeError::Unsupported`] and the caller says so, never silently.
//!
//! The old C2PA manifest store is not carried over: the stamper keeps the original file as the
//! parent ingredient instead. Nor are a JPEG's secondary images after its end (a camera's
//! Multi-Picture previews: unmarked copies of the picture), nor the index that points at them.
//!
//! A baseline JPEG whose only change is a luma residual (the watermark) is rewritten by
//! [`coefficients`] instead, without decoding it to pixels.

mod chroma;
pub mod coefficients;
mod jpeg;
mod png;
mod tiff;
mod webp;

use image::DynamicImage;

use crate::format::Format;
use crate::limits::Limits;
use crate::pixels::{self, DecodeError};

/// Why an image's pixels could not be rewritten.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecodeError {
    /// The format or this variant of it cannot be rewritten (the reason says which).
    #[error("{0}")]
    Unsupported(String),
    /// The container around the pixels is malformed.
    #[error("cannot decode the image: {0}")]
    Decode(String),
    /// The pixels do not decode, or exceed the limits.
    #[error(transparent)]
    Pixels(#[from] DecodeError),
    #[error("cannot encode the image: {0}")]
    Encode(String),
}

/// How to write pixels back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Quality (1–100) for lossy formats; `None` keeps the input's (estimated) quality.
    pub quality: Option<u8>,
}

/// Decoded pixels plus what is needed to write them back like the original.
pub struct Editable<'a> {
    pub image: DynamicImage,
    format: Format,
    original: &'a [u8],
}

impl<'a> Editable<'a> {
    /// Decodes `original` for editing within `limits`, or says why this file cannot be
    /// rewritten.
    pub fn decode(
        format: Format,
        original: &'a [u8],
        limits: &Limits,
    ) -> Result<Self, RecodeError> {
        let image = match format {
            Format::Jpeg => jpeg::decode(original, limits)?,
            Format::Png => png::decode(original, limits)?,
            Format::Webp => webp::decode(original, limits)?,
            Format::Tiff => tiff::decode(original, limits)?,
            Format::Gif => {
                return Err(RecodeError::Unsupported(
                    "GIF holds at most 256 colours per frame, too few for the watermark".into(),
                ))
            }
            Format::Avif | Format::Heic | Format::Jxl => {
                return Err(RecodeError::Unsupported(format!(
                    "{format} cannot be re-encoded by this build (no AVIF, HEIF or JPEG XL encoder)"
                )))
            }
        };
        Ok(Editable {
            image,
            format,
            original,
        })
    }

    /// Writes the (edited) pixels back in the original's format, with its metadata.
    pub fn encode(&self, options: EncodeOptions) -> Result<Vec<u8>, RecodeError> {
        match self.format {
            Format::Jpeg => jpeg::encode(self.original, &self.image, options),
            Format::Png => png::encode(self.original, &self.image),
            Format::Webp => webp::encode(self.original, &self.image, options),
            Format::Tiff => tiff::encode(self.original, &self.image),
            other => Err(RecodeError::Unsupported(format!(
                "{other} cannot be re-encoded"
            ))),
        }
    }
}

fn decode_with(format: Format, bytes: &[u8], limits: &Limits) -> Result<DynamicImage, RecodeError> {
    Ok(pixels::decode(format, bytes, limits)?)
}
