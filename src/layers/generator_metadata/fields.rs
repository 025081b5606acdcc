//! Reading the metadata fields generators write: PNG text chunks (`tEXt`, `zTXt`, `iTXt`, before
//! or after the image data) and EXIF (JPEG APP1, WebP `EXIF`, PNG `eXIf`, TIFF IFD0).
//!
//! Inputs are untrusted: every length is checked, and all text read from one file, inflated and
//! converted, is charged to one [`TextBudget`]; once it is spent nothing more is read, so the
//! memory and the work are bounded whatever the number of chunks.

use crate::byte_order::ByteOrder;
use crate::container::{jpeg, png, riff};
use crate::format::Format;
use crate::limits::{Limits, TextBudget};

/// Where a value was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// A PNG text chunk with this keyword.
    PngText(String),
    /// An EXIF tag.
    Exif(ExifTag),
}

/// The EXIF tags generators use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExifTag {
    DocumentName,
    ImageDescription,
    Make,
    Model,
    Software,
    UserComment,
}

impl ExifTag {
    fn from_id(id: u16) -> Option<Self> {
        Some(match id {
            0x010D => ExifTag::DocumentName,
            0x010E => ExifTag::ImageDescription,
            0x010F => ExifTag::Make,
            0x0110 => ExifTag::Model,
            0x0131 => ExifTag::Software,
            0x9286 => ExifTag::UserComment,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            ExifTag::DocumentName => "DocumentName",
            ExifTag::ImageDescription => "ImageDescription",
            ExifTag::Make => "Make",
            ExifTag::Model => "Model",
            ExifTag::Software => "Software",
            ExifTag::UserComment => "UserComment",
        }
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Field::PngText(keyword) => write!(f, "PNG text chunk '{keyword}'"),
            Field::Exif(tag) => write!(f, "EXIF {}", tag.name()),
        }
    }
}

/// Every generator-relevant field of an image, in file order, until the text budget of
/// `limits` is spent.
pub fn read(format: Format, image: &[u8], limits: &Limits) -> Vec<(Field, String)> {
    let budget = &mut TextBudget::new(limits);
    let mut fields = Vec::new();
    match format {
        Format::Png => {
            // Every whole chunk up to where the chain breaks.
            for chunk in png::chunks(image).map_while(Result::ok) {
                let (kind, data) = (&chunk.kind, chunk.data);
                match kind {
                    b"tEXt" | b"zTXt" | b"iTXt" => fields.extend(png_text(kind, data, budget)),
                    b"eXIf" => fields.extend(exif(data, budget)),
                    _ => {}
                }
                if budget.is_spent() {
                    break;
                }
            }
        }
        Format::Jpeg => {
            for payload in jpeg_app1(image) {
                if let Some(tiff) = payload.strip_prefix(b"Exif\0\0") {
                    fields.extend(exif(tiff, budget));
                }
            }
        }
        Format::Webp => {
            // Every whole chunk up to where the chain breaks, past a declared length of 0.
            for chunk in riff::chunks_to_end(image).map_while(Result::ok) {
                if &chunk.fourcc == b"EXIF" {
                    let data = &image[chunk.data];
                    fields.extend(exif(data.strip_prefix(b"Exif\0\0").unwrap_or(data), budget));
                }
            }
        }
        Format::Tiff => fields.extend(exif(image, budget)),
        _ => {}
    }
    fields
}

