//! Baseline JPEG at the level of its quantised DCT coefficients: the stamp's fast path for the
//! most common input. The watermark changes luma only, so a baseline JPEG can be marked by adding
//! the mark's DCT to the luma coefficients and writing the entropy-coded data again. Nothing else
//! is decoded or quantised again: chroma, and every luma coefficient the mark does not move, keep
//! their exact values (no generation loss), and the cost is an entropy decode and encode where
//! the pixel path pays a full decode, colour conversion, chroma solve, forward DCT and
//! quantisation of every block.
//!
//! It reads only what it can rewrite exactly: one sequential Huffman scan (SOF0/SOF1) of 8-bit
//! samples holding every component, one component (grey) or three (YCbCr, not an Adobe RGB
//! file), sampling factors 1 or 2 with luma the densest, 8-bit quantisation tables. Anything else
//! is [`CoefficientError::Unsupported`] and the caller takes the pixel path. Damaged entropy data
//! is [`CoefficientError::Corrupt`], never a panic, and nothing is allocated beyond the frame's
//! blocks, which the caller's [`Limits`] bound before any is read.
//!
//! The rewrite keeps every segment before the scan (metadata, quantisation tables, the frame
//! header) except the Huffman tables, the restart interval and what
//! [`crate::container::jpeg::dropped_on_rewrite`] names (the old C2PA store, a Multi-Picture
//! index of images after the end, which are not kept); it writes the typical Huffman tables of
//! Annex K of the standard (as the pixel path's encoder does for a baseline file) and no restart
//! markers.

mod baseline;
mod entropy;
mod frame;
mod header;
mod transform;

pub use frame::Frame;
