//! Signing identities: the certificate chain and private key that sign C2PA manifests.
//!
//! Production users bring their own chain and key (PEM files). For testing, [`DevIdentity`]
//! generates a throw-away root CA and a signing certificate that the `c2pa` crate accepts. A
//! certificate is checked against the C2PA signer profile when it is loaded, so a wrong key type,
//! a missing extension or an expired certificate is reported up front with a hint, instead of as
//! an opaque failure on the first image.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use c2pa::SigningAlg;
use c2pa_raw_crypto::validator_for_signing_alg;
use sha2::Digest as _;
use x509_parser::prelude::*;
use zeroize::Zeroizing;

use crate::atomic_file::{self, Existing};

/// OID of the X.509 extended key usage `emailProtection`, the signer EKU every C2PA validator
/// accepts with default settings.
const EKU_EMAIL_PROTECTION: &str = "1.3.6.1.5.5.7.3.4";
/// OIDs accepted as C2PA signer EKUs (RFC 5280 emailProtection, RFC 9336 documentSigning, the
/// C2PA claim-signing EKU and Microsoft's C2PA EKU). Validators are configured with this list
/// so that production credentials do not read as invalid.
pub const SIGNER_EKUS: [&str; 4] = [
    EKU_EMAIL_PROTECTION,
    "1.3.6.1.5.5.7.3.36",
    "1.3.6.1.4.1.62558.2.1",
    "1.3.6.1.4.1.311.76.59.1.9",
];

/// Why a signing identity could not be created or loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    #[error("cannot read {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot write {path}: {cause}")]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path} already exists")]
    Exists { path: PathBuf },
    #[error("the certificate is not usable: {reason}")]
    Certificate { reason: String },
    #[error("the private key is not usable: {reason}")]
    Key { reason: String },
    #[error("the private key does not belong to the signing certificate")]
    KeyMismatch,
    /// The key file can be read by other users: anyone on the machine could sign as you.
    #[error("{path} can be read by other users (mode {mode:04o}); a private key must be readable by its owner only")]
    KeyReadable { path: PathBuf, mode: u32 },
    #[error("cannot generate the identity: {0}")]
    Generate(String),
}

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

/// A certificate chain and private key, validated and ready to sign.
#[derive(Clone)]
pub struct SigningIdentity {
    chain_pem: Vec<u8>,
    key_pem: Zeroizing<Vec<u8>>,
    alg: SigningAlg,
    subject: String,
    not_after: String,
    certificate_sha256: [u8; 32],
}

impl fmt::Debug for SigningIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningIdentity")
            .field("subject", &self.subject)
            .field("alg", &self.alg)
            .field("not_after", &self.not_after)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Whether a key file that other users can read is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyFilePermissions {
    /// Refuse a key file readable by its group or others ([`IdentityError::KeyReadable`]).
    #[default]
    OwnerOnly,
    /// Accept it (keys on a read-only mount, or managed by another tool).
    AllowReadable,
}

impl SigningIdentity {
    /// Loads a PEM certificate chain (signing certificate first) and a PKCS#8 PEM private key,
    /// refusing a key file that other users can read.
    pub fn from_files(cert: &Path, key: &Path) -> Result<Self, IdentityError> {
        Self::from_files_with(cert, key, KeyFilePermissions::OwnerOnly)
    }

    /// [`SigningIdentity::from_files`], choosing whether a readable key file is accepted.
    pub fn from_files_with(
        cert: &Path,
        key: &Path,
        permissions: KeyFilePermissions,
    ) -> Result<Self, IdentityError> {
        if permissions == KeyFilePermissions::OwnerOnly {
            check_key_file_mode(key)?;
        }
        let chain = read(cert)?;
        let key = Zeroizing::new(read(key)?);
        Self::from_pem(&chain, &key)
    }

    /// Builds an identity from PEM bytes, checking the signing certificate against the C2PA
    /// signer profile and that the key belongs to it.
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, IdentityError> {
        let leaf_der = first_certificate_der(chain_pem)?;
        let (_, leaf) =
            X509Certificate::from_der(&leaf_der).map_err(|e| cert_err(e.to_string()))?;
        check_signer_profile(&leaf)?;
        let alg = signing_alg(&leaf)?;
        check_key_format(key_pem)?;
        let identity = SigningIdentity {
            chain_pem: chain_pem.to_vec(),
            key_pem: Zeroizing::new(key_pem.to_vec()),
            alg,
            subject: leaf.subject().to_string(),
            not_after: leaf.validity().not_after.to_string(),
            certificate_sha256: sha2::Sha256::digest(&leaf_der).into(),
        };
        identity.check_key_matches(leaf.public_key().raw)?;
        Ok(identity)
    }

