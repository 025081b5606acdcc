//! Finding the files a batch works on: named files as given, directories walked recursively.
//!
//! A file named on the command line is always processed (and fails clearly if it is not an
//! image). Inside a directory, a file is taken when its extension is an image extension or its
//! first bytes are an image signature; other files (a README, a `.DS_Store`) are passed over, as
//! are hidden files and directories, and the batch's own output directory.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::bail;
use synthmark::Format;

/// `--files-from`: inputs listed in a file, for lists too long for a command line or made by
/// another tool (`find -print0`, a database export).
#[derive(Debug, clap::Args)]
pub struct FilesFrom {
    /// Also take the inputs listed in FILE (`-`: standard input): one per line, or separated by
    /// NUL bytes (`find ... -print0`); empty entries are ignored.
    #[arg(long, value_name = "FILE")]
    pub files_from: Option<PathBuf>,
}

impl FilesFrom {
    /// The command line's inputs followed by the listed ones.
    pub fn inputs(&self, given: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
        let Some(list) = &self.files_from else {
            return Ok(given.to_vec());
        };
        let from_stdin = list.as_os_str() == "-";
        if from_stdin && given.iter().any(|p| p.as_os_str() == "-") {
            bail!("standard input cannot hold both the image and the --files-from list");
        }
        let read = if from_stdin {
            read_list(std::io::stdin().lock(), MAX_LIST_BYTES)
        } else {
            std::fs::File::open(list).and_then(|file| read_list(file, MAX_LIST_BYTES))
        };
        let bytes = read.map_err(|e| {
            anyhow::anyhow!(
                "cannot read the --files-from list {}: {}",
                if from_stdin {
                    "from standard input".into()
                } else {
                    list.display().to_string()
                },
                describe_io(&e)
            )
        })?;
        let mut inputs = given.to_vec();
        inputs.extend(parse_list(&bytes));
        if inputs.is_empty() {
            bail!(
                "no inputs: the --files-from list {} names no file",
                list.display()
            );
        }
        Ok(inputs)
    }
}

/// The largest `--files-from` list read (millions of paths): a list that never ends
/// (`--files-from /dev/zero`, a runaway producer) is refused instead of filling memory.
const MAX_LIST_BYTES: u64 = 256 << 20;

/// Reads a whole list of at most `limit` bytes.
fn read_list(reader: impl Read, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "it is larger than {} MiB; split it into several runs",
            limit >> 20
        )));
    }
    Ok(bytes)
}

/// The paths in a `--files-from` list: NUL-separated when it holds a NUL byte, else one per
/// line (a trailing carriage return is dropped); empty entries are skipped.
fn parse_list(bytes: &[u8]) -> Vec<PathBuf> {
    let nul_separated = bytes.contains(&0);
    bytes
        .split(|&b| if nul_separated { b == 0 } else { b == b'\n' })
        .map(|entry| {
            if nul_separated {
                entry
            } else {
                entry.strip_suffix(b"\r").unwrap_or(entry)
            }
        })
        .filter(|entry| !entry.is_empty())
        // A listed `-` is a file of that name, never standard input.
        .map(|entry| {
            if entry == b"-" {
                PathBuf::from("./-")
            } else {
                path_from_bytes(entry)
            }
        })
        .collect()
}

#[cfg(unix)]
fn path_from_bytes(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt as _;
    PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
}

/// One file to process.
#[derive(Debug, Clone)]
pub struct Input {
    pub path: PathBuf,
    /// Where the file sits below the argument it was found through (its name, for a file
    /// argument): the path its output gets below `--out`.
    pub relative: PathBuf,
}

/// A file that could not even be listed, with the reason.
#[derive(Debug, Clone)]
pub struct Unlisted {
    pub path: PathBuf,
    pub reason: String,
}

