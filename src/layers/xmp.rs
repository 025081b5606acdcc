//! The XMP layer: the IPTC `Iptc4xmpExt:DigitalSourceType` property in the image's own XMP packet.
//!
//! Platforms that read IPTC photo metadata but not C2PA learn from this property that an image is
//! AI-generated. It is written before the C2PA manifest is signed, so it sits inside the hashed
//! range. An existing packet is edited in place (JPEG allows only one standard XMP packet):
//! the property is replaced, or added to the first `rdf:Description`, and everything else is kept.
//!
//! Writing and reading work for JPEG (APP1), PNG (`iTXt`), WebP (`XMP ` chunk, promoting a simple
//! file to the extended `VP8X` layout), GIF (the XMP application extension) and TIFF (tag 700).
//! AVIF and HEIC are not written: the C2PA manifest carries the source type there.

use crate::format::Format;

/// The IPTC Extension namespace.
const IPTC_EXT_NS: &str = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/";
/// Identifies the standard XMP packet in a JPEG APP1 segment.
const JPEG_XMP_HEADER: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
/// The largest APP1 payload a JPEG segment can carry.
const JPEG_SEGMENT_MAX: usize = 65_533;
/// The PNG `iTXt` keyword of an XMP packet.
const PNG_XMP_KEYWORD: &[u8] = b"XML:com.adobe.xmp";
/// The GIF application extension identifier and authentication code of an XMP packet.
const GIF_XMP_APP: &[u8] = b"XMP DataXMP";

/// Why XMP could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum XmpError {
    #[error("writing XMP into {0} files is not supported")]
    Unsupported(Format),
    #[error("cannot add XMP: {0}")]
    Malformed(String),
}

fn malformed(reason: impl Into<String>) -> XmpError {
    XmpError::Malformed(reason.into())
}

/// Returns a copy of `image` whose XMP says `Iptc4xmpExt:DigitalSourceType = source_type`.
pub fn embed_digital_source_type(
    format: Format,
    image: &[u8],
    source_type: &str,
) -> Result<Vec<u8>, XmpError> {
    let existing = read_packet(format, image);
    let packet = packet_with_source_type(existing.as_deref(), source_type)?;
    match format {
        Format::Jpeg => jpeg::embed(image, &packet),
        Format::Png => png::embed(image, &packet),
        Format::Webp => webp::embed(image, &packet),
        Format::Gif => gif::embed(image, &packet),
        Format::Tiff => tiff::embed(image, &packet),
        other => Err(XmpError::Unsupported(other)),
    }
}

/// The raw XMP packet (UTF-8 text) embedded in the image, if any.
pub fn read_packet(format: Format, image: &[u8]) -> Option<String> {
    let bytes = match format {
        Format::Jpeg => jpeg::find(image).map(|(_, payload)| payload),
        Format::Png => png::find(image).map(|chunk| chunk.text),
        Format::Webp => webp::find(image),
        Format::Gif => gif::find(image).map(|(_, packet)| packet),
        Format::Tiff => tiff::find(image),
        _ => None,
    }?;
    String::from_utf8(bytes.to_vec()).ok()
}

/// The `DigitalSourceType` value in the image's XMP, if any: attribute or element form, under any
/// prefix bound to the IPTC Extension namespace.
pub fn read_digital_source_type(format: Format, image: &[u8]) -> Option<String> {
    let packet = read_packet(format, image)?;
    prefixes(&packet)
        .iter()
        .find_map(|prefix| property(&packet, prefix).map(|(value, _)| value))
}

/// Prefixes bound to the IPTC Extension namespace, plus the conventional `Iptc4xmpExt`.
fn prefixes(packet: &str) -> Vec<String> {
    let mut found = vec!["Iptc4xmpExt".to_string()];
    for quote in ['"', '\''] {
        let binding = format!("={quote}{IPTC_EXT_NS}{quote}");
        let mut rest = packet;
        while let Some(at) = rest.find(&binding) {
            let before = &rest[..at];
            if let Some(start) = before.rfind("xmlns:") {
                let prefix = before[start + 6..].trim();
                if !prefix.is_empty() && !found.iter().any(|p| p == prefix) {
                    found.push(prefix.to_string());
                }
            }
            rest = &rest[at + binding.len()..];
        }
    }
    found
}

