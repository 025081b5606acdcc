//! The signing certificate: read from the PEM chain and checked against the C2PA signer profile
//! when an identity is loaded, so a wrong key type, a missing extension or an expired certificate
//! is reported up front with what to fix, instead of as an opaque failure on the first image.

use c2pa::SigningAlg;
use x509_parser::prelude::*;

use super::error::IdentityError;

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

/// The signing certificate of a chain, checked against the C2PA signer profile.
pub(crate) struct Leaf {
    /// The certificate (DER).
    pub der: Vec<u8>,
    /// Its SubjectPublicKeyInfo (DER): what a probe signature is verified against.
    pub spki_der: Vec<u8>,
    pub alg: SigningAlg,
    pub subject: String,
    pub not_after: String,
    /// The DER size of the whole chain, for the room a signature reserves.
    pub chain_der_len: usize,
}

/// Reads the first certificate of `chain_pem` and checks it can sign C2PA manifests.
pub(crate) fn signing_leaf(chain_pem: &[u8]) -> Result<Leaf, IdentityError> {
    let mut chain = Vec::new();
    for pem in Pem::iter_from_buffer(chain_pem) {
        let pem = pem.map_err(|e| cert_err(format!("not a PEM certificate file ({e})")))?;
        if pem.label == "CERTIFICATE" {
            chain.push(pem.contents);
        }
    }
    let Some(der) = chain.first() else {
        return Err(cert_err(
            "no `-----BEGIN CERTIFICATE-----` block found; give the PEM certificate chain, signing certificate first",
        ));
    };
    let (_, leaf) = X509Certificate::from_der(der).map_err(|e| cert_err(e.to_string()))?;
    check_signer_profile(&leaf)?;
    Ok(Leaf {
        spki_der: leaf.public_key().raw.to_vec(),
        alg: signing_alg(&leaf)?,
        subject: leaf.subject().to_string(),
        not_after: leaf.validity().not_after.to_string(),
        chain_der_len: chain.iter().map(Vec::len).sum(),
        der: der.clone(),
    })
}

fn cert_err(reason: impl Into<String>) -> IdentityError {
    IdentityError::Certificate {
        reason: reason.into(),
    }
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

/// The signature algorithm the certificate's public key signs with.
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
