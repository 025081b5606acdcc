//! [`SigningIdentity`]: a certificate chain (always a PEM file) and the private key that signs
//! with it, from any source: a PKCS#8 PEM (plain or encrypted, decrypted in memory), a PKCS#11
//! token, a signing command or any [`ExternalSigner`]. Every source is checked the same way when
//! the identity is built: the signing certificate against the C2PA signer profile, then a probe
//! signature verified against the certificate, so a wrong key, a wrong PIN or a broken command
//! fails at startup and not on the first image.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use c2pa::SigningAlg;
use c2pa_raw_crypto::validator_for_signing_alg;
use sha2::Digest as _;
use zeroize::Zeroizing;

use super::certificate::{signing_leaf, Leaf};
use super::command::SignerCommand;
use super::error::IdentityError;
use super::external::{normalise, ExternalSigner};
use super::key_file::plain_pkcs8_pem;
use super::pkcs11::{self, Pkcs11Config};
use super::private_file::{read_private, KeyFilePermissions};
use super::secret::Secret;

/// Room a COSE signature reserves beyond the signature and the chain (the `c2pa` crate's own
/// figures: framing, and a timestamp token when a TSA is used).
const COSE_OVERHEAD: usize = 1024;
const TIMESTAMP_RESERVE: usize = 10_000;

/// Where the private key is.
#[derive(Clone)]
enum Key {
    /// An unencrypted PKCS#8 PEM in memory (decrypted if it was encrypted), zeroized when the
    /// last clone is dropped.
    Pem(Zeroizing<Vec<u8>>),
    /// A key outside this process.
    External(Arc<dyn ExternalSigner>),
}

/// A certificate chain and private key, validated and ready to sign. Cheap to clone; a key
/// outside the process (PKCS#11, a command) is shared by the clones.
#[derive(Clone)]
pub struct SigningIdentity {
    chain_pem: Vec<u8>,
    key: Key,
    alg: SigningAlg,
    subject: String,
    not_after: String,
    certificate_sha256: [u8; 32],
    chain_der_len: usize,
}

impl fmt::Debug for SigningIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningIdentity")
            .field("subject", &self.subject)
            .field("alg", &self.alg)
            .field("not_after", &self.not_after)
            .field("key", &self.key_description())
            .finish()
    }
}

impl SigningIdentity {
    /// Loads a PEM certificate chain (signing certificate first) and an unencrypted PKCS#8 PEM
    /// private key, refusing a key file that other users can read.
    pub fn from_files(cert: &Path, key: &Path) -> Result<Self, IdentityError> {
        Self::from_files_with(cert, key, KeyFilePermissions::OwnerOnly)
    }

    /// [`SigningIdentity::from_files`], choosing whether a readable key file is accepted.
    pub fn from_files_with(
        cert: &Path,
        key: &Path,
        permissions: KeyFilePermissions,
    ) -> Result<Self, IdentityError> {
        let key = read_private(key, permissions)?;
        Self::from_pem(&read(cert)?, &key)
    }

    /// Loads a PEM certificate chain and an encrypted PKCS#8 PEM private key
    /// (`-----BEGIN ENCRYPTED PRIVATE KEY-----`, as `openssl pkcs8 -topk8 -v2 aes-256-cbc`
    /// writes it), decrypted in memory with `passphrase`. A wrong passphrase is
    /// [`IdentityError::WrongPassphrase`]; a key that is not encrypted is refused
    /// ([`IdentityError::KeyNotEncrypted`]).
    pub fn from_files_with_passphrase(
        cert: &Path,
        key: &Path,
        passphrase: &Secret,
        permissions: KeyFilePermissions,
    ) -> Result<Self, IdentityError> {
        let key = read_private(key, permissions)?;
        Self::from_encrypted_pem(&read(cert)?, &key, passphrase)
    }

    /// Builds an identity from PEM bytes (an unencrypted PKCS#8 key), checking the signing
    /// certificate against the C2PA signer profile and that the key belongs to it.
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, IdentityError> {
        let leaf = signing_leaf(chain_pem)?;
        let key = plain_pkcs8_pem(key_pem, None)?;
        Self::with_key(chain_pem, leaf, Key::Pem(key))
    }

    /// [`SigningIdentity::from_pem`] with an encrypted PKCS#8 key and its passphrase.
    pub fn from_encrypted_pem(
        chain_pem: &[u8],
        key_pem: &[u8],
        passphrase: &Secret,
    ) -> Result<Self, IdentityError> {
        let leaf = signing_leaf(chain_pem)?;
        let key = plain_pkcs8_pem(key_pem, Some(passphrase))?;
        Self::with_key(chain_pem, leaf, Key::Pem(key))
    }

