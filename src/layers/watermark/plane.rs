//! Single-channel `f32` image planes and the few operations the watermark needs on them: luma
//! extraction, resampling (through `fast_image_resize`), box filtering and affine warping.

use fast_image_resize::images::{TypedImage, TypedImageRef};
use fast_image_resize::pixels::F32;
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::DynamicImage;

use crate::cpu::dispatch_avx2;

/// A row-major plane of `f32` samples on the 0–255 scale.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl Plane {
    pub fn new(width: usize, height: usize) -> Self {
        Plane {
            width,
            height,
            data: vec![0.0; width * height],
        }
    }

    /// BT.601 luma of any image the `image` crate decodes, scaled to 0–255 whatever the bit
    /// depth. Alpha is ignored.
    pub fn luma(image: &DynamicImage) -> Plane {
        let (width, height) = (image.width() as usize, image.height() as usize);
        let data = match image {
            DynamicImage::ImageLuma8(buffer) => buffer.as_raw().iter().map(|&v| v as f32).collect(),
            DynamicImage::ImageRgb8(buffer) => rgb8_luma(buffer.as_raw()),
            DynamicImage::ImageRgba8(buffer) => rgba8_luma(buffer.as_raw()),
            DynamicImage::ImageLumaA8(buffer) => buffer
                .as_raw()
                .chunks_exact(2)
                .map(|p| p[0] as f32)
                .collect(),
            DynamicImage::ImageRgb16(buffer) => rgb_luma::<_, 3>(buffer.as_raw(), 255.0 / 65535.0),
            DynamicImage::ImageRgba16(buffer) => rgb_luma::<_, 4>(buffer.as_raw(), 255.0 / 65535.0),
            other => {
                let rgb = other.to_rgb32f();
                rgb.as_raw()
                    .chunks_exact(3)
                    .map(|p| 255.0 * (0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]))
                    .collect()
            }
        };
        Plane {
            width,
            height,
            data,
        }
    }

    /// Resamples to `width × height` with a bilinear (triangle) filter, which also averages
    /// properly when shrinking.
    pub fn resized(&self, width: usize, height: usize) -> Plane {
        if (width, height) == (self.width, self.height) {
            return self.clone();
        }
        let mut out = Plane::new(width, height);
        // The resizer reads and writes the planes' own samples (viewed as bytes), no copies.
        let resized = match (
            TypedImageRef::<F32>::from_buffer(
                self.width as u32,
                self.height as u32,
                bytemuck::cast_slice(&self.data),
            ),
            TypedImage::<F32>::from_buffer(
                width as u32,
                height as u32,
                bytemuck::cast_slice_mut(&mut out.data),
            ),
        ) {
            (Ok(source), Ok(mut target)) => {
                let options =
                    ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
                Resizer::new()
                    .resize_typed(&source, &mut target, &options)
                    .is_ok()
            }
            _ => false,
        };
        if !resized {
            out.data.fill(0.0);
        }
        out
    }

    /// The mean over a `(2r+1)²` window, edges clamped: shifted copies of each row added as
    /// slices, then a running sum down the columns a whole row at a time (both contiguous, so
    /// they vectorise).
    pub fn box_mean(&self, radius: usize) -> Plane {
        box_mean(self, radius)
    }

    /// The plane minus its 5×5 local mean: keeps the watermark's band, drops most of the image.
    pub fn high_pass(&self) -> Plane {
        let mean = self.box_mean(2);
        let data = self
            .data
            .iter()
            .zip(&mean.data)
            .map(|(v, m)| v - m)
            .collect();
        Plane {
            width: self.width,
            height: self.height,
            data,
        }
    }
}

dispatch_avx2! {
    /// [`Plane::box_mean`].
    fn box_mean(plane: &Plane, radius: usize) -> Plane {
        let (w, h) = (plane.width, plane.height);
        if w == 0 || h == 0 {
            return Plane::new(w, h);
        }
        let r = radius as isize;
        let window = (2 * radius + 1) as f32;
        // Horizontal sums of every row: inside, the 2r + 1 shifted copies of the row added as
        // whole slices (vectorised; a running sum would be one dependent add per sample); at
        // the ends, where the window reaches past the row and takes the clamped edge sample, one
        // sample at a time. Both planes are built by appending rather than written into zeroed
        // memory, which the allocator clears first: a whole extra pass over each.
        let mut rows = Vec::with_capacity(w * h);
        for line in plane.data.chunks_exact(w) {
            let at = |i: isize| line[i.clamp(0, w as isize - 1) as usize];
            let edge = |i: usize| -> f32 { (-r..=r).map(|k| at(i as isize + k)).sum() };
            if w > 2 * radius {
                rows.extend((0..radius).map(edge));
                let start = rows.len();
                rows.extend_from_slice(&line[..w - 2 * radius]);
                let inner = &mut rows[start..];
                for k in 1..=2 * radius {
                    for (s, &v) in inner.iter_mut().zip(&line[k..]) {
                        *s += v;
                    }
                }
                rows.extend((w - radius..w).map(edge));
            } else {
                rows.extend((0..w).map(edge));
            }
        }
        // Vertical running sum of those rows.
        let row = |y: isize| &rows[y.clamp(0, h as isize - 1) as usize * w..][..w];
        // (In f64: a running sum down a tall image would drift in f32, and the embedder's mask
        // takes differences of such means.)
        let mut sum = vec![0.0f64; w];
        for y in -r..=r {
            for (s, &v) in sum.iter_mut().zip(row(y)) {
                *s += f64::from(v);
            }
        }
        let scale = 1.0 / f64::from(window * window);
        let mut data = Vec::with_capacity(w * h);
        for y in 0..h {
            data.extend(sum.iter().map(|s| (s * scale) as f32));
            let (enter, leave) = (row(y as isize + r + 1), row(y as isize - r));
            for ((s, &e), &l) in sum.iter_mut().zip(enter).zip(leave) {
                *s += f64::from(e) - f64::from(l);
            }
        }
        Plane {
            width: w,
            height: h,
            data,
        }
    }
}

