//! The pixel half of the stamp: the visible label, then the watermark, re-encoded in the
//! input's format and read back from the very bytes written; and the manifest's thumbnail.

use std::io::Cursor;

use crate::format::Format;
use crate::layers::visible_label;
use crate::layers::watermark::{self, AssetId};
use crate::limits::Limits;
use crate::pixels::{self, DecodeError};
use crate::recode::coefficients::Frame;
use crate::recode::{Editable, EncodeOptions, RecodeError};

use super::options::{Quality, StampOptions};
use super::outcome::StampError;

/// Long edge, in pixels, of the optional embedded thumbnail.
const THUMBNAIL_LONG_EDGE: u32 = 512;
/// Strength multipliers tried in turn until the watermark reads back from the encoded bytes
/// (each still capped by the watermark's quality target): most images pass at 1.
const READ_BACK_BOOSTS: [f32; 3] = [1.0, 1.6, 2.5];

/// The pixel layers' result: the re-encoded image (when anything was drawn), the watermark's id
/// and why the watermark was skipped, if it was.
pub(super) struct EditedPixels {
    pub bytes: Option<Vec<u8>>,
    pub watermark: Option<AssetId>,
    pub watermark_skipped: Option<String>,
}

/// Draws the visible label (first, so the watermark covers it), then embeds the watermark, and
/// re-encodes in the input's format with its metadata. Pixels that do not decode, or exceed the
/// limits, fail the stamp: nothing is signed over an image no one can view. A label that cannot
/// be drawn is an error (it was asked for, and deployers are obliged to show it); a watermark
/// that cannot be embedded (a format or variant that cannot be rewritten, an image too small)
/// is skipped with the reason. With `may_be_marked`, a synthmark watermark already in the
/// pixels is kept and its asset id reused instead of embedding a second one.
pub(super) fn edit_pixels(
    format: Format,
    input: &[u8],
    options: &StampOptions,
    limits: &Limits,
    may_be_marked: bool,
) -> Result<EditedPixels, StampError> {
    let (label, mark) = (options.visible_label, options.watermark.as_ref());
    // The common case, a baseline JPEG that gets nothing but the watermark at its own quality,
    // is marked in its DCT coefficients; anything that path does not take goes on below.
    if let (Format::Jpeg, None, Some(mark), false, None) = (
        format,
        label,
        mark,
        may_be_marked,
        options.reencoding.quality,
    ) {
        if let Ok(frame) = Frame::read(input, limits) {
            if let Some(edited) = marked_coefficients(&frame, mark.strength, limits) {
                return Ok(edited);
            }
        }
    }
    let mut editable = match Editable::decode(format, input, limits) {
        Ok(editable) => editable,
        Err(RecodeError::Pixels(
            err @ (DecodeError::Corrupt(_)
            | DecodeError::TooManyPixels { .. }
            | DecodeError::TooManyBytes { .. }),
        )) => return Err(StampError::Pixels(err)),
        Err(RecodeError::Decode(reason)) => {
            return Err(StampError::Pixels(DecodeError::Corrupt(reason)))
        }
        Err(err) if label.is_some() => return Err(StampError::VisibleLabel(err.to_string())),
        Err(err) => {
            return Ok(EditedPixels {
                bytes: None,
                watermark: None,
                watermark_skipped: Some(err.to_string()),
            })
        }
    };
    let existing = (mark.is_some() && may_be_marked)
        .then(|| watermark::detect(&editable.image))
        .flatten()
        .map(|found| found.asset_id);
    if let Some(label) = label {
        visible_label::draw(&mut editable.image, label)
            .map_err(|err| StampError::VisibleLabel(err.to_string()))?;
    }
    let encode_options = EncodeOptions {
        quality: options.reencoding.quality.map(Quality::get),
    };
    let (id, strength) = match (mark, existing) {
        (Some(options), None) => (AssetId::random(), options.strength),
        _ => {
            // Nothing to embed: only the label (if any) changed the pixels.
            let bytes = label
                .map(|_| labelled(&editable, encode_options))
                .transpose()?;
            return Ok(EditedPixels {
                bytes,
                watermark: existing,
                watermark_skipped: None,
            });
        }
    };
    // The mark is declared in the manifest only when it reads back from the very bytes written.
    // A faint image (flat, dark, small) whose mark a lossy re-encode takes away is marked again
    // a little stronger, still within the quality target, on pixels decoded afresh (rare, and
    // cheaper in memory than keeping an unmarked copy of every image).
    let mut skipped = String::new();
    for (attempt, boost) in READ_BACK_BOOSTS.into_iter().enumerate() {
        if attempt > 0 {
            editable = unmarked(format, input, options, limits)?;
        }
        if let Err(err) = watermark::embed(&mut editable.image, id, strength * boost) {
            skipped = err.to_string();
            break;
        }
        match editable.encode(encode_options) {
            Ok(bytes) if reads_back(format, &bytes, id, limits) => {
                return Ok(EditedPixels {
                    bytes: Some(bytes),
                    watermark: Some(id),
                    watermark_skipped: None,
                })
            }
            Ok(_) => {
                skipped =
                    "the watermark did not survive re-encoding (is the quality too low?)".into();
            }
            Err(err) if label.is_some() => return Err(StampError::VisibleLabel(err.to_string())),
            Err(err) => {
                skipped = err.to_string();
                break;
            }
        }
    }
    let editable = unmarked(format, input, options, limits)?;
    let bytes = label
        .map(|_| labelled(&editable, encode_options))
        .transpose()?;
    Ok(EditedPixels {
        bytes,
        watermark: None,
        watermark_skipped: Some(skipped),
    })
}

