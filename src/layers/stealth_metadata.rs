//! "Stealth" metadata: generation parameters hidden in the least-significant bits of the pixels
//! (the A1111 `stealth_pnginfo` extension, NovelAI, SwarmUI). It survives metadata stripping.
//!
//! Bits are read column by column (x outer, y inner), most significant bit first: a 15-byte magic
//! (`stealth_pnginfo` / `stealth_pngcomp` in the alpha channel, `stealth_rgbinfo` /
//! `stealth_rgbcomp` in R, G and B), a 32-bit payload length in bits, then the payload, gzip
//! compressed for the `comp` variants.

use std::io::Read;

use image::RgbaImage;

use crate::format::Format;
use crate::layers::Input;
use crate::verdict::{Evidence, Finding, Layer};

/// The largest payload read (bytes).
const MAX_PAYLOAD: usize = 4 << 20;

/// Evidence from stealth metadata in the pixels of a PNG or WebP image.
pub fn detect(input: &Input) -> Vec<Evidence> {
    let pixels = &input.pixels;
    // Only lossless formats keep least-significant bits.
    if !matches!(pixels.format(), Format::Png | Format::Webp) {
        return Vec::new();
    }
    let Some(pixels) = pixels.rgba() else {
        return Vec::new();
    };
    let mut evidence: Vec<Evidence> = [Channels::Alpha, Channels::Rgb]
        .into_iter()
        .filter_map(|channels| read_payload(pixels, channels))
        .flat_map(|(magic, payload)| {
            let signature = signed_comment(&payload).and_then(|comment| {
                crate::layers::generator_metadata::novelai_evidence(
                    Layer::StealthMetadata,
                    pixels,
                    &comment,
                )
            });
            let tool = identify(&payload);
            let found = Evidence::new(
                Layer::StealthMetadata,
                Finding::GeneratorTrace,
                format!(
                    "{} least-significant bits hide '{magic}' metadata ({} bytes) from {tool}",
                    match magic.contains("rgb") {
                        true => "RGB",
                        false => "alpha",
                    },
                    payload.len()
                ),
            )
            .with_value(tool);
            std::iter::once(found).chain(signature)
        })
        .collect();
    evidence.dedup_by(|a, b| a.detail == b.detail);
    evidence
}

/// The parameters JSON text inside a NovelAI stealth payload, when it carries a signature.
fn signed_comment(payload: &[u8]) -> Option<String> {
    let outer: serde_json::Value = serde_json::from_slice(payload).ok()?;
    let comment = outer.get("Comment")?.as_str()?.to_string();
    crate::layers::generator_metadata::novelai::is_signed(&comment).then_some(comment)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Channels {
    Alpha,
    Rgb,
}

/// LSBs in stealth order.
struct Bits<'a> {
    pixels: &'a RgbaImage,
    channels: Channels,
    index: u64,
}

impl Iterator for Bits<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        let (width, height) = self.pixels.dimensions();
        let per_pixel = if self.channels == Channels::Alpha {
            1
        } else {
            3
        };
        let pixel = self.index / per_pixel;
        let x = pixel / u64::from(height);
        let y = pixel % u64::from(height);
        if x >= u64::from(width) {
            return None;
        }
        let rgba = self.pixels.get_pixel(x as u32, y as u32).0;
        let channel = match self.channels {
            Channels::Alpha => 3,
            Channels::Rgb => (self.index % per_pixel) as usize,
        };
        self.index += 1;
        Some(rgba[channel] & 1)
    }
}

fn take_bytes(bits: &mut Bits<'_>, count: usize) -> Option<Vec<u8>> {
    (0..count)
        .map(|_| (0..8).try_fold(0u8, |byte, _| Some(byte << 1 | bits.next()?)))
        .collect()
}

/// The magic and the (decompressed) payload, if these channels carry stealth metadata.
fn read_payload(pixels: &RgbaImage, channels: Channels) -> Option<(String, Vec<u8>)> {
    if channels == Channels::Alpha && pixels.pixels().all(|p| p.0[3] == 255) {
        return None; // opaque: no alpha payload
    }
    let mut bits = Bits {
        pixels,
        channels,
        index: 0,
    };
    let magic = String::from_utf8(take_bytes(&mut bits, 15)?).ok()?;
    let (expected_info, expected_comp) = match channels {
        Channels::Alpha => ("stealth_pnginfo", "stealth_pngcomp"),
        Channels::Rgb => ("stealth_rgbinfo", "stealth_rgbcomp"),
    };
    if magic != expected_info && magic != expected_comp {
        return None;
    }
    let length = take_bytes(&mut bits, 4)?;
    let length_bits = u32::from_be_bytes(length.try_into().ok()?) as usize;
    let length_bytes = (length_bits / 8).min(MAX_PAYLOAD);
    let data = take_bytes(&mut bits, length_bytes)?;
    let payload = if magic == expected_comp {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(data.as_slice())
            .take(MAX_PAYLOAD as u64)
            .read_to_end(&mut out)
            .ok()?;
        out
    } else {
        data
    };
    Some((magic, payload))
}

