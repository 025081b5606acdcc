//! Logging files that were stamped before a registry was configured (`registry import`): only
//! files whose embedded credentials verify and declare AI are logged, with the asset id their
//! watermark carries.

use crate::check::Checker;
use crate::stamp::fingerprint_of;
use crate::verdict::{Finding, Layer, Verdict};

use super::{now_unix, parse_sha256, Entry, Query, Registry};

/// What importing one file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    /// Logged under this entry id.
    Logged(i64),
    /// The registry already has an entry for this exact file.
    AlreadyRegistered,
}

/// Logs one stamped image. `checker` must not itself consult a registry (its verdict would then
/// rest on the registry being imported into). The error says why the file was not logged.
pub fn import(registry: &Registry, checker: &Checker, bytes: &[u8]) -> Result<Imported, String> {
    let report = checker.check_bytes(bytes);
    if report.verdict == Verdict::Error {
        return Err(format!(
            "not imported: {}",
            report.error.as_deref().unwrap_or("the file cannot be read")
        ));
    }
    if report.verdict != Verdict::LabelledAi {
        return Err(format!(
            "not imported: it is {}, and only images with intact credentials declaring AI are logged ({})",
            report.verdict, report.explanation
        ));
    }
    // The check has identified the format and hashed the file already.
    let (Some(format), Some(sha256)) = (
        report.format,
        report.sha256.as_deref().and_then(parse_sha256),
    ) else {
        return Err("the check did not identify the file".to_string());
    };
    let already = registry
        .find(&Query {
            sha256: Some(sha256),
            ..Query::default()
        })
        .map_err(|e| e.to_string())?;
    if !already.is_empty() {
        return Ok(Imported::AlreadyRegistered);
    }
    let manifest_store = c2pa::jumbf_io::load_jumbf_from_memory(format.mime(), bytes)
        .map_err(|e| format!("cannot extract the manifest store: {e}"))?;
    let asset_id = report
        .evidence
        .iter()
        .find(|e| e.layer == Layer::Watermark && e.finding == Finding::Watermark)
        .and_then(|e| e.value.clone());
    let entry = Entry {
        asset_id,
        sha256,
        fingerprint: fingerprint_of(format, bytes, checker.limits()),
        format: format.mime().to_string(),
        generator: None,
        manifest_store,
        created_at: now_unix(),
    };
    registry
        .register(&entry)
        .map(Imported::Logged)
        .map_err(|e| e.to_string())
}
