//! Decoding pixels within a memory budget, and an image's pixels for the checker, decoded at
//! most once and only when a layer asks.
//!
//! [`decode`] is the one door to the pixel decoders: it reads the header first and refuses an
//! image over the [`Limits`] before a byte of pixels is allocated (the decoder's own allocation
//! limit backs this up). The stealth-metadata, NovelAI-signature, watermark and fingerprint
//! layers all read the same [`LazyPixels`], converted once to 8-bit RGBA (the precision every
//! detector works at), so a check holds one copy of the pixels whatever the file's bit depth.

use std::cell::OnceCell;
use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader, RgbaImage};

use crate::format::Format;
use crate::jpeg_layout;
use crate::limits::Limits;

/// What an image's header says, read without decoding pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    pub width: u32,
    pub height: u32,
    /// Bytes per decoded pixel: channels × bytes per sample.
    pub bytes_per_pixel: u8,
}

impl ImageInfo {
    /// Width × height.
    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// The bytes the decoded pixels take at the file's own depth.
    pub fn decoded_bytes(&self) -> u64 {
        self.pixels() * u64::from(self.bytes_per_pixel)
    }

    /// The most memory a check of this image holds at once: the decoded pixels at the file's
    /// depth while they are converted, then their 8-bit RGBA copy and the pixel layers' working
    /// planes (8-bit RGB, full-size `f32` luma). Measured peaks stay below it (see
    /// `scripts/hostile.sh`).
    pub fn memory_to_check(&self) -> u64 {
        self.decoded_bytes() + CHECK_BYTES_PER_PIXEL * self.pixels()
    }

    /// The most memory stamping this image holds at once: the decoded pixels at the file's
    /// depth, the watermark's full-size `f32` residual, the 8-bit copy the encoder takes (the
    /// encoded output, about the size of the input, is counted by the caller).
    pub fn memory_to_stamp(&self) -> u64 {
        self.decoded_bytes() + STAMP_BYTES_PER_PIXEL * self.pixels()
    }

    /// Refuses an image the limits do not allow.
    pub fn within(&self, limits: &Limits) -> Result<(), DecodeError> {
        if self.width == 0 || self.height == 0 {
            return Err(DecodeError::Corrupt(format!(
                "the image has no pixels ({}×{})",
                self.width, self.height
            )));
        }
        if self.pixels() > limits.max_pixels {
            return Err(DecodeError::TooManyPixels {
                width: self.width,
                height: self.height,
                max_pixels: limits.max_pixels,
            });
        }
        if self.decoded_bytes() > limits.max_decoded_bytes {
            return Err(DecodeError::TooManyBytes {
                width: self.width,
                height: self.height,
                bytes: self.decoded_bytes(),
                max_bytes: limits.max_decoded_bytes,
            });
        }
        Ok(())
    }
}

/// Working memory of a check beyond the decoded pixels, per pixel (RGBA copy 4, RGB copy 3,
/// `f32` planes 4 + 4, allocator slack). Measured peaks (release build, whole process): a 40 MP
/// 8-bit JPEG 692 MB (estimate 760), 39.7 MP 16-bit RGB PNG 671 MB (873), 33 MP 16-bit RGBA
/// PNG 560 MB (792).
const CHECK_BYTES_PER_PIXEL: u64 = 16;
/// Working memory of stamping beyond the decoded pixels, per pixel (`f32` residual 4, the
/// encoder's 8-bit copy 3, a subsampled JPEG's pre-subsampled chroma up to 5 for 4:2:2 (two
/// `f32` planes at half size and their 8-bit copies; see `recode::chroma`), allocator slack).
/// Measured peaks before the chroma planes (11 bytes per pixel then): 40 MP 8-bit JPEG 498 MB
/// (estimate 551 + output), 39.7 MP 16-bit RGB PNG 572 MB (675), 33 MP 16-bit RGBA PNG 574 MB
/// (627).
const STAMP_BYTES_PER_PIXEL: u64 = 16;