    /// The subject of the signing certificate, e.g. `CN=Example AI Signer, O=Example`.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// SHA-256 of the signing certificate (DER): what a checker reports as the signer's
    /// certificate fingerprint.
    pub fn certificate_sha256(&self) -> [u8; 32] {
        self.certificate_sha256
    }

    /// The signature algorithm, derived from the certificate's public key.
    pub fn alg(&self) -> SigningAlg {
        self.alg
    }

    /// A `c2pa` signer for this identity. With `tsa_url`, the signature reserves room for a
    /// timestamp token (the request itself is sent by [`crate::Stamper`]).
    pub fn signer(&self, tsa_url: Option<&str>) -> Result<c2pa::BoxedSigner, IdentityError> {
        let tsa_url = tsa_url.map(str::to_string);
        c2pa::create_signer::from_keys(&self.chain_pem, &self.key_pem, self.alg, tsa_url).map_err(
            |e| IdentityError::Key {
                reason: e.to_string(),
            },
        )
    }

    fn check_key_matches(&self, spki_der: &[u8]) -> Result<(), IdentityError> {
        const PROBE: &[u8] = b"synthmark key/certificate match probe";
        let signer = self.signer(None)?;
        let signature = signer.sign(PROBE).map_err(|e| IdentityError::Key {
            reason: e.to_string(),
        })?;
        let validator = validator_for_signing_alg(self.alg).ok_or_else(|| IdentityError::Key {
            reason: format!("no validator for {}", self.alg),
        })?;
        validator
            .validate(&signature, PROBE, spki_der)
            .map_err(|_| IdentityError::KeyMismatch)
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
}

#[cfg(unix)]
fn check_key_file_mode(path: &Path) -> Result<(), IdentityError> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = fs::metadata(path).map_err(|source| IdentityError::Read {
        path: path.to_path_buf(),
        cause: source,
    })?;
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o044 != 0 {
        return Err(IdentityError::KeyReadable {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_key_file_mode(_path: &Path) -> Result<(), IdentityError> {
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>, IdentityError> {
    fs::read(path).map_err(|source| IdentityError::Read {
        path: path.to_path_buf(),
        cause: source,
    })
}

fn cert_err(reason: impl Into<String>) -> IdentityError {
    IdentityError::Certificate {
        reason: reason.into(),
    }
}

fn first_certificate_der(chain_pem: &[u8]) -> Result<Vec<u8>, IdentityError> {
    for pem in Pem::iter_from_buffer(chain_pem) {
        let pem = pem.map_err(|e| cert_err(format!("not a PEM certificate file ({e})")))?;
        if pem.label == "CERTIFICATE" {
            return Ok(pem.contents);
        }
    }
    Err(cert_err(
        "no `-----BEGIN CERTIFICATE-----` block found; give the PEM certificate chain, signing certificate first",
    ))
}

/// The rules the `c2pa` crate enforces on a signing certificate, checked here so the user is
/// told which one failed and what to do.
fn check_signer_profile(cert: &X509Certificate) -> Result<(), IdentityError> {
    if cert.version() != X509Version::V3 {
        return Err(cert_err("it must be an X.509 v3 certificate"));
    }
    if !cert.validity().is_valid() {
        return Err(cert_err(format!(
            "it is not valid now (valid {} to {}); renew it",
            cert.validity().not_before,
            cert.validity().not_after
        )));
    }
    if cert.is_ca() {
        return Err(cert_err(
            "it is a CA certificate; sign with an end-entity certificate issued by the CA",
        ));
    }
    let extensions = cert.extensions_map().map_err(|e| cert_err(e.to_string()))?;
    if !extensions.contains_key(&x509_parser::oid_registry::OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER) {
        return Err(cert_err(
            "it has no Authority Key Identifier extension (C2PA requires one)",
        ));
    }
    match cert.key_usage().map_err(|e| cert_err(e.to_string()))? {
        Some(ku) if ku.value.digital_signature() => {}
        _ => {
            return Err(cert_err(
                "its Key Usage must include digitalSignature (C2PA requires it)",
            ))
        }
    }
    let eku = cert
        .extended_key_usage()
        .map_err(|e| cert_err(e.to_string()))?
        .ok_or_else(|| {
            cert_err("it has no Extended Key Usage; C2PA signers need emailProtection, documentSigning or the C2PA claim-signing EKU")
        })?;
    if eku.value.any {
        return Err(cert_err(
            "anyExtendedKeyUsage is not allowed for C2PA signers",
        ));
    }
    let accepted = eku.value.email_protection
        || eku
            .value
            .other
            .iter()
            .any(|oid| SIGNER_EKUS.contains(&oid.to_id_string().as_str()));
    if !accepted {
        return Err(cert_err(
            "its Extended Key Usage has none of emailProtection, documentSigning or the C2PA claim-signing EKU",
        ));
    }
    Ok(())
}

fn signing_alg(cert: &X509Certificate) -> Result<SigningAlg, IdentityError> {
    use x509_parser::public_key::PublicKey;
    let spki = cert.public_key();
    let oid = spki.algorithm.algorithm.to_id_string();
    match spki.parsed() {
        Ok(PublicKey::EC(_)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => Ok(SigningAlg::Es256),
                Some("1.3.132.0.34") => Ok(SigningAlg::Es384),
                Some("1.3.132.0.35") => Ok(SigningAlg::Es512),
                other => Err(cert_err(format!(
                    "unsupported elliptic curve {other:?}; use P-256, P-384 or P-521"
                ))),
            }
        }
        Ok(PublicKey::RSA(rsa)) if rsa.key_size() >= 2048 => Ok(SigningAlg::Ps256),
        Ok(PublicKey::RSA(_)) => Err(cert_err("RSA keys must be at least 2048 bits")),
        _ if oid == "1.3.101.112" => Ok(SigningAlg::Ed25519),
        _ => Err(cert_err(format!(
            "unsupported public key algorithm {oid}; use EC P-256/P-384/P-521, Ed25519 or RSA"
        ))),
    }
}

fn check_key_format(key_pem: &[u8]) -> Result<(), IdentityError> {
    let text = String::from_utf8_lossy(key_pem);
    if text.contains("BEGIN PRIVATE KEY") {
        Ok(())
    } else if text.contains("BEGIN EC PRIVATE KEY") || text.contains("BEGIN RSA PRIVATE KEY") {
        Err(IdentityError::Key {
            reason: "it is not in PKCS#8 form; convert it with `openssl pkcs8 -topk8 -nocrypt -in KEY -out key.pem`".into(),
        })
    } else if text.contains("ENCRYPTED PRIVATE KEY") {
        Err(IdentityError::Key {
            reason: "encrypted keys are not supported; decrypt it to an unencrypted PKCS#8 PEM kept mode 0600".into(),
        })
    } else {
        Err(IdentityError::Key {
            reason: "no `-----BEGIN PRIVATE KEY-----` block found".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_identities_load_for_every_algorithm() {
        for (alg, expected) in [
            (KeyAlgorithm::Es256, SigningAlg::Es256),
            (KeyAlgorithm::Es384, SigningAlg::Es384),
            (KeyAlgorithm::Ed25519, SigningAlg::Ed25519),
        ] {
            let dev = DevIdentity::generate(alg, "Test").unwrap();
            let id = dev.signing_identity().unwrap();
            assert_eq!(id.alg(), expected);
            assert!(id.subject().contains("DEVELOPMENT"), "{}", id.subject());
        }
    }

    #[test]
    fn key_from_another_identity_is_refused() {
        let a = DevIdentity::generate(KeyAlgorithm::Es256, "A").unwrap();
        let b = DevIdentity::generate(KeyAlgorithm::Es256, "B").unwrap();
        let err =
            SigningIdentity::from_pem(a.cert_pem.as_bytes(), b.key_pem.as_bytes()).unwrap_err();
        assert!(matches!(err, IdentityError::KeyMismatch), "{err}");
    }

    #[test]
    fn ca_certificate_cannot_sign() {
        let dev = DevIdentity::generate(KeyAlgorithm::Es256, "T").unwrap();
        let err =
            SigningIdentity::from_pem(dev.ca_pem.as_bytes(), dev.key_pem.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("CA certificate"), "{err}");
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let dev = DevIdentity::generate(KeyAlgorithm::Es256, "T").unwrap();
        let id = dev.signing_identity().unwrap();
        let shown = format!("{id:?}");
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[cfg(unix)]
    #[test]
    fn a_key_readable_by_others_is_refused_unless_allowed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let paths = DevIdentity::generate(KeyAlgorithm::Es256, "T")
            .unwrap()
            .write_to(dir.path(), false)
            .unwrap();
        assert!(SigningIdentity::from_files(&paths.cert, &paths.key).is_ok());
        fs::set_permissions(&paths.key, fs::Permissions::from_mode(0o640)).unwrap();
        let err = SigningIdentity::from_files(&paths.cert, &paths.key).unwrap_err();
        assert!(
            matches!(err, IdentityError::KeyReadable { mode: 0o640, .. }),
            "{err}"
        );
        assert!(!err.to_string().contains("PRIVATE"), "{err}");
        let allowed = SigningIdentity::from_files_with(
            &paths.cert,
            &paths.key,
            KeyFilePermissions::AllowReadable,
        );
        assert!(allowed.is_ok());
    }

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
}
