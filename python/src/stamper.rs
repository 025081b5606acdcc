//! `synthmark.Stamper` and what it returns, `synthmark.Stamped`.
//!
//! A stamper is built once (signer, C2PA context, TSA client, registry) and shared by every
//! thread: it is a frozen class around the library's `Stamper`, which is `Send + Sync`, and
//! every call releases the GIL for the whole of its work (reading a file, decoding, marking,
//! signing, the TSA round trip, logging in the registry). Keyword options mirror the command
//! line's flags; those given to the constructor are the defaults of every call, and `stamp`
//! takes the per-image ones again to override them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::{PyFileExistsError, PyOSError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use synthmark::registry::{Location, Registry};
use synthmark::{
    Corner, Existing, Involvement, LabelKind, Quality, StampOptions, StampRecord, StamperConfig,
    TsaOptions, VisibleLabel, WatermarkOptions,
};

use crate::errors;
use crate::input::{Input, DEFAULT_TITLE};
use crate::signer::{self, Signer};

/// Stamps images with signed C2PA credentials declaring them AI-generated, the IPTC digital
/// source type in their own XMP, and the imperceptible watermark.
#[pyclass(frozen, module = "synthmark")]
pub struct Stamper {
    inner: synthmark::Stamper,
    signer: Py<Signer>,
    /// Where outputs are logged (a PostgreSQL password shown as `***`).
    registry: Option<String>,
}

/// Stamping options given as keyword arguments; `None` keeps the default.
#[derive(Default)]
struct Overrides {
    generator: Option<String>,
    edited: Option<bool>,
    no_train: Option<bool>,
    thumbnail: Option<bool>,
    watermark: Option<bool>,
    quality: Option<i64>,
    visible_label: Option<String>,
    corner: Option<String>,
}

impl Overrides {
    /// `base` with these options applied, each checked with a message naming its keyword.
    fn apply(self, base: &StampOptions) -> PyResult<StampOptions> {
        let mut options = base.clone();
        if let Some(text) = self.generator {
            options.generator = Some(synthmark::SoftwareAgent::parse(&text).ok_or_else(|| {
                errors::OptionsError::new_err(
                    "the generator name is empty; write it as Name/version, e.g. \
                     generator=\"ExampleDiffusion/2.1\"",
                )
            })?);
        }
        if let Some(edited) = self.edited {
            options.involvement = if edited {
                Involvement::Edited
            } else {
                Involvement::Generated
            };
        }
        if let Some(no_train) = self.no_train {
            options.no_train = no_train;
        }
        if let Some(thumbnail) = self.thumbnail {
            options.thumbnail = thumbnail;
        }
        if let Some(watermark) = self.watermark {
            options.watermark = match (watermark, options.watermark) {
                (false, _) => None,
                (true, Some(kept)) => Some(kept),
                (true, None) => Some(WatermarkOptions::default()),
            };
        }
        if let Some(quality) = self.quality {
            let quality = u8::try_from(quality)
                .ok()
                .and_then(|q| Quality::new(q).ok())
                .ok_or_else(|| {
                    errors::OptionsError::new_err(format!(
                        "quality={quality} is out of range; use 1 to 100"
                    ))
                })?;
            options.reencoding.quality = Some(quality);
        }
        match (self.visible_label, self.corner) {
            (Some(label), corner) => {
                let kind = LabelKind::parse(&label).ok_or_else(|| {
                    errors::OptionsError::new_err(format!(
                        "visible_label={label:?}: use \"ai-generated\" or \"ai-modified\""
                    ))
                })?;
                let corner = match corner {
                    Some(corner) => parse_corner(&corner)?,
                    None => options
                        .visible_label
                        .map_or(Corner::TopRight, |label| label.corner),
                };
                options.visible_label = Some(VisibleLabel { kind, corner });
            }
            (None, Some(corner)) => {
                let corner = parse_corner(&corner)?;
                match options.visible_label.as_mut() {
                    Some(label) => label.corner = corner,
                    None => {
                        return Err(errors::OptionsError::new_err(
                            "corner= places the visible label; give visible_label= too",
                        ))
                    }
                }
            }
            (None, None) => {}
        }
        options
            .validate()
            .map_err(|err| errors::OptionsError::new_err(err.to_string()))?;
        Ok(options)
    }
}

