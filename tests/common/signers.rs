//! What the signer tests share: a test CA that certifies public keys it never sees the private
//! half of, a SoftHSM2 token of a test's own, c2pa-python as an independent reader, a
//! `synthmark serve` process, and small file helpers.
//!
//! SoftHSM2 (`softhsm2`), `pkcs11-tool` (`opensc`) and c2pa-python are skipped with a note when
//! missing, and fail the test under `CI=true` (see [`super::needed`]).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{image_bytes, ndjson, stderr, synthmark};
use synthmark::Format;

pub const PIN: &str = "246810";
pub const SO_PIN: &str = "13579111";
pub const TOKEN_LABEL: &str = "synthmark-test";
pub const TRAINED: &str = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia";

pub fn write(path: &Path, bytes: impl AsRef<[u8]>) {
    std::fs::write(path, bytes).unwrap();
}

#[cfg(unix)]
pub fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `synthmark check --trust CA` on `target`: one NDJSON report per file, each asserted
/// `labelled-ai` / `trusted`; returns how many.
pub fn assert_trusted(home: &Path, ca: &Path, target: &Path) -> usize {
    let checked = synthmark(
        home,
        &[
            "check",
            "--format",
            "ndjson",
            "--trust",
            path_str(ca),
            path_str(target),
        ],
    );
    assert_eq!(checked.status.code(), Some(0), "{}", stderr(&checked));
    let reports = ndjson(&checked);
    for report in &reports {
        assert_eq!(report["verdict"], "labelled-ai", "{report}");
        assert_eq!(report["trust"], "trusted", "{report}");
    }
    reports.len()
}

/// Files in `dir` (none when it does not exist).
pub fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A public key to certify: its SubjectPublicKeyInfo's key bits and algorithm.
pub struct PublicKey {
    bits: Vec<u8>,
    alg: &'static rcgen::SignatureAlgorithm,
}

impl rcgen::PublicKeyData for PublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.bits
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.alg
    }
}

impl PublicKey {
    /// From a SubjectPublicKeyInfo, DER or PEM (`pkcs11-tool` writes Ed25519 keys as PEM).
    pub fn from_spki(bytes: &[u8]) -> PublicKey {
        use x509_parser::prelude::FromDer;
        let der = if bytes.starts_with(b"-----BEGIN") {
            x509_parser::pem::Pem::iter_from_buffer(bytes)
                .next()
                .unwrap()
                .unwrap()
                .contents
        } else {
            bytes.to_vec()
        };
        let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(&der).unwrap();
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .map(|o| o.to_id_string());
        let alg = match (
            spki.algorithm.algorithm.to_id_string().as_str(),
            curve.as_deref(),
        ) {
            ("1.2.840.10045.2.1", Some("1.2.840.10045.3.1.7")) => &rcgen::PKCS_ECDSA_P256_SHA256,
            ("1.2.840.10045.2.1", Some("1.3.132.0.34")) => &rcgen::PKCS_ECDSA_P384_SHA384,
            ("1.3.101.112", _) => &rcgen::PKCS_ED25519,
            ("1.2.840.113549.1.1.1", _) => &rcgen::PKCS_RSA_SHA256,
            other => panic!("no rcgen algorithm for {other:?}"),
        };
        PublicKey {
            bits: spki.subject_public_key.data.to_vec(),
            alg,
        }
    }
}

impl PublicKey {
    /// An EC public key from `pkcs11-tool --list-objects` output: the `EC_POINT` (a DER OCTET
    /// STRING around the point) and `EC_PARAMS` (the curve's OID) of the object labelled `label`.
    pub fn from_listing(listing: &str, label: &str) -> PublicKey {
        let block = listing
            .split("Public Key Object")
            .find(|block| {
                block
                    .lines()
                    .any(|l| l.trim() == format!("label:      {label}"))
            })
            .unwrap_or_else(|| panic!("no public key `{label}` in:\n{listing}"));
        let field = |name: &str| -> Vec<u8> {
            let hex = block
                .lines()
                .find_map(|l| l.trim().strip_prefix(name))
                .unwrap_or_else(|| panic!("no {name} in:\n{block}"))
                .trim();
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect()
        };
        let point = field("EC_POINT:");
        let header = if point[1] & 0x80 == 0 {
            2
        } else {
            2 + (point[1] & 0x7f) as usize
        };
        let alg = match super::hex(&field("EC_PARAMS:")).as_str() {
            "06082a8648ce3d030107" => &rcgen::PKCS_ECDSA_P256_SHA256,
            "06052b81040022" => &rcgen::PKCS_ECDSA_P384_SHA384,
            other => panic!("no rcgen algorithm for the curve {other}"),
        };
        PublicKey {
            bits: point[header..].to_vec(),
            alg,
        }
    }
}

