//! Encrypted PKCS#8 keys, end to end: `openssl pkcs8 -topk8 -v2 aes-256-cbc` encrypts a key, and
//! `synthmark stamp` decrypts it in memory with the passphrase from the environment, a file or
//! the configuration file; a wrong, missing or readable passphrase is refused before anything is
//! written, never showing the passphrase.
//!
//! `openssl` is skipped with a note when missing, and fails the test under `CI=true`.

mod common;

use std::path::Path;
use std::process::Command;

use common::signers::{assert_trusted, chmod, files_in, keygen, path_str, write};
use common::{image_bytes, stderr, synthmark, synthmark_env};
use synthmark::Format;

#[cfg(unix)]
#[test]
fn an_encrypted_key_signs_with_its_passphrase_from_the_environment_or_a_file() {
    if !common::program("openssl", "version", "openssl") {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let id = keygen(home.path());
    let passphrase = "Tr0ub4dor&3 horse";
    let encrypted = home.path().join("key.enc.pem");
    let converted = Command::new("openssl")
        .args(["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in"])
        .arg(id.join("key.pem"))
        .arg("-out")
        .arg(&encrypted)
        .arg("-passout")
        .arg(format!("pass:{passphrase}"))
        .output()
        .unwrap();
    assert!(converted.status.success(), "{}", stderr(&converted));
    chmod(&encrypted, 0o600);
    let head = std::fs::read_to_string(&encrypted).unwrap();
    assert!(
        head.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{head}"
    );

    let image = home.path().join("image.png");
    write(&image, image_bytes(Format::Png));
    let cert = id.join("cert.pem");
    let stamp = |out: &Path, extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec![
            "stamp",
            "--no-registry",
            "--out",
            path_str(out),
            "--cert",
            path_str(&cert),
            "--key",
            path_str(&encrypted),
        ];
        args.extend_from_slice(extra);
        args.push(path_str(&image));
        synthmark_env(home.path(), &args, env)
    };

    let from_env = home.path().join("from-env");
    let ok = stamp(&from_env, &[], &[("SYNTHMARK_KEY_PASSPHRASE", passphrase)]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(!stderr(&ok).contains(passphrase));
    assert_eq!(
        assert_trusted(home.path(), &id.join("ca.pem"), &from_env),
        1
    );

    let pass_file = home.path().join("passphrase");
    write(&pass_file, format!("{passphrase}\n"));
    chmod(&pass_file, 0o600);
    let from_file = home.path().join("from-file");
    let ok = stamp(
        &from_file,
        &["--key-passphrase-file", path_str(&pass_file)],
        &[],
    );
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert_eq!(
        assert_trusted(home.path(), &id.join("ca.pem"), &from_file),
        1
    );

    // The configuration file's key_passphrase_file, relative to the file.
    let config = home.path().join("synthmark.toml");
    write(
        &config,
        format!(
            "[stamp]\ncert = \"{}\"\nkey = \"key.enc.pem\"\nkey_passphrase_file = \"passphrase\"\n",
            cert.display()
        ),
    );
    let from_config = home.path().join("from-config");
    let ok = synthmark(
        home.path(),
        &[
            "stamp",
            "--config",
            path_str(&config),
            "--no-registry",
            "--out",
            path_str(&from_config),
            path_str(&image),
        ],
    );
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert_eq!(
        assert_trusted(home.path(), &id.join("ca.pem"), &from_config),
        1
    );

    // Wrong, missing, or readable by others: refused before anything is written, never showing
    // the passphrase.
    let refused = home.path().join("refused");
    let wrong = stamp(
        &refused,
        &[],
        &[("SYNTHMARK_KEY_PASSPHRASE", "Tr0ub4dor&4 horse")],
    );
    assert_eq!(wrong.status.code(), Some(2));
    let err = stderr(&wrong);
    assert!(err.contains("wrong passphrase"), "{err}");
    assert!(!err.contains("Tr0ub4dor"), "{err}");
    let missing = stamp(&refused, &[], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("encrypted")
            && stderr(&missing).contains("SYNTHMARK_KEY_PASSPHRASE"),
        "{}",
        stderr(&missing)
    );
    chmod(&pass_file, 0o644);
    let readable = stamp(
        &refused,
        &["--key-passphrase-file", path_str(&pass_file)],
        &[],
    );
    assert_eq!(readable.status.code(), Some(2));
    assert!(
        stderr(&readable).contains("chmod 600"),
        "{}",
        stderr(&readable)
    );
    assert!(!stderr(&readable).contains("Tr0ub4dor"));
    assert!(files_in(&refused).is_empty());

    // A passphrase for a key that is not encrypted is a mistake worth stopping for.
    let plain = synthmark_env(
        home.path(),
        &[
            "stamp",
            "--no-registry",
            "--out",
            path_str(&refused),
            "--cert",
            path_str(&cert),
            "--key",
            path_str(&id.join("key.pem")),
            path_str(&image),
        ],
        &[("SYNTHMARK_KEY_PASSPHRASE", passphrase)],
    );
    assert_eq!(plain.status.code(), Some(2));
    assert!(
        stderr(&plain).contains("not encrypted"),
        "{}",
        stderr(&plain)
    );
}
