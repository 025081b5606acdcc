//! Reading files that hold secrets (a private key, a passphrase, a PIN): refused when other users
//! can read them, and read into memory that is zeroized when dropped.

use std::fs::{self, File};
use std::io::Read;
use std::path::Path;

use zeroize::Zeroizing;

use super::error::IdentityError;

/// Whether a key, passphrase or PIN file that other users can read is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyFilePermissions {
    /// Refuse a file readable by its group or others ([`IdentityError::KeyReadable`]).
    #[default]
    OwnerOnly,
    /// Accept it (keys on a read-only mount, or managed by another tool).
    AllowReadable,
}

/// Reads a file holding a secret, refusing it (unless allowed) when other users can read it.
/// The file is opened once and its mode checked on that handle, so the file read is the file
/// checked (a symlink swapped in between cannot point the read elsewhere).
pub(crate) fn read_private(
    path: &Path,
    permissions: KeyFilePermissions,
) -> Result<Zeroizing<Vec<u8>>, IdentityError> {
    let read_error = |cause| IdentityError::Read {
        path: path.to_path_buf(),
        cause,
    };
    let mut file = File::open(path).map_err(read_error)?;
    let metadata = file.metadata().map_err(read_error)?;
    if permissions == KeyFilePermissions::OwnerOnly {
        check_mode(path, &metadata)?;
    }
    // Room for the whole file up front: a reallocation would leave a copy of the secret behind.
    let capacity = usize::try_from(metadata.len())
        .unwrap_or(0)
        .saturating_add(1);
    let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
    file.read_to_end(&mut bytes).map_err(read_error)?;
    Ok(bytes)
}

#[cfg(unix)]
fn check_mode(path: &Path, metadata: &fs::Metadata) -> Result<(), IdentityError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o044 != 0 {
        return Err(IdentityError::KeyReadable {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_path: &Path, _metadata: &fs::Metadata) -> Result<(), IdentityError> {
    Ok(())
}
