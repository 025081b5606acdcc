//! Image formats: sniffing from magic bytes and a cheap structural completeness check.
//!
//! synthmark never trusts a file extension. [`Format::sniff`] looks at the first bytes, and
//! [`Format::check_structure`] walks the container (segments, chunks, blocks or boxes) without
//! decoding pixels, so an empty, truncated or mislabelled file is refused with a reason before
//! anything is signed.

use std::fmt;
use std::io::{self, Read};
use std::path::Path;

mod structure;

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

/// An image container synthmark can stamp and check.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
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
        structure::check(self, bytes).map_err(|reason| FormatError::Malformed {
            format: self,
            reason: reason.to_string(),
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
}
