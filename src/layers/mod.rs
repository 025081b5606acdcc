//! The marking layers. Each layer answers the same two questions where they apply: how do I
//! embed my mark into an image, and what evidence do I find in one? A layer never decides a
//! verdict; it reports evidence (see [`crate::verdict`]).

pub mod c2pa;
pub mod fingerprint;
pub mod stealth;
pub mod traces;
pub mod visible_label;
pub mod watermark;
pub mod xmp;
