//! The structure checks behind [`Format::check_structure`]: each walks one container with the
//! readers of [`crate::container`], without decoding pixels, and says in words what it found
//! wrong (a length past the end, a missing end marker, a chain that loops, no image data).

use crate::container::tiff::{self, Tiff};
use crate::container::{bmff, jpeg, png, riff};

use super::{Format, JXL_CODESTREAM};

/// The first inconsistency in `bytes` as `format`'s container.
pub(super) fn check(format: Format, bytes: &[u8]) -> Result<(), Malformation> {
    match format {
        Format::Jpeg => check_jpeg(bytes),
        Format::Png => check_png(bytes),
        Format::Webp => check_riff(bytes),
        Format::Tiff => check_tiff(bytes),
        Format::Gif => check_gif(bytes),
        Format::Avif | Format::Heic => check_bmff(bytes),
        Format::Jxl => check_jxl(bytes),
    }
}

/// What a structure walk found wrong, in words: the reason of [`FormatError::Malformed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Malformation(String);

impl From<String> for Malformation {
    fn from(reason: String) -> Self {
        Malformation(reason)
    }
}

impl From<&str> for Malformation {
    fn from(reason: &str) -> Self {
        Malformation(reason.to_string())
    }
}

impl std::fmt::Display for Malformation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn be_u32(bytes: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize)
}

/// Markers up to the first scan must be well formed, and an EOI must follow the scan data.
/// Entropy-coded data cannot contain `FF D9` (0xFF is always stuffed), so its absence means the
/// file was cut short.
fn check_jpeg(bytes: &[u8]) -> Result<(), Malformation> {
    let mut scan = None;
    for segment in jpeg::segments(bytes) {
        let segment = segment.map_err(|broken| broken.to_string())?;
        if segment.marker == jpeg::SOS {
            scan = Some(segment.end);
        }
    }
    // The reader stops after the scan header, or yields a break before.
    let scan = scan.ok_or("the file ends before the image data")?;
    // Search from the end: the EOI is normally the last two bytes.
    if memchr::memmem::rfind(&bytes[scan..], &[0xFF, 0xD9]).is_some() {
        Ok(())
    } else {
        Err("no end-of-image marker after the scan data (the file was cut short)".into())
    }
}

/// Chunks must chain from the signature to `IEND` without running past the end; the header
/// must give the image a size, and there must be image data.
fn check_png(bytes: &[u8]) -> Result<(), Malformation> {
    let mut image_data = false;
    for (index, chunk) in png::chunks(bytes).enumerate() {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(png::Break::Overrun { kind, .. }) if index == 0 && &kind != b"IHDR" => {
                return Err("the first chunk is not IHDR".into())
            }
            Err(broken) => return Err(broken.to_string().into()),
        };
        if index == 0 {
            if &chunk.kind != b"IHDR" {
                return Err("the first chunk is not IHDR".into());
            }
            if be_u32(chunk.data, 0) == Some(0) || be_u32(chunk.data, 4) == Some(0) {
                return Err("the header gives the image no pixels (a width or height of 0)".into());
            }
        }
        image_data |= &chunk.kind == b"IDAT";
        if &chunk.kind == b"IEND" {
            return if image_data {
                Ok(())
            } else {
                Err("there is no image data (IDAT chunk)".into())
            };
        }
    }
    // The reader yields a break before it runs out without IEND.
    Err("the file ends before the IEND chunk".into())
}

/// The RIFF length must fit the file, and the chunks inside it must chain.
fn check_riff(bytes: &[u8]) -> Result<(), Malformation> {
    let riff_len = bytes
        .get(4..8)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or("the RIFF header is cut off")?;
    let end = riff_len
        .checked_add(8)
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| {
            format!(
                "the RIFF header declares {} bytes but the file has {}",
                riff_len.saturating_add(8),
                bytes.len()
            )
        })?;
    if 12 + 8 > end {
        return Err("no chunks after the WEBP header".into());
    }
    let mut image_data = false;
    for chunk in riff::chunks(bytes) {
        let chunk = chunk.map_err(|broken| broken.to_string())?;
        image_data |= matches!(&chunk.fourcc, b"VP8 " | b"VP8L" | b"ANMF");
    }
    if !image_data {
        return Err("there is no image data (VP8, VP8L or ANMF chunk)".into());
    }
    Ok(())
}

/// The header must point at a first IFD inside the file whose entry table fits, and the chain
/// of IFDs must end (a chain that loops back sends readers round forever).
fn check_tiff(bytes: &[u8]) -> Result<(), Malformation> {
    let tiff = Tiff::new(bytes).ok_or("not a TIFF header")?;
    let mut chain = tiff.chain();
    match chain.next() {
        Some(Ok(ifd0)) if ifd0.declared() > 0 && ifd0.is_complete() => {}
        Some(Err(broken @ (tiff::Break::HeaderCutOff | tiff::Break::IntoHeader { .. }))) => {
            return Err(broken.to_string().into())
        }
        _ => return Err("the first IFD runs past the end of the file".into()),
    }
    for ifd in chain {
        match ifd {
            Err(broken @ tiff::Break::Loop { .. }) => return Err(broken.to_string().into()),
            Err(_) => break, // a later IFD past the end: readers stop there
            Ok(_) => {}
        }
    }
    Ok(())
}

