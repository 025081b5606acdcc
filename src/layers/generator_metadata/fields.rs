//! Reading the metadata fields generators write: PNG text chunks (`tEXt`, `zTXt`, `iTXt`, before
//! or after the image data) and EXIF (JPEG APP1, WebP `EXIF`, PNG `eXIf`, TIFF IFD0).
//!
//! Inputs are untrusted: every length is checked, and all text read from one file, inflated and
//! converted, is charged to one [`TextBudget`]; once it is spent nothing more is read, so the
//! memory and the work are bounded whatever the number of chunks.

use crate::container::tiff::{self, Tiff};
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

/// The IFD0 tag whose value is the offset of the Exif IFD.
const EXIF_IFD: u16 = 0x8769;

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
fn exif(block: &[u8], budget: &mut TextBudget) -> Vec<(Field, String)> {
    let Some(tiff) = Tiff::new(block) else {
        return Vec::new();
    };
    let mut fields = Vec::new();
    let ifd0 = tiff.first_ifd().and_then(|at| tiff.ifd(at));
    let exif_ifd = ifd0
        .ok()
        .and_then(|ifd| ifd.find(EXIF_IFD))
        .map(|pointer| pointer.offset())
        .filter(|&at| at >= 8)
        .and_then(|at| tiff.ifd(at).ok());
    for ifd in ifd0.ok().into_iter().chain(exif_ifd) {
        for entry in ifd.entries() {
            let Some(tag) = ExifTag::from_id(entry.tag()) else {
                continue;
            };
            if !matches!(
                entry.kind(),
                tiff::kind::BYTE | tiff::kind::ASCII | tiff::kind::UNDEFINED
            ) {
                continue;
            }
            let Some(raw) = entry.value() else {
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

    use png::chunk as png_chunk;

    /// A big-endian TIFF/EXIF block with IFD0 entries (ASCII) and an Exif IFD holding a
    /// UserComment.
    pub(crate) fn exif_block(ifd0: &[(u16, &[u8])], user_comment: Option<&[u8]>) -> Vec<u8> {
        use tiff::{directory, entry, kind, ByteOrder};
        let order = ByteOrder::BIG;
        let count = ifd0.len() + usize::from(user_comment.is_some());
        let data_start = 8 + 2 + count * 12 + 4;
        let mut data_area = Vec::new();
        let mut entries = Vec::new();
        for (tag, value) in ifd0 {
            let at = (data_start + data_area.len()) as u32;
            entries.push(entry(
                order,
                *tag,
                kind::ASCII,
                value.len() as u32,
                order.put32(at),
            ));
            data_area.extend_from_slice(value);
        }
        let exif_ifd_at = (data_start + data_area.len()) as u32;
        if user_comment.is_some() {
            entries.push(entry(
                order,
                EXIF_IFD,
                kind::LONG,
                1,
                order.put32(exif_ifd_at),
            ));
        }
        let mut out = order.header().to_vec();
        out.extend_from_slice(&order.put32(8));
        out.extend(directory(order, &entries, 0));
        out.extend_from_slice(&data_area);
        if let Some(comment) = user_comment {
            let value_at = exif_ifd_at + 2 + 12 + 4;
            let comment_entry = entry(
                order,
                0x9286,
                kind::UNDEFINED,
                comment.len() as u32,
                order.put32(value_at),
            );
            out.extend(directory(order, &[comment_entry], 0));
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