/// Expands the command-line arguments into files, in a stable order. `skip` is a directory never
/// to descend into (the output directory of a batch).
pub fn discover(args: &[PathBuf], skip: Option<&Path>) -> (Vec<Input>, Vec<Unlisted>) {
    let skip = skip.and_then(|dir| dir.canonicalize().ok());
    let mut inputs = Vec::new();
    let mut unlisted = Vec::new();
    for arg in args {
        let metadata = match std::fs::metadata(arg) {
            Ok(metadata) => metadata,
            Err(err) => {
                unlisted.push(Unlisted {
                    path: arg.clone(),
                    reason: describe_io(&err),
                });
                continue;
            }
        };
        if !metadata.is_dir() {
            let name = arg
                .file_name()
                .map(PathBuf::from)
                .unwrap_or_else(|| arg.clone());
            inputs.push(Input {
                path: arg.clone(),
                relative: name,
            });
            continue;
        }
        let walker = walkdir::WalkDir::new(arg)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|entry| {
                let is_output_dir = || {
                    entry.file_type().is_dir()
                        && skip.is_some()
                        && entry.path().canonicalize().ok() == skip
                };
                entry.depth() == 0 || !(is_hidden(entry.file_name()) || is_output_dir())
            });
        for entry in walker {
            match entry {
                Ok(entry) if entry.file_type().is_file() && looks_like_image(entry.path()) => {
                    let relative = entry
                        .path()
                        .strip_prefix(arg)
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|_| entry.path().to_path_buf());
                    inputs.push(Input {
                        path: entry.path().to_path_buf(),
                        relative,
                    });
                }
                Ok(_) => {}
                Err(err) => unlisted.push(Unlisted {
                    path: err
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| arg.clone()),
                    reason: err
                        .io_error()
                        .map(describe_io)
                        .unwrap_or_else(|| err.to_string()),
                }),
            }
        }
    }
    (inputs, unlisted)
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.to_string_lossy().starts_with('.')
}

fn looks_like_image(path: &Path) -> bool {
    let by_extension = path
        .extension()
        .is_some_and(|ext| Format::is_image_extension(&ext.to_string_lossy()));
    by_extension || sniffs_as_image(path)
}

fn sniffs_as_image(path: &Path) -> bool {
    let mut head = [0u8; 64];
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => filled += n,
        }
    }
    Format::sniff(&head[..filled]).is_ok()
}

/// An I/O error as a short phrase, without the OS error number.
pub fn describe_io(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_directories_and_keeps_named_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(root.join(".hidden")).unwrap();
        std::fs::create_dir_all(root.join("out")).unwrap();
        std::fs::write(root.join("a.jpg"), b"not really").unwrap();
        std::fs::write(root.join("sub/b"), b"\x89PNG\r\n\x1a\nxxxx").unwrap();
        std::fs::write(root.join("notes.txt"), b"hello").unwrap();
        std::fs::write(root.join(".hidden/c.png"), b"x").unwrap();
        std::fs::write(root.join("out/d.png"), b"x").unwrap();
        let named = root.join("notes.txt");

        let (inputs, unlisted) = discover(
            &[root.to_path_buf(), named.clone(), root.join("missing.png")],
            Some(&root.join("out")),
        );
        let relative: Vec<_> = inputs.iter().map(|i| i.relative.clone()).collect();
        assert_eq!(
            relative,
            vec![
                PathBuf::from("a.jpg"),
                PathBuf::from("sub/b"),
                PathBuf::from("notes.txt")
            ]
        );
        assert_eq!(inputs[2].path, named);
        assert_eq!(unlisted.len(), 1);
        assert_eq!(unlisted[0].reason, "no such file or directory");
    }

    #[test]
    fn a_list_is_split_on_lines_or_on_nul_bytes() {
        assert_eq!(
            parse_list(b"a.jpg\r\n\nb c.png\n"),
            [PathBuf::from("a.jpg"), PathBuf::from("b c.png")]
        );
        // NUL-separated: a name may hold a line break.
        assert_eq!(
            parse_list(b"a\nb.jpg\0c.png\0"),
            [PathBuf::from("a\nb.jpg"), PathBuf::from("c.png")]
        );
        assert!(parse_list(b"\n\n").is_empty());
        assert_eq!(parse_list(b"-\n"), [PathBuf::from("./-")]);
    }

    #[test]
    fn a_list_longer_than_the_limit_is_refused() {
        assert_eq!(read_list(&b"a.jpg\n"[..], 6).unwrap(), b"a.jpg\n");
        let err = read_list(std::io::repeat(b'x'), 2 << 20).unwrap_err();
        assert!(err.to_string().contains("larger than 2 MiB"), "{err}");
    }
}
