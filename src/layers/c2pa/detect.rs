//! Reading and validating a C2PA manifest store, reported as evidence.
//!
//! The `c2pa` crate validates hashes, signatures and the certificate chain; this module turns
//! what it says into evidence: failures sorted by [`super::status`] (integrity, trust, CAWG
//! identity), who signed and when ([`super::signer`]), and AI declarations, walking from the
//! active manifest through its ingredients' manifests, because generators often declare the AI
//! source type in an ingredient (ChatGPT, Gemini).

use std::collections::{HashSet, VecDeque};
use std::io::Cursor;
use std::sync::Arc;

use c2pa::validation_status::{SIGNING_CREDENTIAL_TRUSTED, SIGNING_CREDENTIAL_UNTRUSTED};
use c2pa::{Context, Manifest, Reader};
use serde_json::Value;

use super::signer::{describe_signer, describe_timestamp, signer_info, timestamp_info, trust};
pub use super::signer::{SignerInfo, TimestampInfo};
use super::{is_tsa_list, Contexts};
use crate::c2pa_status::{classify, StatusClass};
use crate::format::Format;
use crate::source_type;
use crate::verdict::{Evidence, Finding, Layer, Trust};

/// Everything the C2PA layer saw in one image.
#[derive(Debug, Clone, Default)]
pub struct C2paFindings {
    pub evidence: Vec<Evidence>,
    /// Trust in the active manifest's signer; `None` when there are no credentials.
    pub trust: Option<Trust>,
    pub signer: Option<SignerInfo>,
    pub timestamp: Option<TimestampInfo>,
    /// The active manifest's soft bindings (watermarks and fingerprints it declares).
    pub soft_bindings: Vec<SoftBinding>,
}

/// A `c2pa.soft-binding` assertion: the algorithm and the first block's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftBinding {
    pub alg: String,
    pub value: Vec<u8>,
}

/// The JUMBF description box of a C2PA manifest store: `jumd` followed by the UUID that begins
/// with the ASCII bytes `c2pa`.
const STORE_MARKER: &[u8] = b"jumdc2pa";

/// True when the bytes contain an embedded C2PA manifest store, parseable or not.
pub fn has_manifest_store(bytes: &[u8]) -> bool {
    memchr::memmem::find(bytes, STORE_MARKER).is_some()
}

/// Reads and validates the manifest store of an image.
pub(crate) fn detect(contexts: &Contexts, format: Format, bytes: &[u8]) -> C2paFindings {
    let read = |context: &Arc<Context>| {
        Reader::from_shared_context(context).with_stream(format.mime(), Cursor::new(bytes))
    };
    match read(&contexts.all) {
        Ok(reader) => analyse(&reader, || {
            contexts.signers_only.as_ref().and_then(|c| read(c).ok())
        }),
        Err(c2pa::Error::JumbfNotFound | c2pa::Error::ProvenanceMissing) => C2paFindings::default(),
        Err(c2pa::Error::RemoteManifestUrl(url) | c2pa::Error::RemoteManifestFetch(url)) => {
            C2paFindings {
                evidence: vec![Evidence::new(
                    Layer::C2pa,
                    Finding::RemoteManifest,
                    format!("the image refers to a remote manifest at {url}; it was not fetched (synthmark checks offline)"),
                )
                .with_value(url)],
                ..C2paFindings::default()
            }
        }
        // Claims written before C2PA 1.0 (the CAI "prerelease" format) are refused by the reader.
        // An obsolete format is not evidence of tampering: there are simply no credentials
        // synthmark can validate.
        Err(c2pa::Error::PrereleaseError) => C2paFindings {
            evidence: vec![Evidence::new(
                Layer::C2pa,
                Finding::ObsoleteCredentials,
                "the manifest store predates C2PA 1.0 (a CAI \"prerelease\" claim); it cannot be validated, which is not evidence of tampering",
            )
            .with_code("c2pa.prerelease")],
            ..C2paFindings::default()
        },
        Err(err) if has_manifest_store(bytes) => C2paFindings {
            evidence: vec![Evidence::new(
                Layer::C2pa,
                Finding::Unreadable,
                format!("a C2PA manifest store is embedded but cannot be validated: {err}"),
            )],
            trust: Some(Trust::Untrusted),
            ..C2paFindings::default()
        },
        // The container could not be parsed by the C2PA reader, and there is no manifest store
        // in it: there are no credentials to report on.
        Err(_) => C2paFindings::default(),
    }
}

