//! The attacks of the robustness report: what platforms, editors and users do to an image
//! between the provider and the checker.

use image::{imageops, DynamicImage, Rgb, RgbImage};

pub type Attack = (&'static str, fn(&RgbImage) -> RgbImage);

pub fn attacks() -> Vec<Attack> {
    vec![
        ("none", |i| i.clone()),
        ("jpeg90", |i| jpeg(i, 90)),
        ("jpeg75", |i| jpeg(i, 75)),
        ("jpeg50", |i| jpeg(i, 50)),
        ("jpeg40", |i| jpeg(i, 40)),
        ("jpeg30", |i| jpeg(i, 30)),
        ("webp80", |i| webp(i, 80.0)),
        ("webp60", |i| webp(i, 60.0)),
        ("webp50", |i| webp(i, 50.0)),
        ("resize0.5", |i| resize(i, 0.5)),
        ("resize0.75", |i| resize(i, 0.75)),
        ("resize1.5", |i| resize(i, 1.5)),
        ("scale1/3", |i| resize(i, 1.0 / 3.0)),
        ("thumbnail512", |i| fit(i, 512)),
        ("aspect0.8x1", |i| stretch(i, 0.8, 1.0)),
        ("crop10", |i| crop(i, 0.10)),
        ("crop20", |i| crop(i, 0.20)),
        ("screenshot", |i| jpeg(&resize(i, 0.75), 85)),
        ("ui-screenshot", ui_screenshot),
        ("caption-band", caption_band),
        ("mirror", |i| imageops::flip_horizontal(i)),
        ("vflip", |i| imageops::flip_vertical(i)),
        ("rot90", |i| imageops::rotate90(i)),
        ("rot+1", |i| rotate(i, 1.0)),
        ("rot-1", |i| rotate(i, -1.0)),
        ("rot+3", |i| rotate(i, 3.0)),
        ("rot-3", |i| rotate(i, -3.0)),
        ("rot+5", |i| rotate(i, 5.0)),
        ("rot+10", |i| rotate(i, 10.0)),
        ("blur1.5", |i| imageops::blur(i, 1.5)),
        ("median3", median3),
        ("sharpen", |i| imageops::unsharpen(i, 1.0, 2)),
        ("noise8", |i| noise(i, 8.0)),
        ("gamma0.7", |i| gamma(i, 0.7)),
        ("saturation1.6", |i| saturation(i, 1.6)),
        ("grayscale", |i| {
            DynamicImage::ImageLuma8(imageops::grayscale(i)).into_rgb8()
        }),
        ("bright1.2", |i| levels(i, 1.2, 0.0)),
        ("contrast0.8", |i| levels(i, 0.8, 0.2 * 128.0)),
        ("crop10+resize0.5+jpeg75", |i| {
            jpeg(&resize(&crop(i, 0.10), 0.5), 75)
        }),
        ("crop20+scale0.6+jpeg60", |i| {
            jpeg(&resize(&crop(i, 0.20), 0.6), 60)
        }),
        ("jpeg60+resize0.8", |i| resize(&jpeg(i, 60), 0.8)),
        ("mirror+screenshot", |i| {
            jpeg(&resize(&imageops::flip_horizontal(i), 0.75), 85)
        }),
        ("rot+2+jpeg75", |i| jpeg(&rotate(i, 2.0), 75)),
    ]
}

/// Fits the image in a `side`×`side` box, as a platform's thumbnail does.
pub fn fit(image: &RgbImage, side: u32) -> RgbImage {
    let (w, h) = image.dimensions();
    let factor = side as f32 / w.max(h) as f32;
    resize(image, factor.min(1.0))
}

/// Scales the two axes differently.
pub fn stretch(image: &RgbImage, fx: f32, fy: f32) -> RgbImage {
    let (w, h) = image.dimensions();
    imageops::resize(
        image,
        (w as f32 * fx).round() as u32,
        (h as f32 * fy).round() as u32,
        imageops::FilterType::CatmullRom,
    )
}

/// The image pasted at 80 % into a light app frame (header bar, side panel, text lines), then
/// saved as JPEG q85: what a screenshot of a feed looks like.
pub fn ui_screenshot(image: &RgbImage) -> RgbImage {
    let inner = resize(image, 0.8);
    let (w, h) = image.dimensions();
    let (iw, ih) = inner.dimensions();
    let mut canvas = RgbImage::from_pixel(w + w / 4, h + h / 3, Rgb([246, 247, 249]));
    for y in 0..h / 10 {
        for x in 0..canvas.width() {
            canvas.put_pixel(x, y, Rgb([32, 40, 56]));
        }
    }
    for line in 0..6 {
        let y0 = h / 10 + ih + 20 + line * 14;
        for y in y0..(y0 + 6).min(canvas.height()) {
            for x in w / 8..(w / 8 + iw * (8 - line % 3) / 8).min(canvas.width()) {
                canvas.put_pixel(x, y, Rgb([120, 124, 130]));
            }
        }
    }
    imageops::overlay(
        &mut canvas,
        &inner,
        i64::from(w / 8),
        i64::from(h / 10 + 10),
    );
    jpeg(&canvas, 85)
}

/// A white caption band with dark text-like strokes added below the image.
pub fn caption_band(image: &RgbImage) -> RgbImage {
    let (w, h) = image.dimensions();
    let band = (h / 6).max(24);
    let mut out = RgbImage::from_pixel(w, h + band, Rgb([255, 255, 255]));
    imageops::overlay(&mut out, image, 0, 0);
    for y in h + band / 3..h + band / 3 + (band / 3).max(4) {
        for x in 8..w.saturating_sub(8) {
            if (x / 7) % 3 != 0 && (x * 13 + y * 7) % 11 > 2 {
                out.put_pixel(x, y, Rgb([30, 30, 30]));
            }
        }
    }
    out
}

pub fn median3(image: &RgbImage) -> RgbImage {
    let (w, h) = image.dimensions();
    RgbImage::from_fn(w, h, |x, y| {
        Rgb(std::array::from_fn(|c| {
            let mut values = [0u8; 9];
            let mut n = 0;
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let sx = (x as i64 + dx).clamp(0, w as i64 - 1) as u32;
                    let sy = (y as i64 + dy).clamp(0, h as i64 - 1) as u32;
                    values[n] = image.get_pixel(sx, sy).0[c];
                    n += 1;
                }
            }
            values.sort_unstable();
            values[4]
        }))
    })
}

