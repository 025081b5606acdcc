//! The canonical grid the mark is defined on: every image is viewed with its short side at
//! [`CANONICAL`] pixels (aspect kept), so resizing the image does not move the mark.

/// The short side of the canonical grid.
pub const CANONICAL: usize = 512;
/// Images whose short side is smaller cannot hold the mark reliably.
pub const MIN_SIDE: usize = 256;
/// Below this short side the detector does not look (a thumbnail of a marked image can still be
/// read down to about half of [`MIN_SIDE`]).
pub const MIN_DETECT_SIDE: usize = 96;

/// The canonical grid size for an image: short side [`CANONICAL`], aspect kept; `None` when the
/// short side is below `minimum`.
pub fn canonical_size(width: usize, height: usize, minimum: usize) -> Option<(usize, usize)> {
    let short = width.min(height);
    if short < minimum {
        return None;
    }
    let scale = CANONICAL as f64 / short as f64;
    let side = |n: usize| ((n as f64 * scale).round() as usize).max(CANONICAL);
    Some((side(width), side(height)))
}
