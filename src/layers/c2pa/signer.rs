//! Who signed a manifest and when: the signer's certificate (names, fingerprint, validity),
//! the trust level its status codes give, the trust list it was found on, and the RFC 3161
//! timestamp on its signature.

use c2pa::Manifest;
use serde::Serialize;
use sha2::Digest as _;

use crate::c2pa_status::{classify, StatusClass};
use crate::verdict::Trust;

/// Who signed the active manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct SignerInfo {
    /// The active manifest's label.
    pub manifest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    /// The certificate's organisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// The signing time from the signature's timestamp, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_generator: Option<String>,
    /// When the signing certificate expires (or expired), RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    /// SHA-256 of the signing certificate (DER), hex: a fingerprint to pin a signer by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_sha256: Option<String>,
    /// The URI of the trust list the signer was found on, when it is trusted: the official C2PA
    /// trust list bundled with synthmark (its URL in c2pa-org/conformance-public) or the
    /// anchors the user configured (`urn:synthmark:configured-manifest-anchors`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_list: Option<String>,
    /// The signing certificate has expired by now.
    #[serde(skip)]
    pub expired_now: bool,
}

/// The RFC 3161 timestamp on a signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct TimestampInfo {
    /// When the TSA says the signature existed (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// The TSA's name, from its certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tsa: Option<String>,
    /// The TSA's certificate chains to a configured TSA trust anchor.
    pub trusted: bool,
}

/// The timestamp, read from the `timeStamp.*` status codes of the active manifest.
pub(super) fn timestamp_info<'a>(
    statuses: impl Iterator<Item = &'a c2pa::validation_status::ValidationStatus>,
    signer: Option<&SignerInfo>,
) -> Option<TimestampInfo> {
    let mut seen = false;
    let mut info = TimestampInfo {
        time: signer.and_then(|s| s.time.clone()),
        tsa: None,
        trusted: false,
    };
    for status in statuses {
        let code = status.code();
        if !code.starts_with("timeStamp.") {
            continue;
        }
        seen = true;
        if code == "timeStamp.trusted" {
            info.trusted = true;
        }
        if code == "timeStamp.validated" || (code == "timeStamp.trusted" && info.tsa.is_none()) {
            // "timestamp message digest matched: <TSA name>", or
            // "timestamp cert trusted: <TSA name>, trust list: <uri>"
            let name = status
                .explanation()
                .and_then(|e| e.split_once(": "))
                .map(|(_, name)| name.split(", trust list:").next().unwrap_or(name).trim());
            if let Some(name) = name.filter(|n| !n.is_empty()) {
                info.tsa = Some(name.to_string());
            }
        }
    }
    seen.then_some(info)
}

pub(super) fn describe_timestamp(ts: &TimestampInfo) -> String {
    format!(
        "timestamped {} by {} ({})",
        ts.time.as_deref().unwrap_or("at an unknown time"),
        ts.tsa.as_deref().unwrap_or("an unnamed TSA"),
        if ts.trusted {
            "trusted TSA"
        } else {
            "TSA not trusted"
        }
    )
}

pub(super) fn signer_info(manifest: &Manifest, label: &str) -> SignerInfo {
    let info = manifest.signature_info();
    let leaf = info.and_then(|i| leaf_certificate(i.cert_chain()));
    let validity = leaf.as_deref().and_then(leaf_validity);
    SignerInfo {
        manifest: label.to_string(),
        common_name: info.and_then(|i| i.common_name.clone()),
        issuer: info.and_then(|i| i.issuer.clone()),
        alg: info.and_then(|i| i.alg).map(|a| a.to_string()),
        time: info.and_then(|i| i.time.clone()),
        claim_generator: manifest
            .claim_generator()
            .map(str::to_string)
            .or_else(|| claim_generator_name(manifest)),
        certificate_sha256: leaf
            .as_deref()
            .map(|der| crate::hex::encode(&sha2::Sha256::digest(der))),
        trust_list: None,
        expired_now: validity.as_ref().is_some_and(|(_, expired)| *expired),
        not_after: validity.map(|(not_after, _)| not_after),
    }
}