/// A test CA (its own P-256 key, like `synthmark keygen`'s) that certifies public keys it never
/// sees the private half of, with the extensions the C2PA signer profile requires.
pub struct TestCa {
    params: rcgen::CertificateParams,
    key: rcgen::KeyPair,
    pub pem: String,
}

impl TestCa {
    #[allow(clippy::new_without_default)]
    pub fn new() -> TestCa {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
        let now = time::OffsetDateTime::now_utc();
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "synthmark signer-test root CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(30);
        let pem = params.self_signed(&key).unwrap().pem();
        TestCa { params, key, pem }
    }

    /// A signing certificate for `public_key` (PEM).
    pub fn certify(&self, public_key: &PublicKey, name: &str) -> String {
        use rcgen::{
            CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyUsagePurpose,
        };
        let now = time::OffsetDateTime::now_utc();
        let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap();
        leaf.distinguished_name.push(DnType::CommonName, name);
        leaf.distinguished_name
            .push(DnType::OrganizationName, "synthmark tests");
        leaf.is_ca = IsCa::ExplicitNoCa;
        leaf.use_authority_key_identifier_extension = true;
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::EmailProtection];
        leaf.not_before = now - time::Duration::days(1);
        leaf.not_after = now + time::Duration::days(30);
        leaf.signed_by(public_key, &Issuer::new(self.params.clone(), &self.key))
            .unwrap()
            .pem()
    }
}

/// A SoftHSM2 token of this test's own (its token directory in a temporary directory), with the
/// user PIN [`PIN`]. `None` (skipped, or failed under CI) when SoftHSM2 or OpenSC is missing.
pub struct SoftHsm {
    dir: tempfile::TempDir,
    pub module: PathBuf,
}

impl SoftHsm {
    pub fn new() -> Option<SoftHsm> {
        let module = [
            "/usr/lib/softhsm/libsofthsm2.so",
            "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
            "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
            "/usr/local/lib/softhsm/libsofthsm2.so",
        ]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
        let util = Command::new("softhsm2-util")
            .arg("--version")
            .output()
            .is_ok();
        if !super::needed(
            module.is_some() && util,
            "SoftHSM2 (softhsm2-util and libsofthsm2.so)",
            ".ci/run installs it (Debian package softhsm2)",
        ) || !super::program("pkcs11-tool", "--help", "opensc")
        {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tokens")).unwrap();
        write(
            &dir.path().join("softhsm2.conf"),
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                dir.path().join("tokens").display()
            ),
        );
        let hsm = SoftHsm {
            dir,
            module: module.unwrap(),
        };
        hsm.run(
            "softhsm2-util",
            &[
                "--init-token",
                "--free",
                "--label",
                TOKEN_LABEL,
                "--pin",
                PIN,
                "--so-pin",
                SO_PIN,
            ],
        );
        Some(hsm)
    }

    pub fn conf(&self) -> String {
        self.dir.path().join("softhsm2.conf").display().to_string()
    }