    /// Signs with a key inside a PKCS#11 token; the certificate chain is the PEM file `cert`.
    /// The module is loaded, the token found, the PIN used to log in and the key found now, and
    /// a probe signature is checked against the certificate: a wrong PIN, label or key fails
    /// here with what was found instead.
    ///
    /// ```no_run
    /// use synthmark::{KeySelector, Pkcs11Config, Secret, SigningIdentity, TokenSelector};
    ///
    /// let token = Pkcs11Config::new(
    ///     "/usr/lib/softhsm/libsofthsm2.so",
    ///     TokenSelector::Label("signing".into()),
    ///     KeySelector::label("c2pa"),
    ///     Secret::from_env("SYNTHMARK_PKCS11_PIN"),
    /// );
    /// let identity = SigningIdentity::from_pkcs11("chain.pem".as_ref(), &token)?;
    /// # Ok::<(), synthmark::IdentityError>(())
    /// ```
    pub fn from_pkcs11(cert: &Path, config: &Pkcs11Config) -> Result<Self, IdentityError> {
        let chain_pem = read(cert)?;
        // The certificate first: it is cheaper to fix than a token login.
        let leaf = signing_leaf(&chain_pem)?;
        let signer = pkcs11::connect(config)?;
        Self::with_key(&chain_pem, leaf, Key::External(signer))
    }

    /// Signs through a command (a KMS client, a signing service's CLI): see [`SignerCommand`]
    /// for its contract. The certificate chain is the PEM file `cert`; the command signs a probe
    /// now, so a broken command fails here and not on the first image.
    ///
    /// ```no_run
    /// use synthmark::{SignerCommand, SigningIdentity};
    ///
    /// let kms = SignerCommand::parse("sh -c 'openssl dgst -sha256 -sign /secure/key.pem'")?;
    /// let identity = SigningIdentity::from_command("chain.pem".as_ref(), &kms)?;
    /// # Ok::<(), synthmark::IdentityError>(())
    /// ```
    pub fn from_command(cert: &Path, command: &SignerCommand) -> Result<Self, IdentityError> {
        Self::from_external(&read(cert)?, Arc::new(command.clone()))
    }

    /// Signs with any [`ExternalSigner`] (a KMS SDK, a Python callable in the bindings), with
    /// the certificate chain given as PEM bytes.
    pub fn from_external(
        chain_pem: &[u8],
        signer: Arc<dyn ExternalSigner>,
    ) -> Result<Self, IdentityError> {
        let leaf = signing_leaf(chain_pem)?;
        Self::with_key(chain_pem, leaf, Key::External(signer))
    }

