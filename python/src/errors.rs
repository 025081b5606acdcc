//! The library's errors as the package's typed Python exceptions, with the advice the command
//! line gives, in terms of this package's keyword arguments instead of flags.
//!
//! The exception classes are defined in Python (`synthmark/_errors.py`, so that they can have
//! docstrings and several bases) and imported here on first use. No message ever contains a key,
//! a PIN or a database password: the library's messages never do, and the advice added here
//! names only paths and keyword arguments.

use std::path::Path;

use pyo3::prelude::*;
use synthmark::registry::{LocationError, RegistryError as LibRegistryError};
use synthmark::{IdentityError as LibIdentityError, StampError as LibStampError};

pyo3::import_exception!(synthmark._errors, Error);
pyo3::import_exception!(synthmark._errors, IdentityError);
pyo3::import_exception!(synthmark._errors, OptionsError);
pyo3::import_exception!(synthmark._errors, TrustAnchorError);
pyo3::import_exception!(synthmark._errors, RegistryError);
pyo3::import_exception!(synthmark._errors, StampError);
pyo3::import_exception!(synthmark._errors, InputError);
pyo3::import_exception!(synthmark._errors, TimestampError);
pyo3::import_exception!(synthmark._errors, DevelopmentIdentityWarning);

/// An identity that cannot be loaded from `cert` and a key (`key` names it: a file, a
/// command, a token), with the advice of the command line in keyword-argument terms.
pub fn identity_with(cert: &Path, key: &str, err: &LibIdentityError) -> PyErr {
    let what = match err {
        // A signer's failure names the signer itself: said once.
        LibIdentityError::Signer { .. } => cert.display().to_string(),
        _ => format!("{} and {key}", cert.display()),
    };
    IdentityError::new_err(format!(
        "cannot sign with {what}: {err}{}",
        identity_hint(err)
    ))
}

/// An identity error about `what` (PEM given in memory, a command line).
pub fn identity(err: &LibIdentityError, what: &str) -> PyErr {
    IdentityError::new_err(format!(
        "cannot sign with {what}: {err}{}",
        identity_hint(err)
    ))
}

fn identity_hint(err: &LibIdentityError) -> String {
    match err {
        LibIdentityError::KeyReadable { path, .. } => format!(
            "\nhint: `chmod 600 {}`, or pass allow_readable_key=True if it must stay readable",
            path.display()
        ),
        LibIdentityError::PassphraseMissing => {
            "\nhint: pass key_passphrase= (from your secret store, not from source code)".into()
        }
        LibIdentityError::KeyNotEncrypted => {
            "\nhint: leave key_passphrase= out, or check that this is the key you meant".into()
        }
        LibIdentityError::Certificate { .. }
        | LibIdentityError::Key { .. }
        | LibIdentityError::KeyMismatch
        | LibIdentityError::Read { .. } => "\nhint: synthmark.keygen(DIR) makes a test identity; \
             for production use a certificate from a CA on the C2PA trust list"
            .into(),
        _ => String::new(),
    }
}

/// A registry location that is not one.
pub fn registry_location(err: &LocationError) -> PyErr {
    RegistryError::new_err(format!(
        "{err}\nhint: registry= takes {}",
        LocationError::FORMS
    ))
}

/// A registry that cannot be opened or that failed.
pub fn registry(err: &LibRegistryError, stamping: bool) -> PyErr {
    RegistryError::new_err(format!("{err}\nhint: {}", registry_advice(err, stamping)))
}

fn registry_advice(err: &LibRegistryError, stamping: bool) -> &'static str {
    match (err, stamping) {
        (LibRegistryError::NotARegistry { .. }, _) => {
            "move the file aside or pass another registry="
        }
        (_, true) => "fix the registry, or leave registry= out to stamp without logging",
        (_, false) => "fix the registry, or leave registry= out to check without it",
    }
}

/// A failed stamp as the exception that says whose fault it is.
pub fn stamp(err: &LibStampError) -> PyErr {
    match err {
        LibStampError::Identity(inner) => IdentityError::new_err(inner.to_string()),
        LibStampError::Options(inner) => OptionsError::new_err(inner.to_string()),
        LibStampError::Registry(inner) => {
            RegistryError::new_err(format!("{err}\nhint: {}", registry_advice(inner, true)))
        }
        LibStampError::Timestamp { .. } => TimestampError::new_err(format!(
            "{err}\nhint: check the TSA, or pass tsa_optional=True to sign without a timestamp"
        )),
        LibStampError::Read { .. } => InputError::new_err(err.to_string()),
        _ if err.is_input_fault() => InputError::new_err(err.to_string()),
        _ => StampError::new_err(err.to_string()),
    }
}

/// A file that could not be read as an input.
pub fn unreadable(path: &Path, err: &std::io::Error) -> PyErr {
    InputError::new_err(format!("cannot read {}: {err}", path.display()))
}
