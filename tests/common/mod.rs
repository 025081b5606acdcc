//! Fixtures the tests make themselves: images in every supported format, a development identity,
//! byte-level tampering and stripping, and a runner for the `synthmark` binary.
#![allow(dead_code)] // each test binary uses a different subset

pub mod browser;
pub mod hostile;
pub mod server;
pub mod signers;
#[path = "../../src/test_random.rs"]
mod test_random;

pub(crate) use test_random::XorShift64;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use image::{ImageFormat, RgbImage};
use synthmark::{DevIdentity, Format, KeyAlgorithm};

/// A deterministic, slightly noisy picture.
pub fn picture(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let noise = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) % 23;
        image::Rgb([
            (x * 255 / width) as u8,
            (y * 255 / height) as u8,
            (64 + noise * 4) as u8,
        ])
    })
}

/// A picture with edges at every scale, like a photograph (overlapping discs and bars on a
/// gradient, plus fine grain): PDQ quality 100, stable fingerprints, unlike the smooth
/// [`picture`]. Different seeds give unrelated pictures; the layout scales with the size.
pub fn textured_picture(width: u32, height: u32, seed: u32) -> RgbImage {
    let mut random = XorShift64::new(u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut next = move || (random.next_u64() >> 11) as f32 / (1u64 << 53) as f32;
    struct Shape {
        disc: bool,
        cx: f32,
        cy: f32,
        r: f32,
        color: [f32; 3],
    }
    let shapes: Vec<Shape> = (0..60)
        .map(|_| Shape {
            disc: next() < 0.6,
            cx: next(),
            cy: next(),
            r: 0.03 + 0.2 * next() * next(),
            color: [next() * 255.0, next() * 255.0, next() * 255.0],
        })
        .collect();
    RgbImage::from_fn(width, height, |x, y| {
        let (u, v) = (x as f32 / width as f32, y as f32 / height as f32);
        let mut pixel = [u * 200.0 + 20.0, v * 180.0 + 30.0, 120.0];
        for shape in &shapes {
            let inside = if shape.disc {
                (u - shape.cx).powi(2) + (v - shape.cy).powi(2) < shape.r * shape.r
            } else {
                (u - shape.cx).abs() < shape.r && (v - shape.cy).abs() < shape.r * 0.4
            };
            if inside {
                pixel = shape.color;
            }
        }
        let grain =
            ((x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503) ^ seed) % 13) as f32 - 6.0;
        image::Rgb(pixel.map(|c| (c + grain).clamp(0.0, 255.0) as u8))
    })
}

/// Whether something a test needs from outside the repository (a program, a server, the shared
/// corpus) is here: the one skip-or-fail rule. Outside CI a missing one skips the test with a
/// note on stderr; under `CI=true`, where `.ci/run` provides it, it fails the test. `what`
/// names it; `how` says how to get it.
pub fn needed(present: bool, what: &str, how: &str) -> bool {
    if present {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but {what} is missing; {how}");
    }
    eprintln!("SKIPPED: {what} is missing; {how}");
    false
}

/// Whether `program` runs (as `program ARG`), by [`needed`]'s rule; `package` is the Debian
/// package `.ci/run` installs it from.
pub fn program(program: &str, arg: &str, package: &str) -> bool {
    let present = Command::new(program).arg(arg).output().is_ok();
    needed(
        present,
        program,
        &format!(".ci/run installs it (Debian package {package})"),
    )
}

/// A PostgreSQL connection string for tests, or `None` (with a note on stderr) when no server
/// answers. Under `CI=true` a missing server fails the test instead of skipping it.
pub fn postgres_url() -> Option<String> {
    let url = std::env::var("SYNTHMARK_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://127.0.0.1:5432/test".to_string());
    match postgres::Client::connect(&url, postgres::NoTls) {
        Ok(_) => Some(url),
        Err(err) => {
            needed(
                false,
                &format!("a PostgreSQL server at {url} ({err})"),
                "set SYNTHMARK_TEST_POSTGRES, or start the machine's PostgreSQL",
            );
            None
        }
    }
}

