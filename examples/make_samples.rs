//! Regenerates the bundled `samples/` images (run by `scripts/make-samples.sh`).
//!
//! The pictures are synthetic (gradients and shapes), so the repository carries no third-party
//! content. AVIF and HEIC samples are made from the PNG by `heif-enc` in the script.

use std::path::Path;

use image::{ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};

fn scene(width: u32, height: u32, seed: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
        let cx = fx - 0.3 - 0.1 * seed as f32;
        let cy = fy - 0.4;
        let sun = (-(cx * cx + cy * cy) * 40.0).exp();
        let sky = 1.0 - fy;
        let hill = if fy > 0.6 + 0.1 * (fx * 9.0 + seed as f32).sin() {
            1.0
        } else {
            0.0
        };
        let noise = ((x.wrapping_mul(73_856_093) ^ y.wrapping_mul(19_349_663) ^ seed) % 17) as f32;
        let r = 60.0 + 150.0 * sky * (1.0 - hill) + 180.0 * sun + 30.0 * hill + noise;
        let g = 90.0 + 120.0 * sky * (1.0 - hill) + 150.0 * sun + 110.0 * hill + noise;
        let b = 140.0 + 110.0 * sky * (1.0 - hill) + 40.0 * sun + 20.0 * hill + noise;
        Rgb([r.min(255.0) as u8, g.min(255.0) as u8, b.min(255.0) as u8])
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "samples".to_string());
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir)?;
    // Large enough to carry the watermark (short side >= 256 px); the GIF icon is not.
    scene(800, 600, 1).save_with_format(dir.join("landscape.jpg"), ImageFormat::Jpeg)?;
    scene(384, 480, 2).save_with_format(dir.join("portrait.png"), ImageFormat::Png)?;
    scene(640, 320, 3).save_with_format(dir.join("banner.webp"), ImageFormat::WebP)?;
    scene(400, 300, 4).save_with_format(dir.join("scan.tiff"), ImageFormat::Tiff)?;
    let icon = RgbaImage::from_fn(96, 96, |x, y| {
        let inside = (x as i32 - 48).pow(2) + (y as i32 - 48).pow(2) < 40 * 40;
        if inside {
            Rgba([230, 120, 40, 255])
        } else {
            Rgba([0, 0, 0, 0])
        }
    });
    icon.save_with_format(dir.join("icon.gif"), ImageFormat::Gif)?;
    println!("wrote samples into {}", dir.display());
    Ok(())
}
