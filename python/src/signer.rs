//! `synthmark.Signer`: who signs, loaded and checked once (the certificate against the C2PA
//! signer profile, a probe signature against the certificate), then shared by any number of
//! stampers and threads.
//!
//! The certificate chain is always PEM; the key is a PKCS#8 PEM file (plain, or encrypted and
//! decrypted in memory with `key_passphrase`), a key inside a PKCS#11 token, a signing command
//! (a KMS client), or a Python callable (a KMS SDK). Without any, stamping signs with the
//! *development identity*: the command line's (`$XDG_DATA_HOME/synthmark/dev-identity`, else
//! `~/.local/share/synthmark/dev-identity`), created on first use, with a
//! `DevelopmentIdentityWarning` every time a signer is made from it.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyDict, PyString, PyType};
use synthmark::{
    DevIdentity, ExternalSigner, IdentityError as LibIdentityError, IdentityPaths, KeyAlgorithm,
    KeyFilePermissions, KeySelector, KeySource, Pkcs11Config, Secret, SignerCommand, SigningAlg,
    SigningIdentity, TokenSelector,
};
use zeroize::Zeroizing;

use crate::errors;

/// A signing identity: certificate chain and private key, validated when loaded.
#[pyclass(frozen, module = "synthmark")]
pub struct Signer {
    pub identity: SigningIdentity,
    /// For the development identity: its root CA (the trust anchor that checks need).
    development_ca: Option<PathBuf>,
}

impl Signer {
    fn of(identity: SigningIdentity) -> Self {
        Signer {
            identity,
            development_ca: None,
        }
    }
}

#[pymethods]
impl Signer {
    /// Loads a PEM certificate chain (signing certificate first) and its PKCS#8 PEM private key,
    /// decrypted in memory with `key_passphrase` when it is encrypted. A key file that other
    /// users can read is refused unless `allow_readable_key`.
    #[new]
    #[pyo3(signature = (cert, key, *, key_passphrase = None, allow_readable_key = false))]
    fn new(
        py: Python<'_>,
        cert: PathBuf,
        key: PathBuf,
        key_passphrase: Option<String>,
        allow_readable_key: bool,
    ) -> PyResult<Self> {
        load(
            py,
            &cert,
            file_source(key, key_passphrase, allow_readable_key),
        )
    }

    /// An identity from PEM text held in memory (a secret store, an environment variable): the
    /// certificate chain and the PKCS#8 private key, encrypted or not.
    #[classmethod]
    #[pyo3(signature = (cert_pem, key_pem, *, key_passphrase = None))]
    fn from_pem(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        cert_pem: PemText,
        key_pem: PemText,
        key_passphrase: Option<String>,
    ) -> PyResult<Self> {
        let passphrase = key_passphrase.map(Secret::new);
        py.detach(|| match &passphrase {
            None => SigningIdentity::from_pem(&cert_pem.0, &key_pem.0),
            Some(passphrase) => {
                SigningIdentity::from_encrypted_pem(&cert_pem.0, &key_pem.0, passphrase)
            }
        })
        .map(Signer::of)
        .map_err(|err| errors::identity(&err, "the PEM key"))
    }

    /// Signs through a command (a KMS client): it gets the bytes to sign on standard input and
    /// writes the signature on standard output (ECDSA as DER or raw r||s). `signer_cmd` is a
    /// command line (split like a shell would, but no shell runs it) or a list of words.
    #[classmethod]
    #[pyo3(signature = (cert, signer_cmd, *, timeout = None))]
    fn command(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        cert: PathBuf,
        signer_cmd: &Bound<'_, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<Self> {
        load(py, &cert, command_source(signer_cmd, timeout)?)
    }

    /// Signs with a key inside a PKCS#11 token (an HSM): `module` is the vendor's library, the
    /// token is chosen by `token` (label) or `slot`, the key by `key_label` and/or `key_id`
    /// (hex, or bytes), and `pin` logs in. The key never leaves the token.
    #[classmethod]
    #[pyo3(signature = (cert, *, module, token = None, slot = None, key_label = None, key_id = None, pin = None))]
    #[allow(clippy::too_many_arguments)]
    fn pkcs11(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        cert: PathBuf,
        module: PathBuf,
        token: Option<String>,
        slot: Option<u64>,
        key_label: Option<String>,
        key_id: Option<&Bound<'_, PyAny>>,
        pin: Option<String>,
    ) -> PyResult<Self> {
        let source = pkcs11_source(module, token, slot, key_label, key_id, pin)?;
        load(py, &cert, source)
    }