/// Reads a manifest store held apart from the image (a sidecar, or credentials recovered from
/// the registry) against the image `bytes`. Hash bindings fail when the image is not the file the
/// store was signed for (a re-encoded copy); the signer, trust and declarations are still read.
pub(crate) fn detect_detached(
    contexts: &Contexts,
    store: &[u8],
    format: Format,
    bytes: &[u8],
) -> Result<C2paFindings, c2pa::Error> {
    let read = |context: &Arc<Context>| {
        Reader::from_shared_context(context).with_manifest_data_and_stream(
            store,
            format.mime(),
            Cursor::new(bytes),
        )
    };
    let reader = read(&contexts.all)?;
    Ok(analyse(&reader, || {
        contexts.signers_only.as_ref().and_then(|c| read(c).ok())
    }))
}

/// The trust list that vouches for the active manifest's signer, as `c2pa` reports it.
fn vouching_list(reader: &Reader) -> Option<String> {
    let codes = reader.validation_results()?.active_manifest()?;
    codes
        .success()
        .iter()
        .find(|s| {
            s.code() == SIGNING_CREDENTIAL_TRUSTED
                && s.url().is_some_and(|u| u.ends_with("c2pa.signature"))
        })
        .map(|s| {
            s.trust_list_uri()
                .unwrap_or(super::CONFIGURED_TRUST_URI)
                .to_string()
        })
}

/// `signers_only` reads the same store against the signers' trust anchors alone (see
/// [`Contexts`]); it is only called when a time-stamping list vouched for the signer.
fn analyse(reader: &Reader, signers_only: impl FnOnce() -> Option<Reader>) -> C2paFindings {
    let mut findings = C2paFindings::default();
    let (Some(active), Some(active_label)) = (reader.active_manifest(), reader.active_label())
    else {
        findings.evidence.push(Evidence::new(
            Layer::C2pa,
            Finding::Unreadable,
            "the manifest store has no active manifest",
        ));
        findings.trust = Some(Trust::Untrusted);
        return findings;
    };

    let mut signer = signer_info(active, active_label);
    let results = reader.validation_results();
    let codes = results.and_then(|r| r.active_manifest());
    let failures = codes.map(|c| c.failure().as_slice()).unwrap_or_default();
    let successes = codes.map(|c| c.success().as_slice()).unwrap_or_default();
    signer.trust_list = vouching_list(reader);
    // A time-stamping authority's anchor does not vouch for signers: the signer is trusted only
    // if the signers' anchors alone vouch for it too.
    let vouched_by_authority = signer.trust_list.as_deref().is_some_and(is_tsa_list);
    if vouched_by_authority {
        signer.trust_list = signers_only().and_then(|r| vouching_list(&r));
    }
    let demoted = vouched_by_authority && signer.trust_list.is_none();
    findings.evidence.push(
        Evidence::new(Layer::C2pa, Finding::Credentials, describe_signer(&signer))
            .in_manifest(active_label),
    );
    findings.signer = Some(signer);
    for status in failures {
        if let Some(evidence) = failure_evidence(status.code(), status.explanation(), "") {
            findings.evidence.push(evidence);
        }
    }
    if demoted {
        findings.evidence.extend(failure_evidence(
            SIGNING_CREDENTIAL_UNTRUSTED,
            Some("the signing certificate chains only to a time-stamping authority's trust anchor, which does not vouch for signers"),
            "",
        ));
    }
    findings.trust = Some(trust(
        successes
            .iter()
            .map(|s| s.code())
            .filter(|&c| !(demoted && c == SIGNING_CREDENTIAL_TRUSTED)),
        failures
            .iter()
            .map(|s| s.code())
            .chain(demoted.then_some(SIGNING_CREDENTIAL_UNTRUSTED)),
    ));
    let informational = codes
        .map(|c| c.informational().as_slice())
        .unwrap_or_default();
    let all_codes = || successes.iter().chain(failures).chain(informational);
    let timestamp = timestamp_info(all_codes(), findings.signer.as_ref());
    match (&timestamp, findings.trust) {
        (Some(ts), _) => {
            let mut detail = describe_timestamp(ts);
            let signer = findings.signer.as_ref();
            if let Some(expired) = signer.filter(|s| s.expired_now).and_then(|s| s.not_after.as_ref()) {
                detail.push_str(&format!(
                    "; the signing certificate expired on {expired}, and the timestamp shows the signature was made before that"
                ));
            }
            findings.evidence.push(
                Evidence::new(Layer::C2pa, Finding::Timestamp, detail)
                    .with_value(ts.time.clone().unwrap_or_default()),
            )
        }
        (None, Some(Trust::Expired)) => findings.evidence.push(Evidence::new(
            Layer::C2pa,
            Finding::TrustFinding,
            "the signing certificate has expired and the signature has no timestamp proving it was made while the certificate was valid",
        )),
        _ => {}
    }
    findings.timestamp = timestamp;

    // Ingredient deltas are what validating the ingredients' manifests finds *now* beyond what
    // their ingredient assertions recorded when they were signed: an integrity failure there
    // means the provenance chain was altered after signing. Trust and identity findings about an
    // ingredient's signer stay informational.
    for delta in results
        .and_then(|r| r.ingredient_deltas())
        .into_iter()
        .flatten()
    {
        let uri = delta.ingredient_assertion_uri();
        for status in delta.validation_deltas().failure() {
            findings.evidence.extend(ingredient_evidence(
                uri,
                status.code(),
                status.explanation(),
            ));
        }
    }

    findings.evidence.extend(source_types(reader, active_label));
    findings.soft_bindings = soft_bindings(active);
    findings
}

