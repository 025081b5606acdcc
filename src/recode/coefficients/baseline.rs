//! What 8-bit baseline JPEG allows, shared by the reader and the writer: the coefficient orders
//! and ranges, a component's blocks, and why a file is not taken through this path.

/// Why a file is not taken through the coefficient path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoefficientError {
    /// A layout this path does not rewrite (the pixel path does).
    #[error("not a baseline JPEG this path rewrites: {0}")]
    Unsupported(&'static str),
    /// The file is damaged.
    #[error("corrupt JPEG: {0}")]
    Corrupt(&'static str),
}

/// Position in natural (row-major) order of the k-th coefficient in zig-zag order.
pub(super) const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// The largest AC magnitude (category 10) and the DC range of 8-bit baseline data, which the
/// typical tables can code.
pub(super) const AC_LIMIT: i32 = 1023;
pub(super) const DC_RANGE: (i32, i32) = (-1024, 1023);

/// One component of the frame and its blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub(super) id: u8,
    pub(super) h: usize,
    pub(super) v: usize,
    /// The quantisation table, in natural (row-major) order.
    pub(super) quant: [u16; 64],
    /// Blocks per row (the whole MCUs of an interleaved scan).
    pub(super) blocks_w: usize,
    /// Quantised coefficients in natural order (row = vertical frequency), blocks row by row.
    pub(super) blocks: Vec<[i16; 64]>,
}
