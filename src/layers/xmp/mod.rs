//! The XMP layer: the IPTC `Iptc4xmpExt:DigitalSourceType` property in the image's own XMP packet.
//!
//! Platforms that read IPTC photo metadata but not C2PA learn from this property that an image is
//! AI-generated. It is written before the C2PA manifest is signed, so it sits inside the hashed
//! range. An existing packet is edited in place (JPEG allows only one standard XMP packet):
//! the property is replaced, or added to the first `rdf:Description`, and everything else is kept.
//!
//! Writing and reading work for JPEG (APP1), PNG (`iTXt`), WebP (`XMP ` chunk, promoting a simple
//! file to the extended `VP8X` layout), GIF (the XMP application extension) and TIFF (tag 700).
//! AVIF and HEIC (an XMP item in the `meta` box) and JPEG XL (an `xml ` box) are read, not
//! written: the C2PA manifest carries the source type there.

use crate::format::Format;

mod bmff;
pub mod detect;
mod gif;
mod jpeg;
mod png;
mod tiff;
mod webp;

/// The IPTC Extension namespace.
const IPTC_EXT_NS: &str = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/";
/// Identifies the standard XMP packet in a JPEG APP1 segment.
const JPEG_XMP_HEADER: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
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
        Format::Jpeg => jpeg::find(image).map(|(_, payload)| payload.to_vec()),
        Format::Png => png::find(image).map(|chunk| chunk.text.to_vec()),
        Format::Webp => webp::find(image).map(<[u8]>::to_vec),
        Format::Gif => gif::find(image).map(|(_, packet)| packet.to_vec()),
        Format::Tiff => tiff::find(image).map(<[u8]>::to_vec),
        Format::Avif | Format::Heic => bmff::find_heif(image),
        Format::Jxl => bmff::find_jxl(image),
    }?;
    String::from_utf8(bytes).ok()
}

/// The `DigitalSourceType` value in the image's XMP, if any: attribute or element form, under any
/// prefix bound to the IPTC Extension namespace.
pub fn read_digital_source_type(format: Format, image: &[u8]) -> Option<String> {
    let packet = read_packet(format, image)?;
    find_property(&packet, IPTC_EXT_NS, "Iptc4xmpExt", "DigitalSourceType")
}

/// The value of `local` in `namespace` anywhere in `packet`, under the prefix the packet binds to
/// the namespace or the conventional one.
pub(crate) fn find_property(
    packet: &str,
    namespace: &str,
    conventional: &str,
    local: &str,
) -> Option<String> {
    prefixes(packet, namespace, conventional)
        .iter()
        .find_map(|prefix| property(packet, prefix, local).map(|(value, _)| value))
}

/// Prefixes bound to `namespace` in the packet, plus the `conventional` one.
fn prefixes(packet: &str, namespace: &str, conventional: &str) -> Vec<String> {
    let mut found = vec![conventional.to_string()];
    for quote in ['"', '\''] {
        let binding = format!("={quote}{namespace}{quote}");
        let mut rest = packet;
        while let Some(at) = rest.find(&binding) {
            // A prefix is short: look back a few bytes only, so the scan stays linear.
            let mut window = at.saturating_sub(96);
            while !rest.is_char_boundary(window) {
                window += 1;
            }
            let before = &rest[window..at];
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

/// Finds `prefix:local` as an attribute or an element (simple text, `rdf:resource`, or the first
/// `rdf:li` of an `rdf:Alt`/`Seq`/`Bag`); returns the unescaped value and the byte range of the
/// raw (escaped) value inside `packet`.
fn property(packet: &str, prefix: &str, local: &str) -> Option<(String, std::ops::Range<usize>)> {
    let name = format!("{prefix}:{local}");
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
            let close = after.find('>')?;
            let tag = &after[..close];
            if let Some(range) = attribute_value(tag, "rdf:resource") {
                let start = at + name.len() + range.start;
                let range = start..start + range.len();
                return Some((unescape(&packet[range.clone()]), range));
            }
            let mut start = at + name.len() + close + 1;
            let end_tag = format!("</{name}>");
            let element_end = start + packet[start..].find(&end_tag).unwrap_or(0);
            if packet[start..].trim_start().starts_with("<rdf:") {
                // A container: the first list item.
                let item = start + packet[start..element_end].find("<rdf:li")?;
                start = item + packet[item..element_end].find('>')? + 1;
            }
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
    for prefix in prefixes(packet, IPTC_EXT_NS, "Iptc4xmpExt") {
        if let Some((_, range)) = property(packet, &prefix, "DigitalSourceType") {
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

fn be_u32(bytes: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize)
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
            find_property(meta, IPTC_EXT_NS, "Iptc4xmpExt", "DigitalSourceType").as_deref(),
            Some("trainedAlgorithmicMedia")
        );
        let element = "<rdf:Description><Iptc4xmpExt:DigitalSourceType>http://x/a&amp;b</Iptc4xmpExt:DigitalSourceType></rdf:Description>";
        assert_eq!(
            property(element, "Iptc4xmpExt", "DigitalSourceType")
                .unwrap()
                .0,
            "http://x/a&b"
        );
        let resource = r#"<Iptc4xmpExt:DigitalSourceType rdf:resource="http://x/y"/>"#;
        assert_eq!(
            property(resource, "Iptc4xmpExt", "DigitalSourceType")
                .unwrap()
                .0,
            "http://x/y"
        );
        assert!(property("<x:DigitalSourceTypeX/>", "x", "DigitalSourceType").is_none());
        let alt = r#"<photoshop:Credit><rdf:Alt><rdf:li xml:lang="x-default">Made with Google AI</rdf:li></rdf:Alt></photoshop:Credit>"#;
        assert_eq!(
            property(alt, "photoshop", "Credit").unwrap().0,
            "Made with Google AI"
        );
    }

    #[test]
    fn a_webp_with_an_empty_canvas_is_refused() {
        // Found by `cargo fuzz`: a VP8 frame header declaring height 0 made `height - 1` overflow.
        let mut vp8 = vec![0xF0, 0x88, 0x02, 0x9D, 0x01, 0x2A, 0x70, 0x00, 0x00, 0x00];
        vp8.resize(20, 0);
        let mut webp = b"RIFF".to_vec();
        webp.extend_from_slice(&((4 + 8 + vp8.len()) as u32).to_le_bytes());
        webp.extend_from_slice(b"WEBPVP8 ");
        webp.extend_from_slice(&(vp8.len() as u32).to_le_bytes());
        webp.extend_from_slice(&vp8);
        let err = embed_digital_source_type(Format::Webp, &webp, TRAINED_ALGORITHMIC_MEDIA);
        assert!(matches!(err, Err(XmpError::Malformed(_))), "{err:?}");
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
    fn many_namespace_bindings_stay_linear() {
        // 200k bindings without `xmlns:` before them: a look-back over the whole packet for each
        // would take minutes; the bounded look-back takes milliseconds.
        let packet = format!("=\"{IPTC_EXT_NS}\"").repeat(200_000);
        let started = std::time::Instant::now();
        assert_eq!(
            prefixes(&packet, IPTC_EXT_NS, "Iptc4xmpExt"),
            vec!["Iptc4xmpExt"]
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "quadratic look-back"
        );
    }

    #[test]
    fn oversized_jpeg_packets_are_refused() {
        let huge = "x".repeat(crate::container::jpeg::MAX_PAYLOAD);
        let err = jpeg::embed(&encode(ImageFormat::Jpeg, false), &huge).unwrap_err();
        assert!(
            err.to_string().contains("more than one JPEG segment"),
            "{err}"
        );
    }
}