/// Finds `prefix:DigitalSourceType` as an attribute or an element; returns the unescaped value and
/// the byte range of the raw (escaped) value inside `packet`.
fn property(packet: &str, prefix: &str) -> Option<(String, std::ops::Range<usize>)> {
    let name = format!("{prefix}:DigitalSourceType");
    let mut search = 0;
    while let Some(found) = packet[search..].find(&name) {
        let at = search + found;
        search = at + name.len();
        let before = packet[..at].chars().next_back();
        let after = &packet[at + name.len()..];
        let continues_name = after
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
        if continues_name {
            continue;
        }
        if before == Some('<') {
            // Element form: text content, or an rdf:resource attribute.
            let close = after.find('>')?;
            let tag = &after[..close];
            if let Some(range) = attribute_value(tag, "rdf:resource") {
                let start = at + name.len() + range.start;
                let range = start..start + range.len();
                return Some((unescape(&packet[range.clone()]), range));
            }
            let start = at + name.len() + close + 1;
            let end = start + packet[start..].find('<')?;
            return Some((unescape(packet[start..end].trim()), start..end));
        }
        if before.is_some_and(char::is_whitespace) {
            let trimmed = after.trim_start();
            if let Some(rest) = trimmed.strip_prefix('=') {
                let rest = rest.trim_start();
                let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
                let start = packet.len() - rest.len() + 1;
                let end = start + packet[start..].find(quote)?;
                return Some((unescape(&packet[start..end]), start..end));
            }
        }
    }
    None
}

/// The range of `name="value"` inside a tag's text (relative to `tag`).
fn attribute_value(tag: &str, name: &str) -> Option<std::ops::Range<usize>> {
    let at = tag.find(name)?;
    let rest = tag[at + name.len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let start = tag.len() - rest.len() + 1;
    let end = start + tag[start..].find(quote)?;
    Some(start..end)
}

/// A packet that declares `source_type`: `existing` edited, or a new minimal packet.
fn packet_with_source_type(existing: Option<&str>, source_type: &str) -> Result<String, XmpError> {
    let value = escape(source_type);
    let Some(packet) = existing else {
        return Ok(format!(
            "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
             <x:xmpmeta xmlns:x=\"adobe:ns:meta/\" x:xmptk=\"synthmark\">\n \
             <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n  \
             <rdf:Description rdf:about=\"\" xmlns:Iptc4xmpExt=\"{IPTC_EXT_NS}\" \
             Iptc4xmpExt:DigitalSourceType=\"{value}\"/>\n \
             </rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>"
        ));
    };
    for prefix in prefixes(packet) {
        if let Some((_, range)) = property(packet, &prefix) {
            let mut edited = packet.to_string();
            edited.replace_range(range, &value);
            return Ok(edited);
        }
    }
    let tag = "<rdf:Description";
    let at = packet
        .find(tag)
        .ok_or_else(|| malformed("the existing XMP packet has no rdf:Description"))?;
    let insert = at + tag.len();
    let declared = packet.contains(&format!("xmlns:Iptc4xmpExt=\"{IPTC_EXT_NS}\""));
    let mut addition = String::new();
    if !declared {
        addition.push_str(&format!(" xmlns:Iptc4xmpExt=\"{IPTC_EXT_NS}\""));
    }
    addition.push_str(&format!(" Iptc4xmpExt:DigitalSourceType=\"{value}\""));
    let mut edited = packet.to_string();
    edited.insert_str(insert, &addition);
    Ok(edited)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn be_u16(bytes: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?) as usize)
}

fn be_u32(bytes: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize)
}

fn le_u32(bytes: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize)
}

mod jpeg {
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
}

mod png {
    //! XMP in a PNG `iTXt` chunk.
    use super::*;