fn parse_corner(text: &str) -> PyResult<Corner> {
    Corner::parse(text).ok_or_else(|| {
        errors::OptionsError::new_err(format!(
            "corner={text:?}: use \"top-right\", \"top-left\", \"bottom-right\" or \"bottom-left\""
        ))
    })
}

#[pymethods]
impl Stamper {
    /// Builds the stamper once; see the type stubs (`synthmark/__init__.pyi`) for every option.
    #[new]
    #[pyo3(signature = (
        *,
        cert = None,
        key = None,
        signer = None,
        key_passphrase = None,
        allow_readable_key = false,
        signer_cmd = None,
        signer_timeout = None,
        pkcs11 = None,
        generator = None,
        edited = false,
        no_train = false,
        thumbnail = false,
        watermark = true,
        quality = None,
        visible_label = None,
        corner = None,
        tsa_url = None,
        tsa_optional = false,
        tsa_timeout = 10.0,
        registry = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        cert: Option<PathBuf>,
        key: Option<PathBuf>,
        signer: Option<Py<Signer>>,
        key_passphrase: Option<String>,
        allow_readable_key: bool,
        signer_cmd: Option<&Bound<'_, PyAny>>,
        signer_timeout: Option<f64>,
        pkcs11: Option<&Bound<'_, PyDict>>,
        generator: Option<String>,
        edited: bool,
        no_train: bool,
        thumbnail: bool,
        watermark: bool,
        quality: Option<i64>,
        visible_label: Option<String>,
        corner: Option<String>,
        tsa_url: Option<String>,
        tsa_optional: bool,
        tsa_timeout: f64,
        registry: Option<PathOrUrl>,
    ) -> PyResult<Self> {
        crate::tune_allocator();
        let options = Overrides {
            generator,
            edited: Some(edited),
            no_train: Some(no_train),
            thumbnail: Some(thumbnail),
            watermark: Some(watermark),
            quality,
            visible_label,
            corner,
        }
        .apply(&StampOptions::default())?;
        let config = StamperConfig {
            tsa: tsa_options(tsa_url, tsa_optional, tsa_timeout)?,
            ..StamperConfig::default()
        };
        let mut sources = Vec::new();
        if let Some(key) = key {
            sources.push(signer::file_source(key, key_passphrase, allow_readable_key));
        } else if key_passphrase.is_some() {
            return Err(errors::OptionsError::new_err(
                "key_passphrase= decrypts key=; give key= too",
            ));
        }
        if let Some(command) = signer_cmd {
            sources.push(signer::command_source(command, signer_timeout)?);
        } else if signer_timeout.is_some() {
            return Err(errors::OptionsError::new_err(
                "signer_timeout= limits signer_cmd=; give signer_cmd= too",
            ));
        }
        if let Some(options) = pkcs11 {
            sources.push(signer::pkcs11_source_from_dict(options)?);
        }
        let signer = match (signer, cert, sources.len()) {
            (Some(signer), None, 0) => signer,
            (Some(_), _, _) => {
                return Err(errors::OptionsError::new_err(
                    "give either signer= or cert= with a key source, not both",
                ))
            }
            (None, _, 2..) => {
                return Err(errors::OptionsError::new_err(
                    "give one key source: key=, signer_cmd= or pkcs11=",
                ))
            }
            (None, Some(cert), 1) => Py::new(py, signer::load(py, &cert, sources.remove(0))?)?,
            (None, Some(_), 0) => {
                return Err(errors::OptionsError::new_err(
                    "cert= was given without its key; give key=, signer_cmd= or pkcs11= too",
                ))
            }
            (None, None, 0) => Py::new(py, Signer::load_development(py)?)?,
            (None, None, _) => {
                return Err(errors::OptionsError::new_err(
                    "a key was given without cert=; give the certificate chain too",
                ))
            }
        };
        let location = registry
            .map(|text| Location::parse(&text.0).map_err(|err| errors::registry_location(&err)))
            .transpose()?;
        let shown = location.as_ref().map(Location::display);
        let identity = &signer.get().identity;
        let inner = py.detach(|| -> PyResult<synthmark::Stamper> {
            let stamper = synthmark::Stamper::with_config(identity, config, options)
                .map_err(|err| errors::stamp(&err))?;
            Ok(match location {
                None => stamper,
                Some(location) => {
                    let registry =
                        Registry::open(&location).map_err(|err| errors::registry(&err, true))?;
                    stamper.with_registry(Arc::new(registry))
                }
            })
        })?;
        Ok(Stamper {
            inner,
            signer,
            registry: shown,
        })
    }

    /// Stamps one image and returns the stamped file (`Stamped.data`) with its asset id, hash
    /// and warnings. `data` is `bytes`, `bytearray` or `memoryview` holding an encoded image, a
    /// path (`str` or `os.PathLike`), or a `PIL.Image.Image` (encoded first: see the stubs).
    #[pyo3(signature = (
        data,
        *,
        title = None,
        image_format = None,
        generator = None,
        edited = None,
        no_train = None,
        thumbnail = None,
        watermark = None,
        quality = None,
        visible_label = None,
        corner = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn stamp(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        title: Option<String>,
        image_format: Option<String>,
        generator: Option<String>,
        edited: Option<bool>,
        no_train: Option<bool>,
        thumbnail: Option<bool>,
        watermark: Option<bool>,
        quality: Option<i64>,
        visible_label: Option<String>,
        corner: Option<String>,
    ) -> PyResult<Stamped> {
        let options = Overrides {
            generator,
            edited,
            no_train,
            thumbnail,
            watermark,
            quality,
            visible_label,
            corner,
        }
        .apply(self.inner.options())?;
        let coerced = Input::from_py(data, image_format.as_deref())?;
        let title = title
            .or(coerced.name)
            .unwrap_or_else(|| DEFAULT_TITLE.to_string());
        let input = coerced.input;
        let path = input.path().map(|p| p.display().to_string());
        let stamped = py.detach(|| -> PyResult<synthmark::Stamped> {
            let bytes = input
                .bytes()
                .map_err(|(path, err)| errors::unreadable(&path, &err))?;
            self.inner
                .stamp_bytes_with(&bytes, &title, &options)
                .map_err(|err| errors::stamp(&err))
        })?;
        Stamped::new(py, stamped, path.unwrap_or(title))
    }

    /// The signer this stamper signs with.
    #[getter]
    fn signer(&self, py: Python<'_>) -> Py<Signer> {
        self.signer.clone_ref(py)
    }

    /// Where every output is logged (`None`: nowhere). A PostgreSQL password reads `***`.
    #[getter]
    fn registry(&self) -> Option<&str> {
        self.registry.as_deref()
    }

    fn __repr__(&self) -> String {
        let signer = self.signer.get();
        format!(
            "<synthmark.Stamper signer={:?}{}{}>",
            signer.identity.subject(),
            match &self.inner.options().generator {
                Some(agent) => format!(
                    " generator={:?}",
                    match &agent.version {
                        Some(version) => format!("{}/{version}", agent.name),
                        None => agent.name.clone(),
                    }
                ),
                None => String::new(),
            },
            match &self.registry {
                Some(location) => format!(" registry={location:?}"),
                None => String::new(),
            }
        )
    }
}

