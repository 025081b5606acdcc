//! [`KeySource`]: where the private key of a certificate is, as the command line, the
//! configuration file, the service and the Python package choose it, and
//! [`SigningIdentity::load`] building the identity from it. The front doors decide how the
//! choice is spelled (flags, `[stamp]` keys, keyword arguments) and what advice an error gets;
//! what each choice means lives here once.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::command::SignerCommand;
use super::error::IdentityError;
use super::external::ExternalSigner;
use super::pkcs11::Pkcs11Config;
use super::private_file::KeyFilePermissions;
use super::secret::Secret;
use super::signing::SigningIdentity;

/// Where the private key of a certificate is. `Debug` never shows a secret or a command's
/// arguments.
#[derive(Clone)]
#[non_exhaustive]
pub enum KeySource {
    /// A PKCS#8 PEM file, decrypted in memory with `passphrase` when it is encrypted (a
    /// passphrase for a key that is not encrypted is refused).
    File {
        key: PathBuf,
        passphrase: Option<Secret>,
        permissions: KeyFilePermissions,
    },
    /// A signing command (a KMS client).
    Command(SignerCommand),
    /// A key inside a PKCS#11 token.
    Pkcs11(Pkcs11Config),
    /// Any other signer (a KMS SDK, a Python callable).
    External(Arc<dyn ExternalSigner>),
}

impl KeySource {
    /// A key file that only its owner may read, encrypted when `passphrase` is given.
    pub fn file(key: impl Into<PathBuf>, passphrase: Option<Secret>) -> Self {
        KeySource::File {
            key: key.into(),
            passphrase,
            permissions: KeyFilePermissions::OwnerOnly,
        }
    }

    /// The key as messages name it after "cannot sign with CERT and …": the key file's path,
    /// "the command `kms-sign`", "the PKCS#11 key `c2pa` on token `hsm` (…)", the external
    /// signer's description. Never a secret or a command's arguments.
    pub fn describe(&self) -> String {
        match self {
            KeySource::File { key, .. } => key.display().to_string(),
            KeySource::Command(command) => format!("the {}", command.describe()),
            KeySource::Pkcs11(config) => format!("the {}", config.describe()),
            KeySource::External(signer) => signer.describe(),
        }
    }
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::File {
                key,
                passphrase,
                permissions,
            } => f
                .debug_struct("File")
                .field("key", key)
                .field("passphrase", passphrase)
                .field("permissions", permissions)
                .finish(),
            KeySource::Command(command) => f.debug_tuple("Command").field(command).finish(),
            KeySource::Pkcs11(config) => f.debug_tuple("Pkcs11").field(config).finish(),
            KeySource::External(signer) => {
                f.debug_tuple("External").field(&signer.describe()).finish()
            }
        }
    }
}

impl SigningIdentity {
    /// The identity of the PEM certificate chain `cert` (signing certificate first) with the key
    /// `source` names, checked like every constructor checks it (the certificate against the
    /// C2PA signer profile, a probe signature against the certificate).
    ///
    /// ```no_run
    /// use synthmark::{KeySource, Secret, SigningIdentity};
    ///
    /// let source = KeySource::file("key.enc.pem", Secret::from_env("SYNTHMARK_KEY_PASSPHRASE"));
    /// let identity = SigningIdentity::load("chain.pem".as_ref(), &source)?;
    /// # Ok::<(), synthmark::IdentityError>(())
    /// ```
    pub fn load(cert: &Path, source: &KeySource) -> Result<Self, IdentityError> {
        match source {
            KeySource::File {
                key,
                passphrase: None,
                permissions,
            } => Self::from_files_with(cert, key, *permissions),
            KeySource::File {
                key,
                passphrase: Some(passphrase),
                permissions,
            } => Self::from_files_with_passphrase(cert, key, passphrase, *permissions),
            KeySource::Command(command) => Self::from_command(cert, command),
            KeySource::Pkcs11(config) => Self::from_pkcs11(cert, config),
            KeySource::External(signer) => {
                let chain = std::fs::read(cert).map_err(|cause| IdentityError::Read {
                    path: cert.to_path_buf(),
                    cause,
                })?;
                Self::from_external(&chain, signer.clone())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::dev::{DevIdentity, KeyAlgorithm};

    #[test]
    fn every_source_loads_through_one_entry_point_and_debug_hides_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let paths = DevIdentity::generate(KeyAlgorithm::Es256, "T")
            .unwrap()
            .write_to(dir.path(), false)
            .unwrap();
        let file = KeySource::file(&paths.key, None);
        let identity = SigningIdentity::load(&paths.cert, &file).unwrap();
        assert_eq!(file.describe(), paths.key.display().to_string());

        let with_passphrase = KeySource::file(&paths.key, Some(Secret::new("hunter2")));
        let err = SigningIdentity::load(&paths.cert, &with_passphrase).unwrap_err();
        assert!(matches!(err, IdentityError::KeyNotEncrypted), "{err}");
        let shown = format!("{with_passphrase:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("redacted"),
            "{shown}"
        );

        let command = KeySource::Command(SignerCommand::new(
            "/opt/kms/sign",
            vec!["--token=hunter2".into()],
        ));
        assert_eq!(command.describe(), "the command `/opt/kms/sign`");
        assert!(!format!("{command:?}").contains("hunter2"));

        let missing = SigningIdentity::load(&dir.path().join("none.pem"), &file).unwrap_err();
        assert!(matches!(missing, IdentityError::Read { .. }), "{missing}");
        assert!(identity.subject().contains("DEVELOPMENT"));
    }
}
