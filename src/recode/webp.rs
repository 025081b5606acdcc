//! WebP: decoded by `image`, re-encoded by libwebp (lossless stays lossless, lossy is written at
//! the requested quality, default 90), then wrapped in a VP8X container with the original's ICC
//! profile, EXIF and XMP chunks.

use image::DynamicImage;

use crate::format::Format;
use crate::limits::Limits;

use super::{decode_with, EncodeOptions, RecodeError};
use crate::container::riff::{self, push_chunk, Chunk};

/// Lossy quality when none is asked for (libwebp's scale; WebP keeps no quality to estimate).
const DEFAULT_QUALITY: f32 = 90.0;
const FLAG_ICC: u8 = 0x20;
const FLAG_ALPHA: u8 = 0x10;
const FLAG_EXIF: u8 = 0x08;
const FLAG_XMP: u8 = 0x04;

/// The chunks of a WebP file, or why they cannot be read.
fn chunks(bytes: &[u8]) -> Result<Vec<Chunk>, RecodeError> {
    riff::all_chunks(bytes)
        .ok_or_else(|| RecodeError::Decode("a WebP chunk runs past the end".into()))
}

pub(super) fn decode(bytes: &[u8], limits: &Limits) -> Result<DynamicImage, RecodeError> {
    if chunks(bytes)?.iter().any(|c| &c.fourcc == b"ANIM") {
        return Err(RecodeError::Unsupported(
            "animated WebPs are not re-encoded (only the first frame would survive)".into(),
        ));
    }
    decode_with(Format::Webp, bytes, limits)
}

pub(super) fn encode(
    original: &[u8],
    image: &DynamicImage,
    options: EncodeOptions,
) -> Result<Vec<u8>, RecodeError> {
    let old = chunks(original)?;
    let lossless = old.iter().any(|c| &c.fourcc == b"VP8L");
    let has_alpha = image.color().has_alpha();
    let rgba;
    let rgb;
    let encoder = if has_alpha {
        rgba = image.to_rgba8();
        webp::Encoder::from_rgba(rgba.as_raw(), image.width(), image.height())
    } else {
        rgb = image.to_rgb8();
        webp::Encoder::from_rgb(rgb.as_raw(), image.width(), image.height())
    };
    let mut config = webp::WebPConfig::new()
        .map_err(|()| RecodeError::Encode("libwebp: cannot initialise its configuration".into()))?;
    config.lossless = i32::from(lossless);
    config.alpha_compression = i32::from(!lossless);
    config.quality = if lossless {
        100.0
    } else {
        options.quality.map_or(DEFAULT_QUALITY, f32::from)
    };
    // libwebp's iterative RGB→YUV: the 4:2:0 chroma it writes decodes closer to the input's,
    // +0.8 dB median at the same size on the dev corpus's images (cwebp -sharp_yuv).
    config.use_sharp_yuv = 1;
    let encoded = encoder
        .encode_advanced(&config)
        .map_err(|e| RecodeError::Encode(format!("libwebp: {e:?}")))?;
    let new = chunks(&encoded)?;

    let find = |fourcc: &[u8; 4]| {
        old.iter()
            .find(|c| &c.fourcc == fourcc)
            .map(|c| &original[c.data.clone()])
    };
    let (icc, exif, xmp) = (find(b"ICCP"), find(b"EXIF"), find(b"XMP "));
    let image_chunks: Vec<&Chunk> = new
        .iter()
        .filter(|c| matches!(&c.fourcc, b"VP8 " | b"VP8L" | b"ALPH"))
        .collect();
    let mut body = Vec::with_capacity(encoded.len() + 1024);
    if icc.is_some() || exif.is_some() || xmp.is_some() || has_alpha && !lossless {
        let mut flags = 0u8;
        for (present, flag) in [
            (icc.is_some(), FLAG_ICC),
            (has_alpha, FLAG_ALPHA),
            (exif.is_some(), FLAG_EXIF),
            (xmp.is_some(), FLAG_XMP),
        ] {
            if present {
                flags |= flag;
            }
        }
        let mut vp8x = [0u8; 10];
        vp8x[0] = flags;
        vp8x[4..7].copy_from_slice(&(image.width() - 1).to_le_bytes()[..3]);
        vp8x[7..10].copy_from_slice(&(image.height() - 1).to_le_bytes()[..3]);
        push_chunk(&mut body, b"VP8X", &vp8x);
    }
    if let Some(icc) = icc {
        push_chunk(&mut body, b"ICCP", icc);
    }
    for chunk in image_chunks {
        push_chunk(&mut body, &chunk.fourcc, &encoded[chunk.data.clone()]);
    }
    if let Some(exif) = exif {
        push_chunk(&mut body, b"EXIF", exif);
    }
    if let Some(xmp) = xmp {
        push_chunk(&mut body, b"XMP ", xmp);
    }
    let mut out = Vec::with_capacity(body.len() + 12);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&((body.len() + 4) as u32).to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(&body);
    Ok(out)
}