/// The watermark added to a baseline JPEG's luma coefficients (see [`Frame`]), read back from
/// the bytes written as on the pixel path, a little stronger if it must be. `None` when it does
/// not read back at any strength, or the image cannot hold it: the pixel path then decides.
fn marked_coefficients(frame: &Frame, strength: f32, limits: &Limits) -> Option<EditedPixels> {
    let id = AssetId::random();
    READ_BACK_BOOSTS.into_iter().find_map(|boost| {
        let (residual, gain) = watermark::luma_residual(
            frame.luma(),
            frame.width,
            frame.height,
            id,
            strength * boost,
        )
        .ok()?;
        let bytes = frame.write_with_luma(&residual, gain);
        reads_back(Format::Jpeg, &bytes, id, limits).then_some(EditedPixels {
            bytes: Some(bytes),
            watermark: Some(id),
            watermark_skipped: None,
        })
    })
}

/// The input decoded again, with its visible label if one is asked for (it decoded and took the
/// label once already, so a failure now is reported as such).
fn unmarked<'a>(
    format: Format,
    input: &'a [u8],
    options: &StampOptions,
    limits: &Limits,
) -> Result<Editable<'a>, StampError> {
    let mut editable = Editable::decode(format, input, limits)
        .map_err(|err| StampError::Pixels(DecodeError::Corrupt(err.to_string())))?;
    if let Some(label) = options.visible_label {
        visible_label::draw(&mut editable.image, label)
            .map_err(|err| StampError::VisibleLabel(err.to_string()))?;
    }
    Ok(editable)
}

/// The image with its visible label and no new watermark, encoded: a label that cannot be
/// written is an error (it was asked for).
fn labelled(editable: &Editable, options: EncodeOptions) -> Result<Vec<u8>, StampError> {
    editable
        .encode(options)
        .map_err(|err| StampError::VisibleLabel(err.to_string()))
}

/// Whether the watermark carrying `id` is found in the encoded `bytes`.
fn reads_back(format: Format, bytes: &[u8], id: AssetId, limits: &Limits) -> bool {
    pixels::decode(format, bytes, limits)
        .ok()
        .and_then(|image| watermark::detect(&image))
        .is_some_and(|found| found.asset_id == id)
}

/// A JPEG thumbnail of the image, for formats this build decodes within `limits`.
pub(super) fn thumbnail(
    format: Format,
    bytes: &[u8],
    limits: &Limits,
) -> Result<Vec<u8>, ThumbnailError> {
    let decoded = pixels::decode(format, bytes, limits)?;
    let small = decoded
        .thumbnail(THUMBNAIL_LONG_EDGE, THUMBNAIL_LONG_EDGE)
        .into_rgb8();
    let mut jpeg = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80).encode_image(&small)?;
    Ok(jpeg.into_inner())
}

/// Why no thumbnail was embedded (a warning, not an error: the stamp goes on without it).
#[derive(Debug, thiserror::Error)]
pub(super) enum ThumbnailError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("cannot encode the thumbnail: {0}")]
    Encode(#[from] image::ImageError),
}