/// Which tool wrote the payload, from its content.
fn identify(payload: &[u8]) -> &'static str {
    let text = String::from_utf8_lossy(payload);
    if text.contains("NovelAI") || text.contains("\"signed_hash\"") {
        "NovelAI"
    } else if text.contains("sui_image_params") {
        "SwarmUI"
    } else if text.contains("Steps: ") {
        "an AUTOMATIC1111-compatible generator"
    } else {
        "a stealth-metadata generator extension"
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::limits::Limits;

    /// The stealth bit stream for `payload`: magic, bit length, data (gzip when `compress`).
    fn stealth_bits(channels: &str, payload: &[u8], compress: bool) -> Vec<u8> {
        use std::io::Write;
        let (magic, data) = if compress {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(payload).unwrap();
            (format!("stealth_{channels}comp"), gz.finish().unwrap())
        } else {
            (format!("stealth_{channels}info"), payload.to_vec())
        };
        let mut bytes = magic.into_bytes();
        bytes.extend_from_slice(&((data.len() * 8) as u32).to_be_bytes());
        bytes.extend_from_slice(&data);
        bytes
            .iter()
            .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1))
            .collect()
    }

    /// Hides `payload` in the alpha LSBs of a fresh image.
    pub(crate) fn with_alpha_payload(
        width: u32,
        height: u32,
        payload: &[u8],
        compress: bool,
    ) -> RgbaImage {
        let bits = stealth_bits("png", payload, compress);
        assert!(
            bits.len() <= (width * height) as usize,
            "payload too large for the image"
        );
        let mut image = RgbaImage::from_fn(width, height, |x, y| {
            image::Rgba([(x * 3) as u8, (y * 5) as u8, 90, 254])
        });
        for (i, bit) in bits.iter().enumerate() {
            let (x, y) = (i as u32 / height, i as u32 % height);
            let pixel = image.get_pixel_mut(x, y);
            pixel.0[3] = (pixel.0[3] & !1) | bit;
        }
        image
    }

    fn png(image: &RgbaImage) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        image.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn finds_plain_and_compressed_alpha_payloads() {
        let infotext = b"a cat\nSteps: 20, Sampler: Euler a, Seed: 1";
        for compress in [false, true] {
            let image = with_alpha_payload(64, 48, infotext, compress);
            let found = detect(&Input::new(
                Format::Png,
                &png(&image),
                Limits::default(),
                true,
            ));
            assert_eq!(found.len(), 1, "compress={compress}");
            assert_eq!(found[0].layer, Layer::StealthMetadata);
            assert_eq!(
                found[0].value.as_deref(),
                Some("an AUTOMATIC1111-compatible generator")
            );
        }
    }

    #[test]
    fn finds_rgb_payloads() {
        let payload = br#"{"sui_image_params": {"prompt": "a cat"}}"#;
        for compress in [false, true] {
            let bits = stealth_bits("rgb", payload, compress);
            let (width, height) = (40u32, 30u32);
            let mut image = RgbaImage::from_fn(width, height, |x, y| {
                image::Rgba([x as u8 * 4, y as u8 * 6, 90, 255])
            });
            for (i, bit) in bits.iter().enumerate() {
                let pixel = i as u32 / 3;
                let (x, y) = (pixel / height, pixel % height);
                let channel = &mut image.get_pixel_mut(x, y).0[i % 3];
                *channel = (*channel & !1) | bit;
            }
            let found = detect(&Input::new(
                Format::Png,
                &png(&image),
                Limits::default(),
                true,
            ));
            assert_eq!(found.len(), 1, "compress={compress}");
            assert!(found[0].detail.starts_with("RGB"), "{}", found[0].detail);
            assert_eq!(found[0].value.as_deref(), Some("SwarmUI"));
        }
    }

    #[test]
    fn ordinary_images_carry_nothing() {
        let opaque = RgbaImage::from_fn(32, 32, |x, y| image::Rgba([x as u8, y as u8, 7, 255]));
        assert!(detect(&Input::new(
            Format::Png,
            &png(&opaque),
            Limits::default(),
            true
        ))
        .is_empty());
        let noisy = RgbaImage::from_fn(32, 32, |x, y| {
            image::Rgba([x as u8, y as u8, 7, (x * y) as u8])
        });
        assert!(detect(&Input::new(
            Format::Png,
            &png(&noisy),
            Limits::default(),
            true
        ))
        .is_empty());
        assert!(detect(&Input::new(
            Format::Png,
            b"not a png",
            Limits::default(),
            true
        ))
        .is_empty());
    }
}
