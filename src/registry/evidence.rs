//! The registry as a checking layer: ask the registry about an image (by the asset id its
//! watermark carries, by its SHA-256 and by its PDQ fingerprint), let [`choose`] decide which
//! entry it is, and turn that into evidence with the recovered credentials' summary, or into an
//! ambiguous match that recovers nothing.

use serde::Serialize;

use super::choice::{choose, Choice, Chosen};
use super::{hex, Query, Registry};
use crate::format::Format;
use crate::layers::c2pa::{detect, Contexts};
use crate::layers::fingerprint::pdq_dihedral;
use crate::layers::watermark::AssetId;
use crate::layers::Input;
use crate::verdict::{Evidence, Finding, Layer, Trust};

/// Credentials recovered from the registry for an image whose own were stripped or broken.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Recovered {
    /// How the entry was found, e.g. `PDQ fingerprint, 12/256 bits apart`.
    pub matched_by: String,
    /// The asset id of the stamped output, when it was watermarked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset_id: Option<String>,
    /// Bits between the stamped output's PDQ fingerprint and this image's, when both are known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint_distance: Option<u32>,
    /// How many other registry entries carry the same asset id (40-bit ids collide at scale);
    /// the fingerprint or the file's hash told them apart.
    #[serde(skip_serializing_if = "is_zero")]
    pub others_sharing_asset_id: usize,
    /// SHA-256 of the stamped output (the file the credentials are bound to).
    pub sha256: String,
    /// The active manifest's label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// Trust in the recovered manifest's signer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust: Option<Trust>,
    /// The digital source type the recovered manifest declares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
    /// MIME type of the stamped output.
    pub format: String,
    /// When it was stamped (RFC 3339).
    pub stamped_at: String,
    /// The signed manifest store (JUMBF) to write as a sidecar `.c2pa` file.
    #[serde(skip)]
    pub manifest_store: Vec<u8>,
}

/// What the registry layer found for one image.
#[derive(Debug, Default)]
pub struct RegistryFindings {
    pub evidence: Vec<Evidence>,
    pub recovered: Option<Recovered>,
}

/// Asks the registry about the image, by `asset_id` (the one its watermark carries), its hash
/// and, when pixel layers are on, its fingerprint. A registry error becomes an `unavailable`
/// note, never a failure.
pub fn evidence(
    registry: &Registry,
    contexts: &Contexts,
    input: &Input,
    asset_id: Option<AssetId>,
) -> RegistryFindings {
    let (format, bytes, sha256) = (input.format, input.bytes, input.sha256);
    let asset_id = asset_id.map(|id| id.to_string());
    // The decoded pixels as they are (8-bit RGB or RGBA): an RGBA copy of an RGB image would
    // cost more than the fingerprint's own luma pass, for the same luma.
    let fingerprint = input.pixels.image().and_then(|image| {
        let (width, height) = (image.width() as usize, image.height() as usize);
        match image {
            image::DynamicImage::ImageRgb8(rgb) => pdq_dihedral(rgb.as_raw(), width, height, 3),
            _ => input
                .pixels
                .rgba()
                .and_then(|rgba| pdq_dihedral(rgba.as_raw(), width, height, 4)),
        }
    });
    let query = Query {
        asset_id,
        sha256: Some(sha256),
        fingerprint,
    };
    let matches = match registry.find(&query) {
        Ok(matches) => matches,
        Err(err) => return unavailable(&err.to_string()),
    };
    let chosen = match choose(&query, &matches) {
        Choice::NotFound => return RegistryFindings::default(),
        Choice::Ambiguous { reason } => return ambiguous(reason, query.asset_id),
        Choice::Recovered(chosen) => chosen,
    };
    let recovered = recover(contexts, format, bytes, &chosen);
    // The registry's location stays out of the report: a public service would otherwise show
    // its database address to everyone who checks an image.
    let how = match &chosen.note {
        Some(note) => format!("matched by {}; {note}", recovered.matched_by),
        None => format!("matched by {}", recovered.matched_by),
    };
    let mut detail = format!(
        "credentials recovered from the registry ({how}): {}",
        summary(&recovered)
    );
    let more = matches.len() - 1 - recovered.others_sharing_asset_id;
    if more > 0 {
        let (noun, verb) = if more == 1 {
            ("entry", "matches")
        } else {
            ("entries", "match")
        };
        detail.push_str(&format!("; {more} more {noun} {verb}"));
    }
    let value = recovered
        .asset_id
        .clone()
        .unwrap_or_else(|| recovered.sha256.clone());
    RegistryFindings {
        evidence: vec![
            Evidence::new(Layer::Registry, Finding::RegistryMatch, detail).with_value(value),
        ],
        recovered: Some(recovered),
    }
}