fn tsa_options(url: Option<String>, optional: bool, timeout: f64) -> PyResult<Option<TsaOptions>> {
    if !(timeout.is_finite() && timeout > 0.0) {
        return Err(errors::OptionsError::new_err(format!(
            "tsa_timeout={timeout} must be a positive number of seconds"
        )));
    }
    let Some(url) = url else {
        if optional {
            return Err(errors::OptionsError::new_err(
                "tsa_optional=True needs tsa_url= (the time-stamping authority)",
            ));
        }
        return Ok(None);
    };
    let mut tsa = TsaOptions::new(url);
    tsa.optional = optional;
    tsa.timeout = Duration::from_secs_f64(timeout);
    Ok(Some(tsa))
}

/// A registry location: an SQLite file path (`str` or `os.PathLike`) or a `postgres://` URL.
pub struct PathOrUrl(pub String);

impl<'a, 'py> FromPyObject<'a, 'py> for PathOrUrl {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(text) = obj.extract::<String>() {
            return Ok(PathOrUrl(text));
        }
        let path: PathBuf = obj.extract().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err(
                "registry= takes a path (str or os.PathLike) or a postgres:// URL",
            )
        })?;
        Ok(PathOrUrl(path.display().to_string()))
    }
}

/// A stamped image: the file's bytes and what is worth knowing about them.
#[pyclass(frozen, module = "synthmark")]
pub struct Stamped {
    /// The stamped file (the same format as the input).
    #[pyo3(get)]
    data: Py<PyBytes>,
    /// The asset id the watermark carries (10 hex digits, also in the manifest's soft binding);
    /// `None` when the image was not watermarked (a warning says why).
    #[pyo3(get)]
    asset_id: Option<String>,
    /// SHA-256 of `data`, hex: what a registry and a report's `sha256` match.
    #[pyo3(get)]
    sha256: String,
    /// The format, as reports name it: `jpeg`, `png`, `webp`, `tiff`, `gif`, `avif`, `heic`.
    #[pyo3(get)]
    format: String,
    /// What did not happen as asked but did not stop the stamp.
    #[pyo3(get)]
    warnings: Vec<String>,
    /// The signature carries an RFC 3161 timestamp.
    #[pyo3(get)]
    timestamped: bool,
    /// The IPTC digital source type was also written into the file's own XMP.
    #[pyo3(get)]
    xmp_written: bool,
    /// The input's own C2PA credentials were kept as the parent ingredient.
    #[pyo3(get)]
    kept_credentials: bool,
    /// The registry entry the output was logged as, when the stamper has a registry.
    #[pyo3(get)]
    registry_entry: Option<i64>,
    /// The machine-readable record, as `synthmark stamp --format json` prints it per file.
    record: StampRecord,
}

