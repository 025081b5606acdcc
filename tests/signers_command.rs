//! Signing commands (`--signer-cmd`), end to end: a script around `openssl dgst` signs like a
//! KMS client; its failures are reported with nothing written; it never sees synthmark's settings
//! and secrets; what it leaves running is killed; and its arguments appear nowhere.
//!
//! `openssl` is skipped with a note when missing, and fails the test under `CI=true`.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::signers::{assert_trusted, chmod, files_in, inputs, keygen, path_str, write};
use common::{image_bytes, ndjson, stderr, synthmark, synthmark_env};
use synthmark::Format;

#[cfg(unix)]
#[test]
fn a_signing_command_signs_and_its_failures_are_reported_with_nothing_written() {
    if !common::program("openssl", "version", "openssl") {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let id = keygen(home.path());
    // The "KMS": openssl signing with a key only the command knows about. It refuses to run if
    // synthmark's own secrets reach it.
    let signer = home.path().join("sign.sh");
    write(
        &signer,
        "#!/bin/sh\n\
         if [ -n \"${SYNTHMARK_KEY_PASSPHRASE:-}\" ]; then echo 'passphrase leaked' >&2; exit 9; fi\n\
         exec openssl dgst -sha256 -sign \"$1\"\n",
    );
    chmod(&signer, 0o755);
    let inputs = inputs(home.path(), 4);
    let out = home.path().join("out");
    let command = format!("'{}' '{}'", signer.display(), id.join("key.pem").display());
    let cert = id.join("cert.pem");
    let stamped = synthmark_env(
        home.path(),
        &[
            "stamp",
            "-j",
            "2",
            "--no-registry",
            "--out",
            path_str(&out),
            "--cert",
            path_str(&cert),
            "--signer-cmd",
            &command,
            path_str(&inputs),
        ],
        &[("SYNTHMARK_KEY_PASSPHRASE", "must-not-reach-the-command")],
    );
    assert_eq!(stamped.status.code(), Some(0), "{}", stderr(&stamped));
    assert_eq!(assert_trusted(home.path(), &id.join("ca.pem"), &out), 4);

    // With an RFC 3161 timestamp: the signature reserves room for the token.
    let tsa =
        common::tsa::LoopbackTsa::start(&home.path().join("tsa"), common::tsa::Behaviour::Honest);
    let timestamped = home.path().join("timestamped");
    let image = inputs.join("image-1.jpg");
    let stamped = synthmark(
        home.path(),
        &[
            "stamp",
            "--no-registry",
            "--out",
            path_str(&timestamped),
            "--cert",
            path_str(&cert),
            "--signer-cmd",
            &command,
            "--tsa-url",
            &tsa.url,
            path_str(&image),
        ],
    );
    assert_eq!(stamped.status.code(), Some(0), "{}", stderr(&stamped));
    let checked = synthmark(
        home.path(),
        &[
            "check",
            "--format",
            "ndjson",
            "--trust",
            path_str(&id.join("ca.pem")),
            "--trust-tsa",
            path_str(&tsa.ca_pem),
            path_str(&timestamped),
        ],
    );
    let reports = ndjson(&checked);
    assert_eq!(reports.len(), 1, "{}", stderr(&checked));
    assert_eq!(reports[0]["trust"], "trusted", "{}", reports[0]);
    assert_eq!(reports[0]["timestamp"]["trusted"], true, "{}", reports[0]);

    // A command that fails at once: the startup probe catches it, naming it with its stderr.
    let failing = home.path().join("fail.sh");
    write(
        &failing,
        "#!/bin/sh\ncat >/dev/null\necho 'kms: access denied for key alias/c2pa' >&2\nexit 3\n",
    );
    chmod(&failing, 0o755);
    let nothing = home.path().join("nothing");
    let one = inputs.join("image-0.png");
    let stamp_with = |command: &str, extra: &[&str]| {
        let mut args = vec![
            "stamp",
            "--no-registry",
            "--out",
            path_str(&nothing),
            "--cert",
            path_str(&cert),
            "--signer-cmd",
            command,
        ];
        args.extend_from_slice(extra);
        args.push(path_str(&one));
        synthmark(home.path(), &args)
    };
    let failed = stamp_with(path_str(&failing), &[]);
    assert_eq!(failed.status.code(), Some(2));
    let err = stderr(&failed);
    assert!(
        err.contains("fail.sh")
            && err.contains("exited with status 3")
            && err.contains("access denied for key alias/c2pa"),
        "{err}"
    );
    assert!(files_in(&nothing).is_empty(), "{:?}", files_in(&nothing));

    // A command that signs the probe and then fails: the image fails (exit 1) with the reason,
    // and no output file is left behind.
    let flaky = home.path().join("flaky.sh");
    write(
        &flaky,
        format!(
            "#!/bin/sh\n\
             if [ -e '{marker}' ]; then cat >/dev/null; echo 'kms: quota exceeded' >&2; exit 4; fi\n\
             touch '{marker}'\n\
             exec openssl dgst -sha256 -sign '{key}'\n",
            marker = home.path().join("probed").display(),
            key = id.join("key.pem").display()
        ),
    );
    chmod(&flaky, 0o755);
    let failed = stamp_with(path_str(&flaky), &[]);
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    assert!(
        stderr(&failed).contains("kms: quota exceeded"),
        "{}",
        stderr(&failed)
    );
    assert!(files_in(&nothing).is_empty(), "{:?}", files_in(&nothing));

    // A command that hangs is stopped after --signer-timeout.
    let started = Instant::now();
    let hung = stamp_with("sleep 20", &["--signer-timeout", "1"]);
    assert_eq!(hung.status.code(), Some(2));
    assert!(
        stderr(&hung).contains("did not answer within 1 s"),
        "{}",
        stderr(&hung)
    );
    assert!(started.elapsed() < Duration::from_secs(15));
}

/// The names a signing command must never see: synthmark's settings and secrets, and the
/// registry database's credentials.
fn withheld(name: &str) -> bool {
    name.starts_with("SYNTHMARK_") || ["PGPASSWORD", "PGPASSFILE", "DATABASE_URL"].contains(&name)
}

#[cfg(unix)]
#[test]
fn a_signing_command_never_sees_synthmark_settings_or_database_credentials() {
    if !common::program("openssl", "version", "openssl") {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let id = keygen(home.path());
    let dump = home.path().join("signer-env.txt");
    let signer = home.path().join("sign.sh");
    write(
        &signer,
        format!(
            "#!/bin/sh\nenv > '{}'\nexec openssl dgst -sha256 -sign \"$1\"\n",
            dump.display()
        ),
    );
    chmod(&signer, 0o755);
    let image = home.path().join("image.png");
    write(&image, image_bytes(Format::Png));
    let out = home.path().join("out");
    let command = format!("'{}' '{}'", signer.display(), id.join("key.pem").display());
    let secrets = [
        ("SYNTHMARK_API_TOKENS", "api-token-secret"),
        (
            "SYNTHMARK_REGISTRY",
            "postgres://u:registry-password@db.invalid/registry",
        ),
        ("SYNTHMARK_KEY_PASSPHRASE", "passphrase-secret"),
        ("SYNTHMARK_PKCS11_PIN", "pin-secret"),
        ("SYNTHMARK_ANYTHING_ELSE", "other-secret"),
        ("PGPASSWORD", "pg-password-secret"),
        ("PGPASSFILE", "/secret/pgpass"),
        (
            "DATABASE_URL",
            "postgres://u:database-url-secret@db.invalid/x",
        ),
    ];
    let kept = [
        ("AWS_SECRET_ACCESS_KEY", "kms-credential"),
        ("GOOGLE_APPLICATION_CREDENTIALS", "/etc/gcp.json"),
    ];
    let env: Vec<(&str, &str)> = secrets.iter().chain(&kept).copied().collect();
    let stamped = synthmark_env(
        home.path(),
        &[
            "stamp",
            "--no-registry",
            "--out",
            path_str(&out),
            "--cert",
            path_str(&id.join("cert.pem")),
            "--signer-cmd",
            &command,
            path_str(&image),
        ],
        &env,
    );
    assert_eq!(stamped.status.code(), Some(0), "{}", stderr(&stamped));
    assert_eq!(assert_trusted(home.path(), &id.join("ca.pem"), &out), 1);

    let seen = std::fs::read_to_string(&dump).unwrap();
    let names: Vec<&str> = seen.lines().filter_map(|l| l.split('=').next()).collect();
    let leaked: Vec<&&str> = names.iter().filter(|name| withheld(name)).collect();
    assert!(leaked.is_empty(), "the signer saw {leaked:?}");
    for (_, value) in secrets {
        assert!(!seen.contains(value), "the signer saw {value:?}");
    }
    for (name, value) in kept {
        assert!(
            seen.lines().any(|l| l == format!("{name}={value}")),
            "a KMS client needs {name}:\n{seen}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_signing_command_is_named_by_its_program_never_its_arguments_and_only_once() {
    let home = tempfile::tempdir().unwrap();
    let id = keygen(home.path());
    let failing = home.path().join("kms-sign.sh");
    write(
        &failing,
        "#!/bin/sh\ncat >/dev/null\necho 'kms: access denied' >&2\nexit 3\n",
    );
    chmod(&failing, 0o755);
    let image = home.path().join("image.png");
    write(&image, image_bytes(Format::Png));
    let command = format!("'{}' --token=hunter2 --key alias/c2pa", failing.display());
    let failed = synthmark(
        home.path(),
        &[
            "stamp",
            "--no-registry",
            "--out",
            path_str(&home.path().join("out")),
            "--cert",
            path_str(&id.join("cert.pem")),
            "--signer-cmd",
            &command,
            path_str(&image),
        ],
    );
    assert_eq!(failed.status.code(), Some(2));
    let err = stderr(&failed);
    assert!(
        err.contains("exited with status 3") && err.contains("kms: access denied"),
        "{err}"
    );
    assert_eq!(err.matches("kms-sign.sh").count(), 1, "{err}");
    assert!(
        !err.contains("hunter2") && !err.contains("alias/c2pa"),
        "{err}"
    );

    // A command line that cannot be split is not quoted back either.
    let unterminated = synthmark(
        home.path(),
        &[
            "stamp",
            "--no-registry",
            "--out",
            path_str(&home.path().join("out")),
            "--cert",
            path_str(&id.join("cert.pem")),
            "--signer-cmd",
            "kms-sign --token=hunter2 'alias",
            path_str(&image),
        ],
    );
    assert_eq!(unterminated.status.code(), Some(2));
    let err = stderr(&unterminated);
    assert!(
        err.contains("unterminated") && !err.contains("hunter2"),
        "{err}"
    );
}

/// Whether a process whose command line matches `pattern` runs (`pgrep -f`), waiting up to 2 s
/// for it to go (a killed process takes a moment to disappear).
fn still_running(pattern: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let found = std::process::Command::new("pgrep")
            .args(["-f", pattern])
            .output()
            .unwrap()
            .status
            .success();
        if !found || Instant::now() >= deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(unix)]
#[test]
fn what_a_signing_command_leaves_holding_its_output_is_killed_and_the_stamp_goes_on() {
    if !common::program("openssl", "version", "openssl")
        || !common::program("pgrep", "--version", "procps")
    {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let id = keygen(home.path());
    let inputs = inputs(home.path(), 2);
    let cert = id.join("cert.pem");
    let stamp = |out: &Path, command: &str| {
        synthmark(
            home.path(),
            &[
                "stamp",
                "--no-registry",
                "--out",
                path_str(out),
                "--cert",
                path_str(&cert),
                "--signer-cmd",
                command,
                path_str(&inputs),
            ],
        )
    };
    // A sleep of a duration no other test uses: it names this test's background processes.
    let sleep = format!("sleep 34.{}", std::process::id());
    let command = format!(
        "sh -c '{sleep} & exec openssl dgst -sha256 -sign \"$0\"' '{}'",
        id.join("key.pem").display()
    );
    let out = home.path().join("out");
    let started = Instant::now();
    let stamped = stamp(&out, &command);
    assert_eq!(stamped.status.code(), Some(0), "{}", stderr(&stamped));
    // The probe and two signatures, each waiting a moment for the background sleep (the
    // timeout is 30 s: waiting for the sleep would take that long).
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert!(!still_running(&sleep), "`{sleep}` outlived the stamp");
    assert_eq!(assert_trusted(home.path(), &id.join("ca.pem"), &out), 2);

    // The same when the command fails.
    let sleep = format!("sleep 35.{}", std::process::id());
    let command = format!("sh -c '{sleep} & cat >/dev/null; echo kms: denied >&2; exit 3'");
    let nothing = home.path().join("nothing");
    let started = Instant::now();
    let failed = stamp(&nothing, &command);
    assert_eq!(failed.status.code(), Some(2), "{}", stderr(&failed));
    assert!(
        stderr(&failed).contains("kms: denied"),
        "{}",
        stderr(&failed)
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(!still_running(&sleep), "`{sleep}` outlived the failure");
    assert!(files_in(&nothing).is_empty());
}