    /// Runs a SoftHSM2 or OpenSC tool against this token's configuration; panics on failure.
    pub fn run(&self, program: &str, args: &[&str]) -> Output {
        let out = Command::new(program)
            .args(args)
            .env("SOFTHSM2_CONF", self.conf())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    pub fn tool(&self, args: &[&str]) -> Output {
        let mut all = vec![
            "--module",
            path_str(&self.module),
            "--token-label",
            TOKEN_LABEL,
        ];
        all.extend_from_slice(args);
        self.run("pkcs11-tool", &all)
    }

    /// Generates a key pair of `key_type` (pkcs11-tool's `--key-type`) inside the token and
    /// returns its public key, the only half that can leave it.
    pub fn generate(&self, key_type: &str, label: &str, id: &str) -> PublicKey {
        self.tool(&[
            "--login",
            "--pin",
            PIN,
            "--keypairgen",
            "--key-type",
            key_type,
            "--label",
            label,
            "--id",
            id,
        ]);
        let out = self.dir.path().join(format!("{label}.pub"));
        let exported = Command::new("pkcs11-tool")
            .args([
                "--module",
                path_str(&self.module),
                "--token-label",
                TOKEN_LABEL,
            ])
            .args(["--read-object", "--type", "pubkey", "--label", label])
            .arg("--output-file")
            .arg(&out)
            .env("SOFTHSM2_CONF", self.conf())
            .output()
            .unwrap();
        if exported.status.success() {
            return PublicKey::from_spki(&std::fs::read(&out).unwrap());
        }
        // Some OpenSC versions cannot export a P-384 key ("cannot create EVP_PKEY"): read its
        // point and curve from the object listing instead.
        let listing = self.tool(&["--list-objects", "--type", "pubkey"]);
        PublicKey::from_listing(&String::from_utf8_lossy(&listing.stdout), label)
    }
}

/// Validates `files` with c2pa-python (`scripts/interop_read.py`, the repository's independent
/// reader) trusting `ca`, expecting `Trusted` and the AI source type. Returns its output, or
/// `None` (skipped, or failed under CI) when c2pa-python is not importable.
pub fn c2pa_python(ca: &Path, files: &[&Path]) -> Option<String> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let candidates = [
        std::env::var_os("SYNTHMARK_C2PA_PYTHON").map(PathBuf::from),
        Some(home.join(".cache/synthmark-interop/venv/bin/python")),
        Some(PathBuf::from("python3")),
    ];
    let python = candidates.into_iter().flatten().find(|python| {
        Command::new(python)
            .args(["-c", "import c2pa"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !super::needed(
        python.is_some(),
        "c2pa-python",
        "scripts/interop.sh installs it in ~/.cache/synthmark-interop/venv (or set SYNTHMARK_C2PA_PYTHON)",
    ) {
        return None;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/interop_read.py");
    let out = Command::new(python.unwrap())
        .arg(script)
        .args([
            "--trust",
            path_str(ca),
            "--expect-state",
            "Trusted",
            "--expect-source-type",
            TRAINED,
        ])
        .args(files)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "c2pa-python does not read them as Trusted:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text.lines().count(), files.len(), "{text}");
    Some(text)
}

/// Images to stamp: several files, so a batch signs from several threads through one session.
pub fn inputs(dir: &Path, count: usize) -> PathBuf {
    let inputs = dir.join("in");
    std::fs::create_dir_all(&inputs).unwrap();
    for i in 0..count {
        let (format, ext) = if i % 2 == 0 {
            (Format::Png, "png")
        } else {
            (Format::Jpeg, "jpg")
        };
        write(
            &inputs.join(format!("image-{i}.{ext}")),
            image_bytes(format),
        );
    }
    inputs
}

/// Starts `synthmark serve` on a free loopback port with `args` and `env`; returns the process
/// and its base URL, or the process's output when it exits instead of listening.
pub fn serve(
    home: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<(std::process::Child, String), Output> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_synthmark"))
        .args(["serve", "--listen", "127.0.0.1:0", "--no-registry"])
        .args(args)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("SYNTHMARK_CONFIG")
        .env_remove("SYNTHMARK_API_TOKENS")
        .env_remove("SYNTHMARK_CERT")
        .env_remove("SYNTHMARK_KEY")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    match line.trim().strip_prefix("listening on ") {
        Some(base) => Ok((child, base.to_string())),
        None => {
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().unwrap().is_none() {
                assert!(
                    Instant::now() < deadline,
                    "serve neither listened nor exited"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(child.wait_with_output().unwrap())
        }
    }
}

/// Stops a server and returns its standard error.
pub fn stop(mut child: std::process::Child) -> String {
    let _ = child.kill();
    let mut text = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let _ = child.wait();
    text
}

/// A `synthmark keygen` identity in `home/id`.
pub fn keygen(home: &Path) -> PathBuf {
    let id = home.join("id");
    let out = synthmark(home, &["keygen", "--out", path_str(&id)]);
    assert!(out.status.success(), "{}", stderr(&out));
    id
}
