//! Asset ids shared by several registry entries (40 random bits collide at scale), against a
//! real SQLite file and a real PostgreSQL server: the fingerprint decides which entry is the
//! image's, and when it cannot, nothing is recovered and the report says so.

use std::path::Path;
use std::sync::Arc;

use image::ImageFormat;
use synthmark::fingerprint::PdqHash;
use synthmark::registry::{Entry, Location, MatchedBy, Query, Registry};
use synthmark::{CheckOptions, Checker, Layer, StampOptions, Stamper, Verdict};

use super::common::{self, dev_identity, ndjson, stderr, synthmark, textured_picture, PgSchema};
use super::{fingerprint_of, png};

/// Stamps a picture, and logs it in `registry` after another output that drew the same asset id
/// (so "the first entry with this id" would be the wrong one); then more sharers. Checks a
/// stripped copy (also left in `home/stripped.png`) each time.
fn exercise(registry: Arc<Registry>, home: &Path) {
    // Stamped with a scratch registry, whose entry is then logged in `registry` by hand.
    let scratch = Arc::new(Registry::open_sqlite(&home.join("scratch.sqlite")).unwrap());
    let stamper = Stamper::new(
        &dev_identity().signing_identity().unwrap(),
        StampOptions::default(),
    )
    .unwrap()
    .with_registry(scratch.clone());
    let stamped = stamper
        .stamp_bytes(&png(&textured_picture(640, 480, 71)), "shared.png")
        .unwrap();
    let id = stamped.watermark.expect("watermarked").to_string();
    let logged = scratch
        .find(&Query {
            asset_id: Some(id.clone()),
            ..Query::default()
        })
        .unwrap()
        .remove(0)
        .stored
        .entry;
    // Another output drew the same 40 bits, and was logged first: a different picture, so a
    // distant fingerprint.
    let other = textured_picture(640, 480, 72);
    registry
        .register_all(&[
            Entry {
                asset_id: Some(id.clone()),
                sha256: [0xd1; 32],
                fingerprint: Some(fingerprint_of(&other)),
                format: "image/png".into(),
                generator: Some("Other/1.0".into()),
                manifest_store: b"another image's credentials".to_vec(),
                created_at: 1,
            },
            logged.clone(),
        ])
        .unwrap();
    // Metadata stripped, pixels (and so the watermark and fingerprint) kept.
    let stripped = common::reencode(&stamped.bytes, ImageFormat::Png);
    std::fs::write(home.join("stripped.png"), &stripped).unwrap();
    let checker = Checker::new(&CheckOptions::default())
        .unwrap()
        .with_registry(registry.clone());

    // `find` returns both sharers, each with its fingerprint's distance to the image.
    let image = image::load_from_memory(&stripped).unwrap().to_rgb8();
    let dihedral = synthmark::fingerprint::pdq_dihedral(image.as_raw(), 640, 480, 3).unwrap();
    let found = registry
        .find(&Query {
            asset_id: Some(id.clone()),
            fingerprint: Some(dihedral),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().all(|m| m.matched_by == MatchedBy::AssetId));
    let distances: Vec<u32> = found
        .iter()
        .map(|m| m.fingerprint_distance.expect("both fingerprints known"))
        .collect();
    assert!(distances[0] > 60 && distances[1] <= 8, "{distances:?}");

    // The fingerprint singles out the stamped output: its credentials, never the other's.
    let report = checker.check_bytes(&stripped);
    assert_eq!(report.verdict, Verdict::UnlabelledAi, "{report:?}");
    let recovered = report.recovered.clone().expect("recovered");
    assert_eq!(recovered.manifest_store, stamped.manifest_store);
    assert_eq!(recovered.others_sharing_asset_id, 1);
    assert!(recovered.fingerprint_distance.is_some_and(|d| d <= 8));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["recovered"]["others_sharing_asset_id"], 1);
    let registry_evidence = report
        .evidence
        .iter()
        .find(|e| e.layer == Layer::Registry)
        .unwrap();
    assert!(
        registry_evidence
            .detail
            .contains(&format!("asset id {id} is shared by 2 registry entries")),
        "{}",
        registry_evidence.detail
    );

    // A third sharer whose fingerprint is within a few bits of the image's: the fingerprint no
    // longer decides, so nothing is recovered, but the image is still a registered output.
    let mut look_alike = logged.fingerprint.expect("a fingerprint");
    look_alike.hash = PdqHash({
        let mut bits = look_alike.hash.0;
        bits[0] ^= 0b1010_0000;
        bits[17] ^= 0b0000_0100;
        bits
    });
    registry
        .register(&Entry {
            asset_id: Some(id.clone()),
            sha256: [0xd2; 32],
            fingerprint: Some(look_alike),
            manifest_store: b"a look-alike's credentials".to_vec(),
            ..logged.clone()
        })
        .unwrap();
    let report = checker.check_bytes(&stripped);
    assert_eq!(report.verdict, Verdict::UnlabelledAi, "{report:?}");
    assert!(report.recovered.is_none(), "{:?}", report.recovered);
    assert!(report.rests_on.contains(&Layer::Registry));
    let ambiguous = report
        .evidence
        .iter()
        .find(|e| e.layer == Layer::Registry)
        .unwrap();
    assert_eq!(ambiguous.code.as_deref(), Some("registry.ambiguous"));
    assert_eq!(
        ambiguous.detail,
        format!("asset id {id} is shared by 3 registry entries and the fingerprint does not single one out; credentials not recovered")
    );
    assert!(
        report.explanation.contains("not one entry for certain"),
        "{}",
        report.explanation
    );
    assert!(serde_json::to_value(&report)
        .unwrap()
        .get("recovered")
        .is_none());

    // The stamped file itself: its SHA-256 decides outright.
    let exact = checker.check_bytes(&stamped.bytes);
    let recovered = exact.recovered.expect("recovered by hash");
    assert_eq!(recovered.matched_by, "identical file (SHA-256)");
    assert_eq!(recovered.manifest_store, stamped.manifest_store);
    assert_eq!(recovered.others_sharing_asset_id, 2);
}

#[test]
fn sqlite_shared_asset_ids_are_told_apart_by_fingerprint_or_not_recovered() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("r.sqlite");
    exercise(Arc::new(Registry::open_sqlite(&path).unwrap()), home.path());
    // `check --recover` skips the ambiguous image and says why.
    let out = home.path().join("recovered");
    let check = synthmark(
        home.path(),
        &[
            "check",
            home.path().join("stripped.png").to_str().unwrap(),
            "--format",
            "ndjson",
            "--registry",
            path.to_str().unwrap(),
            "--recover",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(check.status.success(), "{}", stderr(&check));
    let text = stderr(&check);
    assert!(
        text.contains("not recovered: ") && text.contains("credentials not recovered"),
        "{text}"
    );
    assert!(!out.join("stripped.c2pa").exists());
    let report = ndjson(&check).remove(0);
    assert_eq!(report["verdict"], "unlabelled-ai");
    assert!(report.get("recovered").is_none(), "{report}");
}

#[test]
fn postgres_shared_asset_ids_are_told_apart_by_fingerprint_or_not_recovered() {
    let Some(base) = common::postgres_url() else {
        return;
    };
    let schema = PgSchema::new(&base, "shared");
    let home = tempfile::tempdir().unwrap();
    let registry = Registry::open(&Location::parse(&schema.url).unwrap()).unwrap();
    exercise(Arc::new(registry), home.path());
}