/// Why an image's pixels were not decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// This build has no pixel decoder for the format (AVIF, HEIC, JPEG XL).
    #[error("{0} pixels cannot be decoded by this build")]
    NoDecoder(Format),
    /// The pixel layers were turned off (`--no-pixels`): nothing is decoded.
    #[error("the pixel layers are off")]
    PixelsOff,
    #[error("the image is {width}×{height} ({:.1} MP); at most {:.1} MP are decoded", mp(*width, *height), *max_pixels as f64 / 1e6)]
    TooManyPixels {
        width: u32,
        height: u32,
        max_pixels: u64,
    },
    #[error("the image is {width}×{height} and needs {} MiB decoded; at most {} MiB are decoded", bytes >> 20, max_bytes >> 20)]
    TooManyBytes {
        width: u32,
        height: u32,
        bytes: u64,
        max_bytes: u64,
    },
    /// The file is a variant this build's decoder does not read (a DNG raw, a TIFF layout it
    /// does not know): nothing is wrong with it as far as anyone can tell.
    #[error("this kind of {0} cannot be decoded by this build: {1}")]
    Unsupported(Format, String),
    /// The header or the pixel data does not decode.
    #[error("the image data does not decode: {0}")]
    Corrupt(String),
}

impl DecodeError {
    /// True when the image is valid but larger than the limits allow.
    pub fn is_over_limit(&self) -> bool {
        matches!(
            self,
            DecodeError::TooManyPixels { .. } | DecodeError::TooManyBytes { .. }
        )
    }
}

fn mp(width: u32, height: u32) -> f64 {
    f64::from(width) * f64::from(height) / 1e6
}

/// Width, height and depth from the image's header, without decoding pixels.
pub fn probe(format: Format, bytes: &[u8]) -> Result<ImageInfo, DecodeError> {
    let decoder = decoder(format, bytes)?;
    Ok(info_of(&decoder))
}

fn decoder(format: Format, bytes: &[u8]) -> Result<impl ImageDecoder + '_, DecodeError> {
    let image_format = format
        .image_format()
        .ok_or(DecodeError::NoDecoder(format))?;
    ImageReader::with_format(Cursor::new(bytes), image_format)
        .into_decoder()
        .map_err(|e| failure(format, e))
}

/// A decoder's error as a [`DecodeError`]. TIFF is a family of layouts (raw DNGs, tiles,
/// planes, private compressions) of which the decoder reads the common ones, so a TIFF it cannot
/// read is unsupported rather than proven corrupt; the other decoders read their whole format.
fn failure(format: Format, err: image::ImageError) -> DecodeError {
    match err {
        image::ImageError::Unsupported(e) => DecodeError::Unsupported(format, e.to_string()),
        e if format == Format::Tiff => DecodeError::Unsupported(format, e.to_string()),
        e => DecodeError::Corrupt(e.to_string()),
    }
}

fn info_of(decoder: &impl ImageDecoder) -> ImageInfo {
    let (width, height) = decoder.dimensions();
    ImageInfo {
        width,
        height,
        bytes_per_pixel: decoder.color_type().bytes_per_pixel(),
    }
}

/// Decodes an image at its own depth, refusing it from the header when it is over `limits`.
pub fn decode(format: Format, bytes: &[u8], limits: &Limits) -> Result<DynamicImage, DecodeError> {
    let mut decoder = decoder(format, bytes)?;
    let info = info_of(&decoder);
    info.within(limits)?;
    if format == Format::Jpeg
        && jpeg_layout::read(bytes).is_some_and(|l| l.is_sequential_non_interleaved())
    {
        return decode_one_component_per_scan(bytes, &info);
    }
    // The decoder's own allocation limit backs up the header check (a little above the pixel
    // buffer for its working rows and tables).
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_alloc = Some(info.decoded_bytes() + (16 << 20));
    decoder
        .set_limits(decoder_limits)
        .map_err(|e| failure(format, e))?;
    DynamicImage::from_decoder(decoder).map_err(|e| failure(format, e))
}

