//! What `stamp` and `check` accept as an image: `bytes` (borrowed, never copied), a path (`str`
//! or `os.PathLike`, read with the GIL released), or anything the pure-Python helper
//! `synthmark._input.coerce` turns into encoded bytes (`bytearray`, `memoryview`, a
//! `PIL.Image.Image`), with a `TypeError` for the rest.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyString};

use crate::errors;

/// The title the manifest gives an image held in memory (the command line's, for standard
/// input).
pub const DEFAULT_TITLE: &str = "image";

/// An image to stamp or check, ready to be read without the GIL.
pub enum Input {
    /// Encoded image bytes owned by Python objects that cannot change (`bytes`).
    Bytes(PyBackedBytes),
    /// A file, read when the work starts.
    Path(PathBuf),
}

/// An [`Input`] and the name it goes by: the file name of a path, the file name Pillow opened
/// an image from, else `None`.
pub struct Coerced {
    pub input: Input,
    pub name: Option<String>,
}

impl Input {
    /// Accepts `data` as described in the module documentation. `image_format` is the format a
    /// `PIL.Image.Image` is encoded in (`None`: the image's own format if Pillow read it from a
    /// JPEG, PNG, WebP or TIFF file, else PNG); for anything else it must be `None`.
    pub fn from_py(data: &Bound<'_, PyAny>, image_format: Option<&str>) -> PyResult<Coerced> {
        let py = data.py();
        if data.is_instance_of::<PyBytes>() {
            refuse_format_for_encoded(image_format)?;
            return Ok(Coerced {
                input: Input::Bytes(data.extract()?),
                name: None,
            });
        }
        if data.is_instance_of::<PyString>() || data.hasattr("__fspath__")? {
            refuse_format_for_encoded(image_format)?;
            let path: PathBuf = data.extract()?;
            let name = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned());
            return Ok(Coerced {
                input: Input::Path(path),
                name,
            });
        }
        let (bytes, name): (PyBackedBytes, Option<String>) = py
            .import("synthmark._input")?
            .getattr("coerce")?
            .call1((data, image_format))?
            .extract()?;
        Ok(Coerced {
            input: Input::Bytes(bytes),
            name,
        })
    }

    /// The encoded bytes: borrowed, or read from the file (call it with the GIL released).
    pub fn bytes(&self) -> Result<Cow<'_, [u8]>, (PathBuf, std::io::Error)> {
        match self {
            Input::Bytes(bytes) => Ok(Cow::Borrowed(bytes.as_ref())),
            Input::Path(path) => synthmark::read_image_file(path)
                .map(Cow::Owned)
                .map_err(|err| (path.clone(), err)),
        }
    }

    /// The file this input is, if it is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Input::Path(path) => Some(path),
            Input::Bytes(_) => None,
        }
    }
}

fn refuse_format_for_encoded(image_format: Option<&str>) -> PyResult<()> {
    match image_format {
        None => Ok(()),
        Some(_) => Err(errors::OptionsError::new_err(
            "image_format= applies to PIL images only: bytes and files are stamped in their own \
             format (re-encoded in it only where the watermark or a visible label changes pixels)",
        )),
    }
}
