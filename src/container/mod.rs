//! Container formats at the byte level: one reader per container (an iterator over its blocks,
//! every length bounds-checked) and one writer, shared by the format checks, the metadata
//! layers and re-encoding. Nothing here knows what an image means.

pub mod bmff;
pub mod jpeg;
pub mod png;
pub mod riff;
pub mod tiff;