/// A sequential JPEG with one component per scan, by `jpeg-decoder` (see [`jpeg_layout`]),
/// within the buffer the header check allowed.
fn decode_one_component_per_scan(
    bytes: &[u8],
    info: &ImageInfo,
) -> Result<DynamicImage, DecodeError> {
    use jpeg_decoder::PixelFormat;
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder
        .set_max_decoding_buffer_size(usize::try_from(info.decoded_bytes()).unwrap_or(usize::MAX));
    let corrupt = |e: jpeg_decoder::Error| DecodeError::Corrupt(e.to_string());
    let pixels = decoder.decode().map_err(corrupt)?;
    let meta = decoder
        .info()
        .ok_or_else(|| DecodeError::Corrupt("no frame header".into()))?;
    let (width, height) = (u32::from(meta.width), u32::from(meta.height));
    let short = || DecodeError::Corrupt("fewer pixels than the header says".into());
    match meta.pixel_format {
        PixelFormat::RGB24 => image::RgbImage::from_raw(width, height, pixels)
            .map(DynamicImage::ImageRgb8)
            .ok_or_else(short),
        PixelFormat::L8 => image::GrayImage::from_raw(width, height, pixels)
            .map(DynamicImage::ImageLuma8)
            .ok_or_else(short),
        other => Err(DecodeError::Unsupported(
            Format::Jpeg,
            format!("{other:?} JPEG with one component per scan"),
        )),
    }
}

/// The pixels of one image for the checker, decoded on first use and kept as 8-bit RGB when
/// they decode so (most JPEGs: the watermark layers read them as they are), else as 8-bit RGBA.
/// An RGBA copy of an RGB image is made only for a layer that asks for one.
pub struct LazyPixels<'a> {
    format: Format,
    bytes: &'a [u8],
    limits: Limits,
    decoded: OnceCell<Result<DynamicImage, DecodeError>>,
    rgba: OnceCell<Option<RgbaImage>>,
}

impl LazyPixels<'_> {
    /// Pixels that are never decoded: every layer that asks gets `None`, and nothing fails.
    pub fn off(format: Format) -> Self {
        LazyPixels {
            format,
            bytes: &[],
            limits: Limits::default(),
            decoded: OnceCell::from(Err(DecodeError::PixelsOff)),
            rgba: OnceCell::new(),
        }
    }
}

impl<'a> LazyPixels<'a> {
    /// Nothing is decoded yet.
    pub fn new(format: Format, bytes: &'a [u8], limits: Limits) -> Self {
        LazyPixels {
            format,
            bytes,
            limits,
            decoded: OnceCell::new(),
            rgba: OnceCell::new(),
        }
    }

    /// The container format.
    pub fn format(&self) -> Format {
        self.format
    }

    fn decoded(&self) -> &Result<DynamicImage, DecodeError> {
        self.decoded.get_or_init(|| {
            let image = decode(self.format, self.bytes, &self.limits)?;
            Ok(match image {
                DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => image,
                other => DynamicImage::ImageRgba8(other.into_rgba8()),
            })
        })
    }

    /// The decoded image (8-bit RGB or RGBA), or `None` when it cannot be decoded (see
    /// [`LazyPixels::failure`]).
    pub fn image(&self) -> Option<&DynamicImage> {
        self.decoded().as_ref().ok()
    }

    /// The image as 8-bit RGBA (for an RGB image, a copy made on the first call).
    pub fn rgba(&self) -> Option<&RgbaImage> {
        let image = self.image()?;
        image
            .as_rgba8()
            .or_else(|| self.rgba.get_or_init(|| Some(image.to_rgba8())).as_ref())
    }