/// Gaussian noise of standard deviation `sigma` per channel (a fixed seed per image size).
pub fn noise(image: &RgbImage, sigma: f32) -> RgbImage {
    let mut state =
        0x2545_f491_4f6c_dd1d_u64 ^ u64::from(image.width()) << 32 ^ u64::from(image.height());
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 11) as f32 + 0.5) / (1u64 << 53) as f32
    };
    let mut out = image.clone();
    for v in out.as_mut() {
        // Box-Muller.
        let (u1, u2) = (uniform(), uniform());
        let g = (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos();
        *v = (f32::from(*v) + sigma * g).round().clamp(0.0, 255.0) as u8;
    }
    out
}

pub fn gamma(image: &RgbImage, g: f32) -> RgbImage {
    let mut out = image.clone();
    for v in out.as_mut() {
        *v = (255.0 * (f32::from(*v) / 255.0).powf(g)).round() as u8;
    }
    out
}

pub fn saturation(image: &RgbImage, factor: f32) -> RgbImage {
    let mut out = image.clone();
    for p in out.pixels_mut() {
        let [r, g, b] = p.0.map(f32::from);
        let y = 0.299 * r + 0.587 * g + 0.114 * b;
        p.0 = [r, g, b].map(|c| (y + factor * (c - y)).round().clamp(0.0, 255.0) as u8);
    }
    out
}

/// JPEG 4:2:0 at `quality` (libjpeg's standard tables, as PIL writes by default).
pub fn jpeg(image: &RgbImage, quality: u8) -> RgbImage {
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality);
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    encoder
        .encode(
            image.as_raw(),
            image.width() as u16,
            image.height() as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .expect("jpeg encode");
    image::load_from_memory(&out)
        .expect("jpeg decode")
        .into_rgb8()
}

pub fn webp(image: &RgbImage, quality: f32) -> RgbImage {
    let encoded =
        webp::Encoder::from_rgb(image.as_raw(), image.width(), image.height()).encode(quality);
    image::load_from_memory(&encoded)
        .expect("webp decode")
        .into_rgb8()
}

pub fn resize(image: &RgbImage, factor: f32) -> RgbImage {
    stretch(image, factor, factor)
}

/// Removes `fraction` of the width and of the height, half on each side.
pub fn crop(image: &RgbImage, fraction: f32) -> RgbImage {
    let (w, h) = image.dimensions();
    let (dx, dy) = (
        (w as f32 * fraction / 2.0) as u32,
        (h as f32 * fraction / 2.0) as u32,
    );
    imageops::crop_imm(image, dx, dy, w - 2 * dx, h - 2 * dy).to_image()
}

/// Rotation about the centre, same canvas, bilinear, black corners (as PIL's `rotate`).
pub fn rotate(image: &RgbImage, degrees: f32) -> RgbImage {
    let (w, h) = image.dimensions();
    let (s, c) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        let (sx, sy) = (c * dx - s * dy + cx - 0.5, s * dx + c * dy + cy - 0.5);
        if sx < 0.0 || sy < 0.0 || sx >= (w - 1) as f32 || sy >= (h - 1) as f32 {
            return Rgb([0, 0, 0]);
        }
        let (x0, y0) = (sx as u32, sy as u32);
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        let p = |x, y| image.get_pixel(x, y).0.map(f32::from);
        let (a, b, cc, d) = (p(x0, y0), p(x0 + 1, y0), p(x0, y0 + 1), p(x0 + 1, y0 + 1));
        Rgb(std::array::from_fn(|k| {
            let top = a[k] + fx * (b[k] - a[k]);
            let bottom = cc[k] + fx * (d[k] - cc[k]);
            (top + fy * (bottom - top)).round().clamp(0.0, 255.0) as u8
        }))
    })
}

pub fn levels(image: &RgbImage, gain: f32, offset: f32) -> RgbImage {
    let mut out = image.clone();
    for p in out.pixels_mut() {
        p.0 =
            p.0.map(|v| (v as f32 * gain + offset).round().clamp(0.0, 255.0) as u8);
    }
    out
}