    /// Signs with a Python callable `sign(data: bytes, alg: str) -> bytes` (a KMS SDK, a
    /// signing service): `alg` is the certificate's algorithm (`es256`, `es384`, `es512`,
    /// `ps256`, `ed25519`), `data` the bytes to sign (not a digest); ECDSA signatures may be DER
    /// or raw r||s. It is called from stamping threads, holding the GIL only while it runs.
    #[classmethod]
    #[pyo3(signature = (cert, sign, *, description = None))]
    fn external(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        cert: PathBuf,
        sign: Bound<'_, PyAny>,
        description: Option<String>,
    ) -> PyResult<Self> {
        if !sign.is_callable() {
            return Err(PyTypeError::new_err(
                "sign must be a callable: sign(data: bytes, alg: str) -> bytes",
            ));
        }
        let description = description.unwrap_or_else(|| {
            let name = sign
                .getattr("__qualname__")
                .and_then(|name| name.extract::<String>())
                .unwrap_or_else(|_| "callable".to_string());
            format!("Python signer {name}")
        });
        let signer = PythonSigner {
            sign: sign.unbind(),
            description,
        };
        load(py, &cert, KeySource::External(Arc::new(signer)))
    }

    /// The development identity of this machine (the command line's), created on first use.
    /// Nothing outside this machine trusts it: check its output with
    /// `Checker(trust=[signer.trust_anchor])`. Warns with `DevelopmentIdentityWarning`.
    #[classmethod]
    fn development(_cls: &Bound<'_, PyType>, py: Python<'_>) -> PyResult<Self> {
        Signer::load_development(py)
    }

    /// The signing certificate's subject.
    #[getter]
    fn subject(&self) -> &str {
        self.identity.subject()
    }

    /// The signature algorithm, e.g. `es256`.
    #[getter]
    fn alg(&self) -> String {
        self.identity.alg().to_string()
    }

    /// Where the key is (a key in memory, a PKCS#11 token, a command): never a secret.
    #[getter]
    fn key(&self) -> String {
        self.identity.key_description()
    }

    /// True for the development identity.
    #[getter]
    fn development_identity(&self) -> bool {
        self.development_ca.is_some()
    }

    /// The development identity's root CA (PEM file), the trust anchor a `Checker` needs to
    /// read its output as trusted; `None` for other identities.
    #[getter]
    fn trust_anchor(&self) -> Option<PathBuf> {
        self.development_ca.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "<synthmark.Signer {:?} {}{}>",
            self.identity.subject(),
            self.identity.alg(),
            if self.development_ca.is_some() {
                " DEVELOPMENT"
            } else {
                ""
            }
        )
    }
}

impl Signer {
    /// The development identity, with its warning.
    pub fn load_development(py: Python<'_>) -> PyResult<Self> {
        let dir = dev_identity_dir()?;
        let (identity, paths, created) = py.detach(|| development_identity(&dir))?;
        let message = format!(
            "signing with the DEVELOPMENT identity in {}{}; nothing outside this machine trusts \
             it. Check its output with Checker(trust=[{:?}]); for production pass cert= with \
             key=, signer_cmd= or pkcs11= (or signer=).",
            dir.display(),
            if created { " (created now)" } else { "" },
            paths.ca.display().to_string(),
        );
        let category = py.get_type::<errors::DevelopmentIdentityWarning>();
        let message = CString::new(message).unwrap_or_else(|_| c"development identity".into());
        PyErr::warn(py, &category, &message, 1)?;
        Ok(Signer {
            identity,
            development_ca: Some(paths.ca),
        })
    }
}

/// `key=` with `key_passphrase=` and `allow_readable_key=`.
pub fn file_source(
    key: PathBuf,
    passphrase: Option<String>,
    allow_readable_key: bool,
) -> KeySource {
    KeySource::File {
        key,
        passphrase: passphrase.map(Secret::new),
        permissions: if allow_readable_key {
            KeyFilePermissions::AllowReadable
        } else {
            KeyFilePermissions::OwnerOnly
        },
    }
}