    /// Why decoding failed, if a layer asked for the pixels and it did. `None` when no layer
    /// asked, or when this build has no decoder for the format or the variant.
    pub fn failure(&self) -> Option<&DecodeError> {
        match self.decoded.get() {
            Some(Err(
                DecodeError::NoDecoder(_) | DecodeError::Unsupported(..) | DecodeError::PixelsOff,
            ))
            | Some(Ok(_))
            | None => None,
            Some(Err(err)) => Some(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(image: &DynamicImage) -> Vec<u8> {
        let mut png = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        png
    }

    #[test]
    fn decodes_once_as_rgb_or_rgba_and_refuses_what_it_cannot_decode() {
        let encoded = png(&DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            4,
            3,
            image::Rgb([10, 20, 30]),
        )));
        let pixels = LazyPixels::new(Format::Png, &encoded, Limits::default());
        let first = pixels.image().unwrap() as *const DynamicImage;
        assert_eq!(pixels.image().unwrap() as *const DynamicImage, first);
        assert!(pixels.image().unwrap().as_rgb8().is_some(), "RGB stays RGB");
        assert_eq!(pixels.rgba().unwrap().get_pixel(3, 2).0, [10, 20, 30, 255]);
        let copy = pixels.rgba().unwrap() as *const RgbaImage;
        assert_eq!(
            pixels.rgba().unwrap() as *const RgbaImage,
            copy,
            "one RGBA copy"
        );
        let grey = png(&DynamicImage::ImageLuma8(image::GrayImage::from_pixel(
            2,
            2,
            image::Luma([7]),
        )));
        let grey = LazyPixels::new(Format::Png, &grey, Limits::default());
        assert_eq!(
            grey.image().unwrap().as_rgba8().unwrap().get_pixel(1, 1).0,
            [7, 7, 7, 255]
        );
        assert!(pixels.failure().is_none());
        let avif = LazyPixels::new(Format::Avif, &encoded, Limits::default());
        assert!(avif.image().is_none());
        assert!(avif.failure().is_none(), "no decoder is not a failure");
        let cut = LazyPixels::new(Format::Png, &encoded[..20], Limits::default());
        assert!(cut.image().is_none());
        assert!(matches!(cut.failure(), Some(DecodeError::Corrupt(_))));
    }

    #[test]
    fn limits_count_pixels_and_decoded_bytes_from_the_header() {
        // 64×64 16-bit RGBA: 4,096 pixels, 32 KiB decoded.
        let deep = png(&DynamicImage::ImageRgba16(image::ImageBuffer::new(64, 64)));
        let info = probe(Format::Png, &deep).unwrap();
        assert_eq!((info.width, info.height, info.bytes_per_pixel), (64, 64, 8));
        let few_pixels = Limits {
            max_pixels: 4_000,
            ..Limits::default()
        };
        let err = decode(Format::Png, &deep, &few_pixels).unwrap_err();
        assert!(matches!(err, DecodeError::TooManyPixels { .. }), "{err}");
        assert!(err.is_over_limit());
        let few_bytes = Limits {
            max_decoded_bytes: 32 * 1024 - 1,
            ..Limits::default()
        };
        let err = decode(Format::Png, &deep, &few_bytes).unwrap_err();
        assert!(matches!(err, DecodeError::TooManyBytes { .. }), "{err}");
        // The same pixels at 8 bits fit.
        let shallow = png(&DynamicImage::ImageRgba8(image::ImageBuffer::new(64, 64)));
        assert!(decode(Format::Png, &shallow, &few_bytes).is_ok());
    }

    #[test]
    fn a_zero_sized_image_is_corrupt() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let chunk = crate::container::png::chunk;
        png.extend(chunk(b"IHDR", &[0, 0, 0, 0, 0, 0, 0, 0, 8, 2, 0, 0, 0]));
        png.extend(chunk(
            b"IDAT",
            &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
        ));
        png.extend(chunk(b"IEND", &[]));
        assert!(decode(Format::Png, &png, &Limits::default()).is_err());
    }
}
