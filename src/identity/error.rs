//! Why a signing identity could not be created, loaded or used: one error type for every key
//! source, whose messages never contain a key, a passphrase or a PIN.

use std::path::PathBuf;

/// Why a signing identity could not be created, loaded or used.
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
    /// A file holding a key, a passphrase or a PIN can be read by other users: anyone on the
    /// machine could sign as you.
    #[error("{path} can be read by other users (mode {mode:04o}); a file holding a private key, a passphrase or a PIN must be readable by its owner only")]
    KeyReadable { path: PathBuf, mode: u32 },
    /// The key is an encrypted PKCS#8 key and no passphrase was given.
    #[error("the private key is encrypted and no passphrase was given")]
    PassphraseMissing,
    /// The passphrase does not decrypt the key.
    #[error("cannot decrypt the private key: wrong passphrase (or a damaged key file)")]
    WrongPassphrase,
    /// A passphrase was given for a key that is not encrypted: the key is probably not the one
    /// meant to be used.
    #[error("a passphrase was given, but the private key is not encrypted")]
    KeyNotEncrypted,
    /// A passphrase or PIN file that cannot be used (empty, not text).
    #[error("{path} {reason}")]
    SecretFile { path: PathBuf, reason: &'static str },
    /// The PKCS#11 module, token, login or key failed.
    #[error("PKCS#11: {reason}")]
    Pkcs11 { reason: String },
    /// An external signer (a signing command, a key in a KMS) failed to sign.
    #[error("the signer {signer} failed: {reason}")]
    Signer { signer: String, reason: String },
    /// A signing command line that cannot be split into words (the line itself is not shown:
    /// its arguments may be secret).
    #[error("the signer command line cannot be used: {reason}")]
    CommandLine { reason: String },
    #[error("cannot generate the identity: {0}")]
    Generate(String),
}