dispatch_avx2! {
    /// BT.601 luma of packed 8-bit RGB.
    fn rgb8_luma(raw: &[u8]) -> Vec<f32> {
        rgb_luma::<_, 3>(raw, 1.0)
    }
}

dispatch_avx2! {
    /// BT.601 luma of packed 8-bit RGBA (alpha ignored).
    fn rgba8_luma(raw: &[u8]) -> Vec<f32> {
        rgb_luma::<_, 4>(raw, 1.0)
    }
}

/// BT.601 luma of packed pixels with `C` channels (alpha, if any, ignored), times `scale`.
#[inline(always)]
fn rgb_luma<T: Copy + Into<f32>, const C: usize>(raw: &[T], scale: f32) -> Vec<f32> {
    crate::cpu::map_uncleared(raw.chunks_exact(C), |p| {
        scale * (0.299 * p[0].into() + 0.587 * p[1].into() + 0.114 * p[2].into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_avx2_and_baseline_versions_agree_bit_for_bit() {
        use crate::cpu::{portable_only, test_samples};
        let plane = Plane {
            width: 203,
            height: 77,
            data: test_samples(203 * 77, 7),
        };
        for radius in [2, 4] {
            assert_eq!(
                portable_only(|| plane.box_mean(radius)),
                plane.box_mean(radius)
            );
        }
        let rgba: Vec<u8> = test_samples(4 * 1001, 3).iter().map(|&v| v as u8).collect();
        assert_eq!(
            portable_only(|| rgb8_luma(&rgba[..3 * 1001])),
            rgb8_luma(&rgba[..3 * 1001])
        );
        assert_eq!(portable_only(|| rgba8_luma(&rgba)), rgba8_luma(&rgba));
    }

    #[test]
    fn box_mean_is_the_clamped_window_mean() {
        use crate::cpu::test_samples;
        // Planes shorter and narrower than the window, and larger ones.
        for (w, h) in [(1, 1), (3, 2), (9, 4), (40, 5), (17, 31), (64, 64)] {
            let plane = Plane {
                width: w,
                height: h,
                data: test_samples(w * h, (w * 31 + h) as u64),
            };
            for radius in [1, 2, 4] {
                let mean = plane.box_mean(radius);
                let r = radius as isize;
                let at = |x: isize, y: isize| {
                    let (x, y) = (x.clamp(0, w as isize - 1), y.clamp(0, h as isize - 1));
                    f64::from(plane.data[y as usize * w + x as usize])
                };
                for y in 0..h as isize {
                    for x in 0..w as isize {
                        let window: f64 = (-r..=r)
                            .flat_map(|dy| (-r..=r).map(move |dx| (dx, dy)))
                            .map(|(dx, dy)| at(x + dx, y + dy))
                            .sum();
                        let expected = window / ((2 * r + 1) * (2 * r + 1)) as f64;
                        let got = f64::from(mean.data[y as usize * w + x as usize]);
                        assert!(
                            (got - expected).abs() < 1e-3,
                            "{w}×{h} r{radius} ({x}, {y}): {got} vs {expected}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn box_mean_of_a_constant_is_the_constant() {
        let mut plane = Plane::new(7, 5);
        plane.data.iter_mut().for_each(|v| *v = 3.0);
        assert!(plane
            .box_mean(2)
            .data
            .iter()
            .all(|v| (v - 3.0).abs() < 1e-5));
        assert!(plane.high_pass().data.iter().all(|v| v.abs() < 1e-5));
    }

    #[test]
    fn resize_keeps_a_ramp_a_ramp() {
        let mut plane = Plane::new(64, 8);
        for y in 0..8 {
            for x in 0..64 {
                plane.data[y * 64 + x] = x as f32;
            }
        }
        let half = plane.resized(32, 4);
        assert_eq!((half.width, half.height), (32, 4));
        assert!(
            (half.data[2 * 32 + 10] - 20.5).abs() < 0.6,
            "{}",
            half.data[2 * 32 + 10]
        );
    }
}