/// The image is in the registry, but which entry it is cannot be told: a registry match (it is
/// a registered output either way) without credentials.
fn ambiguous(reason: String, asset_id: Option<String>) -> RegistryFindings {
    let mut evidence =
        Evidence::new(Layer::Registry, Finding::RegistryMatch, reason).with_code(AMBIGUOUS);
    evidence.value = asset_id;
    RegistryFindings {
        evidence: vec![evidence],
        recovered: None,
    }
}

/// The code of a registry match that recovered nothing because several entries fit.
pub const AMBIGUOUS: &str = crate::verdict::REGISTRY_AMBIGUOUS;

/// The note for a registry that could not be asked.
pub fn unavailable(reason: &str) -> RegistryFindings {
    RegistryFindings {
        evidence: vec![Evidence::new(
            Layer::Registry,
            Finding::Unavailable,
            format!("registry unavailable, the verdict rests on the other layers: {reason}"),
        )],
        recovered: None,
    }
}

/// The chosen entry, with signer, trust and source type read from its manifest store.
fn recover(contexts: &Contexts, format: Format, bytes: &[u8], chosen: &Chosen<'_>) -> Recovered {
    let entry = &chosen.found.stored.entry;
    let stamped_at = time::OffsetDateTime::from_unix_timestamp(entry.created_at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| entry.created_at.to_string());
    let mut recovered = Recovered {
        matched_by: chosen.matched_by.to_string(),
        asset_id: entry.asset_id.clone(),
        fingerprint_distance: chosen.found.fingerprint_distance,
        others_sharing_asset_id: chosen.others_sharing_asset_id,
        sha256: hex(&entry.sha256),
        manifest: None,
        signer: None,
        trust: None,
        source_type: None,
        generator: entry.generator.clone(),
        format: entry.format.clone(),
        stamped_at,
        manifest_store: entry.manifest_store.clone(),
    };
    // The store is bound to the stamped file, not to this copy: hash failures are expected and
    // not reported; who signed it, whether they are trusted and what it declares still hold.
    if let Ok(findings) = detect::detect_detached(contexts, &entry.manifest_store, format, bytes) {
        if let Some(signer) = findings.signer {
            recovered.manifest = Some(signer.manifest.clone());
            recovered.signer = signer.common_name.or(signer.issuer);
        }
        recovered.trust = findings.trust;
        recovered.source_type = findings
            .evidence
            .iter()
            .find(|e| e.finding == Finding::AiSourceType)
            .and_then(|e| e.value.clone());
    }
    recovered
}

fn summary(recovered: &Recovered) -> String {
    let mut parts = Vec::new();
    if let Some(manifest) = &recovered.manifest {
        parts.push(format!("manifest {manifest}"));
    }
    match (&recovered.signer, recovered.trust) {
        (Some(signer), Some(trust)) => parts.push(format!("signed by {signer} ({trust})")),
        (Some(signer), None) => parts.push(format!("signed by {signer}")),
        _ => {}
    }
    if let Some(source_type) = &recovered.source_type {
        parts.push(format!(
            "declares {}",
            crate::source_type::code(source_type)
        ));
    }
    if let Some(generator) = &recovered.generator {
        parts.push(format!("generator {generator}"));
    }
    if let Some(id) = &recovered.asset_id {
        parts.push(format!("asset id {id}"));
    }
    parts.push(format!("stamped {}", recovered.stamped_at));
    parts.join(", ")
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