/// The keyword and text of a `tEXt` (Latin-1), `zTXt` (compressed Latin-1) or `iTXt` (UTF-8,
/// maybe compressed) chunk, charged to `budget`.
fn png_text(kind: &[u8], data: &[u8], budget: &mut TextBudget) -> Option<(Field, String)> {
    let nul = data.iter().position(|b| *b == 0)?;
    let keyword = latin1(&data[..nul]);
    let rest = &data[nul + 1..];
    let text = match kind {
        b"tEXt" => latin1_within(rest, budget)?,
        b"zTXt" => latin1_within(&budget.inflate(rest.get(1..)?)?, budget)?,
        _ => {
            let (compressed, rest) = (*rest.first()? == 1, rest.get(2..)?);
            let language_end = rest.iter().position(|b| *b == 0)?;
            let rest = &rest[language_end + 1..];
            let translated_end = rest.iter().position(|b| *b == 0)?;
            let text = &rest[translated_end + 1..];
            if compressed {
                let bytes = budget.inflate(text)?;
                budget.charge(String::from_utf8_lossy(&bytes).into_owned())?
            } else if budget.admits(text.len()) {
                budget.charge(String::from_utf8_lossy(text).into_owned())?
            } else {
                return None;
            }
        }
    };
    Some((Field::PngText(keyword), text))
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// Latin-1 text converted to UTF-8 (where bytes above 0x7F take two) and charged to `budget`.
fn latin1_within(bytes: &[u8], budget: &mut TextBudget) -> Option<String> {
    if !budget.admits(bytes.len()) {
        return None;
    }
    budget.charge(latin1(bytes))
}

/// Payloads of the JPEG APP1 segments before the image data, up to where the segments break.
fn jpeg_app1(image: &[u8]) -> Vec<&[u8]> {
    jpeg::segments(image)
        .map_while(Result::ok)
        .filter(|segment| segment.marker == 0xE1)
        .map(|segment| segment.data)
        .collect()
}

/// The generator-relevant tags of IFD0 and the Exif IFD of a TIFF-structured EXIF block,
/// charged to `budget`.
fn exif(tiff: &[u8], budget: &mut TextBudget) -> Vec<(Field, String)> {
    let Some(order) = ByteOrder::of_tiff(tiff) else {
        return Vec::new();
    };
    let u16_at = |at: usize| order.u16_at(tiff, at);
    let u32_at = |at: usize| order.u32_at(tiff, at);
    let mut fields = Vec::new();
    let mut ifds = vec![u32_at(4).unwrap_or(0)];
    let mut visited = 0;
    while let Some(ifd) = ifds.pop() {
        visited += 1;
        if visited > 2 || ifd < 8 {
            break; // IFD0 and the Exif IFD only; no loops
        }
        let Some(count) = u16_at(ifd) else { continue };
        for i in 0..count {
            let entry = ifd + 2 + i * 12;
            let (Some(tag), Some(kind), Some(len)) =
                (u16_at(entry), u16_at(entry + 2), u32_at(entry + 4))
            else {
                break;
            };
            if tag == 0x8769 {
                ifds.extend(u32_at(entry + 8));
                continue;
            }
            let Some(tag) = ExifTag::from_id(tag as u16) else {
                continue;
            };
            // ASCII (2) and UNDEFINED (7) and BYTE (1): one byte per unit.
            if !matches!(kind, 1 | 2 | 7) {
                continue;
            }
            let start = if len <= 4 {
                entry + 8
            } else {
                u32_at(entry + 8).unwrap_or(usize::MAX)
            };
            let Some(raw) = tiff.get(start..start.saturating_add(len)) else {
                continue;
            };
            if !budget.admits(raw.len()) {
                return fields;
            }
            let text = if tag == ExifTag::UserComment {
                user_comment(raw)
            } else {
                latin1(raw.split(|b| *b == 0).next().unwrap_or(raw))
                    .trim()
                    .to_string()
            };
            match budget.charge(text) {
                Some(text) if !text.is_empty() => fields.push((Field::Exif(tag), text)),
                Some(_) => {}
                None => return fields,
            }
        }
    }
    fields
}

/// A UserComment: an 8-byte character-code prefix, then the text (`UNICODE` is UTF-16 in either
/// byte order; the writers disagree).
fn user_comment(raw: &[u8]) -> String {
    let (code, body) = raw.split_at(raw.len().min(8));
    if code.starts_with(b"UNICODE") {
        let big_endian = match body {
            [0xFE, 0xFF, ..] => true,
            [0xFF, 0xFE, ..] => false,
            [0, b, ..] if *b != 0 => true,
            _ => false,
        };
        let units = body.chunks_exact(2).map(|pair| {
            if big_endian {
                u16::from_be_bytes([pair[0], pair[1]])
            } else {
                u16::from_le_bytes([pair[0], pair[1]])
            }
        });
        char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .filter(|c| *c != '\u{feff}' && *c != '\0')
            .collect::<String>()
            .trim()
            .to_string()
    } else if code.starts_with(b"ASCII") || code.iter().all(|b| *b == 0) {
        latin1(body.split(|b| *b == 0).next().unwrap_or(body))
            .trim()
            .to_string()
    } else {
        String::from_utf8_lossy(raw)
            .trim_matches('\0')
            .trim()
            .to_string()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A PNG chunk with a correct CRC.
    pub(crate) fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        png::chunk(kind, data)
    }

    /// A big-endian TIFF/EXIF block with IFD0 entries and an Exif IFD holding a UserComment.
    pub(crate) fn exif_block(ifd0: &[(u16, &[u8])], user_comment: Option<&[u8]>) -> Vec<u8> {
        let mut entries: Vec<(u16, u16, Vec<u8>)> =
            ifd0.iter().map(|(tag, v)| (*tag, 2, v.to_vec())).collect();
        let exif_ifd_entry = user_comment.is_some();
        let count = entries.len() + usize::from(exif_ifd_entry);
        let ifd0_size = 2 + count * 12 + 4;
        let mut data_area = Vec::new();
        let data_start = 8 + ifd0_size;
        let mut out = b"MM\0*\0\0\0\x08".to_vec();
        out.extend_from_slice(&(count as u16).to_be_bytes());
        for (tag, kind, value) in entries.drain(..) {
            out.extend_from_slice(&tag.to_be_bytes());
            out.extend_from_slice(&kind.to_be_bytes());
            out.extend_from_slice(&(value.len() as u32).to_be_bytes());
            out.extend_from_slice(&((data_start + data_area.len()) as u32).to_be_bytes());
            data_area.extend_from_slice(&value);
        }
        let exif_ifd_at = data_start + data_area.len();
        if exif_ifd_entry {
            out.extend_from_slice(&0x8769u16.to_be_bytes());
            out.extend_from_slice(&4u16.to_be_bytes());
            out.extend_from_slice(&1u32.to_be_bytes());
            out.extend_from_slice(&(exif_ifd_at as u32).to_be_bytes());
        }
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&data_area);
        if let Some(comment) = user_comment {
            let value_at = exif_ifd_at + 2 + 12 + 4;
            out.extend_from_slice(&1u16.to_be_bytes());
            out.extend_from_slice(&0x9286u16.to_be_bytes());
            out.extend_from_slice(&7u16.to_be_bytes());
            out.extend_from_slice(&(comment.len() as u32).to_be_bytes());
            out.extend_from_slice(&(value_at as u32).to_be_bytes());
            out.extend_from_slice(&0u32.to_be_bytes());
            out.extend_from_slice(comment);
        }
        out
    }

    #[test]
    fn reads_text_chunks_of_every_kind() {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"compressed value").unwrap();
        let compressed = z.finish().unwrap();
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(png_chunk(b"IHDR", &[0; 13]));
        png.extend(png_chunk(b"tEXt", b"parameters\0plain \xe9"));
        let mut ztxt = b"comment\0\0".to_vec();
        ztxt.extend_from_slice(&compressed);
        png.extend(png_chunk(b"zTXt", &ztxt));
        let mut itxt = b"note\0\x01\0en\0\0".to_vec();
        itxt.extend_from_slice(&compressed);
        png.extend(png_chunk(b"IDAT", &[1, 2, 3]));
        png.extend(png_chunk(b"iTXt", &itxt)); // after the image data
        png.extend(png_chunk(b"IEND", &[]));
        let fields = read(Format::Png, &png, &Limits::default());
        assert_eq!(
            fields,
            vec![
                (Field::PngText("parameters".into()), "plain é".into()),
                (Field::PngText("comment".into()), "compressed value".into()),
                (Field::PngText("note".into()), "compressed value".into()),
            ]
        );
    }

    #[test]
    fn reads_exif_ifd0_and_utf16_user_comments_in_both_byte_orders() {
        let mut be = b"UNICODE\0".to_vec();
        be.extend("Steps: 20".encode_utf16().flat_map(|u| u.to_be_bytes()));
        let block = exif_block(
            &[
                (0x0131, b"Fooocus v2.5\0"),
                (0x010F, b"Black Forest Labs\0"),
            ],
            Some(&be),
        );
        let fields = exif(&block, &mut TextBudget::new(&Limits::default()));
        assert!(fields.contains(&(Field::Exif(ExifTag::Software), "Fooocus v2.5".into())));
        assert!(fields.contains(&(Field::Exif(ExifTag::Make), "Black Forest Labs".into())));
        assert!(fields.contains(&(Field::Exif(ExifTag::UserComment), "Steps: 20".into())));
        let mut le = b"UNICODE\0".to_vec();
        le.extend("Screenshot".encode_utf16().flat_map(|u| u.to_le_bytes()));
        assert_eq!(user_comment(&le), "Screenshot");
        assert_eq!(user_comment(b"ASCII\0\0\0hello\0"), "hello");
    }

    #[test]
    fn malformed_inputs_give_nothing_not_a_panic() {
        let mut odd = b"UNICODE\0".to_vec();
        odd.extend_from_slice(&[0xD8, 0x00, 0x41]); // lone surrogate, odd length
        let _ = user_comment(&odd);
        for bytes in [
            &b""[..],
            b"MM\0*\xff\xff\xff\xff",
            b"II*\0\x08\0\0\0\xff\xff",
            b"\x89PNG\r\n\x1a\n\0\0\0\x05tEXtab",
            b"\x89PNG\r\n\x1a\n\xff\xff\xff\xffzTXt",
        ] {
            for format in [Format::Png, Format::Jpeg, Format::Webp, Format::Tiff] {
                let _ = read(format, bytes, &Limits::default());
            }
        }
        // A zTXt whose stream is garbage is skipped.
        assert!(png_text(
            b"zTXt",
            b"k\0\0not zlib",
            &mut TextBudget::new(&Limits::default())
        )
        .is_none());
    }
}
