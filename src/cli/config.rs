//! The optional configuration file (TOML), for settings a provider sets once: the signing
//! certificate and key, the generator name, the trust anchors.
//!
//! ```toml
//! [stamp]
//! cert = "/etc/synthmark/cert.pem"   # relative paths are relative to this file
//! key = "/etc/synthmark/key.pem"     # or one of the other key sources below
//! key_passphrase_file = "/run/secrets/key-passphrase"   # for an encrypted PKCS#8 key
//! # signer_cmd = "kms-sign --key alias/c2pa"            # bytes on stdin, signature on stdout
//! # signer_timeout = 30
//! # pkcs11_module = "/usr/lib/softhsm/libsofthsm2.so"   # a key inside a PKCS#11 token
//! # pkcs11_token = "signing"                            # or pkcs11_slot = 0
//! # pkcs11_key_label = "c2pa"                           # and/or pkcs11_key_id = "01" (hex)
//! # pkcs11_pin_file = "/run/secrets/pkcs11-pin"
//! generator = "ExampleDiffusion/2.1"
//! no_train = true
//! tsa_url = "http://timestamp.example.com"
//! tsa_optional = false
//! watermark = true                   # the imperceptible watermark layer (default on)
//! quality = 90                       # JPEG/WebP re-encoding quality (default: the input's)
//!
//! [check]
//! trust = ["/etc/synthmark/c2pa-trust-anchors.pem"]
//! trust_tsa = ["/etc/synthmark/tsa-trust-anchors.pem"]
//! default_trust = true               # also the bundled official C2PA trust lists (default on)
//!
//! [registry]
//! # An SQLite file (relative to this file) or postgres://user@host/db. Default: registry.sqlite
//! # in the synthmark data directory, beside the development identity.
//! url = "registry.sqlite"
//! ```
//!
//! Flags and environment variables override the file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub stamp: StampConfig,
    #[serde(default)]
    pub check: CheckConfig,
    #[serde(default)]
    pub registry: RegistryConfig,
    #[serde(default)]
    pub serve: ServeConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StampConfig {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// The passphrase of an encrypted `key`, on the file's first line.
    pub key_passphrase_file: Option<PathBuf>,
    /// A command that signs: the bytes on its standard input, the signature on its output.
    pub signer_cmd: Option<String>,
    /// Seconds one signature by `signer_cmd` may take.
    pub signer_timeout: Option<u64>,
    /// The PKCS#11 module of a token holding the key. A bare file name is left to the dynamic
    /// loader; a relative path is relative to this file.
    pub pkcs11_module: Option<PathBuf>,
    pub pkcs11_token: Option<String>,
    pub pkcs11_slot: Option<u64>,
    pub pkcs11_key_label: Option<String>,
    /// The key's `CKA_ID`, in hex.
    pub pkcs11_key_id: Option<String>,
    /// The token's user PIN, on the file's first line.
    pub pkcs11_pin_file: Option<PathBuf>,
    pub generator: Option<String>,
    #[serde(default)]
    pub no_train: bool,
    pub tsa_url: Option<String>,
    #[serde(default)]
    pub tsa_optional: bool,
    pub tsa_timeout: Option<u64>,
    pub watermark: Option<bool>,
    pub quality: Option<u8>,
}

/// `[serve]` in the configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    pub listen: Option<SocketAddr>,
    /// API tokens accepted by `POST /v1/stamp` (`Authorization: Bearer TOKEN`).
    #[serde(default)]
    pub tokens: Vec<String>,
    pub max_body_mb: Option<u64>,
    pub max_megapixels: Option<f64>,
    pub timeout_secs: Option<u64>,
    pub workers: Option<usize>,
    pub stamp_workers: Option<usize>,
    pub queue_wait_ms: Option<u64>,
    pub memory_mb: Option<u64>,
    pub stamp_memory_mb: Option<u64>,
    pub max_connections: Option<usize>,
    pub header_timeout_secs: Option<u64>,
    pub min_upload_kib_per_sec: Option<u64>,
}