/// A fresh PostgreSQL schema for one test, dropped when the guard goes out of scope; `url`
/// selects it through `search_path`, so each test sees an empty registry.
pub struct PgSchema {
    pub url: String,
    base: String,
    name: String,
}

impl PgSchema {
    pub fn new(base: &str, tag: &str) -> PgSchema {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("synthmark_test_{tag}_{}_{nanos}", std::process::id());
        let mut client = postgres::Client::connect(base, postgres::NoTls).unwrap();
        client
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .unwrap();
        let separator = if base.contains('?') { '&' } else { '?' };
        PgSchema {
            url: format!("{base}{separator}options=-csearch_path%3D{name}"),
            base: base.to_string(),
            name,
        }
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.base, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name));
        }
    }
}

/// The samples directory of this repository (AVIF, HEIC and JPEG XL fixtures are taken from
/// there: the image crate cannot encode them; `scripts/make-samples.sh` made them with heif-enc
/// and cjxl).
pub fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// A small image of `format`.
pub fn image_bytes(format: Format) -> Vec<u8> {
    let encode = |f: ImageFormat| {
        let mut out = Cursor::new(Vec::new());
        picture(64, 48)
            .write_to(&mut out, f)
            .expect("encode fixture");
        out.into_inner()
    };
    match format {
        Format::Jpeg => encode(ImageFormat::Jpeg),
        Format::Png => encode(ImageFormat::Png),
        Format::Webp => encode(ImageFormat::WebP),
        Format::Tiff => encode(ImageFormat::Tiff),
        Format::Gif => encode(ImageFormat::Gif),
        Format::Avif => {
            std::fs::read(samples_dir().join("portrait.avif")).expect("samples/portrait.avif")
        }
        Format::Heic => {
            std::fs::read(samples_dir().join("portrait.heic")).expect("samples/portrait.heic")
        }
        Format::Jxl => {
            std::fs::read(samples_dir().join("portrait.jxl")).expect("samples/portrait.jxl")
        }
        other => panic!("no fixture for {other}"),
    }
}

/// One development identity per test binary (generation is cheap, but sharing keeps it simple).
pub fn dev_identity() -> &'static DevIdentity {
    static IDENTITY: OnceLock<DevIdentity> = OnceLock::new();
    IDENTITY.get_or_init(|| DevIdentity::generate(KeyAlgorithm::Es256, "synthmark tests").unwrap())
}

/// Flips one byte of the image data (not the header, not the manifest), so the hard binding
/// breaks while the container stays well formed.
pub fn flip_pixel_byte(format: Format, bytes: &mut [u8]) {
    let find = |needle: &[u8]| {
        bytes
            .windows(needle.len())
            .position(|w| w == needle)
            .unwrap_or_else(|| panic!("no {:?} in the fixture", String::from_utf8_lossy(needle)))
    };
    let mut at = match format {
        Format::Jpeg => bytes.len() - 16,
        Format::Png => find(b"IDAT") + 12,
        Format::Webp => find(b"VP8") + 16,
        Format::Gif => bytes.len() - 8,
        Format::Tiff => 64,
        Format::Avif | Format::Heic => find(b"mdat") + 12,
        Format::Jxl => find(b"jxlc") + 12,
        other => panic!("no tamper rule for {other}"),
    };
    while bytes[at] == 0xFF || bytes[at] == 0xFE {
        at += 1; // never create a JPEG marker
    }
    bytes[at] ^= 0x01;
}

