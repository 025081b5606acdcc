//! Image formats: sniffing from magic bytes and a cheap structural completeness check.
//!
//! synthmark never trusts a file extension. [`Format::sniff`] looks at the first bytes, and
//! [`Format::check_structure`] walks the container (segments, chunks, blocks or boxes) without
//! decoding pixels, so an empty, truncated or mislabelled file is refused with a reason before
//! anything is signed.

use std::fmt;
use std::io::{self, Read};
use std::path::Path;

use crate::byte_order::ByteOrder;
use crate::container::{jpeg, png, riff};

/// The largest file synthmark reads as an image (1 GiB). Larger files are refused before they are
/// read, so one bad upload cannot exhaust the memory of a batch or a server.
pub const MAX_IMAGE_BYTES: u64 = 1 << 30;

/// Reads an image file, refusing files larger than [`MAX_IMAGE_BYTES`] (`ErrorKind::InvalidData`).
pub fn read_image_file(path: &Path) -> io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len > MAX_IMAGE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the file is {} MiB; synthmark reads images up to {} MiB",
                len >> 20,
                MAX_IMAGE_BYTES >> 20
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(MAX_IMAGE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_IMAGE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the file grew past the size limit while it was read",
        ));
    }
    Ok(bytes)
}

/// What a structure walk found wrong, in words: the reason of [`FormatError::Malformed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformation(String);

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

/// An image container synthmark can stamp and check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Format {
    Jpeg,
    Png,
    Webp,
    Tiff,
    Gif,
    Avif,
    Heic,
    /// JPEG XL, a bare codestream or the ISO-BMFF-style container (which alone can carry C2PA
    /// and XMP boxes). Checked for credentials and metadata only: this build has no JPEG XL
    /// pixel decoder.
    Jxl,
}

/// The JPEG XL container's signature box.
const JXL_CONTAINER: &[u8] = b"\0\0\0\x0cJXL \r\n\x87\n";
/// A bare JPEG XL codestream's signature.
const JXL_CODESTREAM: &[u8] = b"\xff\x0a";

/// Why a file is not a usable image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    #[error("the file is empty")]
    Empty,
    #[error("not a supported image (expected JPEG, PNG, WebP, TIFF, GIF, AVIF, HEIC or JPEG XL; the first bytes are {0})")]
    Unrecognised(String),
    #[error("{format} is truncated or corrupt: {reason}")]
    Malformed { format: Format, reason: String },
    /// A bare JPEG XL codestream: readable, but with nowhere to put credentials or metadata.
    #[error("a bare JPEG XL codestream has no container to carry credentials; wrap it in the JPEG XL container first (e.g. `cjxl --container=1`)")]
    BareJxlCodestream,
}

impl Format {
    /// The `image` crate's decoder for this format, or `None` when this build has none
    /// (AVIF, HEIC, JPEG XL).
    pub fn image_format(self) -> Option<image::ImageFormat> {
        match self {
            Format::Jpeg => Some(image::ImageFormat::Jpeg),
            Format::Png => Some(image::ImageFormat::Png),
            Format::Webp => Some(image::ImageFormat::WebP),
            Format::Tiff => Some(image::ImageFormat::Tiff),
            Format::Gif => Some(image::ImageFormat::Gif),
            Format::Avif | Format::Heic | Format::Jxl => None,
        }
    }

    /// Every format, in a stable order.
    pub const ALL: [Format; 8] = [
        Format::Jpeg,
        Format::Png,
        Format::Webp,
        Format::Tiff,
        Format::Gif,
        Format::Avif,
        Format::Heic,
        Format::Jxl,
    ];

