//! An image's pixels for the checker, decoded at most once and only when a layer asks: the
//! stealth-metadata, NovelAI-signature and watermark layers all read pixels, and decoding is the
//! most expensive step of a check.

use std::cell::OnceCell;
use std::io::Cursor;

use image::{DynamicImage, ImageReader, RgbaImage};

use crate::format::Format;

/// Images with more pixels are not decoded (a decompression bomb must not exhaust memory).
pub const MAX_PIXELS: u64 = 40_000_000;

/// The pixels of one image, decoded on first use.
pub struct LazyPixels<'a> {
    format: Format,
    bytes: &'a [u8],
    decoded: OnceCell<Option<DynamicImage>>,
    rgba: OnceCell<Option<RgbaImage>>,
}

impl<'a> LazyPixels<'a> {
    /// Nothing is decoded yet.
    pub fn new(format: Format, bytes: &'a [u8]) -> Self {
        LazyPixels {
            format,
            bytes,
            decoded: OnceCell::new(),
            rgba: OnceCell::new(),
        }
    }

    /// The container format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The decoded image, or `None` when this build has no decoder for the format (AVIF, HEIC),
    /// the image is larger than [`MAX_PIXELS`], or it does not decode.
    pub fn image(&self) -> Option<&DynamicImage> {
        self.decoded
            .get_or_init(|| decode(self.format, self.bytes))
            .as_ref()
    }

    /// The image as 8-bit RGBA, converted once.
    pub fn rgba(&self) -> Option<&RgbaImage> {
        self.rgba
            .get_or_init(|| self.image().map(DynamicImage::to_rgba8))
            .as_ref()
    }
}

/// Width and height from the image's header, without decoding pixels; `None` when this build
/// has no decoder for the format or the header does not parse.
pub fn dimensions(format: Format, bytes: &[u8]) -> Option<(u32, u32)> {
    let image_format = format.image_format()?;
    ImageReader::with_format(Cursor::new(bytes), image_format)
        .into_dimensions()
        .ok()
}

fn decode(format: Format, bytes: &[u8]) -> Option<DynamicImage> {
    let image_format = format.image_format()?;
    let (width, height) = dimensions(format, bytes)?;
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return None;
    }
    image::load_from_memory_with_format(bytes, image_format).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_once_and_refuses_what_it_cannot_decode() {
        let mut png = Vec::new();
        image::RgbImage::from_pixel(4, 3, image::Rgb([10, 20, 30]))
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let pixels = LazyPixels::new(Format::Png, &png);
        let first = pixels.image().unwrap() as *const DynamicImage;
        assert_eq!(pixels.image().unwrap() as *const DynamicImage, first);
        assert_eq!(pixels.rgba().unwrap().get_pixel(3, 2).0, [10, 20, 30, 255]);
        assert!(LazyPixels::new(Format::Avif, &png).image().is_none());
        assert!(LazyPixels::new(Format::Png, &png[..20]).image().is_none());
    }
}
