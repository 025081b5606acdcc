//! Signing through another program (a KMS client, a signing service's CLI), the way c2patool's
//! signer path works: the bytes to sign on its standard input, the signature on its standard
//! output (for ECDSA, DER or raw `r‖s`). A non-zero exit, an empty answer or no answer within the
//! timeout fails the signature with the program's name and the start of its standard error.
//!
//! The command line is split into words like a shell would (quotes and backslashes), but no shell
//! runs it: write `sh -c '…'` for pipes. Its arguments may hold something secret (a token, a key
//! alias), so messages, logs and `Debug` name the program only, never its arguments.
//!
//! It runs in its own process group. When it times out, fails, or exits while something it
//! started still holds its output open (`sh -c 'daemon & sign'`), the whole group is killed, so
//! nothing it started outlives the signature. It does not inherit synthmark's own settings and
//! secrets: every `SYNTHMARK_*` variable (passphrases, PINs, API tokens, the registry's URL with
//! its password) and PostgreSQL's `PGPASSWORD`, `PGPASSFILE` and `DATABASE_URL` are removed from
//! its environment. Everything else stays: a KMS client needs its `AWS_*`, `GOOGLE_*` or
//! `AZURE_*` credentials.

use std::ffi::OsStr;
use std::fmt;
use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use c2pa::SigningAlg;

use super::error::IdentityError;
use super::external::ExternalSigner;

/// The prefix of the variables a signing command never sees: synthmark's own settings.
const WITHHELD_PREFIX: &str = "SYNTHMARK_";
/// Other variables a signing command never sees: the registry database's credentials.
const WITHHELD_ENV: [&str; 3] = ["PGPASSWORD", "PGPASSFILE", "DATABASE_URL"];
/// The largest signature accepted (an RSA-16384 signature is 2 KiB).
const MAX_SIGNATURE: usize = 64 << 10;
/// How much of the command's standard error is kept, and how much an error message shows.
const MAX_STDERR: usize = 64 << 10;
const SHOWN_STDERR: usize = 400;
/// How long the outputs may stay open after the command exited (something it started in the
/// background holds them) before its process group is killed.
const LINGER: Duration = Duration::from_millis(250);
/// How long the outputs may take to close once the process group was killed.
const AFTER_KILL: Duration = Duration::from_secs(2);

/// Whether the environment variable `name` is kept from a signing command.
fn withheld(name: &OsStr) -> bool {
    name.as_encoded_bytes()
        .starts_with(WITHHELD_PREFIX.as_bytes())
        || WITHHELD_ENV.iter().any(|withheld| name == *withheld)
}

/// A program that signs: its standard input gets the bytes to sign, its standard output gives the
/// signature. See the module documentation for the contract. `Debug` shows the program and how
/// many arguments it has, never the arguments.
#[derive(Clone, PartialEq, Eq)]
pub struct SignerCommand {
    program: String,
    args: Vec<String>,
    timeout: Duration,
}

