//! Atomic file writes: a temporary sibling, flushed to disk, then renamed over the target.
//!
//! A reader (or a crash) never sees a half-written file, and an existing file is either fully
//! replaced or left exactly as it was. Temporary files are named `.synthmark-PID-XXXXXX.tmp`
//! after the process that writes them, so a later run can tell the leftovers of a crashed one
//! ([`stale_files`]) from the files of a run still going.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

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
    stage(path, contents, mode)?.commit(existing)
}

/// `contents` written to a temporary file beside `path`, not yet in place: [`Staged::commit`]
/// renames it over `path`; dropping it deletes it. Between the two a caller can do what must
/// happen before the file exists (logging it in a registry). `mode` is as for [`write`].
pub fn stage(path: &Path, contents: &[u8], mode: Option<u32>) -> io::Result<Staged> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mode = mode.unwrap_or_else(|| current_mode(path).unwrap_or(0o644));
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{}-", std::process::id()))
        .suffix(SUFFIX)
        .permissions(permissions(mode))
        .tempfile_in(dir)?;
    tmp.write_all(contents)?;
    if path.exists() {
        tmp.as_file().sync_all()?;
    }
    Ok(Staged {
        tmp,
        path: path.to_path_buf(),
    })
}

/// A file written beside its target, waiting to be renamed into place.
pub struct Staged {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl Staged {
    /// Renames the staged file over its target (refusing an existing one with
    /// `ErrorKind::AlreadyExists` unless [`Existing::Replace`]).
    pub fn commit(self, existing: Existing) -> io::Result<()> {
        match existing {
            Existing::Replace => self.tmp.persist(&self.path).map_err(|e| e.error)?,
            Existing::Refuse => self
                .tmp
                .persist_noclobber(&self.path)
                .map_err(|e| e.error)?,
        };
        Ok(())
    }
}

const PREFIX: &str = ".synthmark-";
const SUFFIX: &str = ".tmp";
/// Temporary files named without a process id (by versions before 0.2) count as stale after this.
const UNNAMED_STALE_AFTER: Duration = Duration::from_secs(3600);

/// The temporary files in `dir` left behind by synthmark processes that are no longer running
/// (killed, or crashed, before they could rename or delete them). Files of running processes
/// are never listed.
pub fn stale_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|entry| {
            let name = entry.file_name();
            let name = name.to_str()?;
            let middle = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
            let stale = match middle
                .split_once('-')
                .and_then(|(pid, _)| pid.parse::<u32>().ok())
            {
                Some(pid) => pid != std::process::id() && !process_is_running(pid),
                None => entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .is_some_and(|age| age > UNNAMED_STALE_AFTER),
            };
            stale.then(|| entry.path())
        })
        .collect()
}

#[cfg(unix)]
fn process_is_running(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // Signal 0 checks for existence; EPERM means it exists but belongs to someone else.
    // SAFETY: kill with signal 0 sends nothing; it only looks the process up.
    let found = unsafe { libc::kill(pid, 0) } == 0;
    found || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn process_is_running(_pid: u32) -> bool {
    // Without a way to ask, every named temporary file is assumed to be in use.
    true
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

    #[test]
    fn a_dropped_stage_leaves_nothing_and_a_commit_writes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        drop(stage(&path, b"abandoned", None).unwrap());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        let staged = stage(&path, b"kept", None).unwrap();
        assert!(!path.exists(), "not in place before the commit");
        staged.commit(Existing::Refuse).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"kept");
    }

    #[cfg(unix)]
    #[test]
    fn only_the_leftovers_of_dead_processes_are_stale() {
        let dir = tempfile::tempdir().unwrap();
        // A process that has exited: its pid is not running any more.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let leftover = dir.path().join(format!(".synthmark-{dead}-abc123.tmp"));
        fs::write(&leftover, b"partial").unwrap();
        // Our own staged file, and one of a running process (pid 1), are not stale.
        let ours = stage(&dir.path().join("x"), b"in progress", None).unwrap();
        fs::write(dir.path().join(".synthmark-1-abc123.tmp"), b"busy").unwrap();
        fs::write(dir.path().join("photo.jpg"), b"not ours").unwrap();
        assert_eq!(stale_files(dir.path()), vec![leftover]);
        drop(ours);
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
