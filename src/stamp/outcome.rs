//! What stamping returns: the stamped image with what is worth telling the user, the warnings
//! that did not stop it, and the errors that did.

use std::path::PathBuf;

use crate::format::{Format, FormatError};
use crate::identity::IdentityError;
use crate::layers::c2pa::C2paError;
use crate::layers::watermark::AssetId;
use crate::pixels::DecodeError;
use crate::registry::RegistryError;

use super::options::OptionsError;

/// Why an image could not be stamped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StampError {
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error(transparent)]
    C2pa(#[from] C2paError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Options(#[from] OptionsError),
    /// The input could not be read (`path` is the input).
    #[error("cannot read the file: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot write {path}: {cause}")]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path} already exists")]
    OutputExists { path: PathBuf },
    #[error("no timestamp from {url}: {reason}")]
    Timestamp { url: String, reason: String },
    /// The pixels could not be decoded (corrupt, or over the limits), so nothing was signed.
    #[error("{0}")]
    Pixels(DecodeError),
    /// A visible label was asked for and cannot be drawn into this image.
    #[error("the visible AI label cannot be drawn: {0}")]
    VisibleLabel(String),
    /// The output could not be logged; it was not written.
    #[error("not logged in the registry, so the output was not written: {0}")]
    Registry(RegistryError),
}

impl StampError {
    /// True when the input itself is at fault (unsupported, corrupt, too large, a label that
    /// cannot be drawn, credentials that cannot be kept), not the signer, the network or the
    /// disk: a service answers these with a 4xx.
    pub fn is_input_fault(&self) -> bool {
        match self {
            StampError::Format(_)
            | StampError::Pixels(_)
            | StampError::VisibleLabel(_)
            | StampError::Options(_) => true,
            StampError::C2pa(err) => err.is_input_fault(),
            _ => false,
        }
    }
}

/// A stamped image and what is worth telling the user about it.
#[derive(Debug, Clone)]
pub struct Stamped {
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`: the stamped file, as the registry logs it.
    pub sha256: [u8; 32],
    pub format: Format,
    /// The input already carried C2PA credentials; they were kept as the parent ingredient.
    pub kept_credentials: bool,
    /// The IPTC digital source type was also written into the file's XMP (false for AVIF and
    /// HEIC, where only the C2PA manifest carries it).
    pub xmp_written: bool,
    /// The signature carries a timestamp from the configured TSA.
    pub timestamped: bool,
    /// The asset id the pixels' watermark carries (also in the manifest's soft binding); `None`
    /// when the layer was off or could not be applied (a warning then says why).
    pub watermark: Option<AssetId>,
    /// The signed C2PA manifest store embedded in `bytes`.
    pub manifest_store: Vec<u8>,
    /// The registry entry id, when a registry is attached.
    pub registered: Option<i64>,
    /// Things that did not happen as asked but did not stop the stamp (e.g. no thumbnail, or an
    /// optional timestamp the TSA did not give).
    pub warnings: Vec<StampWarning>,
}

/// Something that did not happen as asked but did not stop the stamp. Its text says what, and
/// names no command-line flag (front doors add their own advice).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StampWarning {
    /// The watermark could not be embedded (an image too small, a format or variant that cannot
    /// be rewritten, a mark that did not survive re-encoding).
    #[error("watermark layer NOT applied: {reason}")]
    WatermarkSkipped { reason: String },
    /// The file's own XMP could not be written (the C2PA manifest still declares the source).
    #[error("XMP DigitalSourceType not written: {reason}")]
    XmpNotWritten { reason: String },
    #[error("no thumbnail: {reason}")]
    NoThumbnail { reason: String },
    /// The input's credentials fail verification; they are kept as the parent ingredient.
    #[error("the input's existing credentials do not verify ({problem}); they are kept as the parent ingredient and checkers will report them")]
    BrokenInputCredentials { problem: String },
    /// The TSA failed and timestamps were optional.
    #[error(
        "signed WITHOUT a timestamp (the TSA failed and timestamps were optional): {url}: {reason}"
    )]
    NoTimestamp { url: String, reason: String },
}

/// A temporary file a crashed run left behind, now removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleFile {
    pub path: PathBuf,
    /// Registry rows that had been logged for it (it was never renamed into place).
    pub registry_rows: u64,
}