/// The soft bindings an (active) manifest declares. The block value reads back from the
/// manifest's JSON either as a byte array or as base64 text.
fn soft_bindings(manifest: &Manifest) -> Vec<SoftBinding> {
    manifest
        .assertions()
        .iter()
        .filter(|a| a.label().starts_with("c2pa.soft-binding"))
        .filter_map(|a| {
            let value = a.value().ok()?;
            let alg = value.get("alg")?.as_str()?.to_string();
            let block = value.get("blocks")?.get(0)?.get("value")?;
            let bytes = match block {
                Value::Array(items) => items
                    .iter()
                    .map(|v| v.as_u64().and_then(|n| u8::try_from(n).ok()))
                    .collect::<Option<Vec<u8>>>()?,
                Value::String(text) => {
                    use base64::Engine as _;
                    base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .ok()?
                }
                _ => return None,
            };
            Some(SoftBinding { alg, value: bytes })
        })
        .collect()
}

fn explain(code: &str, explanation: Option<&str>) -> String {
    match explanation {
        Some(text) if !text.is_empty() => format!("{code}: {text}"),
        _ => code.to_string(),
    }
}

/// The evidence a failure status code gives (`prefix` names an ingredient), or `None` for a
/// code that is no failure in synthmark's table.
fn failure_evidence(code: &str, explanation: Option<&str>, prefix: &str) -> Option<Evidence> {
    let classified = classify(code);
    let mut detail = format!("{prefix}{}", explain(code, explanation));
    let finding = match classified.class {
        StatusClass::Success | StatusClass::Informational => return None,
        StatusClass::Trust => Finding::TrustFinding,
        StatusClass::Identity => {
            detail.push_str(" (a CAWG identity assertion: who the creator is, not the content)");
            Finding::IdentityFinding
        }
        StatusClass::Integrity => Finding::IntegrityFailure,
    };
    if !classified.known {
        detail.push_str(
            " (a status code synthmark does not know; counted as c2pa-rs counts its kind)",
        );
    }
    Some(Evidence::new(Layer::C2pa, finding, detail).with_code(code))
}

/// The evidence a failure found now in an ingredient's manifest gives: an `IngredientFailure`
/// with its code (`verdict` decides which codes make the file tampered).
fn ingredient_evidence(uri: &str, code: &str, explanation: Option<&str>) -> Option<Evidence> {
    let mut evidence = failure_evidence(code, explanation, &format!("ingredient {uri}: "))?;
    evidence.finding = Finding::IngredientFailure;
    Some(evidence)
}