    fn with_key(chain_pem: &[u8], leaf: Leaf, key: Key) -> Result<Self, IdentityError> {
        let identity = SigningIdentity {
            chain_pem: chain_pem.to_vec(),
            key,
            alg: leaf.alg,
            subject: leaf.subject,
            not_after: leaf.not_after,
            certificate_sha256: sha2::Sha256::digest(&leaf.der).into(),
            chain_der_len: leaf.chain_der_len,
        };
        identity.check_key_matches(&leaf.spki_der)?;
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

    /// Where the key is, for logs: "a PKCS#8 key in memory", "PKCS#11 key `signer` on token
    /// `hsm` (…)", "command `…`". Never a secret.
    pub fn key_description(&self) -> String {
        match &self.key {
            Key::Pem(_) => "a PKCS#8 key in memory (<redacted>)".to_string(),
            Key::External(signer) => signer.describe(),
        }
    }

    /// A `c2pa` signer for this identity. With `tsa_url`, the signature reserves room for a
    /// timestamp token (the request itself is sent by [`crate::Stamper`]).
    pub fn signer(&self, tsa_url: Option<&str>) -> Result<c2pa::BoxedSigner, IdentityError> {
        let tsa_url = tsa_url.map(str::to_string);
        match &self.key {
            Key::Pem(key_pem) => {
                c2pa::create_signer::from_keys(&self.chain_pem, key_pem, self.alg, tsa_url).map_err(
                    |e| IdentityError::Key {
                        reason: e.to_string(),
                    },
                )
            }
            Key::External(external) => {
                let external = external.clone();
                let alg = self.alg;
                let mut signer = c2pa::CallbackSigner::new(
                    move |_context: *const (), data: &[u8]| {
                        sign_external(external.as_ref(), alg, data)
                            .map_err(|e| c2pa::Error::OtherError(Box::new(e)))
                    },
                    alg,
                    self.chain_pem.clone(),
                );
                signer.reserve_size = max_signature_len(alg)
                    + self.chain_der_len
                    + COSE_OVERHEAD
                    + if tsa_url.is_some() {
                        TIMESTAMP_RESERVE
                    } else {
                        0
                    };
                if let Some(url) = tsa_url {
                    signer = signer.set_tsa_url(url);
                }
                Ok(Box::new(signer))
            }
        }
    }

    fn check_key_matches(&self, spki_der: &[u8]) -> Result<(), IdentityError> {
        const PROBE: &[u8] = b"synthmark key/certificate match probe";
        let signature = match &self.key {
            Key::Pem(_) => self
                .signer(None)?
                .sign(PROBE)
                .map_err(|e| IdentityError::Key {
                    reason: e.to_string(),
                })?,
            Key::External(external) => sign_external(external.as_ref(), self.alg, PROBE)?,
        };
        let validator = validator_for_signing_alg(self.alg).ok_or_else(|| IdentityError::Key {
            reason: format!("no validator for {}", self.alg),
        })?;
        validator
            .validate(&signature, PROBE, spki_der)
            .map_err(|_| IdentityError::KeyMismatch)
    }
}

/// One signature from an external signer, in the form COSE carries.
fn sign_external(
    signer: &dyn ExternalSigner,
    alg: SigningAlg,
    data: &[u8],
) -> Result<Vec<u8>, IdentityError> {
    normalise(signer.sign(data, alg)?, alg, signer)
}

/// The largest raw signature of `alg` (RSA: up to 8192-bit keys).
fn max_signature_len(alg: SigningAlg) -> usize {
    match alg {
        SigningAlg::Es256 | SigningAlg::Es384 | SigningAlg::Es512 => 132,
        SigningAlg::Ed25519 => 64,
        _ => 1024,
    }
}

fn read(path: &Path) -> Result<Vec<u8>, IdentityError> {
    std::fs::read(path).map_err(|cause| IdentityError::Read {
        path: path.to_path_buf(),
        cause,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::dev::{DevIdentity, KeyAlgorithm};
    use std::fs;

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

    #[test]
    fn an_encrypted_key_signs_once_decrypted_and_not_without_its_passphrase() {
        let dev = DevIdentity::generate(KeyAlgorithm::Es256, "T").unwrap();
        let encrypted = crate::identity::key_file::tests::encrypt(&dev.key_pem, "open sesame");
        let cert = dev.cert_pem.as_bytes();
        let id = SigningIdentity::from_encrypted_pem(
            cert,
            encrypted.as_bytes(),
            &Secret::new("open sesame"),
        )
        .unwrap();
        assert_eq!(
            id.certificate_sha256(),
            dev.signing_identity().unwrap().certificate_sha256()
        );
        let wrong =
            SigningIdentity::from_encrypted_pem(cert, encrypted.as_bytes(), &Secret::new("nope"))
                .unwrap_err();
        assert!(matches!(wrong, IdentityError::WrongPassphrase), "{wrong}");
        assert!(!wrong.to_string().contains("nope"));
        let missing = SigningIdentity::from_pem(cert, encrypted.as_bytes()).unwrap_err();
        assert!(
            matches!(missing, IdentityError::PassphraseMissing),
            "{missing}"
        );
    }

    /// A key held by another component: here the `c2pa` crate's own signer over a PEM key,
    /// answering in DER like most HSMs and KMSs do.
    struct KeyService {
        signer: c2pa::BoxedSigner,
        der: bool,
    }

    impl ExternalSigner for KeyService {
        fn sign(&self, data: &[u8], _alg: SigningAlg) -> Result<Vec<u8>, IdentityError> {
            let raw = self.signer.sign(data).map_err(|e| IdentityError::Signer {
                signer: self.describe(),
                reason: e.to_string(),
            })?;
            if !self.der {
                return Ok(raw);
            }
            let integer = |half: &[u8]| {
                let trimmed: Vec<u8> = half.iter().copied().skip_while(|b| *b == 0).collect();
                let mut value = if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
                    vec![0]
                } else {
                    Vec::new()
                };
                value.extend(trimmed);
                let mut out = vec![0x02, value.len() as u8];
                out.extend(value);
                out
            };
            let (r, s) = raw.split_at(raw.len() / 2);
            let body = [integer(r), integer(s)].concat();
            Ok([vec![0x30, body.len() as u8], body].concat())
        }

        fn describe(&self) -> String {
            "test key service".into()
        }
    }

    #[test]
    fn an_external_signer_is_probed_and_signs_through_c2pa() {
        let dev = DevIdentity::generate(KeyAlgorithm::Es256, "T").unwrap();
        let other = DevIdentity::generate(KeyAlgorithm::Es256, "O").unwrap();
        let service = |key: &str, der: bool| {
            Arc::new(KeyService {
                signer: c2pa::create_signer::from_keys(
                    dev.cert_pem.as_bytes(),
                    key.as_bytes(),
                    SigningAlg::Es256,
                    None,
                )
                .unwrap(),
                der,
            })
        };
        for der in [true, false] {
            let id =
                SigningIdentity::from_external(dev.cert_pem.as_bytes(), service(&dev.key_pem, der))
                    .unwrap();
            assert_eq!(id.key_description(), "test key service");
            assert_eq!(format!("{id:?}").matches("test key service").count(), 1);
            let signer = id.signer(Some("http://tsa.invalid")).unwrap();
            assert_eq!(signer.sign(b"x").unwrap().len(), 64);
            assert!(signer.reserve_size() > TIMESTAMP_RESERVE + COSE_OVERHEAD);
        }
        let mismatch =
            SigningIdentity::from_external(dev.cert_pem.as_bytes(), service(&other.key_pem, true))
                .unwrap_err();
        assert!(matches!(mismatch, IdentityError::KeyMismatch), "{mismatch}");
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
}