/// Blocks must chain from the logical screen descriptor to the `;` trailer.
fn check_gif(bytes: &[u8]) -> Result<(), Malformation> {
    let cut = || "the file ends before the GIF trailer (it was cut short)".to_string();
    let flags = *bytes.get(10).ok_or_else(cut)?;
    let mut pos = 13;
    if flags & 0x80 != 0 {
        pos += 3 << ((flags & 0x07) + 1);
    }
    let skip_sub_blocks = |mut pos: usize| -> Option<usize> {
        loop {
            let len = *bytes.get(pos)? as usize;
            pos += 1;
            if len == 0 {
                return Some(pos);
            }
            pos += len;
        }
    };
    loop {
        match *bytes.get(pos).ok_or_else(cut)? {
            0x3B => return Ok(()),
            0x21 => pos = skip_sub_blocks(pos + 2).ok_or_else(cut)?,
            0x2C => {
                let flags = *bytes.get(pos + 9).ok_or_else(cut)?;
                pos += 10;
                if flags & 0x80 != 0 {
                    pos += 3 << ((flags & 0x07) + 1);
                }
                pos = skip_sub_blocks(pos + 1).ok_or_else(cut)?; // +1: LZW minimum code size
            }
            other => return Err(format!("unexpected block 0x{other:02X} at byte {pos}").into()),
        }
    }
}

/// Top-level boxes must chain to the end of the file; an image needs `mdat` and a `meta` box
/// whose own boxes chain and include its handler (`hdlr`).
fn check_bmff(bytes: &[u8]) -> Result<(), Malformation> {
    let boxes = bmff::all_boxes(bytes, 0, bytes.len()).map_err(|broken| broken.to_string())?;
    if !boxes.iter().any(|b| &b.kind == b"mdat") {
        return Err("no 'mdat' box (the image data is missing)".into());
    }
    let meta = boxes
        .iter()
        .find(|b| &b.kind == b"meta")
        .ok_or("no 'meta' box")?;
    // `meta` is a full box: version and flags, then its children.
    let children = bmff::all_boxes(bytes, meta.body.start + 4, meta.body.end)
        .map_err(|broken| format!("the 'meta' box is corrupt: {broken}"))?;
    if !children.iter().any(|b| &b.kind == b"hdlr") {
        return Err("the 'meta' box has no handler ('hdlr')".into());
    }
    Ok(())
}

/// A bare codestream has no boxes to walk; a container's boxes must fit and one must hold the
/// codestream (`jxlc`, or `jxlp` parts).
fn check_jxl(bytes: &[u8]) -> Result<(), Malformation> {
    if bytes.starts_with(JXL_CODESTREAM) {
        return Ok(());
    }
    let boxes = bmff::all_boxes(bytes, 0, bytes.len()).map_err(|broken| broken.to_string())?;
    if !boxes
        .iter()
        .any(|b| &b.kind == b"jxlc" || &b.kind == b"jxlp")
    {
        return Err("no codestream box ('jxlc' or 'jxlp')".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::FormatError;

    #[test]
    fn structure_checks_never_panic_on_short_input() {
        for format in Format::ALL {
            for len in 0..24 {
                let _ = format.check_structure(&b"RIFF\x00\x00\x00\x00WEBPVP8 \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"[..len]);
                let _ = format.check_structure(&vec![0xFF; len]);
            }
        }
    }

    #[test]
    fn truncated_jpeg_is_malformed() {
        // SOI, a tiny APP0, SOS header, some scan bytes, no EOI.
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00];
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34, 0x56]);
        let err = Format::identify(&jpeg).unwrap_err();
        assert!(
            matches!(
                err,
                FormatError::Malformed {
                    format: Format::Jpeg,
                    ..
                }
            ),
            "{err}"
        );
        jpeg.extend_from_slice(&[0xFF, 0xD9]);
        assert_eq!(Format::identify(&jpeg).unwrap(), Format::Jpeg);
    }

    #[test]
    fn images_without_pixels_and_looping_containers_are_malformed() {
        let chunk = png::chunk;
        let png = |width: u32, idat: bool| {
            let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
            let mut ihdr = width.to_be_bytes().to_vec();
            ihdr.extend_from_slice(&8u32.to_be_bytes());
            ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
            png.extend(chunk(b"IHDR", &ihdr));
            if idat {
                png.extend(chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0, 0, 0, 0, 1]));
            }
            png.extend(chunk(b"IEND", &[]));
            png
        };
        assert!(Format::identify(&png(8, true)).is_ok());
        assert!(Format::identify(&png(0, true)).is_err(), "0 pixels wide");
        assert!(Format::identify(&png(8, false)).is_err(), "no IDAT");
        // A TIFF whose one IFD names itself as the next.
        let order = tiff::ByteOrder::LITTLE;
        let width = tiff::entry(order, 256, tiff::kind::SHORT, 1, [8, 0, 0, 0]);
        let tiff = |next: u32| {
            [
                &b"II*\0\x08\0\0\0"[..],
                &tiff::directory(order, &[width], next),
            ]
            .concat()
        };
        let err = Format::identify(&tiff(8)).unwrap_err().to_string();
        assert!(err.contains("loops"), "{err}");
        assert!(Format::identify(&tiff(0)).is_ok());
    }

    #[test]
    fn png_chunk_past_end_is_malformed() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend_from_slice(&13u32.to_be_bytes());
        png.extend_from_slice(b"IHDR");
        png.extend_from_slice(&[0; 5]); // 13 declared, 5 present
        assert!(Format::identify(&png).is_err());
    }
}
