//! The stamping pipeline, in one place ([`Stamper::stamp_bytes_with`] and `sign` follow the
//! `stamp` line of the diagram in ARCHITECTURE.md step by step). The C2PA manifest carries the
//! actions, the soft binding to the watermark, the training reservation, the thumbnail and any
//! previous credentials as the parent ingredient.
//!
//! Registration comes before the write: an output that exists has been logged, and a registry
//! that fails makes the stamp fail with the reason, never silently.
//!
//! A [`Stamper`] is built once (contexts, signer, options) and shared by every thread of a batch.

use std::path::Path;
use std::sync::Arc;

use c2pa::BoxedSigner;
use sha2::{Digest, Sha256};

use crate::atomic_file::{self, Existing};
use crate::format::{read_image_file, Format, FormatError};
use crate::identity::SigningIdentity;
use crate::layers::c2pa::detect::{self, has_manifest_store};
use crate::layers::c2pa::embed::{self, Involvement, ManifestSpec, SoftwareAgent};
use crate::layers::c2pa::timestamp::{TimestampingSigner, TsaClient};
use crate::layers::c2pa::{self as c2pa_layer, ContextConfig, Contexts};
use crate::layers::fingerprint;
use crate::layers::visible_label::VisibleLabel;
use crate::layers::watermark::{self, AssetId};
use crate::layers::xmp::{self, XmpError};
use crate::limits::Limits;
use crate::registry::{Entry, Registry};
use crate::verdict::Evidence;

mod edit;
mod options;
mod outcome;
mod record;

use edit::{edit_pixels, thumbnail};

pub use options::{
    OptionsError, Quality, Reencoding, StampOptions, StamperConfig, WatermarkOptions, MAX_STRENGTH,
};
pub use outcome::{StaleFile, StampError, StampWarning, Stamped};
pub use record::{StampRecord, StampStatus};

/// A registry entry for a stamped output, not logged yet, and the registry it goes to.
type Unlogged<'a> = (&'a Registry, Entry);

/// Stamps images with signed AI-disclosure credentials. `Send + Sync`: build once, share.
pub struct Stamper {
    contexts: Contexts,
    signer: BoxedSigner,
    /// SHA-256 of the signing certificate (DER), to recognise our own credentials.
    certificate_sha256: [u8; 32],
    tsa: Option<TsaClient>,
    registry: Option<Arc<Registry>>,
    config: StamperConfig,
    options: StampOptions,
}

impl Stamper {
    /// A stamper with the default [`StamperConfig`] (no timestamps) that applies `options`.
    pub fn new(identity: &SigningIdentity, options: StampOptions) -> Result<Self, StampError> {
        Stamper::with_config(identity, StamperConfig::default(), options)
    }

    /// Builds the C2PA contexts and the signer once, from `config`; `options` are the defaults
    /// of [`Stamper::stamp_bytes`] and the batch methods.
    pub fn with_config(
        identity: &SigningIdentity,
        config: StamperConfig,
        options: StampOptions,
    ) -> Result<Self, StampError> {
        options.validate()?;
        let contexts = c2pa_layer::contexts(&ContextConfig {
            verify_after_sign: config.verify_after_sign,
            ..ContextConfig::default()
        })?;
        let tsa_url = config.tsa.as_ref().map(|tsa| tsa.url.as_str());
        Ok(Stamper {
            contexts,
            signer: identity.signer(tsa_url)?,
            certificate_sha256: identity.certificate_sha256(),
            tsa: config.tsa.clone().map(TsaClient::new),
            registry: None,
            config,
            options,
        })
    }

