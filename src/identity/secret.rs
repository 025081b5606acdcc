//! [`Secret`]: a passphrase or a PIN, taken from the environment or a file, zeroized when
//! dropped and never shown by `Debug` or in an error.

use std::fmt;
use std::path::Path;

use zeroize::Zeroizing;

use super::error::IdentityError;
use super::private_file::{read_private, KeyFilePermissions};

/// A passphrase or a PIN. Its memory is zeroized when dropped; `Debug` prints `<redacted>`.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(Zeroizing::new(value))
    }
}

impl Secret {
    /// Wraps a secret held by the caller (a Python string, a value from a secrets manager).
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Zeroizing::new(value.into()))
    }

    /// The value of the environment variable `name`, or `None` when it is unset or empty (an
    /// empty variable is how container runtimes spell "unset"). A value that is not UTF-8 counts
    /// as unset too.
    pub fn from_env(name: &str) -> Option<Self> {
        let value = Zeroizing::new(std::env::var(name).ok()?);
        if value.is_empty() {
            return None;
        }
        Some(Secret(value))
    }

    /// The first line of `path` (without its line ending), refusing a file that other users can
    /// read (unless `permissions` allows it), an empty one and one that is not UTF-8 text.
    pub fn from_file(path: &Path, permissions: KeyFilePermissions) -> Result<Self, IdentityError> {
        let bytes = read_private(path, permissions)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| IdentityError::SecretFile {
            path: path.to_path_buf(),
            reason:
                "is not UTF-8 text; a passphrase or PIN file holds the secret on its first line",
        })?;
        let line = text.split(['\n', '\r']).next().unwrap_or_default();
        if line.is_empty() {
            return Err(IdentityError::SecretFile {
                path: path.to_path_buf(),
                reason: "is empty; a passphrase or PIN file holds the secret on its first line",
            });
        }
        Ok(Secret(Zeroizing::new(line.to_string())))
    }

    /// The secret itself, for the one call that needs it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_file_gives_its_first_line_and_debug_hides_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pin");
        std::fs::write(&path, "s3cret pin\r\nignored\n").unwrap();
        let secret = Secret::from_file(&path, KeyFilePermissions::AllowReadable).unwrap();
        assert_eq!(secret.expose(), "s3cret pin");
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");

        std::fs::write(&path, "\n").unwrap();
        let err = Secret::from_file(&path, KeyFilePermissions::AllowReadable).unwrap_err();
        assert!(err.to_string().contains("is empty"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_secret_file_others_can_read_is_refused_unless_allowed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passphrase");
        std::fs::write(&path, "hunter2\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Secret::from_file(&path, KeyFilePermissions::OwnerOnly).unwrap_err();
        assert!(
            matches!(err, IdentityError::KeyReadable { mode: 0o644, .. }),
            "{err}"
        );
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(Secret::from_file(&path, KeyFilePermissions::AllowReadable).is_ok());
    }
}