/// The signing certificate (DER): the first of the chain.
fn leaf_certificate(cert_chain_pem: &str) -> Option<Vec<u8>> {
    let pem = x509_parser::prelude::Pem::iter_from_buffer(cert_chain_pem.as_bytes())
        .next()?
        .ok()?;
    Some(pem.contents)
}

/// The signing certificate's end of validity (RFC 3339) and whether it has passed.
fn leaf_validity(der: &[u8]) -> Option<(String, bool)> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let not_after = cert.validity().not_after.to_datetime();
    let text = not_after
        .format(&time::format_description::well_known::Rfc3339)
        .ok()?;
    Some((text, not_after < time::OffsetDateTime::now_utc()))
}

fn claim_generator_name(manifest: &Manifest) -> Option<String> {
    let info = manifest.claim_generator_info.as_ref()?.first()?;
    Some(match info.version.as_deref() {
        Some(version) => format!("{}/{}", info.name, version),
        None => info.name.clone(),
    })
}

pub(super) fn describe_signer(signer: &SignerInfo) -> String {
    let who = match (&signer.common_name, &signer.issuer) {
        (Some(cn), Some(org)) => format!("{cn} ({org})"),
        (Some(name), None) | (None, Some(name)) => name.clone(),
        (None, None) => "an unnamed certificate".to_string(),
    };
    let mut line = format!("signed by {who}");
    if let Some(list) = &signer.trust_list {
        line.push_str(&format!(" (trusted: on {})", trust_list_name(list)));
    }
    if let Some(generator) = &signer.claim_generator {
        line.push_str(&format!(", made with {generator}"));
    }
    line
}

/// The name a report gives the trust list a signer was found on.
fn trust_list_name(uri: &str) -> &str {
    match uri {
        super::OFFICIAL_TRUST_LIST_URI => "the official C2PA trust list",
        super::CONFIGURED_TRUST_URI => "your trust anchors",
        other => other,
    }
}

pub(super) fn trust<'a>(
    successes: impl Iterator<Item = &'a str>,
    failures: impl Iterator<Item = &'a str>,
) -> Trust {
    let failures: Vec<&str> = failures
        .filter(|c| classify(c).class == StatusClass::Trust)
        .collect();
    if failures.contains(&"signingCredential.ocsp.revoked") {
        Trust::Revoked
    } else if failures.iter().any(|c| {
        matches!(
            *c,
            "signingCredential.expired" | "claimSignature.outsideValidity"
        )
    }) {
        Trust::Expired
    } else if failures.is_empty()
        && successes
            .into_iter()
            .any(|c| c == "signingCredential.trusted")
    {
        Trust::Trusted
    } else {
        Trust::Untrusted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_levels_from_status_codes() {
        let t = |ok: &[&str], bad: &[&str]| trust(ok.iter().copied(), bad.iter().copied());
        assert_eq!(t(&["signingCredential.trusted"], &[]), Trust::Trusted);
        assert_eq!(t(&[], &["signingCredential.untrusted"]), Trust::Untrusted);
        assert_eq!(
            t(
                &[],
                &["signingCredential.untrusted", "signingCredential.expired"]
            ),
            Trust::Expired
        );
        assert_eq!(t(&[], &["signingCredential.ocsp.revoked"]), Trust::Revoked);
        // Integrity failures do not make a trusted signer untrusted.
        assert_eq!(
            t(
                &["signingCredential.trusted"],
                &["assertion.dataHash.mismatch"]
            ),
            Trust::Trusted
        );
    }

    #[test]
    fn identity_findings_leave_the_signer_trusted() {
        let t = |ok: &[&str], bad: &[&str]| trust(ok.iter().copied(), bad.iter().copied());
        assert_eq!(
            t(
                &["signingCredential.trusted"],
                &["cawg.x509.credential.untrusted", "cawg.ica.did_unavailable"]
            ),
            Trust::Trusted
        );
    }
}