impl fmt::Debug for SignerCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerCommand")
            .field("program", &self.program)
            .field(
                "args",
                &format_args!("<{} argument(s) redacted>", self.args.len()),
            )
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl SignerCommand {
    /// How long one signature may take unless [`SignerCommand::with_timeout`] says otherwise.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    /// The shortest timeout [`SignerCommand::with_timeout`] sets.
    pub const MIN_TIMEOUT: Duration = Duration::from_millis(10);

    /// `program` with `args`, as given (no word splitting).
    pub fn new(program: impl Into<String>, args: Vec<String>) -> Self {
        SignerCommand {
            program: program.into(),
            args,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// A command line split into words like a POSIX shell does: blanks separate words, `'…'`
    /// keeps everything literally, `"…"` keeps everything but `\"` and `\\`, and a backslash
    /// outside quotes keeps the next character. Variables, globs and pipes are not expanded.
    /// An error never quotes the line (its arguments may be secret).
    pub fn parse(command_line: &str) -> Result<Self, IdentityError> {
        let invalid = |reason: &str| IdentityError::CommandLine {
            reason: reason.to_string(),
        };
        let mut words = Vec::new();
        let mut word: Option<String> = None;
        let mut chars = command_line.chars();
        while let Some(c) = chars.next() {
            match c {
                c if c.is_whitespace() => {
                    if let Some(done) = word.take() {
                        words.push(done);
                    }
                }
                '\'' => {
                    let current = word.get_or_insert_with(String::new);
                    loop {
                        match chars.next() {
                            Some('\'') => break,
                            Some(c) => current.push(c),
                            None => return Err(invalid("it has an unterminated ' quote")),
                        }
                    }
                }
                '"' => {
                    let current = word.get_or_insert_with(String::new);
                    loop {
                        match chars.next() {
                            Some('"') => break,
                            Some('\\') => match chars.next() {
                                Some(c @ ('"' | '\\')) => current.push(c),
                                Some(c) => {
                                    current.push('\\');
                                    current.push(c);
                                }
                                None => return Err(invalid("it has an unterminated \" quote")),
                            },
                            Some(c) => current.push(c),
                            None => return Err(invalid("it has an unterminated \" quote")),
                        }
                    }
                }
                '\\' => match chars.next() {
                    Some(c) => word.get_or_insert_with(String::new).push(c),
                    None => return Err(invalid("it ends with a lone backslash")),
                },
                c => word.get_or_insert_with(String::new).push(c),
            }
        }
        words.extend(word);
        let mut words = words.into_iter();
        let program = words.next().ok_or_else(|| invalid("it is empty"))?;
        Ok(SignerCommand::new(program, words.collect()))
    }

    /// The same command with `timeout` for each signature; anything under
    /// [`SignerCommand::MIN_TIMEOUT`] (10 ms) is raised to it.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Self::MIN_TIMEOUT);
        self
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The program as given (a file name or a path), shortened: for messages and logs. Never its
    /// arguments, which may hold a token or a key alias.
    pub fn describe(&self) -> String {
        format!("command `{}`", shorten(&self.program, 160))
    }

    fn failed(&self, reason: String) -> IdentityError {
        IdentityError::Signer {
            signer: self.describe(),
            reason,
        }
    }

    /// Runs the command once: `data` in, the signature out.
    fn run(&self, data: &[u8]) -> Result<Vec<u8>, IdentityError> {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, _) in std::env::vars_os() {
            if withheld(&name) {
                command.env_remove(name);
            }
        }
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .spawn()
            .map_err(|e| self.failed(format!("cannot start it: {e}")))?;
        // From here on, every way out goes through `Group::finish`, which kills the process
        // group unless it is known to be harmless, and reaps the command.
        let mut group = Group { child };

        // Input and both outputs on their own threads: a command that writes before it has read
        // everything must not deadlock on a full pipe.
        let (sender, outputs) = mpsc::channel::<(bool, Vec<u8>)>();
        let mut stdin = group.child.stdin.take().expect("piped stdin");
        let input = data.to_vec();
        std::thread::spawn(move || {
            // A command that exits without reading everything is judged by its exit status.
            let _ = stdin.write_all(&input);
        });
        for (is_stdout, pipe, limit) in [
            (
                true,
                Box::new(group.child.stdout.take().expect("piped stdout")) as Box<dyn Read + Send>,
                MAX_SIGNATURE,
            ),
            (
                false,
                Box::new(group.child.stderr.take().expect("piped stderr")),
                MAX_STDERR,
            ),
        ] {
            let sender = sender.clone();
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = pipe.take(limit as u64 + 1).read_to_end(&mut bytes);
                let _ = sender.send((is_stdout, bytes));
            });
        }
        drop(sender);

        let deadline = Instant::now() + self.timeout;
        let mut pause = Duration::from_millis(1);
        let status = loop {
            match group.exited() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    group.finish(true);
                    return Err(self.failed(format!(
                        "it did not answer within {} and was stopped",
                        seconds(self.timeout)
                    )));
                }
                Ok(None) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    std::thread::sleep(pause.min(left));
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                Err(e) => {
                    group.finish(true);
                    return Err(self.failed(format!("cannot wait for it: {e}")));
                }
            }
        };

        // The command has exited. Its outputs close with it, unless something it started in the
        // background holds them: that gets a moment, then the group is killed (which closes them).
        let mut collected = Collected::default();
        let linger = LINGER.min(deadline.saturating_duration_since(Instant::now()));
        collected.gather(
            &outputs,
            Instant::now() + linger.max(Duration::from_millis(20)),
        );
        let lingering = !collected.complete();
        if lingering {
            group.kill();
            collected.gather(&outputs, Instant::now() + AFTER_KILL);
        }
        let Some(stdout) = collected.stdout else {
            group.finish(true);
            return Err(self.failed(
                "it exited, but something it started outside its process group keeps its output open"
                    .into(),
            ));
        };
        let stderr = collected.stderr.unwrap_or_default();
        let stderr_note = match shown(&stderr) {
            text if text.is_empty() => String::new(),
            text => format!("; its standard error: {text}"),
        };
        let outcome = if stdout.len() > MAX_SIGNATURE {
            Err(self.failed(format!(
                "it wrote more than {} KiB on its standard output, which is no signature",
                MAX_SIGNATURE >> 10
            )))
        } else if !status.success() {
            Err(self.failed(format!("it {}{stderr_note}", ended(status))))
        } else if stdout.is_empty() {
            Err(self.failed(format!(
                "it wrote no signature on its standard output{stderr_note}"
            )))
        } else {
            Ok(stdout)
        };
        // A failed command may have left something running: it goes with the group. A command
        // that signed keeps what it started (a credential helper), unless that held its output.
        group.finish(outcome.is_err());
        outcome
    }
}

