//! XMP in a JPEG APP1 segment.
use super::*;

/// The range of the XMP APP1 segment (marker included) and its packet.
pub(super) fn find(image: &[u8]) -> Option<(std::ops::Range<usize>, &[u8])> {
    let mut pos = 2;
    while let (Some(0xFF), Some(&marker)) = (image.get(pos), image.get(pos + 1)) {
        if marker == 0xDA || marker == 0xD9 {
            return None;
        }
        let len = be_u16(image, pos + 2)?;
        let end = pos + 2 + len;
        let payload = image.get(pos + 4..end)?;
        if marker == 0xE1 && payload.starts_with(JPEG_XMP_HEADER) {
            return Some((pos..end, &payload[JPEG_XMP_HEADER.len()..]));
        }
        pos = end;
    }
    None
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
    let mut pos = 2;
    loop {
        match (image.get(pos), image.get(pos + 1)) {
            (Some(0xFF), Some(0xE0 | 0xE1)) => {
                let len = be_u16(image, pos + 2)
                    .ok_or_else(|| malformed("a JPEG segment header is cut off"))?;
                pos += 2 + len;
            }
            (Some(0xFF), Some(_)) => return Ok(pos),
            _ => return Err(malformed("no JPEG marker after the SOI")),
        }
    }
}
