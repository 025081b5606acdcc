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
    let payload_len = JPEG_XMP_HEADER.len() + packet.len();
    if payload_len > JPEG_SEGMENT_MAX {
        return Err(malformed(format!(
            "the XMP packet would be {payload_len} bytes, more than one JPEG segment holds"
        )));
    }
    let mut segment = Vec::with_capacity(payload_len + 4);
    segment.extend_from_slice(&[0xFF, 0xE1]);
    segment.extend_from_slice(&((payload_len + 2) as u16).to_be_bytes());
    segment.extend_from_slice(JPEG_XMP_HEADER);
    segment.extend_from_slice(packet.as_bytes());

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