impl ExternalSigner for SignerCommand {
    fn sign(&self, data: &[u8], _alg: SigningAlg) -> Result<Vec<u8>, IdentityError> {
        self.run(data)
    }

    fn describe(&self) -> String {
        SignerCommand::describe(self)
    }
}

/// The outputs read so far.
#[derive(Default)]
struct Collected {
    stdout: Option<Vec<u8>>,
    stderr: Option<Vec<u8>>,
}

impl Collected {
    fn complete(&self) -> bool {
        self.stdout.is_some() && self.stderr.is_some()
    }

    /// Takes the outputs whose reader finishes before `until`.
    fn gather(&mut self, outputs: &mpsc::Receiver<(bool, Vec<u8>)>, until: Instant) {
        while !self.complete() {
            match outputs.recv_timeout(until.saturating_duration_since(Instant::now())) {
                Ok((true, bytes)) => self.stdout = Some(bytes),
                Ok((false, bytes)) => self.stderr = Some(bytes),
                Err(_) => return,
            }
        }
    }
}

/// The command and the process group it leads. Until [`Group::finish`] reaps it, an exited
/// command stays a zombie, so its pid, the group's id, cannot be reused: killing the group never
/// hits another program.
struct Group {
    child: Child,
}

impl Group {
    /// How the command ended, once it has: `None` while it runs. On Linux it is not reaped (see
    /// [`Group`]); elsewhere it is.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn exited(&mut self) -> std::io::Result<Option<ExitStatus>> {
        use std::os::unix::process::ExitStatusExt;
        let pid = self.child.id() as libc::id_t;
        // SAFETY: an all-zero siginfo_t is valid; waitid(2) writes into it and nothing else.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid, writable siginfo_t; WNOWAIT leaves the child unreaped.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                pid,
                &mut info,
                libc::WEXITED | libc::WNOWAIT | libc::WNOHANG,
            )
        };
        if rc == -1 {
            let err = std::io::Error::last_os_error();
            return match err.kind() {
                std::io::ErrorKind::Interrupted => Ok(None),
                _ => Err(err),
            };
        }
        // SAFETY: waitid filled `info`; si_pid stays 0 while the child runs, and once it has
        // exited si_status is its exit code or the signal that killed it.
        let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
        if pid == 0 {
            return Ok(None);
        }
        // The wait(2) status encoding that ExitStatus wraps.
        let raw = match info.si_code {
            libc::CLD_EXITED => (status & 0xff) << 8,
            libc::CLD_DUMPED => (status & 0x7f) | 0x80,
            _ => status & 0x7f,
        };
        Ok(Some(ExitStatus::from_raw(raw)))
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn exited(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Kills the command and everything in its process group.
    fn kill(&mut self) {
        #[cfg(unix)]
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) with a negative pid signals the process group the child leads (it
            // was started with process_group(0)); no memory is involved.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
        let _ = self.child.kill();
    }

    /// Kills the group when `kill`, and reaps the command.
    fn finish(mut self, kill: bool) {
        if kill {
            self.kill();
        }
        let _ = self.child.wait();
    }
}

