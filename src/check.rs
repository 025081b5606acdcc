//! The checking pipeline, in one place (`Checker::check` follows the `check` line of the diagram
//! in ARCHITECTURE.md): every layer reads the same [`crate::layers::Input`], the typed
//! cross-layer steps pass soft bindings and the asset id on, and [`crate::verdict::decide`]
//! turns the evidence into a verdict.
//!
//! A [`Checker`] is built once (trust anchors, contexts) and shared by every thread of a batch.
//! Checking never fails as a whole: an unreadable file yields a [`Report`] with verdict `error`
//! and the reason.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::explanation::{explain, Grounds};
use crate::format::{read_image_file, Format};
use crate::layers::c2pa::detect::{self, SignerInfo, TimestampInfo};
use crate::layers::c2pa::{self as c2pa_layer, C2paError, ContextConfig, Contexts};
use crate::layers::watermark::AssetId;
use crate::layers::{generator_metadata, stealth_metadata, watermark, xmp, Input};
use crate::limits::Limits;
use crate::registry::evidence::{self as registry_evidence, Recovered};
use crate::registry::Registry;
use crate::schema_version::{require_fields, SchemaVersion};
use crate::verdict::{decide, Evidence, Layer, Trust, Verdict};

/// How images are checked.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// PEM bundle of trust anchors: root (or intermediate) certificates whose signers are trusted.
    ///
    /// Default: empty (only the official lists, [`CheckOptions::official_trust_lists`], apply)
    pub trust_anchors_pem: String,
    /// PEM bundle of trust anchors for time-stamping authorities (RFC 3161).
    ///
    /// Default: empty (timestamps are reported, their TSA as untrusted)
    pub tsa_trust_anchors_pem: String,
    /// Also trust the signers and time-stamping authorities on the official C2PA trust lists
    /// (a dated snapshot bundled with synthmark: `trust/README.md`).
    ///
    /// Default: `true`
    pub official_trust_lists: bool,
    /// Decode the pixels for the layers that read them: watermarks (synthmark's and
    /// generators'), stealth metadata in PNG/WebP pixels, NovelAI's pixel signature and, with a
    /// registry, the image's fingerprint. It costs a decode and tens of milliseconds per
    /// megapixel; without it no pixel is decoded: only metadata and credentials are read (and
    /// the registry asked by exact hash).
    ///
    /// Default: `true`
    pub pixels: bool,
    /// The largest image decoded and the most metadata text read per file. An image over the
    /// limits is not decoded: its report reads `error`, saying why.
    ///
    /// Default: [`Limits::default`]
    pub limits: Limits,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            trust_anchors_pem: String::new(),
            tsa_trust_anchors_pem: String::new(),
            official_trust_lists: true,
            pixels: true,
            limits: Limits::default(),
        }
    }
}

/// Why a trust anchor file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustAnchorError {
    #[error("cannot read trust anchors from {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path} contains no PEM certificate (`-----BEGIN CERTIFICATE-----`)")]
    NoCertificate { path: PathBuf },
}

impl CheckOptions {
    /// Adds every certificate in a PEM file to the signer trust anchors.
    pub fn add_trust_anchor_file(&mut self, path: &Path) -> Result<(), TrustAnchorError> {
        self.trust_anchors_pem.push_str(&read_anchor_file(path)?);
        Ok(())
    }

    /// Adds every certificate in a PEM file to the time-stamping authority trust anchors.
    pub fn add_tsa_trust_anchor_file(&mut self, path: &Path) -> Result<(), TrustAnchorError> {
        self.tsa_trust_anchors_pem
            .push_str(&read_anchor_file(path)?);
        Ok(())
    }
}

fn read_anchor_file(path: &Path) -> Result<String, TrustAnchorError> {
    let bytes = std::fs::read(path).map_err(|source| TrustAnchorError::Read {
        path: path.to_path_buf(),
        cause: source,
    })?;
    let pem = String::from_utf8_lossy(&bytes);
    if !pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err(TrustAnchorError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(format!("{}\n", pem.trim()))
}

/// The result of checking one image.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Report {
    /// The version of this schema (`synthmark schema check|stamp` prints the current one).
    pub schema_version: SchemaVersion,
    /// The file checked (`-` for standard input, absent for bytes checked in memory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub verdict: Verdict,
    /// The verdict in one sentence a moderator understands.
    pub explanation: String,
    /// Trust in the signer of the credentials; `null` when there are none.
    pub trust: Option<Trust>,
    /// The layers the verdict rests on.
    pub rests_on: Vec<Layer>,
    /// The detected format, when the file is an image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    /// SHA-256 of the file's bytes, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Who signed the active manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<SignerInfo>,
    /// The RFC 3161 timestamp on the active manifest's signature, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<TimestampInfo>,
    pub evidence: Vec<Evidence>,
    /// Credentials recovered from the registry, when the image matched an entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovered: Option<Recovered>,
    /// Why the file could not be checked (verdict `error`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The asset id of the synthmark watermark in the pixels, typed (the evidence says it too;
    /// not serialised a second time).
    #[serde(skip)]
    pub asset_id: Option<AssetId>,
}

impl Report {
    /// The JSON Schema of a serialised report (draft 2020-12), generated from this type:
    /// what `check --format json` prints an array of, and `/v1/check` answers.
    pub fn json_schema() -> serde_json::Value {
        let mut schema = schemars::schema_for!(Report);
        // Always present, `null` without credentials: required, and still nullable.
        require_fields(&mut schema, &["trust"]);
        serde_json::to_value(schema).expect("a schema is JSON")
    }

