//! XMP in a PNG `iTXt` chunk.
use super::*;
use crate::container::png;

pub(super) struct Chunk<'a> {
    pub range: std::ops::Range<usize>,
    pub text: &'a [u8],
}

/// The uncompressed XMP `iTXt` chunk (whole chunk range) and its text.
pub(super) fn find(image: &[u8]) -> Option<Chunk<'_>> {
    for chunk in png::chunks(image).map_while(Result::ok) {
        let data = chunk.data;
        if &chunk.kind == b"iTXt" && data.starts_with(PNG_XMP_KEYWORD) {
            // keyword \0 compression-flag compression-method language \0 translated \0 text
            let rest = data.get(PNG_XMP_KEYWORD.len() + 1..)?;
            if rest.first() != Some(&0) {
                return None; // compressed: not read
            }
            let rest = rest.get(2..)?;
            let language_end = rest.iter().position(|b| *b == 0)?;
            let rest = rest.get(language_end + 1..)?;
            let translated_end = rest.iter().position(|b| *b == 0)?;
            return Some(Chunk {
                range: chunk.start..chunk.end,
                text: rest.get(translated_end + 1..)?,
            });
        }
    }
    None
}

pub(super) fn embed(image: &[u8], packet: &str) -> Result<Vec<u8>, XmpError> {
    let mut data = Vec::with_capacity(packet.len() + 32);
    data.extend_from_slice(PNG_XMP_KEYWORD);
    data.extend_from_slice(&[0, 0, 0, 0, 0]); // separator, uncompressed, method, "", ""
    data.extend_from_slice(packet.as_bytes());
    let chunk = png::chunk(b"iTXt", &data);

    let range = match find(image) {
        Some(existing) => existing.range,
        None => {
            if has_compressed_xmp(image) {
                return Err(malformed(
                    "the PNG already has a compressed XMP packet, which is kept as it is",
                ));
            }
            let ihdr_len =
                be_u32(image, 8).ok_or_else(|| malformed("the PNG has no IHDR chunk"))?;
            let at = 8 + 12 + ihdr_len;
            at..at
        }
    };
    if range.end > image.len() {
        return Err(malformed("the PNG is cut off"));
    }
    let mut out = Vec::with_capacity(image.len() + chunk.len());
    out.extend_from_slice(&image[..range.start]);
    out.extend_from_slice(&chunk);
    out.extend_from_slice(&image[range.end..]);
    Ok(out)
}

fn has_compressed_xmp(image: &[u8]) -> bool {
    let mut needle = b"iTXt".to_vec();
    needle.extend_from_slice(PNG_XMP_KEYWORD);
    memchr::memmem::find(image, &needle).is_some()
}
