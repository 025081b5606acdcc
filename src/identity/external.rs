//! [`ExternalSigner`]: a private key that never enters this process (an HSM, a cloud KMS, another
//! program) and signs on request. A [`crate::SigningIdentity`] wraps one in the `c2pa` crate's
//! callback signer; the PKCS#11 and signing-command sources are two implementations, and a library
//! user (the Python bindings, a KMS SDK) can bring a third.

use c2pa::SigningAlg;
use c2pa_raw_crypto::ec_utils::{der_to_p1363, parse_ec_der_sig};

use super::error::IdentityError;

/// A private key kept outside this process that signs on request. `Send + Sync`: a stamper signs
/// from many threads at once.
pub trait ExternalSigner: Send + Sync {
    /// Signs `data` (the bytes themselves, not a digest) with `alg`, the signing certificate's
    /// algorithm: ES256/ES384/ES512 are ECDSA over the SHA-256/384/512 digest (the signature as
    /// DER or as raw `r‖s`, both accepted), PS256 is RSA-PSS with SHA-256 and MGF1-SHA-256
    /// (salt 32 bytes), Ed25519 is pure Ed25519. Errors must never contain a secret.
    fn sign(&self, data: &[u8], alg: SigningAlg) -> Result<Vec<u8>, IdentityError>;

    /// What signs, for messages and `Debug` (e.g. "PKCS#11 key `signer` on token `hsm`"): never a
    /// secret.
    fn describe(&self) -> String;
}

/// The signature in the form COSE carries: ECDSA as raw `r‖s` (a DER signature is converted),
/// Ed25519 checked to be 64 bytes.
pub(crate) fn normalise(
    signature: Vec<u8>,
    alg: SigningAlg,
    signer: &dyn ExternalSigner,
) -> Result<Vec<u8>, IdentityError> {
    let wrong = |reason: String| IdentityError::Signer {
        signer: signer.describe(),
        reason,
    };
    if signature.is_empty() {
        return Err(wrong("it returned an empty signature".into()));
    }
    let raw_len = match alg {
        SigningAlg::Es256 => 64,
        SigningAlg::Es384 => 96,
        SigningAlg::Es512 => 132,
        SigningAlg::Ed25519 if signature.len() == 64 => return Ok(signature),
        SigningAlg::Ed25519 => {
            return Err(wrong(format!(
                "it returned {} bytes; an Ed25519 signature is 64",
                signature.len()
            )))
        }
        _ => return Ok(signature),
    };
    if is_whole_der_signature(&signature) {
        return der_to_p1363(&signature, raw_len).map_err(|e| wrong(e.to_string()));
    }
    if signature.len() == raw_len {
        return Ok(signature);
    }
    Err(wrong(format!(
        "it returned {} bytes that are neither a DER ECDSA signature nor a raw {raw_len}-byte r‖s signature for {alg}",
        signature.len()
    )))
}

/// True when `bytes` is exactly one DER `SEQUENCE { r INTEGER, s INTEGER }`, nothing after it.
fn is_whole_der_signature(bytes: &[u8]) -> bool {
    let Some(parts) = parse_ec_der_sig(bytes) else {
        return false;
    };
    // SEQUENCE header (2 or 3 bytes for these sizes) + two INTEGERs with 2-byte headers.
    let content = parts.r.len() + parts.s.len() + 4;
    let header = if content < 0x80 { 2 } else { 3 };
    header + content == bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Named;
    impl ExternalSigner for Named {
        fn sign(&self, _: &[u8], _: SigningAlg) -> Result<Vec<u8>, IdentityError> {
            unreachable!("only described")
        }
        fn describe(&self) -> String {
            "test signer".into()
        }
    }

    #[test]
    fn der_ecdsa_signatures_become_raw_and_raw_ones_stay() {
        let mut der = vec![0x30, 0x44, 0x02, 0x20];
        der.extend([0x11; 32]);
        der.extend([0x02, 0x20]);
        der.extend([0x22; 32]);
        let raw = normalise(der, SigningAlg::Es256, &Named).unwrap();
        assert_eq!(raw[..32], [0x11; 32]);
        assert_eq!(raw[32..], [0x22; 32]);
        assert_eq!(
            normalise(raw.clone(), SigningAlg::Es256, &Named).unwrap(),
            raw
        );
        let err = normalise(vec![1; 10], SigningAlg::Es256, &Named).unwrap_err();
        assert!(err.to_string().contains("test signer"), "{err}");
        assert!(normalise(Vec::new(), SigningAlg::Ps256, &Named).is_err());
        assert!(normalise(vec![0; 63], SigningAlg::Ed25519, &Named).is_err());
    }
}
