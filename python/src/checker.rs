//! `synthmark.Checker`: checks images for AI labels and their integrity, and returns each report
//! as a dict with exactly the schema of `synthmark check --format json` (the library's `Report`,
//! serialised by the same serde derive straight into Python objects).
//!
//! Like the library's checker it is built once (trust anchors, C2PA context, registry) and shared
//! by every thread; `check` releases the GIL for all of its work. Checking an image never
//! raises: an unreadable or corrupt file gives a report whose verdict is `error`, saying why.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyString;
use synthmark::registry::{Location, Registry};
use synthmark::{CheckOptions, Report};

use crate::errors;
use crate::input::Input;
use crate::stamper::PathOrUrl;

/// Checks images: is there an intact signed AI label, a broken one, or AI evidence without one?
#[pyclass(frozen, module = "synthmark")]
pub struct Checker {
    inner: synthmark::Checker,
    registry: Option<String>,
}

#[pymethods]
impl Checker {
    /// Builds the checker once; see the type stubs (`synthmark/__init__.pyi`) for every option.
    #[new]
    #[pyo3(signature = (
        *,
        trust = None,
        trust_tsa = None,
        default_trust = true,
        pixels = true,
        registry = None,
    ))]
    fn new(
        py: Python<'_>,
        trust: Option<&Bound<'_, PyAny>>,
        trust_tsa: Option<&Bound<'_, PyAny>>,
        default_trust: bool,
        pixels: bool,
        registry: Option<PathOrUrl>,
    ) -> PyResult<Self> {
        crate::tune_allocator();
        let trust = paths(trust, "trust")?;
        let trust_tsa = paths(trust_tsa, "trust_tsa")?;
        let location = registry
            .map(|text| Location::parse(&text.0).map_err(|err| errors::registry_location(&err)))
            .transpose()?;
        let shown = location.as_ref().map(Location::display);
        let inner = py.detach(|| -> PyResult<synthmark::Checker> {
            let mut options = CheckOptions {
                official_trust_lists: default_trust,
                pixels,
                ..CheckOptions::default()
            };
            for path in &trust {
                options
                    .add_trust_anchor_file(path)
                    .map_err(|err| errors::TrustAnchorError::new_err(err.to_string()))?;
            }
            for path in &trust_tsa {
                options
                    .add_tsa_trust_anchor_file(path)
                    .map_err(|err| errors::TrustAnchorError::new_err(err.to_string()))?;
            }
            let checker = synthmark::Checker::new(&options).map_err(|err| {
                errors::TrustAnchorError::new_err(format!("cannot use the trust anchors: {err}"))
            })?;
            Ok(match location {
                None => checker,
                Some(location) => {
                    let registry =
                        Registry::open(&location).map_err(|err| errors::registry(&err, false))?;
                    checker.with_registry(Arc::new(registry))
                }
            })
        })?;
        Ok(Checker {
            inner,
            registry: shown,
        })
    }

    /// Checks one image and returns its report as a dict: `verdict`, `explanation`, `trust`,
    /// `rests_on`, `format`, `sha256`, `signer`, `timestamp`, `evidence`, ... (the schema of
    /// `synthmark check --format json`). `data` is as for `Stamper.stamp`; `name` is reported as
    /// `path` for an image given as bytes (a path reports itself).
    #[pyo3(signature = (data, *, name = None))]
    fn check<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        name: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let coerced = Input::from_py(data, None)?;
        let input = coerced.input;
        let report: Report = py.detach(|| match (&input, name) {
            (Input::Path(path), _) => self.inner.check_file(path),
            (Input::Bytes(bytes), Some(name)) => self.inner.check_named(&name, bytes),
            (Input::Bytes(bytes), None) => self.inner.check_bytes(bytes),
        });
        Ok(pythonize::pythonize(py, &report)?)
    }

    /// The registry consulted for every image (`None`: none). A PostgreSQL password reads `***`.
    #[getter]
    fn registry(&self) -> Option<&str> {
        self.registry.as_deref()
    }

    fn __repr__(&self) -> String {
        match &self.registry {
            Some(location) => format!("<synthmark.Checker registry={location:?}>"),
            None => "<synthmark.Checker>".to_string(),
        }
    }
}

/// One path or an iterable of paths (`str` or `os.PathLike`).
fn paths(value: Option<&Bound<'_, PyAny>>, keyword: &str) -> PyResult<Vec<PathBuf>> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let type_error = || {
        pyo3::exceptions::PyTypeError::new_err(format!(
            "{keyword}= takes PEM file paths (str or os.PathLike), one or a list"
        ))
    };
    if value.is_instance_of::<PyString>() || value.hasattr("__fspath__")? {
        return Ok(vec![value.extract().map_err(|_| type_error())?]);
    }
    value
        .try_iter()
        .map_err(|_| type_error())?
        .map(|item| item?.extract::<PathBuf>().map_err(|_| type_error()))
        .collect()
}