/// `signer_cmd=`: a command line or a list of words, with an optional timeout in seconds.
pub fn command_source(signer_cmd: &Bound<'_, PyAny>, timeout: Option<f64>) -> PyResult<KeySource> {
    let command = if signer_cmd.is_instance_of::<PyString>() {
        let line: String = signer_cmd.extract()?;
        SignerCommand::parse(&line)
            .map_err(|err| errors::OptionsError::new_err(format!("signer_cmd=: {err}")))?
    } else {
        let words: Vec<String> = signer_cmd.extract().map_err(|_| {
            PyTypeError::new_err("signer_cmd= takes a command line (str) or a list of words")
        })?;
        let mut words = words.into_iter();
        let program = words.next().ok_or_else(|| {
            errors::OptionsError::new_err("signer_cmd= is an empty list of words")
        })?;
        SignerCommand::new(program, words.collect())
    };
    let minimum = SignerCommand::MIN_TIMEOUT.as_secs_f64();
    let command = match timeout {
        None => command,
        Some(seconds) if seconds.is_finite() && seconds >= minimum => {
            command.with_timeout(Duration::from_secs_f64(seconds))
        }
        Some(seconds) => {
            return Err(errors::OptionsError::new_err(format!(
                "signer_timeout={seconds} must be a number of seconds, at least {minimum}"
            )))
        }
    };
    Ok(KeySource::Command(command))
}

/// `pkcs11=`: where the key is and how to log in.
pub fn pkcs11_source(
    module: PathBuf,
    token: Option<String>,
    slot: Option<u64>,
    key_label: Option<String>,
    key_id: Option<&Bound<'_, PyAny>>,
    pin: Option<String>,
) -> PyResult<KeySource> {
    let token = match (token, slot) {
        (Some(label), None) => TokenSelector::Label(label),
        (None, Some(slot)) => TokenSelector::Slot(slot),
        (Some(_), Some(_)) => {
            return Err(errors::OptionsError::new_err(
                "pkcs11: give the token by label (token=) or by slot (slot=), not both",
            ))
        }
        (None, None) => {
            return Err(errors::OptionsError::new_err(
                "pkcs11: say which token holds the key: token= (its label) or slot=",
            ))
        }
    };
    let id = key_id.map(key_id_bytes).transpose()?;
    if key_label.is_none() && id.is_none() {
        return Err(errors::OptionsError::new_err(
            "pkcs11: say which key signs: key_label= and/or key_id=",
        ));
    }
    let key = KeySelector {
        label: key_label,
        id,
    };
    Ok(KeySource::Pkcs11(Pkcs11Config::new(
        module,
        token,
        key,
        pin.map(Secret::new),
    )))
}

/// `pkcs11=dict(...)`, the stamper's form of [`pkcs11_source`].
pub fn pkcs11_source_from_dict(options: &Bound<'_, PyDict>) -> PyResult<KeySource> {
    const KEYS: [&str; 6] = ["module", "token", "slot", "key_label", "key_id", "pin"];
    for key in options.keys() {
        let name: String = key.extract()?;
        if !KEYS.contains(&name.as_str()) {
            return Err(errors::OptionsError::new_err(format!(
                "pkcs11: unknown key {name:?}; use {}",
                KEYS.join(", ")
            )));
        }
    }
    let get = |name: &str| -> PyResult<Option<Bound<'_, PyAny>>> {
        Ok(options.get_item(name)?.filter(|value| !value.is_none()))
    };
    let module: PathBuf = get("module")?
        .ok_or_else(|| {
            errors::OptionsError::new_err(
                "pkcs11: module= is needed (the token's library, e.g. \
                 /usr/lib/softhsm/libsofthsm2.so)",
            )
        })?
        .extract()?;
    let text = |name: &str| -> PyResult<Option<String>> {
        get(name)?.map(|value| value.extract()).transpose()
    };
    let slot = get("slot")?.map(|value| value.extract()).transpose()?;
    let key_id = get("key_id")?;
    pkcs11_source(
        module,
        text("token")?,
        slot,
        text("key_label")?,
        key_id.as_ref(),
        text("pin")?,
    )
}

/// Loads the identity of `cert` with the key `source` names, with the GIL released.
pub fn load(py: Python<'_>, cert: &Path, source: KeySource) -> PyResult<Signer> {
    py.detach(|| SigningIdentity::load(cert, &source))
        .map(Signer::of)
        .map_err(|err| errors::identity_with(cert, &source.describe(), &err))
}

