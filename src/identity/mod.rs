//! Signing identities: the certificate chain that signs C2PA manifests and the private key
//! behind it, wherever that key lives.
//!
//! The chain is always a PEM file (signing certificate first). The key is a PKCS#8 PEM (plain,
//! or encrypted and decrypted in memory with a passphrase from the environment or a file), a key
//! inside a PKCS#11 token that never leaves it, a signing command (a KMS client) or any
//! [`ExternalSigner`]. Every source is checked the same way when the identity is built: the
//! certificate against the C2PA signer profile, and a probe signature against the certificate.
//! Secrets (key bytes, passphrases, PINs) are zeroized when dropped and never appear in `Debug`
//! output or in an error.
//!
//! For testing, [`DevIdentity`] generates a throw-away root CA and signing certificate.

mod certificate;
mod command;
mod dev;
mod error;
mod external;
mod key_file;
mod pkcs11;
mod private_file;
mod secret;
mod signing;
mod source;

pub use certificate::SIGNER_EKUS;
pub use command::SignerCommand;
pub use dev::{DevIdentity, IdentityPaths, KeyAlgorithm};
pub use error::IdentityError;
pub use external::ExternalSigner;
pub use pkcs11::{KeySelector, Pkcs11Config, TokenSelector};
pub use private_file::KeyFilePermissions;
pub use secret::Secret;
pub use signing::SigningIdentity;
pub use source::KeySource;
