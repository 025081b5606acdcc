//! PDQ's luma plane as the reference computes it (in double precision, then to float), with
//! the same bits, only faster (see [`luma_of_pixel`]).

/// Luma as the reference's Python binding computes it: `r·0.299 + g·0.587 + b·0.114` in double
/// precision, then to float. That is the float nearest to the exact (299r + 587g + 114b) / 1000:
/// the double's error (below 10⁻¹³) is far smaller than the distance from any such fraction to
/// the nearest point halfway between two floats (at least 1 / (1000 · 2²⁸): the midpoints are
/// fractions with a power of two below, of at most 2²⁸ for luma ≥ 0.114, and a fraction with
/// 1000 below that is not a float itself is not one of them). So it is computed here as an
/// exact integer sum, converted exactly, and one correctly rounded division, which vectorises
/// eight to a register where the doubles took four. The test checks all 2²⁴ colours.
#[inline(always)]
fn luma_of_pixel(p: &[u8]) -> f32 {
    let sum = 299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2]);
    sum as f32 / 1000.0
}

/// [`luma_of_pixel`] of every pixel (`channels` samples each), in loops the compiler vectorises
/// for RGB and RGBA.
pub(super) fn luma(pixels: &[u8], channels: usize) -> Vec<f32> {
    match channels {
        3 => luma_rgb(pixels),
        4 => luma_rgba(pixels),
        _ => pixels.chunks_exact(channels).map(luma_of_pixel).collect(),
    }
}

/// The loop of [`luma`] for `C` channels.
#[inline(always)]
fn luma_loop<const C: usize>(pixels: &[u8]) -> Vec<f32> {
    crate::cpu::map_uncleared(pixels.chunks_exact(C), luma_of_pixel)
}

crate::cpu::dispatch_avx2! {
    /// [`luma_loop`] for RGB.
    fn luma_rgb(pixels: &[u8]) -> Vec<f32> {
        luma_loop::<3>(pixels)
    }
}

crate::cpu::dispatch_avx2! {
    /// [`luma_loop`] for RGBA.
    fn luma_rgba(pixels: &[u8]) -> Vec<f32> {
        luma_loop::<4>(pixels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luma_is_computed_the_same_for_every_channel_count() {
        let rgba: Vec<u8> = (0..4 * 999).map(|i| (i * 37 % 256) as u8).collect();
        let rgb: Vec<u8> = rgba
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        let expected: Vec<f32> = rgb.chunks_exact(3).map(luma_of_pixel).collect();
        assert_eq!(luma(&rgb, 3), expected);
        assert_eq!(luma(&rgba, 4), expected);
        assert_eq!(crate::cpu::portable_only(|| luma(&rgba, 4)), expected);
        // Any other layout: the first three samples of each pixel.
        let five: Vec<u8> = rgb
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 9, 9])
            .collect();
        assert_eq!(luma(&five, 5), expected);
    }

    #[test]
    fn luma_is_the_bindings_double_precision_formula_for_every_colour() {
        // The reference's Python binding, in double precision, then to float.
        let reference = |r: u8, g: u8, b: u8| {
            (f64::from(r) * 0.299 + f64::from(g) * 0.587 + f64::from(b) * 0.114) as f32
        };
        for r in 0..=255u8 {
            for g in 0..=255u8 {
                for b in 0..=255u8 {
                    let (ours, theirs) = (luma_of_pixel(&[r, g, b]), reference(r, g, b));
                    assert!(
                        ours.to_bits() == theirs.to_bits(),
                        "({r}, {g}, {b}): {ours} against {theirs}"
                    );
                }
            }
        }
    }
}