    /// Identifies the format from the leading bytes of a file.
    pub fn sniff(bytes: &[u8]) -> Result<Format, FormatError> {
        if bytes.is_empty() {
            return Err(FormatError::Empty);
        }
        let format = if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Format::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Format::Png)
        } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Format::Webp)
        } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
            Some(Format::Tiff)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(Format::Gif)
        } else if bytes.starts_with(JXL_CONTAINER) || bytes.starts_with(JXL_CODESTREAM) {
            Some(Format::Jxl)
        } else {
            sniff_heif_brand(bytes)
        };
        format.ok_or_else(|| FormatError::Unrecognised(describe_prefix(bytes)))
    }

    /// The MIME type the `c2pa` crate expects for this format.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
            Format::Tiff => "image/tiff",
            Format::Gif => "image/gif",
            Format::Avif => "image/avif",
            Format::Heic => "image/heic",
            Format::Jxl => "image/jxl",
        }
    }

    /// File extensions that usually carry this format (lower case, without the dot).
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Format::Jpeg => &["jpg", "jpeg", "jpe", "jfif"],
            Format::Png => &["png"],
            Format::Webp => &["webp"],
            Format::Tiff => &["tif", "tiff", "dng"],
            Format::Gif => &["gif"],
            Format::Avif => &["avif"],
            Format::Heic => &["heic", "heif", "hif"],
            Format::Jxl => &["jxl"],
        }
    }

    /// True when `ext` (without the dot, any case) is an extension of some supported format.
    pub fn is_image_extension(ext: &str) -> bool {
        let ext = ext.to_ascii_lowercase();
        Format::ALL
            .iter()
            .any(|f| f.extensions().contains(&ext.as_str()))
    }

    /// Walks the container structure and reports the first inconsistency: a length that runs past
    /// the end of the file, a missing end marker, an unexpected block. No pixels are decoded.
    pub fn check_structure(self, bytes: &[u8]) -> Result<(), FormatError> {
        let result = match self {
            Format::Jpeg => check_jpeg(bytes),
            Format::Png => check_png(bytes),
            Format::Webp => check_riff(bytes),
            Format::Tiff => check_tiff(bytes),
            Format::Gif => check_gif(bytes),
            Format::Avif | Format::Heic => check_bmff(bytes),
            Format::Jxl => check_jxl(bytes),
        };
        result.map_err(|reason| FormatError::Malformed {
            format: self,
            reason: reason.0,
        })
    }

    /// True for a bare JPEG XL codestream (no container boxes).
    pub fn is_bare_jxl(self, bytes: &[u8]) -> bool {
        self == Format::Jxl && bytes.starts_with(JXL_CODESTREAM)
    }

    /// [`Format::sniff`] followed by [`Format::check_structure`].
    pub fn identify(bytes: &[u8]) -> Result<Format, FormatError> {
        let format = Format::sniff(bytes)?;
        format.check_structure(bytes)?;
        Ok(format)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::Webp => "WebP",
            Format::Tiff => "TIFF",
            Format::Gif => "GIF",
            Format::Avif => "AVIF",
            Format::Heic => "HEIC",
            Format::Jxl => "JPEG XL",
        })
    }
}

/// AVIF and HEIC are ISO-BMFF files: an `ftyp` box whose major or compatible brands say which.
fn sniff_heif_brand(bytes: &[u8]) -> Option<Format> {
    if bytes.len() < 16 || &bytes[4..8] != b"ftyp" {
        return None;
    }
    let size = u32::from_be_bytes(bytes[0..4].try_into().ok()?) as usize;
    let end = size.clamp(16, bytes.len());
    let brands = std::iter::once(&bytes[8..12]).chain(bytes[16..end].chunks_exact(4));
    let mut heif = false;
    for brand in brands {
        match brand {
            b"avif" | b"avis" => return Some(Format::Avif),
            b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"mif1" | b"msf1" => {
                heif = true
            }
            _ => {}
        }
    }
    heif.then_some(Format::Heic)
}

