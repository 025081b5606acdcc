//! The marking layers. Each layer answers the same two questions where they apply: how do I
//! embed my mark into an image, and what evidence do I find in one? A layer never decides a
//! verdict; it reports evidence (see [`crate::verdict`]).
//!
//! Every detecting layer reads the same [`Input`]. What one layer found that another needs (the
//! C2PA soft bindings for the watermark, the watermark's asset id for the registry) is passed by
//! the check pipeline as a typed value, never read back out of another layer's evidence.

pub mod c2pa;
pub mod fingerprint;
pub mod generator_metadata;
pub mod stealth_metadata;
pub mod visible_label;
pub mod watermark;
pub mod xmp;

use sha2::{Digest, Sha256};

use crate::format::Format;
use crate::limits::Limits;
use crate::pixels::LazyPixels;

/// What every detecting layer reads about one file.
pub struct Input<'a> {
    pub format: Format,
    pub bytes: &'a [u8],
    pub sha256: [u8; 32],
    /// The text and decoding limits.
    pub limits: Limits,
    /// Decoded at most once, on first use by any layer; never, when pixel layers are off.
    pub pixels: LazyPixels<'a>,
}

impl<'a> Input<'a> {
    /// The input for `bytes` of `format`; `pixels` says whether pixel layers may decode it.
    pub fn new(format: Format, bytes: &'a [u8], limits: Limits, pixels: bool) -> Self {
        Input {
            format,
            bytes,
            sha256: Sha256::digest(bytes).into(),
            limits,
            pixels: if pixels {
                LazyPixels::new(format, bytes, limits)
            } else {
                LazyPixels::off(format)
            },
        }
    }
}