impl StampConfig {
    /// `quality`, checked by the library's rule.
    pub fn quality(&self) -> anyhow::Result<Option<synthmark::Quality>> {
        self.quality
            .map(|q| {
                synthmark::Quality::new(q).map_err(|_| {
                    anyhow::anyhow!("[stamp] quality = {q} is out of range; use 1 to 100")
                })
            })
            .transpose()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    pub url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    #[serde(default)]
    pub trust: Vec<PathBuf>,
    #[serde(default)]
    pub trust_tsa: Vec<PathBuf>,
    /// Also trust the official C2PA trust lists bundled with synthmark (default true).
    pub default_trust: Option<bool>,
}

impl Config {
    /// Loads `explicit`, else `$SYNTHMARK_CONFIG`, else the per-user file when it exists.
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<Config> {
        let from_env = std::env::var_os("SYNTHMARK_CONFIG").map(PathBuf::from);
        let path = match explicit.map(Path::to_path_buf).or(from_env) {
            Some(path) => path,
            None => match default_path().filter(|p| p.is_file()) {
                Some(path) => path,
                None => return Ok(Config::default()),
            },
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
        let mut config: Config = toml::from_str(&text).map_err(|err| {
            anyhow::anyhow!(
                "{} is not a valid synthmark configuration: {}",
                path.display(),
                describe_toml_error(&text, &err)
            )
        })?;
        if let Err(err) = config.stamp.quality() {
            anyhow::bail!("{}: {err}", path.display());
        }
        let base = path.parent().unwrap_or(Path::new("."));
        config.resolve_relative_to(base);
        Ok(config)
    }

    fn resolve_relative_to(&mut self, base: &Path) {
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        self.stamp.cert.as_mut().map(resolve);
        self.stamp.key.as_mut().map(resolve);
        self.stamp.key_passphrase_file.as_mut().map(resolve);
        self.stamp.pkcs11_pin_file.as_mut().map(resolve);
        if let Some(module) = &mut self.stamp.pkcs11_module {
            // `libsofthsm2.so` is for the dynamic loader to find; `lib/module.so` is a path.
            if module.components().count() > 1 {
                resolve(module);
            }
        }
        self.check.trust.iter_mut().for_each(resolve);
        self.check.trust_tsa.iter_mut().for_each(resolve);
        if let Some(url) = &mut self.registry.url {
            let path = url.strip_prefix("sqlite:").unwrap_or(url);
            if !url.contains("://") && Path::new(path).is_relative() {
                *url = base.join(path).display().to_string();
            }
        }
    }
}

/// Where and why the file does not parse, without the offending line or any quoted value: the
/// file holds API tokens and database passwords, and errors end up in logs.
fn describe_toml_error(text: &str, err: &toml::de::Error) -> String {
    let mut message = String::new();
    let mut quoted = false;
    for c in err.message().trim().chars() {
        match (c, quoted) {
            ('"', false) => {
                message.push_str("\"…");
                quoted = true;
            }
            ('"', true) => {
                message.push('"');
                quoted = false;
            }
            (_, true) => {}
            ('\n', false) => message.push_str("; "),
            (c, false) => message.push(c),
        }
    }
    match err.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("synthmark").join("config.toml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_resolve_against_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(
            &file,
            "[stamp]\ncert = \"id/cert.pem\"\nkey = \"/abs/key.pem\"\n[check]\ntrust = [\"ca.pem\"]\n",
        )
        .unwrap();
        let config = Config::load(Some(&file)).unwrap();
        assert_eq!(config.stamp.cert.unwrap(), dir.path().join("id/cert.pem"));
        assert_eq!(config.stamp.key.unwrap(), PathBuf::from("/abs/key.pem"));
        assert_eq!(config.check.trust, vec![dir.path().join("ca.pem")]);
    }

    #[test]
    fn key_source_settings_resolve_their_paths_but_not_bare_module_names() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(
            &file,
            "[stamp]\nkey_passphrase_file = \"secrets/pass\"\npkcs11_module = \"libsofthsm2.so\"\n\
             pkcs11_pin_file = \"pin\"\npkcs11_token = \"t\"\npkcs11_key_id = \"01\"\n\
             signer_cmd = \"sign --key 'a b'\"\nsigner_timeout = 5\n",
        )
        .unwrap();
        let stamp = Config::load(Some(&file)).unwrap().stamp;
        assert_eq!(
            stamp.key_passphrase_file.unwrap(),
            dir.path().join("secrets/pass")
        );
        assert_eq!(stamp.pkcs11_pin_file.unwrap(), dir.path().join("pin"));
        assert_eq!(
            stamp.pkcs11_module.unwrap(),
            PathBuf::from("libsofthsm2.so")
        );
        assert_eq!(stamp.signer_cmd.as_deref(), Some("sign --key 'a b'"));
        assert_eq!(stamp.signer_timeout, Some(5));

        std::fs::write(&file, "[stamp]\npkcs11_module = \"lib/module.so\"\n").unwrap();
        let stamp = Config::load(Some(&file)).unwrap().stamp;
        assert_eq!(
            stamp.pkcs11_module.unwrap(),
            dir.path().join("lib/module.so")
        );
    }

    #[test]
    fn parse_errors_never_echo_values() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        for text in [
            "[serve]\ntokens = \"SECRET-TOKEN\"\n",
            "[registry]\nurl = 42\n[serve]\ntokens = [\"SECRET-TOKEN\"\n",
            "[serve]\nlisten = \"SECRET-TOKEN\"\n",
        ] {
            std::fs::write(&file, text).unwrap();
            let err = format!("{:#}", Config::load(Some(&file)).unwrap_err());
            assert!(!err.contains("SECRET"), "{err}");
            assert!(err.contains("config.toml") && err.contains("line"), "{err}");
        }
    }

    #[test]
    fn unknown_keys_are_rejected_with_the_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, "[stamp]\ncertificate = \"x\"\n").unwrap();
        let err = format!("{:#}", Config::load(Some(&file)).unwrap_err());
        assert!(err.contains("config.toml"), "{err}");
        assert!(err.contains("certificate"), "{err}");
    }
}