/// Removes the C2PA manifest the way platforms strip metadata: JPEG APP11 segments dropped.
pub fn strip_jpeg_app11(jpeg: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    let mut pos = 2;
    while pos + 4 <= jpeg.len() && jpeg[pos] == 0xFF {
        let marker = jpeg[pos + 1];
        let len = u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]) as usize;
        if marker != 0xEB {
            out.extend_from_slice(&jpeg[pos..pos + 2 + len]);
        }
        pos += 2 + len;
        if marker == 0xDA {
            break;
        }
    }
    out.extend_from_slice(&jpeg[pos..]);
    out
}

/// Re-encodes an image through the `image` crate, which drops all metadata.
pub fn reencode(bytes: &[u8], format: ImageFormat) -> Vec<u8> {
    let decoded = image::load_from_memory(bytes).expect("decodable");
    let mut out = Cursor::new(Vec::new());
    decoded.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

/// Runs the `synthmark` binary with an isolated data directory (so the development identity is
/// created in `home`, never in the user's own).
pub fn synthmark(home: &Path, args: &[&str]) -> Output {
    synthmark_with_stdin(home, args, None)
}

pub fn synthmark_with_stdin(home: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    synthmark_with(home, args, stdin, &[])
}

/// [`synthmark`] with environment variables set for this run only (passphrases, PINs, a
/// PKCS#11 module's configuration).
pub fn synthmark_env(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    synthmark_with(home, args, None, env)
}

/// The variables that choose the signing identity, removed from every run unless a test sets
/// them: a developer's own settings must not leak into the tests.
const IDENTITY_ENV: [&str; 13] = [
    "SYNTHMARK_CERT",
    "SYNTHMARK_KEY",
    "SYNTHMARK_KEY_PASSPHRASE",
    "SYNTHMARK_KEY_PASSPHRASE_FILE",
    "SYNTHMARK_SIGNER_CMD",
    "SYNTHMARK_SIGNER_TIMEOUT",
    "SYNTHMARK_PKCS11_MODULE",
    "SYNTHMARK_PKCS11_TOKEN",
    "SYNTHMARK_PKCS11_SLOT",
    "SYNTHMARK_PKCS11_KEY_LABEL",
    "SYNTHMARK_PKCS11_KEY_ID",
    "SYNTHMARK_PKCS11_PIN",
    "SYNTHMARK_PKCS11_PIN_FILE",
];

fn synthmark_with(
    home: &Path,
    args: &[&str],
    stdin: Option<&[u8]>,
    env: &[(&str, &str)],
) -> Output {
    use std::io::Write;
    let mut command = Command::new(env!("CARGO_BIN_EXE_synthmark"));
    command
        .args(args)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("SYNTHMARK_TRUST")
        .env_remove("SYNTHMARK_CONFIG")
        .env_remove("SYNTHMARK_GENERATOR")
        .env_remove("SYNTHMARK_REGISTRY");
    for name in IDENTITY_ENV {
        command.env_remove(name);
    }
    command
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("run synthmark");
    {
        let mut pipe = child.stdin.take().expect("stdin");
        if let Some(bytes) = stdin {
            pipe.write_all(bytes).expect("write stdin");
        }
    }
    child.wait_with_output().expect("synthmark output")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Parses `check --format ndjson` output.
pub fn ndjson(output: &Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// SHA-256 of every file below `dir`, to prove inputs were not touched.
pub fn fingerprint(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    use sha2::{Digest, Sha256};
    let mut all: Vec<_> = walk(dir)
        .into_iter()
        .map(|p| {
            let digest = Sha256::digest(std::fs::read(&p).unwrap()).to_vec();
            (p, digest)
        })
        .collect();
    all.sort();
    all
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
pub mod tsa;

/// Lower-case hex, as synthmark shows digests.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The asset ids the watermark layer reported.
pub fn watermark_ids(report: &synthmark::Report) -> Vec<String> {
    report
        .evidence
        .iter()
        .filter(|e| {
            e.layer == synthmark::Layer::Watermark && e.finding == synthmark::Finding::Watermark
        })
        .filter_map(|e| e.value.clone())
        .collect()
}