    pub(super) struct Chunk<'a> {
        pub range: std::ops::Range<usize>,
        pub text: &'a [u8],
    }

    /// The uncompressed XMP `iTXt` chunk (whole chunk range) and its text.
    pub(super) fn find(image: &[u8]) -> Option<Chunk<'_>> {
        let mut pos = 8;
        while let (Some(len), Some(kind)) = (be_u32(image, pos), image.get(pos + 4..pos + 8)) {
            let data = image.get(pos + 8..pos + 8 + len)?;
            if kind == b"iTXt" && data.starts_with(PNG_XMP_KEYWORD) {
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
                    range: pos..pos + 12 + len,
                    text: rest.get(translated_end + 1..)?,
                });
            }
            if kind == b"IEND" {
                return None;
            }
            pos += 12 + len;
        }
        None
    }

    pub(super) fn embed(image: &[u8], packet: &str) -> Result<Vec<u8>, XmpError> {
        let mut data = Vec::with_capacity(packet.len() + 32);
        data.extend_from_slice(PNG_XMP_KEYWORD);
        data.extend_from_slice(&[0, 0, 0, 0, 0]); // separator, uncompressed, method, "", ""
        data.extend_from_slice(packet.as_bytes());
        let mut chunk = Vec::with_capacity(data.len() + 12);
        chunk.extend_from_slice(&(data.len() as u32).to_be_bytes());
        chunk.extend_from_slice(b"iTXt");
        chunk.extend_from_slice(&data);
        chunk.extend_from_slice(&crc32fast::hash(&chunk[4..]).to_be_bytes());

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
}

mod webp {
    //! XMP in a WebP `XMP ` chunk (extended file format, `VP8X`).
    use super::*;

    const XMP_FLAG: u8 = 0x04;
    const ALPHA_FLAG: u8 = 0x10;

    struct Chunk {
        fourcc: [u8; 4],
        start: usize,
        data: std::ops::Range<usize>,
        end: usize,
    }

    fn chunks(image: &[u8]) -> Option<Vec<Chunk>> {
        let riff_end = (le_u32(image, 4)? + 8).min(image.len());
        let mut pos = 12;
        let mut found = Vec::new();
        while pos + 8 <= riff_end {
            let fourcc: [u8; 4] = image.get(pos..pos + 4)?.try_into().ok()?;
            let len = le_u32(image, pos + 4)?;
            let data = pos + 8..pos + 8 + len;
            if data.end > riff_end {
                return None;
            }
            let end = (data.end + (len & 1)).min(riff_end);
            found.push(Chunk {
                fourcc,
                start: pos,
                data,
                end,
            });
            pos = end;
        }
        Some(found)
    }

    pub(super) fn find(image: &[u8]) -> Option<&[u8]> {
        let chunks = chunks(image)?;
        let chunk = chunks.iter().find(|c| &c.fourcc == b"XMP ")?;
        image.get(chunk.data.clone())
    }

    pub(super) fn embed(image: &[u8], packet: &str) -> Result<Vec<u8>, XmpError> {
        let chunks = chunks(image).ok_or_else(|| malformed("the WebP chunks are inconsistent"))?;
        let first = chunks
            .first()
            .ok_or_else(|| malformed("the WebP has no chunks"))?;
        let mut out = Vec::with_capacity(image.len() + packet.len() + 64);
        out.extend_from_slice(&image[..12]);
        if &first.fourcc != b"VP8X" {
            let (width, height, alpha) = canvas(image, first)?;
            let mut vp8x = [0u8; 10];
            vp8x[0] = XMP_FLAG | if alpha { ALPHA_FLAG } else { 0 };
            vp8x[4..7].copy_from_slice(&(width - 1).to_le_bytes()[..3]);
            vp8x[7..10].copy_from_slice(&(height - 1).to_le_bytes()[..3]);
            push_chunk(&mut out, b"VP8X", &vp8x);
        }
        for chunk in &chunks {
            match &chunk.fourcc {
                b"XMP " => {} // replaced below
                b"VP8X" => {
                    let mut data = image[chunk.data.clone()].to_vec();
                    if let Some(flags) = data.first_mut() {
                        *flags |= XMP_FLAG;
                    }
                    push_chunk(&mut out, b"VP8X", &data);
                }
                _ => out.extend_from_slice(&image[chunk.start..chunk.end]),
            }
        }
        push_chunk(&mut out, b"XMP ", packet.as_bytes());
        let riff_len =
            u32::try_from(out.len() - 8).map_err(|_| malformed("the WebP is too large"))?;
        out[4..8].copy_from_slice(&riff_len.to_le_bytes());
        Ok(out)
    }

