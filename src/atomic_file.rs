//! Atomic file writes: a temporary sibling, flushed to disk, then renamed over the target.
//!
//! A reader (or a crash) never sees a half-written file, and an existing file is either fully
//! replaced or left exactly as it was.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// What to do when the target already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Fail with `ErrorKind::AlreadyExists`.
    Refuse,
    /// Replace it atomically.
    Replace,
}

/// Writes `contents` to `path` atomically. `mode` sets the Unix permissions of the new file from
/// its creation on (so a private key is never readable by others); `None` keeps the permissions
/// of the file being replaced, or uses 0644 for a new one.
///
/// When an existing file is replaced, the new contents are flushed to disk before the rename, so
/// a crash cannot leave the original gone and the replacement empty. A new file is not flushed
/// (the rename alone keeps readers from seeing it half-written), which keeps batches fast.
pub fn write(
    path: &Path,
    contents: &[u8],
    mode: Option<u32>,
    existing: Existing,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mode = mode.unwrap_or_else(|| current_mode(path).unwrap_or(0o644));
    let mut tmp = tempfile::Builder::new()
        .prefix(".synthmark-")
        .suffix(".tmp")
        .permissions(permissions(mode))
        .tempfile_in(dir)?;
    tmp.write_all(contents)?;
    if path.exists() {
        tmp.as_file().sync_all()?;
    }
    match existing {
        Existing::Replace => tmp.persist(path).map_err(|e| e.error)?,
        Existing::Refuse => tmp.persist_noclobber(path).map_err(|e| e.error)?,
    };
    Ok(())
}

#[cfg(unix)]
fn current_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn current_mode(_path: &Path) -> Option<u32> {
    None
}

#[cfg(unix)]
fn permissions(mode: u32) -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    fs::Permissions::from_mode(mode)
}

#[cfg(not(unix))]
fn permissions(_mode: u32) -> fs::Permissions {
    // Only the read-only flag exists here; a fresh temporary file is writable.
    let mut permissions = fs::metadata(".")
        .map(|m| m.permissions())
        .unwrap_or_else(|_| unreachable!("the current directory always has metadata"));
    permissions.set_readonly(false);
    permissions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_or_replaces_existing_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        write(&path, b"one", None, Existing::Refuse).unwrap();
        let err = write(&path, b"two", None, Existing::Refuse).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"one");
        write(&path, b"three", None, Existing::Replace).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"three");
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary files are left behind");
    }

    #[cfg(unix)]
    #[test]
    fn mode_applies_and_replacement_keeps_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        write(&key, b"secret", Some(0o600), Existing::Refuse).unwrap();
        assert_eq!(
            fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        write(&key, b"secret2", None, Existing::Replace).unwrap();
        assert_eq!(
            fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
