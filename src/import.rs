//! The import pipeline: logging files that were stamped before a registry was configured
//! (`registry import`). A pipeline beside `stamp` and `check`, above the registry it writes to
//! (the `import` line of the diagram in ARCHITECTURE.md): only files whose credentials verify
//! and declare AI are logged, once, with the asset id their watermark carries.

use crate::check::Checker;
use crate::layers::fingerprint;
use crate::registry::{now_unix, parse_sha256, Entry, Query, Registry, RegistryError};
use crate::verdict::Verdict;

/// What importing one file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    /// Logged under this entry id.
    Logged(i64),
    /// The registry already has an entry for this exact file.
    AlreadyRegistered,
}

/// Why a file was not logged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file cannot be read as an image.
    #[error("not imported: {reason}")]
    Unreadable { reason: String },
    /// The file reads, but not as an image with intact credentials declaring AI.
    #[error("not imported: it is {verdict}, and only images with intact credentials declaring AI are logged ({explanation})")]
    NotLabelledAi {
        verdict: Verdict,
        explanation: String,
    },
    /// The check identified no format or hash (it always does for a readable file).
    #[error("the check did not identify the file")]
    Unidentified,
    #[error("cannot extract the manifest store: {reason}")]
    ManifestStore { reason: String },
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// Logs one stamped image. `checker` must not itself consult a registry (its verdict would then
/// rest on the registry being imported into).
pub fn import(
    registry: &Registry,
    checker: &Checker,
    bytes: &[u8],
) -> Result<Imported, ImportError> {
    let report = checker.check_bytes(bytes);
    if report.verdict == Verdict::Error {
        return Err(ImportError::Unreadable {
            reason: report
                .error
                .unwrap_or_else(|| "the file cannot be read".to_string()),
        });
    }
    if report.verdict != Verdict::LabelledAi {
        return Err(ImportError::NotLabelledAi {
            verdict: report.verdict,
            explanation: report.explanation,
        });
    }
    // The check has identified the format and hashed the file already.
    let (Some(format), Some(sha256)) = (
        report.format,
        report.sha256.as_deref().and_then(parse_sha256),
    ) else {
        return Err(ImportError::Unidentified);
    };
    let already = registry.find(&Query {
        sha256: Some(sha256),
        ..Query::default()
    })?;
    if !already.is_empty() {
        return Ok(Imported::AlreadyRegistered);
    }
    let manifest_store =
        c2pa::jumbf_io::load_jumbf_from_memory(format.mime(), bytes).map_err(|e| {
            ImportError::ManifestStore {
                reason: e.to_string(),
            }
        })?;
    let asset_id = report.asset_id.map(|id| id.to_string());
    let entry = Entry {
        asset_id,
        sha256,
        fingerprint: fingerprint::of_encoded(format, bytes, checker.limits()),
        format: format.mime().to_string(),
        generator: None,
        manifest_store,
        created_at: now_unix(),
    };
    Ok(registry.register(&entry).map(Imported::Logged)?)
}
