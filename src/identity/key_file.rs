//! Private keys held in memory: a PKCS#8 PEM, plain or encrypted (PBES2: PBKDF2 or scrypt with
//! AES, as `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes it). An encrypted key is decrypted in
//! memory with its passphrase; the plaintext is zeroized when the identity is dropped and never
//! written anywhere.

use pkcs8::der::pem::LineEnding;
use pkcs8::der::SecretDocument;
use pkcs8::{pkcs5, EncryptedPrivateKeyInfo, PrivateKeyInfo};
use zeroize::Zeroizing;

use super::error::IdentityError;
use super::secret::Secret;

const RE_ENCRYPT: &str =
    "`openssl pkcs8 -topk8 -v2 aes-256-cbc -in KEY -out key.pem` writes a key synthmark can decrypt";

/// The unencrypted PKCS#8 PEM of `key_pem`, decrypting it with `passphrase` when it is an
/// encrypted PKCS#8 key. A passphrase for a key that is not encrypted is refused: the key is
/// probably not the one meant.
pub(crate) fn plain_pkcs8_pem(
    key_pem: &[u8],
    passphrase: Option<&Secret>,
) -> Result<Zeroizing<Vec<u8>>, IdentityError> {
    let text = String::from_utf8_lossy(key_pem);
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        let passphrase = passphrase.ok_or(IdentityError::PassphraseMissing)?;
        return decrypt(&text, passphrase);
    }
    if text.contains("-----BEGIN PRIVATE KEY-----") {
        return match passphrase {
            Some(_) => Err(IdentityError::KeyNotEncrypted),
            None => Ok(Zeroizing::new(key_pem.to_vec())),
        };
    }
    let reason = if text.contains("Proc-Type: 4,ENCRYPTED") {
        format!("it is a legacy OpenSSL encrypted key, not PKCS#8; {RE_ENCRYPT}")
    } else if text.contains("BEGIN EC PRIVATE KEY") || text.contains("BEGIN RSA PRIVATE KEY") {
        "it is not in PKCS#8 form; convert it with `openssl pkcs8 -topk8 -nocrypt -in KEY -out key.pem`"
            .to_string()
    } else {
        "no `-----BEGIN PRIVATE KEY-----` or `-----BEGIN ENCRYPTED PRIVATE KEY-----` block found"
            .to_string()
    };
    Err(IdentityError::Key { reason })
}

fn decrypt(text: &str, passphrase: &Secret) -> Result<Zeroizing<Vec<u8>>, IdentityError> {
    let malformed = |what: &str| IdentityError::Key {
        reason: format!("the encrypted key is malformed ({what})"),
    };
    let begin = text
        .find("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        .unwrap_or_default();
    let (label, document) =
        SecretDocument::from_pem(&text[begin..]).map_err(|e| malformed(&e.to_string()))?;
    if label != "ENCRYPTED PRIVATE KEY" {
        return Err(malformed("unexpected PEM label"));
    }
    let info = EncryptedPrivateKeyInfo::try_from(document.as_bytes())
        .map_err(|e| malformed(&e.to_string()))?;
    let plain = match info.decrypt(passphrase.expose().as_bytes()) {
        Ok(plain) => plain,
        // A bad padding after decryption: the wrong key, i.e. the wrong passphrase. pkcs5 0.7
        // reports it as `EncryptFailed`.
        Err(pkcs8::Error::EncryptedPrivateKey(
            pkcs5::Error::DecryptFailed | pkcs5::Error::EncryptFailed,
        ))
        | Err(pkcs8::Error::Asn1(_)) => return Err(IdentityError::WrongPassphrase),
        Err(pkcs8::Error::EncryptedPrivateKey(e)) => {
            return Err(IdentityError::Key {
                reason: format!("its encryption is not supported ({e}); {RE_ENCRYPT}"),
            })
        }
        Err(e) => return Err(malformed(&e.to_string())),
    };
    // A wrong passphrase passes the CBC padding check once in 256 tries: the plaintext must
    // also be a private key.
    if PrivateKeyInfo::try_from(plain.as_bytes()).is_err() {
        return Err(IdentityError::WrongPassphrase);
    }
    let pem = plain
        .to_pem("PRIVATE KEY", LineEnding::LF)
        .map_err(|e| malformed(&e.to_string()))?;
    Ok(Zeroizing::new(pem.as_bytes().to_vec()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `key_pem` (plain PKCS#8) encrypted with PBES2 (PBKDF2-SHA256, AES-256-CBC).
    pub(crate) fn encrypt(key_pem: &str, passphrase: &str) -> String {
        let (_, plain) = SecretDocument::from_pem(key_pem).unwrap();
        let info = PrivateKeyInfo::try_from(plain.as_bytes()).unwrap();
        let mut salt = [0u8; 16];
        let mut iv = [0u8; 16];
        getrandom::fill(&mut salt).unwrap();
        getrandom::fill(&mut iv).unwrap();
        let params = pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, &salt, &iv).unwrap();
        let encrypted = info.encrypt_with_params(params, passphrase).unwrap();
        encrypted
            .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
            .unwrap()
            .to_string()
    }

    fn key() -> String {
        rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .unwrap()
            .serialize_pem()
    }

    #[test]
    fn an_encrypted_key_decrypts_with_its_passphrase_only() {
        let key = key();
        let encrypted = encrypt(&key, "correct horse");
        let plain =
            plain_pkcs8_pem(encrypted.as_bytes(), Some(&Secret::new("correct horse"))).unwrap();
        assert_eq!(
            SecretDocument::from_pem(std::str::from_utf8(&plain).unwrap())
                .unwrap()
                .1
                .as_bytes(),
            SecretDocument::from_pem(&key).unwrap().1.as_bytes()
        );
        for _ in 0..8 {
            let wrong = plain_pkcs8_pem(encrypted.as_bytes(), Some(&Secret::new("battery")));
            assert!(
                matches!(wrong, Err(IdentityError::WrongPassphrase)),
                "{wrong:?}"
            );
        }
        let missing = plain_pkcs8_pem(encrypted.as_bytes(), None);
        assert!(matches!(missing, Err(IdentityError::PassphraseMissing)));
    }

    #[test]
    fn a_passphrase_for_a_plain_key_is_refused() {
        let key = key();
        let err = plain_pkcs8_pem(key.as_bytes(), Some(&Secret::new("x"))).unwrap_err();
        assert!(matches!(err, IdentityError::KeyNotEncrypted), "{err}");
        assert!(plain_pkcs8_pem(key.as_bytes(), None).is_ok());
    }

    #[test]
    fn legacy_and_sec1_keys_say_how_to_convert() {
        let legacy = "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAAA\n-----END EC PRIVATE KEY-----\n";
        let err = plain_pkcs8_pem(legacy.as_bytes(), None).unwrap_err();
        assert!(err.to_string().contains("-v2 aes-256-cbc"), "{err}");
        let sec1 = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";
        let err = plain_pkcs8_pem(sec1.as_bytes(), None).unwrap_err();
        assert!(err.to_string().contains("-nocrypt"), "{err}");
    }
}
