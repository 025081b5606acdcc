//! The C2PA layer: signed, hash-bound metadata, through the official `c2pa` crate.
//!
//! [`embed`] builds and signs a manifest that declares an image AI-generated (or AI-edited);
//! [`detect`] reads a manifest store, validates it, and reports what it finds as evidence. This
//! module holds what both share: how the `c2pa` contexts are configured.

pub mod detect;
pub mod embed;
mod signer;
pub mod timestamp;

use std::sync::Arc;

use c2pa::Context;
use serde_json::json;

use crate::identity::SIGNER_EKUS;

/// Why the C2PA layer could not be set up or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum C2paError {
    #[error("invalid C2PA settings: {0}")]
    Settings(Box<c2pa::Error>),
    #[error("cannot read the existing credentials to keep them as an ingredient: {0}")]
    Ingredient(Box<c2pa::Error>),
    #[error("signing failed: {0}")]
    Sign(Box<c2pa::Error>),
    #[error("cannot build the manifest: {0}")]
    Manifest(Box<c2pa::Error>),
}

impl C2paError {
    /// True when the image (its container or the credentials it already carries) is at fault,
    /// not the signer, the timestamping authority or the configuration. The `c2pa` crate reads
    /// and writes the asset with the same error type, so the signer's failures are listed and
    /// everything else about an input is the input's.
    pub fn is_input_fault(&self) -> bool {
        let error = match self {
            C2paError::Settings(_) => return false,
            C2paError::Ingredient(e) | C2paError::Sign(e) | C2paError::Manifest(e) => e,
        };
        !matches!(
            **error,
            c2pa::Error::CoseSignatureAlgorithmNotSupported
                | c2pa::Error::CoseX5ChainMissing
                | c2pa::Error::CoseInvalidCert
                | c2pa::Error::CoseSignature
                | c2pa::Error::CoseVerifier
                | c2pa::Error::CoseTimeStampGeneration
                | c2pa::Error::CoseSigboxTooSmall
                | c2pa::Error::CoseNoCerts
                | c2pa::Error::FailedToRemoteSign
                | c2pa::Error::MissingSignerSettings
                | c2pa::Error::InvalidSigningKey
                | c2pa::Error::ThreadReceiveError
                | c2pa::Error::HttpError(_)
                | c2pa::Error::HttpResolverError(_)
                | c2pa::Error::TimeStampError(_)
                | c2pa::Error::RawSignerError(_)
                | c2pa::Error::CertificateProfileError(_)
                | c2pa::Error::CertificateTrustError(_)
                | c2pa::Error::InvalidCertificateError(_)
                | c2pa::Error::InternalError(_)
                | c2pa::Error::NotImplemented(_)
        )
    }
}

/// The name synthmark signs its claims with (`claim_generator_info`).
pub const CLAIM_GENERATOR: &str = "synthmark";

/// The official C2PA trust list (claim signers), a dated snapshot bundled with synthmark; see
/// `trust/README.md` for its source and how to refresh it.
pub const OFFICIAL_TRUST_LIST_PEM: &str = include_str!("../../../trust/C2PA-TRUST-LIST.pem");
/// The official C2PA trust list for time-stamping authorities (same snapshot).
pub const OFFICIAL_TSA_TRUST_LIST_PEM: &str =
    include_str!("../../../trust/C2PA-TSA-TRUST-LIST.pem");
/// Where the bundled trust list comes from; reports name it for signers found on it.
pub const OFFICIAL_TRUST_LIST_URI: &str =
    "https://github.com/c2pa-org/conformance-public/blob/main/trust-list/C2PA-TRUST-LIST.pem";
/// Where the bundled TSA trust list comes from.
pub const OFFICIAL_TSA_TRUST_LIST_URI: &str =
    "https://github.com/c2pa-org/conformance-public/blob/main/trust-list/C2PA-TSA-TRUST-LIST.pem";
/// The name given to the trust anchors a user configures (`--trust`).
pub const CONFIGURED_TRUST_URI: &str = "urn:synthmark:configured-manifest-anchors";
/// The name given to the time-stamping anchors a user configures (`--tsa-trust`).
const CONFIGURED_TSA_TRUST_URI: &str = "urn:synthmark:configured-tsa-anchors";

/// True for the trust lists that vouch for time-stamping authorities only.
fn is_tsa_list(uri: &str) -> bool {
    uri == OFFICIAL_TSA_TRUST_LIST_URI || uri == CONFIGURED_TSA_TRUST_URI
}

