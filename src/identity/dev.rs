//! The development identity: a generated root CA and signing certificate that the `c2pa` crate
//! accepts, for tests, demos and first runs. Nothing outside the machine that made it trusts it.

use std::fs;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::error::IdentityError;
use super::signing::SigningIdentity;
use crate::atomic_file::{self, Existing};

/// A key algorithm for generated identities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// ECDSA P-256 with SHA-256: the most widely supported choice.
    #[default]
    Es256,
    /// ECDSA P-384 with SHA-384.
    Es384,
    /// Ed25519.
    Ed25519,
}

impl KeyAlgorithm {
    fn rcgen(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            KeyAlgorithm::Es256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyAlgorithm::Es384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyAlgorithm::Ed25519 => &rcgen::PKCS_ED25519,
        }
    }
}

/// A generated root CA and signing certificate, for testing only: nothing outside your own
/// machine trusts it.
pub struct DevIdentity {
    /// The root CA certificate (PEM): the trust anchor to give to `check --trust`.
    pub ca_pem: String,
    /// The signing certificate chain (PEM).
    pub cert_pem: String,
    /// The PKCS#8 private key of the signing certificate (PEM).
    pub key_pem: Zeroizing<String>,
}

/// Where [`DevIdentity::write_to`] put the files.
#[derive(Debug, Clone)]
pub struct IdentityPaths {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl IdentityPaths {
    /// The file names used inside an identity directory: `ca.pem`, `cert.pem`, `key.pem`.
    pub fn in_dir(dir: &Path) -> Self {
        IdentityPaths {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }
}

impl DevIdentity {
    /// Generates a root CA and a signing certificate (valid 1 year) with the extensions C2PA
    /// requires: v3, AKI, KeyUsage digitalSignature, EKU emailProtection, PKCS#8 key.
    pub fn generate(alg: KeyAlgorithm, organisation: &str) -> Result<Self, IdentityError> {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let gen_err = |e: rcgen::Error| IdentityError::Generate(e.to_string());
        let now = ::time::OffsetDateTime::now_utc();

        let ca_key = KeyPair::generate_for(alg.rcgen()).map_err(gen_err)?;
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(gen_err)?;
        ca.distinguished_name
            .push(DnType::CommonName, "synthmark DEVELOPMENT root CA");
        ca.distinguished_name
            .push(DnType::OrganizationName, organisation);
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca.not_before = now - ::time::Duration::days(1);
        ca.not_after = now + ::time::Duration::days(3650);
        let ca_pem = ca.self_signed(&ca_key).map_err(gen_err)?.pem();

        let leaf_key = KeyPair::generate_for(alg.rcgen()).map_err(gen_err)?;
        let mut leaf = CertificateParams::new(Vec::<String>::new()).map_err(gen_err)?;
        leaf.distinguished_name
            .push(DnType::CommonName, "synthmark DEVELOPMENT signer");
        leaf.distinguished_name
            .push(DnType::OrganizationName, organisation);
        leaf.is_ca = IsCa::ExplicitNoCa;
        leaf.use_authority_key_identifier_extension = true;
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::EmailProtection];
        leaf.not_before = now - ::time::Duration::days(1);
        leaf.not_after = now + ::time::Duration::days(365);
        let cert_pem = leaf
            .signed_by(&leaf_key, &Issuer::new(ca, ca_key))
            .map_err(gen_err)?
            .pem();

        Ok(DevIdentity {
            ca_pem,
            cert_pem,
            key_pem: Zeroizing::new(leaf_key.serialize_pem()),
        })
    }

    /// Writes `ca.pem`, `cert.pem` and `key.pem` (mode 0600) into `dir`, creating it. Refuses
    /// to replace existing files unless `overwrite`.
    pub fn write_to(&self, dir: &Path, overwrite: bool) -> Result<IdentityPaths, IdentityError> {
        let paths = IdentityPaths::in_dir(dir);
        fs::create_dir_all(dir).map_err(|source| IdentityError::Write {
            path: dir.to_path_buf(),
            cause: source,
        })?;
        if !overwrite {
            for path in [&paths.ca, &paths.cert, &paths.key] {
                if path.exists() {
                    return Err(IdentityError::Exists { path: path.clone() });
                }
            }
        }
        let existing = if overwrite {
            Existing::Replace
        } else {
            Existing::Refuse
        };
        for (path, contents, mode) in [
            (&paths.ca, self.ca_pem.as_bytes(), 0o644),
            (&paths.cert, self.cert_pem.as_bytes(), 0o644),
            (&paths.key, self.key_pem.as_bytes(), 0o600),
        ] {
            atomic_file::write(path, contents, Some(mode), existing).map_err(|source| {
                IdentityError::Write {
                    path: path.clone(),
                    cause: source,
                }
            })?;
        }
        Ok(paths)
    }

    /// The signing identity of this development identity.
    pub fn signing_identity(&self) -> Result<SigningIdentity, IdentityError> {
        SigningIdentity::from_pem(self.cert_pem.as_bytes(), self.key_pem.as_bytes())
    }

    /// Where the development identity every front door shares lives (the CLI, the service and
    /// the Python package): `$XDG_DATA_HOME/synthmark/dev-identity`, else
    /// `~/.local/share/synthmark/dev-identity`; `None` when neither variable is set.
    pub fn default_dir() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_DATA_HOME")
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
        Some(base.join("synthmark").join("dev-identity"))
    }

    /// Loads the development identity kept in `dir`, first creating it there (ES256) when it
    /// has no key yet. Returns the identity, its files and whether it was created now.
    pub fn load_or_create(
        dir: &Path,
    ) -> Result<(SigningIdentity, IdentityPaths, bool), IdentityError> {
        let paths = IdentityPaths::in_dir(dir);
        let created = !paths.key.exists();
        if created {
            DevIdentity::generate(KeyAlgorithm::Es256, "synthmark development")?
                .write_to(dir, false)?;
        }
        let identity = SigningIdentity::from_files(&paths.cert, &paths.key)?;
        Ok((identity, paths, created))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use c2pa::SigningAlg;

    #[cfg(unix)]
    #[test]
    fn private_key_is_written_0600_and_not_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let dev = DevIdentity::generate(KeyAlgorithm::Es256, "T").unwrap();
        let paths = dev.write_to(dir.path(), false).unwrap();
        let mode = fs::metadata(&paths.key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(matches!(
            dev.write_to(dir.path(), false),
            Err(IdentityError::Exists { .. })
        ));
        let loaded = SigningIdentity::from_files(&paths.cert, &paths.key).unwrap();
        assert_eq!(loaded.alg(), SigningAlg::Es256);
    }

    #[test]
    fn the_shared_identity_is_created_once_then_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("dev-identity");
        let (first, paths, created) = DevIdentity::load_or_create(&home).unwrap();
        assert!(created && paths.ca.is_file());
        let (again, _, created) = DevIdentity::load_or_create(&home).unwrap();
        assert!(!created);
        assert_eq!(first.certificate_sha256(), again.certificate_sha256());
    }
}
