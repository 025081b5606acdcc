//! The grids the mark is defined on: every image is viewed with its short side at a fixed number
//! of pixels (aspect kept), so resizing the image does not move the mark.
//!
//! Images whose short side is at least [`CANONICAL`] are marked on the canonical grid (short
//! side 512). Smaller ones are marked on the coarser [`COARSE`] grid (short side 384), so their
//! chips land on at least about 1.3 image pixels (2 at a 384-px short side) instead of 1–2: a
//! mark finer than that is averaged away by the first ½ downscale or blur. The detector reads an
//! image on the canonical grid and, when that finds nothing and the image is smaller than
//! [`CANONICAL`], on the coarse grid too.

/// The short side of the canonical grid.
pub const CANONICAL: usize = 512;
/// The short side of the grid images smaller than [`CANONICAL`] are marked on. Measured with the
/// robustness example on the 97 real images (10 attacks): against marking them on the
/// canonical grid, a ½ downscale found 96 of 97 (from 93), a ⅓ downscale 91 (90), JPEG q40 97
/// (95), an aspect change 94 (93), the crop + scale + JPEG chains 85 and 84 (84 and 82), the
/// rest unchanged; a 320-px grid lost an aspect change and two chained copies, and the 384-px
/// grid for images up to 600 px lost two WebP q60 copies of 512-px renders.
pub const COARSE: usize = 384;
/// Images whose short side is smaller cannot hold the mark reliably.
pub const MIN_SIDE: usize = 256;
/// Below this short side the detector does not look (a thumbnail of a marked image can still be
/// read down to about half of [`MIN_SIDE`]).
pub const MIN_DETECT_SIDE: usize = 96;

/// The grid (its short side) an image of this size is marked on.
pub fn embedding_grid(width: usize, height: usize) -> usize {
    if width.min(height) < CANONICAL {
        COARSE
    } else {
        CANONICAL
    }
}

/// The size of an image on the grid of short side `grid`, aspect kept; `None` when the image's
/// short side is below `minimum`.
pub fn grid_size(
    width: usize,
    height: usize,
    grid: usize,
    minimum: usize,
) -> Option<(usize, usize)> {
    let short = width.min(height);
    if short < minimum {
        return None;
    }
    let scale = grid as f64 / short as f64;
    let side = |n: usize| ((n as f64 * scale).round() as usize).max(grid);
    Some((side(width), side(height)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_images_are_marked_on_the_coarse_grid() {
        assert_eq!(embedding_grid(1024, 768), CANONICAL);
        assert_eq!(embedding_grid(512, 2000), CANONICAL);
        assert_eq!(embedding_grid(511, 2000), COARSE);
        assert_eq!(grid_size(375, 500, COARSE, MIN_SIDE), Some((384, 512)));
        assert_eq!(grid_size(1152, 864, CANONICAL, MIN_SIDE), Some((683, 512)));
        assert_eq!(grid_size(200, 900, CANONICAL, MIN_SIDE), None);
    }
}
