//! XMP in a GIF application extension, terminated by the XMP "magic trailer".
use super::*;

/// The range of the XMP extension (introducer to terminator) and its packet.
pub(super) fn find(image: &[u8]) -> Option<(std::ops::Range<usize>, &[u8])> {
    let mut needle = vec![0x21, 0xFF, 0x0B];
    needle.extend_from_slice(GIF_XMP_APP);
    let start = memchr::memmem::find(image, &needle)?;
    let packet_start = start + needle.len();
    let trailer = memchr::memmem::find(&image[packet_start..], &[0x01, 0xFF, 0xFE])?;
    let packet = &image[packet_start..packet_start + trailer];
    let end = packet_start + trailer + 258;
    (end <= image.len()).then_some((start..end, packet))
}

pub(super) fn embed(image: &[u8], packet: &str) -> Result<Vec<u8>, XmpError> {
    if packet.as_bytes().contains(&0) {
        return Err(malformed("the XMP packet contains a NUL byte"));
    }
    let mut extension = vec![0x21, 0xFF, 0x0B];
    extension.extend_from_slice(GIF_XMP_APP);
    extension.extend_from_slice(packet.as_bytes());
    extension.push(0x01);
    extension.extend((0..=255u8).rev());
    extension.push(0x00);

    let range = match find(image) {
        Some((range, _)) => range,
        None => {
            let flags = *image
                .get(10)
                .ok_or_else(|| malformed("the GIF header is cut off"))?;
            let mut at = 13;
            if flags & 0x80 != 0 {
                at += 3 << ((flags & 0x07) + 1);
            }
            if at > image.len() {
                return Err(malformed("the GIF colour table is cut off"));
            }
            at..at
        }
    };
    let mut out = Vec::with_capacity(image.len() + extension.len());
    out.extend_from_slice(&image[..range.start]);
    out.extend_from_slice(&extension);
    out.extend_from_slice(&image[range.end..]);
    out[..6].copy_from_slice(b"GIF89a"); // extensions need GIF89a
    Ok(out)
}