    fn push_chunk(out: &mut Vec<u8>, fourcc: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(fourcc);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(0);
        }
    }

    /// Width, height and alpha of a simple (`VP8 ` or `VP8L`) WebP image.
    fn canvas(image: &[u8], chunk: &Chunk) -> Result<(u32, u32, bool), XmpError> {
        let data = &image[chunk.data.clone()];
        let cut = || malformed("the WebP bitstream header is cut off");
        match &chunk.fourcc {
            b"VP8 " => {
                let header = data.get(6..10).ok_or_else(cut)?;
                let width = u16::from_le_bytes([header[0], header[1]]) & 0x3FFF;
                let height = u16::from_le_bytes([header[2], header[3]]) & 0x3FFF;
                Ok((width as u32, height as u32, false))
            }
            b"VP8L" => {
                let bits = u32::from_le_bytes(
                    data.get(1..5)
                        .ok_or_else(cut)?
                        .try_into()
                        .map_err(|_| cut())?,
                );
                let width = (bits & 0x3FFF) + 1;
                let height = ((bits >> 14) & 0x3FFF) + 1;
                Ok((width, height, bits & (1 << 28) != 0))
            }
            other => Err(malformed(format!(
                "unexpected first WebP chunk {}",
                String::from_utf8_lossy(other)
            ))),
        }
    }
}

mod gif {
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
}

mod tiff {
    //! XMP in TIFF tag 700 of the first IFD.
    //!
    //! Writing appends the packet and a copy of IFD0 (with tag 700 added or replaced) to the end of
    //! the file and points the header at the new IFD; every other offset stays valid because no
    //! existing byte moves.
    use super::*;

    const XMP_TAG: u16 = 700;
    const TYPE_BYTE: u16 = 1;

    struct Ifd {
        little: bool,
        entries: Vec<[u8; 12]>,
        next: [u8; 4],
    }

    impl Ifd {
        fn u16(&self, bytes: [u8; 2]) -> u16 {
            if self.little {
                u16::from_le_bytes(bytes)
            } else {
                u16::from_be_bytes(bytes)
            }
        }

        fn u32(&self, bytes: [u8; 4]) -> u32 {
            if self.little {
                u32::from_le_bytes(bytes)
            } else {
                u32::from_be_bytes(bytes)
            }
        }
    }

    fn read_ifd0(image: &[u8]) -> Option<(usize, Ifd)> {
        let little = *image.first()? == b'I';
        let mut ifd = Ifd {
            little,
            entries: Vec::new(),
            next: [0; 4],
        };
        let offset = ifd.u32(image.get(4..8)?.try_into().ok()?) as usize;
        let count = ifd.u16(image.get(offset..offset + 2)?.try_into().ok()?) as usize;
        for i in 0..count {
            let at = offset + 2 + i * 12;
            ifd.entries.push(image.get(at..at + 12)?.try_into().ok()?);
        }
        let next_at = offset + 2 + count * 12;
        ifd.next = image.get(next_at..next_at + 4)?.try_into().ok()?;
        Some((offset, ifd))
    }

    pub(super) fn find(image: &[u8]) -> Option<&[u8]> {
        let (_, ifd) = read_ifd0(image)?;
        let entry = ifd
            .entries
            .iter()
            .find(|e| ifd_tag(ifd.little, e) == XMP_TAG)?;
        let len = ifd.u32(entry[4..8].try_into().ok()?) as usize;
        if len <= 4 {
            return None; // stored inline: too short to be an XMP packet
        }
        let offset = ifd.u32(entry[8..12].try_into().ok()?) as usize;
        image.get(offset..offset.checked_add(len)?)
    }