/// A PKCS#11 key id: hex text (`"01"`, `"a1:b2"`, as `pkcs11-tool --id` takes it) or bytes.
fn key_id_bytes(value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(bytes) = value.extract::<PyBackedBytes>() {
        return Ok(bytes.to_vec());
    }
    let text: String = value
        .extract()
        .map_err(|_| PyTypeError::new_err("pkcs11 key_id= takes hex text or bytes"))?;
    KeySelector::parse_id(&text).ok_or_else(|| {
        errors::OptionsError::new_err(format!(
            "pkcs11 key_id={text:?} is not hex (e.g. \"01\" or \"a1:b2\", as pkcs11-tool --id takes it)"
        ))
    })
}

/// A Python callable as the library's [`ExternalSigner`]: called with the GIL taken for the
/// call only (stamping threads run without it).
struct PythonSigner {
    sign: Py<PyAny>,
    description: String,
}

impl ExternalSigner for PythonSigner {
    fn sign(&self, data: &[u8], alg: SigningAlg) -> Result<Vec<u8>, LibIdentityError> {
        Python::attach(|py| {
            let signature = self
                .sign
                .call1(py, (PyBytes::new(py, data), alg.to_string()))?;
            let signature: PyBackedBytes = signature
                .extract(py)
                .map_err(|_| PyTypeError::new_err("it must return the signature as bytes"))?;
            Ok::<_, PyErr>(signature.to_vec())
        })
        .map_err(|err| LibIdentityError::Signer {
            signer: self.description.clone(),
            reason: err.to_string(),
        })
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

/// PEM text given as `str` or `bytes`: a private key, so the copy made here is zeroized when
/// dropped (the Python object itself is the caller's).
pub struct PemText(Zeroizing<Vec<u8>>);

impl<'a, 'py> FromPyObject<'a, 'py> for PemText {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(text) = obj.extract::<String>() {
            return Ok(PemText(Zeroizing::new(text.into_bytes())));
        }
        match obj.extract::<PyBackedBytes>() {
            Ok(bytes) => Ok(PemText(Zeroizing::new(bytes.to_vec()))),
            Err(_) => Err(PyTypeError::new_err("PEM text must be str or bytes")),
        }
    }
}

/// Where the development identity lives: `$XDG_DATA_HOME/synthmark/dev-identity`, else
/// `~/.local/share/synthmark/dev-identity` (as for the command line).
fn dev_identity_dir() -> PyResult<PathBuf> {
    DevIdentity::default_dir().ok_or_else(|| {
        errors::IdentityError::new_err(
            "cannot find a data directory for the development identity: set HOME or \
             XDG_DATA_HOME, or pass cert= and key=",
        )
    })
}

/// Loads the development identity in `dir`, creating it on first use; says whether it did.
fn development_identity(dir: &Path) -> PyResult<(SigningIdentity, IdentityPaths, bool)> {
    DevIdentity::load_or_create(dir).map_err(|err| {
        let hint = match err {
            LibIdentityError::KeyReadable { .. } => "`chmod 600` the key",
            _ => "delete that directory to have a new one created",
        };
        errors::IdentityError::new_err(format!(
            "the development identity in {} is unusable: {err}\nhint: {hint}",
            dir.display()
        ))
    })
}

/// `synthmark.keygen`: writes a development identity (`ca.pem`, `cert.pem`, `key.pem` mode
/// 0600) into `out`, as `synthmark keygen --out DIR` does; returns the three paths.
#[pyfunction]
#[pyo3(signature = (out, *, alg = "es256", org = "synthmark development", force = false))]
pub fn keygen(
    py: Python<'_>,
    out: PathBuf,
    alg: &str,
    org: &str,
    force: bool,
) -> PyResult<(PathBuf, PathBuf, PathBuf)> {
    let alg = match alg.to_ascii_lowercase().as_str() {
        "es256" => KeyAlgorithm::Es256,
        "es384" => KeyAlgorithm::Es384,
        "ed25519" => KeyAlgorithm::Ed25519,
        other => {
            return Err(errors::OptionsError::new_err(format!(
                "alg={other:?}: use \"es256\", \"es384\" or \"ed25519\""
            )))
        }
    };
    let org = org.to_string();
    let paths = py
        .detach(|| DevIdentity::generate(alg, &org)?.write_to(&out, force))
        .map_err(|err| {
            let hint = match err {
                LibIdentityError::Exists { .. } => "\nhint: pass force=True to replace it",
                _ => "",
            };
            errors::IdentityError::new_err(format!("cannot write the identity: {err}{hint}"))
        })?;
    Ok((paths.ca, paths.cert, paths.key))
}