/// Digital source types declared in the active manifest and every manifest reachable from it
/// through ingredients.
fn source_types(reader: &Reader, active_label: &str) -> Vec<Evidence> {
    let mut evidence = Vec::new();
    let mut seen = HashSet::new();
    let mut queue = VecDeque::from([active_label.to_string()]);
    while let Some(label) = queue.pop_front() {
        if !seen.insert(label.clone()) {
            continue;
        }
        let Some(manifest) = reader.get_manifest(&label) else {
            continue;
        };
        let role = if label == active_label {
            "active manifest"
        } else {
            "ingredient manifest"
        };
        for (action, source) in declared_source_types(manifest) {
            let (finding, kind) = source_type::finding(&source);
            evidence.push(
                Evidence::new(
                    Layer::C2pa,
                    finding,
                    format!(
                        "{action} declares {kind} {} ({role})",
                        source_type::code(&source)
                    ),
                )
                .in_manifest(&label)
                .with_value(source),
            );
        }
        queue.extend(
            manifest
                .ingredients()
                .iter()
                .filter_map(|i| i.active_manifest().map(str::to_string)),
        );
    }
    evidence
}

/// `(where, source type)` pairs from the actions assertions and IPTC metadata assertions.
fn declared_source_types(manifest: &Manifest) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for assertion in manifest.assertions() {
        let Ok(value) = assertion.value() else {
            continue;
        };
        let label = assertion.label();
        if label.starts_with("c2pa.actions") {
            for action in value["actions"].as_array().into_iter().flatten() {
                if let Some(source) = action["digitalSourceType"].as_str() {
                    let name = action["action"].as_str().unwrap_or("an action");
                    let agent = software_agent(&action["softwareAgent"]);
                    let place = match agent {
                        Some(agent) => format!("{name} by {agent}"),
                        None => name.to_string(),
                    };
                    found.push((place, source.to_string()));
                }
            }
        } else if label == "c2pa.metadata" || label == "stds.iptc" {
            if let Some(source) = value["Iptc4xmpExt:DigitalSourceType"].as_str() {
                found.push((format!("{label} metadata"), source.to_string()));
            }
        }
    }
    found
}

fn software_agent(value: &Value) -> Option<String> {
    match value {
        Value::String(name) => Some(name.clone()),
        Value::Object(agent) => {
            let name = agent.get("name")?.as_str()?;
            Some(match agent.get("version").and_then(Value::as_str) {
                Some(version) => format!("{name}/{version}"),
                None => name.to_string(),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ingredient_failures_keep_their_code_and_name_the_ingredient() {
        let uri = "self#jumbf=c2pa.assertions/c2pa.ingredient.v3";
        let altered = ingredient_evidence(uri, "ingredient.manifest.mismatch", None).unwrap();
        assert_eq!(altered.finding, Finding::IngredientFailure);
        assert!(altered.is_integrity_failure());
        assert!(
            altered.detail.starts_with("ingredient self#jumbf"),
            "{}",
            altered.detail
        );
        let untrusted = ingredient_evidence(uri, "signingCredential.untrusted", None).unwrap();
        assert!(!untrusted.is_integrity_failure());
        assert_eq!(
            ingredient_evidence(uri, "signingCredential.ocsp.skipped", None),
            None
        );
    }

    #[test]
    fn failure_codes_become_the_right_evidence() {
        let finding = |code| failure_evidence(code, None, "").map(|e| e.finding);
        assert_eq!(
            finding("assertion.dataHash.mismatch"),
            Some(Finding::IntegrityFailure)
        );
        assert_eq!(
            finding("signingCredential.untrusted"),
            Some(Finding::TrustFinding)
        );
        assert_eq!(
            finding("cawg.ica.did_unavailable"),
            Some(Finding::IdentityFinding)
        );
        assert_eq!(finding("signingCredential.ocsp.skipped"), None);
        let unknown = failure_evidence("assertion.futureCheck.mismatch", None, "").unwrap();
        assert_eq!(unknown.finding, Finding::IntegrityFailure);
        assert!(
            unknown.detail.contains("does not know"),
            "{}",
            unknown.detail
        );
    }

    #[test]
    fn software_agent_in_both_shapes() {
        assert_eq!(
            software_agent(&serde_json::json!({"name": "GPT-4o"})).as_deref(),
            Some("GPT-4o")
        );
        assert_eq!(
            software_agent(&serde_json::json!({"name": "Gen", "version": "2"})).as_deref(),
            Some("Gen/2")
        );
        assert_eq!(
            software_agent(&serde_json::json!("Adobe Firefly")).as_deref(),
            Some("Adobe Firefly")
        );
        assert_eq!(software_agent(&Value::Null), None);
    }

    #[test]
    fn store_marker_is_found() {
        assert!(has_manifest_store(b"....jumdc2pa...."));
        assert!(!has_manifest_store(b"jumb c2pa"));
    }
}