impl Stamped {
    fn new(py: Python<'_>, stamped: synthmark::Stamped, name: String) -> PyResult<Self> {
        // Nothing was written anywhere: the bytes are in memory.
        let record = StampRecord::stamped(name, None, &stamped);
        let format = serde_json::to_value(stamped.format)
            .ok()
            .and_then(|value| value.as_str().map(str::to_string))
            .unwrap_or_else(|| stamped.format.to_string().to_lowercase());
        Ok(Stamped {
            data: PyBytes::new(py, &stamped.bytes).unbind(),
            asset_id: record.asset_id.clone(),
            sha256: record.sha256.clone().unwrap_or_default(),
            format,
            warnings: record.warnings.clone(),
            timestamped: stamped.timestamped,
            xmp_written: stamped.xmp_written,
            kept_credentials: stamped.kept_credentials,
            registry_entry: stamped.registered,
            record,
        })
    }
}

#[pymethods]
impl Stamped {
    /// The pixels carry the watermark (`asset_id` is set).
    #[getter]
    fn watermarked(&self) -> bool {
        self.asset_id.is_some()
    }

    /// The record as a dict, with the fields and names of `synthmark stamp --format json`
    /// (`path` is the input file, or the title of an image stamped from memory).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(pythonize::pythonize(py, &self.record)?)
    }

    /// Writes the stamped file to `path` atomically (a temporary file beside it, then a
    /// rename); refuses to replace an existing file unless `overwrite`.
    #[pyo3(signature = (path, *, overwrite = false))]
    fn save(&self, py: Python<'_>, path: PathBuf, overwrite: bool) -> PyResult<()> {
        let data = self.data.bind(py).as_bytes();
        let existing = if overwrite {
            Existing::Replace
        } else {
            Existing::Refuse
        };
        py.detach(|| synthmark::write_atomically(&path, data, None, existing))
            .map_err(|err| match err.kind() {
                std::io::ErrorKind::AlreadyExists => PyFileExistsError::new_err(format!(
                    "{} already exists; pass overwrite=True to replace it",
                    path.display()
                )),
                _ => PyOSError::new_err(format!("cannot write {}: {err}", path.display())),
            })
    }

    fn __bytes__(&self, py: Python<'_>) -> Py<PyBytes> {
        self.data.clone_ref(py)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "<synthmark.Stamped {} {} bytes asset_id={}{}>",
            self.format,
            self.data.bind(py).as_bytes().len(),
            self.asset_id.as_deref().unwrap_or("None"),
            if self.warnings.is_empty() {
                String::new()
            } else {
                format!(" warnings={}", self.warnings.len())
            }
        )
    }
}