/// How the shared `c2pa` contexts are configured.
#[derive(Debug, Clone, Default)]
pub(crate) struct ContextConfig {
    /// PEM bundle of trust anchors for signers; empty means no signer is trusted.
    pub trust_anchors_pem: String,
    /// PEM bundle of trust anchors for time-stamping authorities.
    pub tsa_trust_anchors_pem: String,
    /// Also trust the official C2PA trust lists bundled with synthmark.
    pub official_trust_lists: bool,
    /// Re-validate every manifest right after signing it.
    pub verify_after_sign: bool,
}

/// The `c2pa` contexts a [`crate::Stamper`] or [`crate::Checker`] shares across threads.
///
/// C2PA keeps the signers' trust list and the time-stamping authorities' apart: a public CA
/// on the TSA list also issues e-mail certificates, which must not sign trusted credentials.
/// `c2pa` (0.91) keeps the time-stamp check to the TSA anchors, but checks a manifest's signer
/// against every anchor it holds and names the first list that vouches for it, in an order that
/// changes from run to run (its settings dedupe anchors through a hash set). So a signer that
/// a TSA list vouches for is checked once more, in [`Contexts::signers_only`].
#[derive(Clone)]
pub(crate) struct Contexts {
    /// Every trust anchor, the signers' and the time-stamping authorities'.
    pub all: Arc<Context>,
    /// The signers' anchors alone; `None` when no time-stamping anchor is configured.
    pub signers_only: Option<Arc<Context>>,
}

/// Builds the contexts once.
///
/// Nothing is fetched from the network: remote manifests and OCSP are off. The signer EKU list
/// accepts emailProtection, documentSigning and the C2PA claim-signing EKU on both sides, so
/// production credentials do not read as invalid.
pub(crate) fn contexts(config: &ContextConfig) -> Result<Contexts, C2paError> {
    let official = |pem| if config.official_trust_lists { pem } else { "" };
    let signers = [
        (config.trust_anchors_pem.as_str(), CONFIGURED_TRUST_URI),
        (official(OFFICIAL_TRUST_LIST_PEM), OFFICIAL_TRUST_LIST_URI),
    ];
    let authorities = [
        (
            config.tsa_trust_anchors_pem.as_str(),
            CONFIGURED_TSA_TRUST_URI,
        ),
        (
            official(OFFICIAL_TSA_TRUST_LIST_PEM),
            OFFICIAL_TSA_TRUST_LIST_URI,
        ),
    ];
    let configured = |lists: &[(&str, &str)]| {
        lists
            .iter()
            .filter(|(pem, _)| !pem.trim().is_empty())
            .count()
            > 0
    };
    Ok(Contexts {
        all: context(config, &signers, &authorities, true)?,
        // Without TSA anchors it could not trust a timestamp, and would judge an expired signing
        // certificate at the current time instead of the signature's: its timestamp's trust was
        // judged by the first read, so here the token only dates the signature.
        signers_only: if configured(&authorities) {
            Some(context(config, &signers, &[], false)?)
        } else {
            None
        },
    })
}

/// One context, trusting `signers` (PEM bundle, list URI) for manifests and `authorities` for
/// time-stamps (and requiring a timestamp's authority to be trusted before its time is used,
/// unless `timestamp_trust` is off).
fn context(
    config: &ContextConfig,
    signers: &[(&str, &str)],
    authorities: &[(&str, &str)],
    timestamp_trust: bool,
) -> Result<Arc<Context>, C2paError> {
    let mut trust_config: String = SIGNER_EKUS.join("\n");
    trust_config.push('\n');
    let mut settings = json!({
        "verify": {
            "verify_after_reading": true,
            "verify_after_sign": config.verify_after_sign,
            "verify_trust": true,
            "verify_timestamp_trust": timestamp_trust,
            "remote_manifest_fetch": false,
            "ocsp_fetch": false,
        },
        "trust": { "trust_config": trust_config },
        "builder": {
            "claim_generator_info": { "name": CLAIM_GENERATOR, "version": env!("CARGO_PKG_VERSION") },
            "thumbnail": { "enabled": false },
        },
    });
    let anchors: Vec<_> = signers
        .iter()
        .map(|list| (list, "manifest"))
        .chain(authorities.iter().map(|list| (list, "tsa")))
        .filter(|((pem, _), _)| !pem.trim().is_empty())
        .map(|((pem, uri), kind)| {
            json!({
                "trust_anchors": pem,
                "trust_uri": uri,
                "trust_kind": kind,
            })
        })
        .collect();
    if !anchors.is_empty() {
        settings["trust"]["anchors"] = json!(anchors);
    }
    Ok(Context::new()
        .with_settings(settings)
        .map_err(|e| C2paError::Settings(Box::new(e)))?
        .into_shared())
}
