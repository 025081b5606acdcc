//! The compiled half of the Python package `synthmark` (`synthmark._synthmark`): PyO3 bindings
//! over the library's `Stamper`, `Checker` and `SigningIdentity`. The pure-Python half
//! (`python/synthmark/`) re-exports these classes, defines the exceptions, encodes PIL images
//! and carries the type stubs.
//!
//! Every class is frozen and its Rust state `Sync`, so one instance serves any number of Python
//! threads, and every call that does work releases the GIL while it runs.

use std::sync::Once;

use pyo3::prelude::*;

mod checker;
mod errors;
mod input;
mod signer;
mod stamper;

/// Tunes glibc's allocator for image work, once per process, when the first `Stamper` or
/// `Checker` is built (a process that builds one handles images), as the command line does at
/// startup: megabyte-sized planes are then reused instead of being mapped and faulted in again
/// for every image, which otherwise costs about a third of stamping's time and a fifth of
/// checking's (see the library's `tune_for_images`).
pub fn tune_allocator() {
    static TUNED: Once = Once::new();
    TUNED.call_once(synthmark::tune_for_images);
}

/// The JSON Schema (draft 2020-12) of a check report, generated from the library's types.
#[pyfunction]
fn report_schema(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    Ok(pythonize::pythonize(py, &synthmark::Report::json_schema())?)
}

/// The JSON Schema (draft 2020-12) of a stamp record (`Stamped.to_dict()`).
#[pyfunction]
fn stamp_record_schema(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    Ok(pythonize::pythonize(
        py,
        &synthmark::StampRecord::json_schema(),
    )?)
}

#[pymodule]
fn _synthmark(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("SCHEMA_VERSION", synthmark::SCHEMA_VERSION)?;
    m.add_class::<signer::Signer>()?;
    m.add_class::<stamper::Stamper>()?;
    m.add_class::<stamper::Stamped>()?;
    m.add_class::<checker::Checker>()?;
    m.add_function(wrap_pyfunction!(signer::keygen, m)?)?;
    m.add_function(wrap_pyfunction!(report_schema, m)?)?;
    m.add_function(wrap_pyfunction!(stamp_record_schema, m)?)?;
    Ok(())
}