/// How a command that failed ended: "exited with status 3", "was killed by signal 9".
fn ended(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return format!("was killed by signal {signal}");
    }
    format!("ended with {status}")
}

/// The start of the command's standard error on one line, control characters replaced.
fn shown(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    shorten(&line, SHOWN_STDERR)
}

/// A duration in seconds for messages: "30 s", "0.25 s".
fn seconds(duration: Duration) -> String {
    let text = format!("{:.3}", duration.as_secs_f64());
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} s")
}

fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_split_like_a_shell_without_expanding() {
        let command = SignerCommand::parse(
            r#"sh -c 'openssl dgst -sha256 -sign "$KEY"' "two words" a\ b $HOME"#,
        )
        .unwrap();
        assert_eq!(command.program, "sh");
        assert_eq!(
            command.args,
            [
                "-c",
                "openssl dgst -sha256 -sign \"$KEY\"",
                "two words",
                "a b",
                "$HOME"
            ]
        );
        for bad in ["", "   ", "sh -c 'open", "a \"b", "a\\"] {
            assert!(SignerCommand::parse(bad).is_err(), "{bad:?}");
        }
        let err = SignerCommand::parse("kms-sign --token=hunter2 'x")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unterminated") && !err.contains("hunter2"),
            "{err}"
        );
    }

    #[test]
    fn messages_and_debug_name_the_program_never_its_arguments() {
        let command =
            SignerCommand::parse("/opt/kms/sign --token=hunter2 --key alias/c2pa").unwrap();
        assert_eq!(command.describe(), "command `/opt/kms/sign`");
        let debug = format!("{command:?}");
        assert!(debug.contains("/opt/kms/sign"), "{debug}");
        assert!(debug.contains("<3 argument(s) redacted>"), "{debug}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("alias"),
            "{debug}"
        );
    }

    #[test]
    fn synthmark_settings_and_database_credentials_are_withheld() {
        for name in [
            "SYNTHMARK_API_TOKENS",
            "SYNTHMARK_REGISTRY",
            "SYNTHMARK_KEY_PASSPHRASE",
            "SYNTHMARK_PKCS11_PIN",
            "PGPASSWORD",
            "PGPASSFILE",
            "DATABASE_URL",
        ] {
            assert!(withheld(OsStr::new(name)), "{name}");
        }
        for name in [
            "AWS_SECRET_ACCESS_KEY",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "PATH",
            "HOME",
            "synthmark_x",
            "PGHOST",
        ] {
            assert!(!withheld(OsStr::new(name)), "{name}");
        }
    }

    #[test]
    fn timeouts_may_be_under_a_second() {
        let command = SignerCommand::parse("true").unwrap();
        assert_eq!(
            command
                .clone()
                .with_timeout(Duration::from_millis(250))
                .timeout(),
            Duration::from_millis(250)
        );
        assert_eq!(
            command.with_timeout(Duration::ZERO).timeout(),
            SignerCommand::MIN_TIMEOUT
        );
        assert_eq!(seconds(Duration::from_secs(30)), "30 s");
        assert_eq!(seconds(Duration::from_millis(250)), "0.25 s");
    }

    #[cfg(unix)]
    #[test]
    fn the_command_gets_the_bytes_and_gives_the_signature() {
        let echo = SignerCommand::parse("sh -c 'tr a-z A-Z'").unwrap();
        assert_eq!(echo.run(b"to be signed").unwrap(), b"TO BE SIGNED");
        // More input than a pipe holds.
        let count = SignerCommand::parse("wc -c").unwrap();
        let counted = count.run(&vec![b'x'; 1 << 20]).unwrap();
        assert_eq!(String::from_utf8(counted).unwrap().trim(), "1048576");
        let flood =
            SignerCommand::parse("sh -c 'cat >/dev/null; head -c 100000 /dev/zero'").unwrap();
        let err = flood.run(b"data").unwrap_err().to_string();
        assert!(err.contains("more than 64 KiB"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn failures_name_the_command_and_show_its_stderr() {
        let failing =
            SignerCommand::parse("sh -c 'cat >/dev/null; echo \"key not found\" >&2; exit 3'")
                .unwrap();
        let err = failing.run(b"data").unwrap_err().to_string();
        assert!(err.contains("command `sh`"), "{err}");
        assert!(!err.contains("cat >/dev/null"), "{err}");
        assert!(err.contains("exited with status 3"), "{err}");
        assert!(err.contains("key not found"), "{err}");

        let silent = SignerCommand::parse("true").unwrap();
        let err = silent.run(b"data").unwrap_err().to_string();
        assert!(err.contains("wrote no signature"), "{err}");

        let missing = SignerCommand::parse("/nonexistent/signer --flag").unwrap();
        let err = missing.run(b"data").unwrap_err().to_string();
        assert!(
            err.contains("/nonexistent/signer") && err.contains("cannot start"),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_command_that_hangs_is_stopped_with_what_it_started() {
        let hanging = SignerCommand::parse("sh -c 'sleep 30 & sleep 30'")
            .unwrap()
            .with_timeout(Duration::from_secs(1));
        let started = Instant::now();
        let err = hanging.run(b"data").unwrap_err().to_string();
        assert!(err.contains("did not answer within 1 s"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));

        let quick = SignerCommand::parse("sleep 5")
            .unwrap()
            .with_timeout(Duration::from_millis(200));
        let started = Instant::now();
        let err = quick.run(b"data").unwrap_err().to_string();
        assert!(err.contains("did not answer within 0.2 s"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    /// Whether a process whose command line contains `needle` runs, waiting up to 2 s for it to
    /// go (a killed process takes a moment to disappear).
    #[cfg(target_os = "linux")]
    fn still_running(needle: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let found = std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
                std::fs::read(entry.path().join("cmdline")).is_ok_and(|line| {
                    String::from_utf8_lossy(&line)
                        .replace('\0', " ")
                        .contains(needle)
                })
            });
            if !found || Instant::now() >= deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A command that exits while something it started in the background holds its output: the
    /// signature (or the failure) comes promptly, and what it started is killed with its group.
    #[cfg(target_os = "linux")]
    #[test]
    fn what_a_command_leaves_holding_its_output_is_killed_with_its_group() {
        let unique = |seconds: u32| format!("sleep {seconds}.{}", std::process::id());
        let signs = unique(31);
        let command = SignerCommand::new(
            "sh",
            vec![
                "-c".into(),
                format!("{signs} & cat >/dev/null; echo signature"),
            ],
        );
        let started = Instant::now();
        assert_eq!(command.run(b"data").unwrap(), b"signature\n");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert!(!still_running(&signs), "`{signs}` outlived the signature");

        let fails = unique(32);
        let command = SignerCommand::new(
            "sh",
            vec![
                "-c".into(),
                format!("{fails} & cat >/dev/null; echo 'kms: denied' >&2; exit 3"),
            ],
        );
        let started = Instant::now();
        let err = command.run(b"data").unwrap_err().to_string();
        assert!(
            err.contains("exited with status 3") && err.contains("kms: denied"),
            "{err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert!(!still_running(&fails), "`{fails}` outlived the failure");

        // A failed command's background work is killed even when it let go of the output.
        let detached = unique(33);
        let command = SignerCommand::new(
            "sh",
            vec![
                "-c".into(),
                format!("{detached} >/dev/null 2>&1 & cat >/dev/null; exit 4"),
            ],
        );
        assert!(command.run(b"data").is_err());
        assert!(
            !still_running(&detached),
            "`{detached}` outlived the failure"
        );
    }
}