    /// A report for a file that could not be checked.
    pub fn error(path: Option<String>, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Report {
            schema_version: SchemaVersion,
            path,
            verdict: Verdict::Error,
            explanation: explain(Grounds {
                verdict: Verdict::Error,
                evidence: &[],
                signer: None,
                trust: None,
                error: Some(&reason),
            }),
            trust: None,
            rests_on: Vec::new(),
            format: None,
            sha256: None,
            signer: None,
            timestamp: None,
            evidence: Vec::new(),
            recovered: None,
            error: Some(reason),
            asset_id: None,
        }
    }
}

/// Checks images for AI labels and their integrity. `Send + Sync`: build once, share.
pub struct Checker {
    contexts: Contexts,
    pixels: bool,
    limits: Limits,
    registry: Option<RegistryAccess>,
}

/// The registry a checker asks, or why it cannot.
enum RegistryAccess {
    Open(Arc<Registry>),
    Unavailable(String),
}

impl Checker {
    /// Builds the C2PA validation contexts once.
    pub fn new(options: &CheckOptions) -> Result<Self, C2paError> {
        let contexts = c2pa_layer::contexts(&ContextConfig {
            trust_anchors_pem: options.trust_anchors_pem.clone(),
            tsa_trust_anchors_pem: options.tsa_trust_anchors_pem.clone(),
            official_trust_lists: options.official_trust_lists,
            verify_after_sign: false,
        })?;
        Ok(Checker {
            contexts,
            pixels: options.pixels,
            limits: options.limits,
            registry: None,
        })
    }

    /// Also asks this registry about every image (the `registry` layer).
    pub fn with_registry(mut self, registry: Arc<Registry>) -> Self {
        self.registry = Some(RegistryAccess::Open(registry));
        self
    }

    /// A registry was configured but could not be opened: every report says so (and why), and
    /// the verdict rests on the other layers.
    pub fn with_registry_unavailable(mut self, reason: impl Into<String>) -> Self {
        self.registry = Some(RegistryAccess::Unavailable(reason.into()));
        self
    }

    /// The limits this checker decodes and reads within.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Checks an image held in memory.
    pub fn check_bytes(&self, bytes: &[u8]) -> Report {
        self.check(None, bytes)
    }

    /// Checks a file. An unreadable file gives a report with verdict `error`.
    pub fn check_file(&self, path: &Path) -> Report {
        let shown = path.display().to_string();
        match read_image_file(path) {
            Ok(bytes) => self.check(Some(shown), &bytes),
            Err(err) => Report::error(Some(shown), format!("cannot read the file: {err}")),
        }
    }

    /// Checks bytes that came from `path` (e.g. `-` for standard input).
    pub fn check_named(&self, path: &str, bytes: &[u8]) -> Report {
        self.check(Some(path.to_string()), bytes)
    }

    fn check(&self, path: Option<String>, bytes: &[u8]) -> Report {
        let format = match Format::identify(bytes) {
            Ok(format) => format,
            Err(err) => return Report::error(path, err.to_string()),
        };
        // One input for every layer; its pixels are decoded on first use, if pixel layers are on.
        let input = Input::new(format, bytes, self.limits, self.pixels);
        let sha256 = input.sha256;
        let c2pa = detect::detect(&self.contexts, format, bytes);
        let mut evidence = c2pa.evidence;
        evidence.extend(xmp::detect::detect(&input));
        evidence.extend(generator_metadata::detect(&input));
        evidence.extend(stealth_metadata::detect(&input));
        // Cross-layer steps, typed: the manifest's soft bindings to the watermark, the
        // watermark's asset id to the registry.
        let marked = watermark::evidence(&input, &c2pa.soft_bindings);
        evidence.extend(marked.evidence);
        let registry = match &self.registry {
            None => registry_evidence::RegistryFindings::default(),
            Some(RegistryAccess::Unavailable(reason)) => registry_evidence::unavailable(reason),
            Some(RegistryAccess::Open(registry)) => {
                registry_evidence::evidence(registry, &self.contexts, &input, marked.asset_id)
            }
        };
        evidence.extend(registry.evidence);
        let pixels = &input.pixels;
        let decision = decide(&evidence);
        // Pixels a layer needed but that do not decode (corrupt, or over the limits): the file
        // cannot be checked as asked. Credentials that fail verification still read tampered.
        if let Some(failure) = pixels.failure() {
            if decision.verdict != Verdict::Tampered {
                let mut report = Report::error(path, failure.to_string());
                report.format = Some(format);
                report.sha256 = Some(crate::hex::encode(&sha256));
                report.evidence = evidence;
                return report;
            }
        }
        let mut report = Report {
            schema_version: SchemaVersion,
            path,
            verdict: decision.verdict,
            explanation: String::new(),
            trust: c2pa.trust,
            rests_on: decision.rests_on,
            format: Some(format),
            sha256: Some(crate::hex::encode(&sha256)),
            signer: c2pa.signer,
            timestamp: c2pa.timestamp,
            evidence,
            recovered: registry.recovered,
            error: None,
            asset_id: marked.asset_id,
        };
        report.explanation = explain(Grounds {
            verdict: report.verdict,
            evidence: &report.evidence,
            signer: report
                .signer
                .as_ref()
                .and_then(|s| s.common_name.as_deref().or(s.issuer.as_deref())),
            trust: report.trust,
            error: None,
        });
        report
    }
}
