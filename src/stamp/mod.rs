//! The stamping pipeline, in one place ([`Stamper::stamp_bytes_with`] and `sign` follow the
//! `stamp` line of the diagram in ARCHITECTURE.md step by step). The C2PA manifest carries the
//! actions, the soft binding to the watermark, the training reservation, the thumbnail and any
//! previous credentials as the parent ingredient.
//!
//! Registration comes before the write: an output that exists has been logged, and a registry
//! that fails makes the stamp fail with the reason, never silently.
//!
//! A [`Stamper`] is built once (context, signer, options) and shared by every thread of a batch.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use c2pa::{BoxedSigner, Context};
use sha2::{Digest, Sha256};

use crate::atomic_file::{self, Existing};
use crate::format::{read_image_file, Format, FormatError};
use crate::identity::{IdentityError, SigningIdentity};
use crate::layers::c2pa::detect::{self, has_manifest_store};
use crate::layers::c2pa::embed::{self, Involvement, ManifestSpec, SoftwareAgent};
use crate::layers::c2pa::timestamp::{TimestampingSigner, TsaClient};
use crate::layers::c2pa::{self as c2pa_layer, C2paError, ContextConfig};
use crate::layers::fingerprint;
use crate::layers::visible_label;
use crate::layers::watermark::{self, AssetId};
use crate::layers::xmp::{self, XmpError};
use crate::limits::Limits;
use crate::pixels::{self, DecodeError};
use crate::recode::{Editable, EncodeOptions, RecodeError};
use crate::registry::{Entry, Registry, RegistryError};
use crate::verdict::Evidence;

mod options;

pub use options::{
    OptionsError, Quality, Reencoding, StampOptions, StamperConfig, WatermarkOptions, MAX_STRENGTH,
};

/// Long edge, in pixels, of the optional embedded thumbnail.
const THUMBNAIL_LONG_EDGE: u32 = 512;
/// Strength multipliers tried in turn until the watermark reads back from the encoded bytes
/// (each still capped by the watermark's quality target): most images pass at 1.
const READ_BACK_BOOSTS: [f32; 3] = [1.0, 1.6, 2.5];

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

/// A registry entry for a stamped output, not logged yet, and the registry it goes to.
type Unlogged<'a> = (&'a Registry, Entry);

/// A temporary file a crashed run left behind, now removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleFile {
    pub path: PathBuf,
    /// Registry rows that had been logged for it (it was never renamed into place).
    pub registry_rows: u64,
}

/// Stamps images with signed AI-disclosure credentials. `Send + Sync`: build once, share.
pub struct Stamper {
    context: Arc<Context>,
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