    /// Logs every stamped output in `registry` before it is returned or written.
    pub fn with_registry(mut self, registry: Arc<Registry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// The options this stamper applies by default.
    pub fn options(&self) -> &StampOptions {
        &self.options
    }

    /// The settings this stamper was built with.
    pub fn config(&self) -> &StamperConfig {
        &self.config
    }

    /// Stamps an image held in memory. `title` names the asset in the manifest (a file name).
    pub fn stamp_bytes(&self, input: &[u8], title: &str) -> Result<Stamped, StampError> {
        self.stamp_bytes_with(input, title, &self.options)
    }

    /// Stamps with per-call options (a service's request parameters). The signer, the
    /// timestamping authority, verify-after-sign and the limits stay as this stamper was built
    /// ([`StamperConfig`]).
    pub fn stamp_bytes_with(
        &self,
        input: &[u8],
        title: &str,
        options: &StampOptions,
    ) -> Result<Stamped, StampError> {
        options.validate()?;
        let (mut stamped, entry) = self.sign(input, title, options)?;
        if let Some((registry, entry)) = entry {
            stamped.registered = Some(registry.register(&entry).map_err(StampError::Registry)?);
        }
        Ok(stamped)
    }

    /// Every step but registration: the stamped image, and the registry entry still to be logged
    /// (when a registry is attached).
    fn sign(
        &self,
        input: &[u8],
        title: &str,
        options: &StampOptions,
    ) -> Result<(Stamped, Option<Unlogged<'_>>), StampError> {
        let format = Format::identify(input)?;
        if format.is_bare_jxl(input) {
            return Err(FormatError::BareJxlCodestream.into());
        }
        let mut warnings = Vec::new();
        let involvement = options.involvement;

        let (marked, watermark) = if options.watermark.is_none() && options.visible_label.is_none()
        {
            (None, None)
        } else {
            // An input that already carries credentials, or is an edit, may be one of our own
            // outputs: its watermark is kept (a second mark over it would garble both).
            let may_be_marked = involvement == Involvement::Edited || has_manifest_store(input);
            let edited = edit_pixels(format, input, options, &self.config.limits, may_be_marked)?;
            if let Some(reason) = edited.watermark_skipped {
                warnings.push(StampWarning::WatermarkSkipped { reason });
            }
            (edited.bytes, edited.watermark)
        };
        let pixels = marked.as_deref().unwrap_or(input);

        let with_xmp =
            match xmp::embed_digital_source_type(format, pixels, involvement.source_type()) {
                Ok(bytes) => Some(bytes),
                // AVIF and HEIC: expected, reported through `Stamped::xmp_written`.
                Err(XmpError::Unsupported(_)) => None,
                Err(err) => {
                    warnings.push(StampWarning::XmpNotWritten {
                        reason: err.to_string(),
                    });
                    None
                }
            };
        let thumbnail = if options.thumbnail {
            match thumbnail(format, pixels, &self.config.limits) {
                Ok(jpeg) => Some(jpeg),
                Err(reason) => {
                    warnings.push(StampWarning::NoThumbnail {
                        reason: reason.to_string(),
                    });
                    None
                }
            }
        } else {
            None
        };

        let kept_credentials = has_manifest_store(input);
        if kept_credentials {
            if let Some(problem) = self.broken_credentials(format, input) {
                warnings.push(StampWarning::BrokenInputCredentials { problem });
            }
        }
        let spec = ManifestSpec {
            title,
            involvement,
            generator: options.generator.as_ref(),
            no_train: options.no_train,
            thumbnail: thumbnail.as_deref(),
            parent: (kept_credentials || involvement == Involvement::Edited).then_some(input),
            soft_binding: watermark.map(soft_binding),
            visible_label: options.visible_label.map(drawn_label),
        };
        let xmp_written = with_xmp.is_some();
        let to_sign = with_xmp.as_deref().unwrap_or(pixels);
        let (signed, timestamped) = match &self.tsa {
            None => (
                embed::sign(
                    &self.contexts.all,
                    self.signer.as_ref(),
                    format,
                    to_sign,
                    &spec,
                )?,
                false,
            ),
            Some(tsa) => {
                let signer = TimestampingSigner::new(self.signer.as_ref(), tsa);
                let signed = embed::sign(&self.contexts.all, &signer, format, to_sign, &spec);
                match (signed, signer.failure()) {
                    (Ok(signed), None) => (signed, true),
                    (Ok(signed), Some(reason)) => {
                        warnings.push(StampWarning::NoTimestamp {
                            url: signer.url().to_string(),
                            reason,
                        });
                        (signed, false)
                    }
                    (Err(_), Some(reason)) => {
                        return Err(StampError::Timestamp {
                            url: signer.url().to_string(),
                            reason,
                        })
                    }
                    (Err(err), None) => return Err(err.into()),
                }
            }
        };
        let sha256: [u8; 32] = Sha256::digest(&signed.image).into();
        let entry = self.registry.as_deref().map(|registry| {
            let entry = registry_entry(
                format,
                &signed,
                sha256,
                watermark,
                options.generator.as_ref(),
                &self.config.limits,
            );
            (registry, entry)
        });
        let stamped = Stamped {
            bytes: signed.image,
            sha256,
            format,
            kept_credentials,
            xmp_written,
            timestamped,
            watermark,
            manifest_store: signed.manifest_store,
            registered: None,
            warnings,
        };
        Ok((stamped, entry))
    }

    /// Why the credentials already in `input` fail integrity checks, if they do.
    fn broken_credentials(&self, format: Format, input: &[u8]) -> Option<String> {
        let findings = detect::detect(&self.contexts, format, input);
        findings
            .evidence
            .into_iter()
            .find(Evidence::is_integrity_failure)
            .map(|e| e.detail)
    }

    /// True when `input` already carries intact credentials signed with this stamper's
    /// certificate: re-running a batch (say, after a crash) need not stamp it again.
    pub fn carries_own_credentials(&self, input: &[u8]) -> bool {
        let Ok(format) = Format::identify(input) else {
            return false;
        };
        if !has_manifest_store(input) {
            return false;
        }
        let findings = detect::detect(&self.contexts, format, input);
        let intact = !findings.evidence.iter().any(Evidence::is_integrity_failure);
        let ours = findings
            .signer
            .and_then(|s| s.certificate_sha256)
            .is_some_and(|sha| sha == crate::hex::encode(&self.certificate_sha256));
        intact && ours
    }

    /// Removes the temporary files a crashed or killed stamping run left in `dir` (files of
    /// running processes are never touched), and the registry rows logged for them: such a file
    /// was staged and logged but never renamed into place. Returns what was removed.
    pub fn remove_stale_files(&self, dir: &Path) -> Vec<StaleFile> {
        atomic_file::stale_files(dir)
            .into_iter()
            .filter_map(|path| {
                let registry_rows = match (&self.registry, std::fs::read(&path)) {
                    (Some(registry), Ok(bytes)) => registry
                        .delete(&crate::hex::encode(&Sha256::digest(&bytes)))
                        .unwrap_or(0),
                    _ => 0,
                };
                std::fs::remove_file(&path).ok()?;
                Some(StaleFile {
                    path,
                    registry_rows,
                })
            })
            .collect()
    }

    /// Stamps `input` into `output` (which may be the same path, for in-place stamping). The output
    /// is written atomically; an existing output is replaced only with [`Existing::Replace`].
    pub fn stamp_file(
        &self,
        input: &Path,
        output: &Path,
        existing: Existing,
    ) -> Result<Stamped, StampError> {
        let bytes = read_image_file(input).map_err(|source| StampError::Read {
            path: input.to_path_buf(),
            cause: source,
        })?;
        let title = input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "image".to_string());
        self.stamp_into(&bytes, &title, output, existing)
    }