    pub(super) fn embed(image: &[u8], packet: &str) -> Result<Vec<u8>, XmpError> {
        let (_, mut ifd) =
            read_ifd0(image).ok_or_else(|| malformed("the first TIFF IFD is cut off"))?;
        let mut out = image.to_vec();
        // A replaced packet is blanked, so no stale XMP is left in the file for naive scanners.
        if let Some(old) = find(image) {
            let start = old.as_ptr() as usize - image.as_ptr() as usize;
            out[start..start + old.len()].fill(b' ');
        }
        if out.len() % 2 == 1 {
            out.push(0); // TIFF offsets are word aligned
        }
        let data_offset = out.len();
        out.extend_from_slice(packet.as_bytes());
        if out.len() % 2 == 1 {
            out.push(0);
        }
        let ifd_offset = out.len();
        if ifd_offset + 2 + (ifd.entries.len() + 1) * 12 + 4 > u32::MAX as usize {
            return Err(malformed("the TIFF would exceed 4 GiB"));
        }

        let (put16, put32): (fn(u16) -> [u8; 2], fn(u32) -> [u8; 4]) = if ifd.little {
            (u16::to_le_bytes, u32::to_le_bytes)
        } else {
            (u16::to_be_bytes, u32::to_be_bytes)
        };
        let mut entry = [0u8; 12];
        entry[0..2].copy_from_slice(&put16(XMP_TAG));
        entry[2..4].copy_from_slice(&put16(TYPE_BYTE));
        entry[4..8].copy_from_slice(&put32(packet.len() as u32));
        entry[8..12].copy_from_slice(&put32(data_offset as u32));
        let little = ifd.little;
        ifd.entries.retain(|e| ifd_tag(little, e) != XMP_TAG);
        ifd.entries.push(entry);
        ifd.entries.sort_by_key(|e| ifd_tag(little, e));

        out.extend_from_slice(&put16(ifd.entries.len() as u16));
        for entry in &ifd.entries {
            out.extend_from_slice(entry);
        }
        out.extend_from_slice(&ifd.next);
        out[4..8].copy_from_slice(&put32(ifd_offset as u32));
        Ok(out)
    }