    /// Builds the C2PA context and the signer once, from `config`; `options` are the defaults
    /// of [`Stamper::stamp_bytes`] and the batch methods.
    pub fn with_config(
        identity: &SigningIdentity,
        config: StamperConfig,
        options: StampOptions,
    ) -> Result<Self, StampError> {
        options.validate()?;
        let context = c2pa_layer::context(&ContextConfig {
            verify_after_sign: config.verify_after_sign,
            ..ContextConfig::default()
        })?;
        let tsa_url = config.tsa.as_ref().map(|tsa| tsa.url.as_str());
        Ok(Stamper {
            context,
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
            soft_binding: watermark,
            visible_label: options.visible_label,
        };
        let xmp_written = with_xmp.is_some();
        let to_sign = with_xmp.as_deref().unwrap_or(pixels);
        let (signed, timestamped) = match &self.tsa {
            None => (
                embed::sign(&self.context, self.signer.as_ref(), format, to_sign, &spec)?,
                false,
            ),
            Some(tsa) => {
                let signer = TimestampingSigner::new(self.signer.as_ref(), tsa);
                let signed = embed::sign(&self.context, &signer, format, to_sign, &spec);
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
        let entry = self.registry.as_deref().map(|registry| {
            let entry = registry_entry(
                format,
                &signed,
                watermark,
                options.generator.as_ref(),
                &self.config.limits,
            );
            (registry, entry)
        });
        let stamped = Stamped {
            bytes: signed.image,
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
        let findings = detect::detect(&self.context, format, input);
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
        let findings = detect::detect(&self.context, format, input);
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

/// What the registry logs for a stamped output: no pixels, only identifiers and the credentials.
fn registry_entry(
    format: Format,
    signed: &embed::Signed,
    watermark: Option<AssetId>,
    generator: Option<&SoftwareAgent>,
    limits: &Limits,
) -> Entry {
    Entry {
        asset_id: watermark.map(|id| id.to_string()),
        sha256: Sha256::digest(&signed.image).into(),
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

/// The pixel layers' result: the re-encoded image (when anything was drawn), the watermark's id
/// and why the watermark was skipped, if it was.
struct EditedPixels {
    bytes: Option<Vec<u8>>,
    watermark: Option<AssetId>,
    watermark_skipped: Option<String>,
}

/// Draws the visible label (first, so the watermark covers it), then embeds the watermark, and
/// re-encodes in the input's format with its metadata. Pixels that do not decode, or exceed the
/// limits, fail the stamp: nothing is signed over an image no one can view. A label that cannot
/// be drawn is an error (it was asked for, and deployers are obliged to show it); a watermark
/// that cannot be embedded (a format or variant that cannot be rewritten, an image too small)
/// is skipped with the reason. With `may_be_marked`, a synthmark watermark already in the
/// pixels is kept and its asset id reused instead of embedding a second one.
fn edit_pixels(
    format: Format,
    input: &[u8],
    options: &StampOptions,
    limits: &Limits,
    may_be_marked: bool,
) -> Result<EditedPixels, StampError> {
    let (label, mark) = (options.visible_label, options.watermark.as_ref());
    let mut editable = match Editable::decode(format, input, limits) {
        Ok(editable) => editable,
        Err(RecodeError::Pixels(
            err @ (DecodeError::Corrupt(_)
            | DecodeError::TooManyPixels { .. }
            | DecodeError::TooManyBytes { .. }),
        )) => return Err(StampError::Pixels(err)),
        Err(RecodeError::Decode(reason)) => {
            return Err(StampError::Pixels(DecodeError::Corrupt(reason)))
        }
        Err(err) if label.is_some() => return Err(StampError::VisibleLabel(err.to_string())),
        Err(err) => {
            return Ok(EditedPixels {
                bytes: None,
                watermark: None,
                watermark_skipped: Some(err.to_string()),
            })
        }
    };
    let existing = (mark.is_some() && may_be_marked)
        .then(|| watermark::detect(&editable.image))
        .flatten()
        .map(|found| found.asset_id);
    if let Some(label) = label {
        visible_label::draw(&mut editable.image, label)
            .map_err(|err| StampError::VisibleLabel(err.to_string()))?;
    }
    let encode_options = EncodeOptions {
        quality: options.reencoding.quality.map(Quality::get),
    };
    let (id, strength) = match (mark, existing) {
        (Some(options), None) => (AssetId::random(), options.strength),
        _ => {
            // Nothing to embed: only the label (if any) changed the pixels.
            let bytes = label
                .map(|_| labelled(&editable, encode_options))
                .transpose()?;
            return Ok(EditedPixels {
                bytes,
                watermark: existing,
                watermark_skipped: None,
            });
        }
    };
    // The mark is declared in the manifest only when it reads back from the very bytes written.
    // A faint image (flat, dark, small) whose mark a lossy re-encode takes away is marked again
    // a little stronger, still within the quality target, on pixels decoded afresh (rare, and
    // cheaper in memory than keeping an unmarked copy of every image).
    let mut skipped = String::new();
    for (attempt, boost) in READ_BACK_BOOSTS.into_iter().enumerate() {
        if attempt > 0 {
            editable = unmarked(format, input, options, limits)?;
        }
        if let Err(err) = watermark::embed(&mut editable.image, id, strength * boost) {
            skipped = err.to_string();
            break;
        }
        match editable.encode(encode_options) {
            Ok(bytes) if reads_back(format, &bytes, id, limits) => {
                return Ok(EditedPixels {
                    bytes: Some(bytes),
                    watermark: Some(id),
                    watermark_skipped: None,
                })
            }
            Ok(_) => {
                skipped =
                    "the watermark did not survive re-encoding (is the quality too low?)".into();
            }
            Err(err) if label.is_some() => return Err(StampError::VisibleLabel(err.to_string())),
            Err(err) => {
                skipped = err.to_string();
                break;
            }
        }
    }
    let editable = unmarked(format, input, options, limits)?;
    let bytes = label
        .map(|_| labelled(&editable, encode_options))
        .transpose()?;
    Ok(EditedPixels {
        bytes,
        watermark: None,
        watermark_skipped: Some(skipped),
    })
}

/// The input decoded again, with its visible label if one is asked for (it decoded and took the
/// label once already, so a failure now is reported as such).
fn unmarked<'a>(
    format: Format,
    input: &'a [u8],
    options: &StampOptions,
    limits: &Limits,
) -> Result<Editable<'a>, StampError> {
    let mut editable = Editable::decode(format, input, limits)
        .map_err(|err| StampError::Pixels(DecodeError::Corrupt(err.to_string())))?;
    if let Some(label) = options.visible_label {
        visible_label::draw(&mut editable.image, label)
            .map_err(|err| StampError::VisibleLabel(err.to_string()))?;
    }
    Ok(editable)
}

/// The image with its visible label and no new watermark, encoded: a label that cannot be
/// written is an error (it was asked for).
fn labelled(editable: &Editable, options: EncodeOptions) -> Result<Vec<u8>, StampError> {
    editable
        .encode(options)
        .map_err(|err| StampError::VisibleLabel(err.to_string()))
}

/// Whether the watermark carrying `id` is found in the encoded `bytes`.
fn reads_back(format: Format, bytes: &[u8], id: AssetId, limits: &Limits) -> bool {
    pixels::decode(format, bytes, limits)
        .ok()
        .and_then(|image| watermark::detect(&image))
        .is_some_and(|found| found.asset_id == id)
}

/// A JPEG thumbnail of the image, for formats this build decodes within `limits`.
fn thumbnail(format: Format, bytes: &[u8], limits: &Limits) -> Result<Vec<u8>, ThumbnailError> {
    let decoded = pixels::decode(format, bytes, limits)?;
    let small = decoded
        .thumbnail(THUMBNAIL_LONG_EDGE, THUMBNAIL_LONG_EDGE)
        .into_rgb8();
    let mut jpeg = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80).encode_image(&small)?;
    Ok(jpeg.into_inner())
}

/// Why no thumbnail was embedded (a warning, not an error: the stamp goes on without it).
#[derive(Debug, thiserror::Error)]
enum ThumbnailError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("cannot encode the thumbnail: {0}")]
    Encode(#[from] image::ImageError),
}