    /// Stamps `input` (named `title` in the manifest) and writes the result to `output`
    /// atomically. The output is staged in a temporary file beside it, then logged in the
    /// registry, then renamed into place: an output that exists has been logged, and a crash
    /// leaves at most a staged file (see [`crate::remove_stale_files`]).
    pub fn stamp_into(
        &self,
        input: &[u8],
        title: &str,
        output: &Path,
        existing: Existing,
    ) -> Result<Stamped, StampError> {
        if existing == Existing::Refuse && output.exists() {
            return Err(StampError::OutputExists {
                path: output.to_path_buf(),
            });
        }
        let write_error = |source: std::io::Error| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                StampError::OutputExists {
                    path: output.to_path_buf(),
                }
            } else {
                StampError::Write {
                    path: output.to_path_buf(),
                    cause: source,
                }
            }
        };
        let (mut stamped, entry) = self.sign(input, title, &self.options)?;
        let staged = atomic_file::stage(output, &stamped.bytes, None).map_err(write_error)?;
        if let Some((registry, entry)) = &entry {
            // On failure the staged file is dropped (deleted): nothing unlogged is written.
            stamped.registered = Some(registry.register(entry).map_err(StampError::Registry)?);
        }
        if let Err(err) = staged.commit(existing) {
            if let Some((registry, entry)) = &entry {
                // The output was not written after all: its registry row goes too.
                let _ = registry.delete(&crate::hex::encode(&entry.sha256));
            }
            return Err(write_error(err));
        }
        Ok(stamped)
    }
}

/// The soft binding that ties the manifest to the watermark: its algorithm and its 8 payload
/// bytes (version, asset id, check), big-endian; the asset id also in the name people read.
fn soft_binding(id: AssetId) -> embed::SoftBindingClaim {
    embed::SoftBindingClaim {
        alg: watermark::ALGORITHM,
        value: watermark::pack(id).to_be_bytes().to_vec(),
        name: format!("synthmark asset {id}"),
    }
}

/// The visible label as the manifest describes it.
fn drawn_label(label: VisibleLabel) -> embed::DrawnLabel {
    embed::DrawnLabel {
        label: label.kind.as_str(),
        text: label.kind.text(),
        corner: label.corner.as_str(),
    }
}

/// What the registry logs for a stamped output: no pixels, only identifiers and the credentials.
fn registry_entry(
    format: Format,
    signed: &embed::Signed,
    sha256: [u8; 32],
    watermark: Option<AssetId>,
    generator: Option<&SoftwareAgent>,
    limits: &Limits,
) -> Entry {
    Entry {
        asset_id: watermark.map(|id| id.to_string()),
        sha256,
        fingerprint: fingerprint::of_encoded(format, &signed.image, limits),
        format: format.mime().to_string(),
        generator: generator.map(|g| match &g.version {
            Some(version) => format!("{}/{version}", g.name),
            None => g.name.clone(),
        }),
        manifest_store: signed.manifest_store.clone(),
        created_at: crate::registry::now_unix(),
    }
}