    fn ifd_tag(little: bool, entry: &[u8; 12]) -> u16 {
        if little {
            u16::from_le_bytes([entry[0], entry[1]])
        } else {
            u16::from_be_bytes([entry[0], entry[1]])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source_type::{COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA, TRAINED_ALGORITHMIC_MEDIA};
    use image::{ImageFormat, RgbImage, RgbaImage};
    use std::io::Cursor;

    fn encode(format: ImageFormat, alpha: bool) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        if alpha {
            RgbaImage::from_fn(33, 21, |x, y| {
                image::Rgba([x as u8 * 7, y as u8 * 11, 90, 128])
            })
            .write_to(&mut out, format)
            .unwrap();
        } else {
            RgbImage::from_fn(33, 21, |x, y| image::Rgb([x as u8 * 7, y as u8 * 11, 90]))
                .write_to(&mut out, format)
                .unwrap();
        }
        out.into_inner()
    }

    const WRITABLE: [(Format, ImageFormat); 5] = [
        (Format::Jpeg, ImageFormat::Jpeg),
        (Format::Png, ImageFormat::Png),
        (Format::Webp, ImageFormat::WebP),
        (Format::Gif, ImageFormat::Gif),
        (Format::Tiff, ImageFormat::Tiff),
    ];

    #[test]
    fn writes_a_readable_decodable_packet_in_every_writable_format() {
        for (format, image_format) in WRITABLE {
            for alpha in [false, true] {
                if alpha && format == Format::Jpeg {
                    continue;
                }
                let original = encode(image_format, alpha);
                let out = embed_digital_source_type(format, &original, TRAINED_ALGORITHMIC_MEDIA)
                    .unwrap();
                assert_eq!(
                    read_digital_source_type(format, &out).as_deref(),
                    Some(TRAINED_ALGORITHMIC_MEDIA),
                    "{format}"
                );
                format.check_structure(&out).unwrap();
                let decoded = image::load_from_memory_with_format(&out, image_format).unwrap();
                assert_eq!((decoded.width(), decoded.height()), (33, 21), "{format}");
                let before = image::load_from_memory_with_format(&original, image_format).unwrap();
                assert_eq!(
                    decoded.to_rgba8(),
                    before.to_rgba8(),
                    "{format}: pixels unchanged"
                );
            }
        }
    }

    #[test]
    fn embedding_twice_replaces_the_value_in_the_same_packet() {
        for (format, image_format) in WRITABLE {
            let once = embed_digital_source_type(
                format,
                &encode(image_format, false),
                TRAINED_ALGORITHMIC_MEDIA,
            )
            .unwrap();
            let twice =
                embed_digital_source_type(format, &once, COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA)
                    .unwrap();
            assert_eq!(
                read_digital_source_type(format, &twice).as_deref(),
                Some(COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA),
                "{format}"
            );
            let packets = memchr::memmem::find_iter(&twice, b"<x:xmpmeta").count();
            assert_eq!(packets, 1, "{format}: one packet");
            if format != Format::Tiff {
                // TIFF appends the new packet and IFD; the others edit the packet in place.
                let grown = COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA.len()
                    - TRAINED_ALGORITHMIC_MEDIA.len();
                assert!(
                    twice.len() - once.len() <= grown + 1,
                    "{format}: only the value grew"
                );
            }
        }
    }

    #[test]
    fn a_foreign_packet_keeps_its_content() {
        let foreign = "<?xpacket begin=\"\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?><x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:creator><rdf:Seq><rdf:li>Ada</rdf:li></rdf:Seq></dc:creator></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>";
        let edited = packet_with_source_type(Some(foreign), TRAINED_ALGORITHMIC_MEDIA).unwrap();
        assert!(edited.contains("<rdf:li>Ada</rdf:li>"));
        assert!(edited.contains(&format!("xmlns:Iptc4xmpExt=\"{IPTC_EXT_NS}\"")));
        for (format, image_format) in WRITABLE {
            let with_foreign = match format {
                Format::Jpeg => jpeg::embed(&encode(image_format, false), foreign).unwrap(),
                Format::Png => png::embed(&encode(image_format, false), foreign).unwrap(),
                Format::Webp => webp::embed(&encode(image_format, false), foreign).unwrap(),
                Format::Tiff => tiff::embed(&encode(image_format, false), foreign).unwrap(),
                _ => gif::embed(&encode(image_format, false), foreign).unwrap(),
            };
            assert_eq!(
                read_packet(format, &with_foreign).as_deref(),
                Some(foreign),
                "{format}"
            );
            let out = embed_digital_source_type(format, &with_foreign, TRAINED_ALGORITHMIC_MEDIA)
                .unwrap();
            let packet = read_packet(format, &out).unwrap();
            assert!(packet.contains("<rdf:li>Ada</rdf:li>"), "{format}");
            assert_eq!(
                read_digital_source_type(format, &out).as_deref(),
                Some(TRAINED_ALGORITHMIC_MEDIA)
            );
        }
    }

    #[test]
    fn reads_other_prefixes_element_form_and_bare_codes() {
        let meta = r#"<rdf:Description xmlns:iptcExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" iptcExt:DigitalSourceType="trainedAlgorithmicMedia"/>"#;
        assert_eq!(
            prefixes(meta)
                .iter()
                .find_map(|p| property(meta, p).map(|(v, _)| v))
                .as_deref(),
            Some("trainedAlgorithmicMedia")
        );
        let element = "<rdf:Description><Iptc4xmpExt:DigitalSourceType>http://x/a&amp;b</Iptc4xmpExt:DigitalSourceType></rdf:Description>";
        assert_eq!(property(element, "Iptc4xmpExt").unwrap().0, "http://x/a&b");
        let resource = r#"<Iptc4xmpExt:DigitalSourceType rdf:resource="http://x/y"/>"#;
        assert_eq!(property(resource, "Iptc4xmpExt").unwrap().0, "http://x/y");
        assert!(property("<x:DigitalSourceTypeX/>", "x").is_none());
    }

    #[test]
    fn unsupported_and_garbage_inputs_are_errors_not_panics() {
        let avif = b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf";
        assert!(matches!(
            embed_digital_source_type(Format::Avif, avif, TRAINED_ALGORITHMIC_MEDIA),
            Err(XmpError::Unsupported(Format::Avif))
        ));
        let garbage: Vec<Vec<u8>> = vec![
            vec![],
            vec![0xFF, 0xD8],
            vec![0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF],
            b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec(),
            b"RIFF\x04\0\0\0WEBP".to_vec(),
            b"RIFF\x10\0\0\0WEBPVP8 \x02\0\0\0ab".to_vec(),
            b"GIF89a\x01\x00\x01\x00\x80".to_vec(),
        ];
        for bytes in &garbage {
            for format in [
                Format::Jpeg,
                Format::Png,
                Format::Webp,
                Format::Gif,
                Format::Tiff,
            ] {
                let _ = embed_digital_source_type(format, bytes, TRAINED_ALGORITHMIC_MEDIA);
                let _ = read_digital_source_type(format, bytes);
            }
        }
    }

    #[test]
    fn oversized_jpeg_packets_are_refused() {
        let huge = "x".repeat(JPEG_SEGMENT_MAX);
        let err = jpeg::embed(&encode(ImageFormat::Jpeg, false), &huge).unwrap_err();
        assert!(
            err.to_string().contains("more than one JPEG segment"),
            "{err}"
        );
    }
}
