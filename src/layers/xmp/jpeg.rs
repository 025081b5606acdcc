//! XMP in a JPEG APP1 segment.
use super::*;
use crate::container::jpeg;

/// The range of the XMP APP1 segment (marker included) and its packet.
pub(super) fn find(image: &[u8]) -> Option<(std::ops::Range<usize>, &[u8])> {
    jpeg::segments(image)
        .map_while(Result::ok)
        .find(|s| s.marker == 0xE1 && s.data.starts_with(JPEG_XMP_HEADER))
        .map(|s| (s.start..s.end, &s.data[JPEG_XMP_HEADER.len()..]))
}

pub(super) fn embed(image: &[u8], packet: &str) -> Result<Vec<u8>, XmpError> {
    let payload = [JPEG_XMP_HEADER, packet.as_bytes()].concat();
    let segment = jpeg::segment(0xE1, &payload).ok_or_else(|| {
        malformed(format!(
            "the XMP packet would be {} bytes, more than one JPEG segment holds",
            payload.len()
        ))
    })?;

    let range = match find(image) {
        Some((range, _)) => range,
        None => {
            let at = insertion_point(image)?;
            at..at
        }
    };
    let mut out = Vec::with_capacity(image.len() + segment.len());
    out.extend_from_slice(&image[..range.start]);
    out.extend_from_slice(&segment);
    out.extend_from_slice(&image[range.end..]);
    Ok(out)
}

/// After SOI and any leading APP0 (JFIF) and APP1 (Exif) segments.
fn insertion_point(image: &[u8]) -> Result<usize, XmpError> {
    for segment in jpeg::segments(image) {
        match segment {
            Ok(segment) if matches!(segment.marker, 0xE0 | 0xE1) => {}
            Ok(segment) => return Ok(segment.start),
            Err(jpeg::Break::EndOfImage { at }) => return Ok(at),
            Err(jpeg::Break::HeaderCutOff { .. } | jpeg::Break::Overrun { .. }) => {
                return Err(malformed("a JPEG segment header is cut off"))
            }
            Err(_) => break,
        }
    }
    Err(malformed("no JPEG marker after the SOI"))
}