fn describe_prefix(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(8)];
    let hex: Vec<String> = head.iter().map(|b| format!("{b:02x}")).collect();
    if head
        .iter()
        .all(|b| b.is_ascii_graphic() || *b == b' ' || b.is_ascii_whitespace())
    {
        format!(
            "{} (text: {:?})",
            hex.join(" "),
            String::from_utf8_lossy(head)
        )
    } else {
        hex.join(" ")
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
    let order = ByteOrder::of_tiff(bytes).ok_or("not a TIFF header")?;
    let ifd = order.u32_at(bytes, 4).ok_or("the header is cut off")?;
    if ifd < 8 {
        return Err(format!("the first IFD offset {ifd} points into the header").into());
    }
    let entries = order
        .u16_at(bytes, ifd)
        .ok_or("the first IFD lies past the end of the file")?;
    if entries == 0 || ifd + 2 + entries * 12 + 4 > bytes.len() {
        return Err("the first IFD runs past the end of the file".into());
    }
    let mut seen = std::collections::HashSet::new();
    let mut next = ifd;
    while next != 0 {
        if !seen.insert(next) {
            return Err(format!("the chain of IFDs loops back to byte {next}").into());
        }
        let Some(count) = order.u16_at(bytes, next) else {
            break; // a later IFD past the end: readers stop there
        };
        match order.u32_at(bytes, next + 2 + count * 12) {
            Some(offset) => next = offset,
            None => break,
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

/// A box's type and where its body starts and ends.
pub(crate) type BoxSpan<'a> = (&'a [u8], usize, usize);

/// The boxes in `bytes[start..end]`, or where they stop chaining.
pub(crate) fn bmff_boxes(
    bytes: &[u8],
    start: usize,
    end: usize,
) -> Result<Vec<BoxSpan<'_>>, Malformation> {
    let mut boxes = Vec::new();
    let mut pos = start;
    while pos < end {
        let size32 =
            be_u32(bytes, pos).ok_or_else(|| format!("box header at byte {pos} is cut off"))?;
        let kind = bytes
            .get(pos + 4..pos + 8)
            .filter(|_| pos + 8 <= end)
            .ok_or_else(|| format!("box header at byte {pos} is cut off"))?;
        let (size, header) = match size32 {
            0 => (end - pos, 8),
            1 => {
                let b: [u8; 8] = bytes
                    .get(pos + 8..pos + 16)
                    .and_then(|s| s.try_into().ok())
                    .ok_or_else(|| format!("box header at byte {pos} is cut off"))?;
                let size = usize::try_from(u64::from_be_bytes(b))
                    .map_err(|_| "box too large".to_string())?;
                (size, 16)
            }
            n => (n, 8),
        };
        if size < header || pos.checked_add(size).is_none_or(|box_end| box_end > end) {
            return Err(format!(
                "box '{}' at byte {pos} runs past the end of its container",
                String::from_utf8_lossy(kind)
            )
            .into());
        }
        boxes.push((kind, pos + header, pos + size));
        pos += size;
    }
    Ok(boxes)
}

/// Top-level boxes must chain to the end of the file; an image needs `mdat` and a `meta` box
/// whose own boxes chain and include its handler (`hdlr`).
fn check_bmff(bytes: &[u8]) -> Result<(), Malformation> {
    let boxes = bmff_boxes(bytes, 0, bytes.len())?;
    if !boxes.iter().any(|(kind, ..)| *kind == b"mdat") {
        return Err("no 'mdat' box (the image data is missing)".into());
    }
    let (_, meta_start, meta_end) = *boxes
        .iter()
        .find(|(kind, ..)| *kind == b"meta")
        .ok_or("no 'meta' box")?;
    // `meta` is a full box: version and flags, then its children.
    let children = bmff_boxes(bytes, meta_start + 4, meta_end)
        .map_err(|reason| format!("the 'meta' box is corrupt: {reason}"))?;
    if !children.iter().any(|(kind, ..)| *kind == b"hdlr") {
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
    let boxes = bmff_boxes(bytes, 0, bytes.len())?;
    if !boxes
        .iter()
        .any(|(kind, ..)| *kind == b"jxlc" || *kind == b"jxlp")
    {
        return Err("no codestream box ('jxlc' or 'jxlp')".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_magic_not_extension() {
        assert_eq!(
            Format::sniff(b"\x89PNG\r\n\x1a\nrest").unwrap(),
            Format::Png
        );
        assert_eq!(
            Format::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]).unwrap(),
            Format::Jpeg
        );
        assert_eq!(
            Format::sniff(b"RIFF\0\0\0\0WEBPVP8 ").unwrap(),
            Format::Webp
        );
        assert_eq!(Format::sniff(b"GIF89a").unwrap(), Format::Gif);
        assert_eq!(Format::sniff(b"MM\0*\0\0\0\x08").unwrap(), Format::Tiff);
        let avif = b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf";
        assert_eq!(Format::sniff(avif).unwrap(), Format::Avif);
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
        assert_eq!(Format::sniff(heic).unwrap(), Format::Heic);
    }

    #[test]
    fn refuses_empty_and_text() {
        assert_eq!(Format::sniff(b""), Err(FormatError::Empty));
        let err = Format::sniff(b"hello world").unwrap_err().to_string();
        assert!(err.contains("not a supported image"), "{err}");
        assert!(err.contains("hello wo"), "{err}");
    }

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
        let mut tiff = b"II*\0\x08\0\0\0\x01\0".to_vec();
        tiff.extend_from_slice(&[0x00, 0x01, 3, 0, 1, 0, 0, 0, 8, 0, 0, 0]);
        tiff.extend_from_slice(&8u32.to_le_bytes());
        let err = Format::identify(&tiff).unwrap_err().to_string();
        assert!(err.contains("loops"), "{err}");
        tiff.truncate(tiff.len() - 4);
        tiff.extend_from_slice(&0u32.to_le_bytes());
        assert!(Format::identify(&tiff).is_ok());
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
