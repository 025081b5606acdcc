//! One stamped (or refused) input as a machine-readable record: what `stamp --format
//! json|ndjson` prints per file and the Python package returns, with a JSON Schema generated
//! from the type.

use schemars::JsonSchema;
use serde::Serialize;

use crate::format::Format;
use crate::schema_version::{require_fields, SchemaVersion};

use super::outcome::Stamped;

/// What happened to one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StampStatus {
    /// Stamped and written to `output`.
    Stamped,
    /// Left alone on purpose (an in-place input that already carries this signer's intact
    /// credentials); `reason` says why.
    Skipped,
    /// Not stamped; `reason` says why. Nothing was written.
    Failed,
}

/// One input of a stamp run.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StampRecord {
    /// The version of this schema (`synthmark schema check|stamp` prints the current one).
    pub schema_version: SchemaVersion,
    /// The input file (`-` for standard input).
    pub path: String,
    pub status: StampStatus,
    /// Where the stamped image was written (`-` for standard output); absent when it was not
    /// stamped, or was stamped in memory (the library, the Python package).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The asset id the watermark carries (also in the manifest's soft binding); `null` when the
    /// image was not watermarked.
    pub asset_id: Option<String>,
    /// SHA-256 of the stamped file, hex: what a registry or a checker's `sha256` matches.
    pub sha256: Option<String>,
    /// The image format of the output.
    pub format: Option<Format>,
    /// The signature carries an RFC 3161 timestamp.
    pub timestamped: bool,
    /// The pixels carry the watermark.
    pub watermarked: bool,
    /// The IPTC digital source type was also written into the file's own XMP.
    pub xmp_written: bool,
    /// The input's own C2PA credentials were kept as the parent ingredient.
    pub kept_credentials: bool,
    /// The registry entry the output was logged as, when a registry is attached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_entry: Option<i64>,
    /// What did not happen as asked but did not stop the stamp.
    pub warnings: Vec<String>,
    /// Why the input was skipped or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl StampRecord {
    /// The record of `input`, stamped into `output` (`None`: kept in memory).
    pub fn stamped(input: impl Into<String>, output: Option<String>, stamped: &Stamped) -> Self {
        StampRecord {
            output,
            asset_id: stamped.watermark.map(|id| id.to_string()),
            sha256: Some(crate::hex::encode(&stamped.sha256)),
            format: Some(stamped.format),
            timestamped: stamped.timestamped,
            watermarked: stamped.watermark.is_some(),
            xmp_written: stamped.xmp_written,
            kept_credentials: stamped.kept_credentials,
            registry_entry: stamped.registered,
            warnings: stamped.warnings.iter().map(ToString::to_string).collect(),
            ..StampRecord::empty(input.into(), StampStatus::Stamped, None)
        }
    }

    /// The record of an input that was not stamped.
    pub fn failed(input: impl Into<String>, reason: impl Into<String>) -> Self {
        StampRecord::empty(input.into(), StampStatus::Failed, Some(reason.into()))
    }

    /// The record of an input left alone on purpose.
    pub fn skipped(input: impl Into<String>, reason: impl Into<String>) -> Self {
        StampRecord::empty(input.into(), StampStatus::Skipped, Some(reason.into()))
    }

    fn empty(path: String, status: StampStatus, reason: Option<String>) -> Self {
        StampRecord {
            schema_version: SchemaVersion,
            path,
            status,
            output: None,
            asset_id: None,
            sha256: None,
            format: None,
            timestamped: false,
            watermarked: false,
            xmp_written: false,
            kept_credentials: false,
            registry_entry: None,
            warnings: Vec::new(),
            reason,
        }
    }

    /// The JSON Schema of a serialised record (draft 2020-12), generated from this type.
    pub fn json_schema() -> serde_json::Value {
        let mut schema = schemars::schema_for!(StampRecord);
        // Always present, `null` when unknown: required, and still nullable.
        require_fields(&mut schema, &["asset_id", "sha256", "format"]);
        serde_json::to_value(schema).expect("a schema is JSON")
    }
}
