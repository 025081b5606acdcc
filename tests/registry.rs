//! The registry layer against real databases: SQLite files and a PostgreSQL server (never a
//! mock), through the library and through separate `synthmark` processes.

mod common;
#[path = "registry/shared_asset_ids.rs"]
mod shared_asset_ids;

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use image::{DynamicImage, ImageFormat};
use synthmark::fingerprint::{pdq, pdq_dihedral, Fingerprint};
use synthmark::registry::{Entry, Location, MatchedBy, Query, Registry, RegistryError};
use synthmark::{CheckOptions, Checker, Layer, StampError, StampOptions, Stamper, Verdict};

use common::{dev_identity, ndjson, stderr, synthmark, textured_picture, PgSchema};

fn png(image: &image::RgbImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

/// What platforms do to uploads: metadata stripped, resized to half, JPEG quality 40.
fn strip_resize_jpeg40(bytes: &[u8]) -> Vec<u8> {
    let decoded = image::load_from_memory(bytes).unwrap();
    let half = decoded.resize_exact(
        decoded.width() / 2,
        decoded.height() / 2,
        image::imageops::FilterType::Triangle,
    );
    let mut out = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 40)
        .encode_image(&DynamicImage::ImageRgb8(half.to_rgb8()))
        .unwrap();
    out.into_inner()
}

fn fingerprint_of(image: &image::RgbImage) -> Fingerprint {
    pdq(
        image.as_raw(),
        image.width() as usize,
        image.height() as usize,
        3,
    )
    .unwrap()
}

fn entry(seed: u32, asset_id: Option<&str>, created_at: i64) -> Entry {
    let image = textured_picture(320, 240, seed);
    let mut sha256 = [0u8; 32];
    sha256[..4].copy_from_slice(&seed.to_be_bytes());
    Entry {
        asset_id: asset_id.map(str::to_string),
        sha256,
        fingerprint: Some(fingerprint_of(&image)),
        format: "image/png".into(),
        generator: Some("ExampleDiffusion/2.1".into()),
        manifest_store: vec![seed as u8; 100],
        created_at,
    }
}

/// The store contract, run against each backend.
fn exercise(registry: &Registry) {
    assert_eq!(registry.count().unwrap(), 0);
    let now = synthmark::registry::now_unix();
    let old = entry(1, Some("00000000aa"), now - 400 * 86_400);
    let fresh = entry(2, Some("00000000bb"), now);
    let no_mark = entry(3, None, now);
    let ids = registry
        .register_all(&[old.clone(), fresh.clone(), no_mark.clone()])
        .unwrap();
    assert_eq!(ids.len(), 3);
    assert_eq!(registry.count().unwrap(), 3);

    // Exact lookups.
    let by_id = registry
        .find(&Query {
            asset_id: Some("00000000bb".into()),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(by_id.len(), 1);
    assert_eq!(by_id[0].matched_by, MatchedBy::AssetId);
    assert_eq!(by_id[0].stored.entry, fresh);
    let by_sha = registry
        .find(&Query {
            sha256: Some(no_mark.sha256),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(by_sha[0].stored.entry, no_mark);

    // Nearest neighbour: the same picture re-encoded and resized is found; another is not.
    let picture = textured_picture(320, 240, 3);
    let attacked = image::load_from_memory(&strip_resize_jpeg40(&png(&picture)))
        .unwrap()
        .to_rgb8();
    let query = pdq_dihedral(
        attacked.as_raw(),
        attacked.width() as usize,
        attacked.height() as usize,
        3,
    )
    .unwrap();
    assert!(
        query.original.is_matchable(),
        "quality {}",
        query.original.quality
    );
    let found = registry
        .find(&Query {
            fingerprint: Some(query),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].stored.id, ids[2]);
    assert!(matches!(found[0].matched_by, MatchedBy::Fingerprint { distance } if distance <= 31));
    let stranger = textured_picture(320, 240, 99);
    let unrelated = pdq_dihedral(stranger.as_raw(), 320, 240, 3).unwrap();
    assert!(registry
        .find(&Query {
            fingerprint: Some(unrelated),
            ..Query::default()
        })
        .unwrap()
        .is_empty());
    // A mirrored copy is found through the dihedral variants.
    let mirrored = image::imageops::flip_horizontal(&picture);
    let mirrored = pdq_dihedral(mirrored.as_raw(), 320, 240, 3).unwrap();
    assert_eq!(
        registry
            .find(&Query {
                fingerprint: Some(mirrored),
                ..Query::default()
            })
            .unwrap()
            .len(),
        1
    );

    // Retention: prune removes only the old entry; delete by asset id and by SHA-256.
    assert_eq!(registry.prune_before(now - 365 * 86_400).unwrap(), 1);
    assert_eq!(registry.count().unwrap(), 2);
    assert_eq!(registry.delete("00000000BB").unwrap(), 1);
    assert_eq!(registry.delete(&common::hex(&no_mark.sha256)).unwrap(), 1);
    assert_eq!(registry.delete("00000000bb").unwrap(), 0);
    assert_eq!(registry.count().unwrap(), 0);
    // The deleted fingerprint is gone from the index too.
    assert!(registry
        .find(&Query {
            fingerprint: Some(query),
            ..Query::default()
        })
        .unwrap()
        .is_empty());
}

#[test]
fn sqlite_registry_logs_finds_and_forgets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/registry.sqlite");
    exercise(&Registry::open_sqlite(&path).unwrap());
    // Reopening runs no migration twice.
    let again = Registry::open_sqlite(&path).unwrap();
    assert_eq!(again.count().unwrap(), 0);
}

#[test]
fn postgres_registry_logs_finds_and_forgets() {
    let Some(base) = common::postgres_url() else {
        return;
    };
    let schema = PgSchema::new(&base, "store");
    let location = Location::parse(&schema.url).unwrap();
    exercise(&Registry::open(&location).unwrap());
    // A second instance opening the same registry finds it migrated.
    assert_eq!(Registry::open(&location).unwrap().count().unwrap(), 0);
}

#[test]
fn a_corrupt_or_newer_registry_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.sqlite");
    std::fs::write(&garbage, vec![0x42u8; 8192]).unwrap();
    let err = Registry::open_sqlite(&garbage).unwrap_err().to_string();
    assert!(
        err.contains("garbage.sqlite") && err.contains("not a synthmark registry"),
        "{err}"
    );

    let newer = dir.path().join("newer.sqlite");
    drop(Registry::open_sqlite(&newer).unwrap());
    let connection = rusqlite::Connection::open(&newer).unwrap();
    connection
        .execute("INSERT INTO synthmark_schema (version) VALUES (99)", [])
        .unwrap();
    drop(connection);
    assert!(matches!(
        Registry::open_sqlite(&newer),
        Err(RegistryError::NewerSchema { found: 99, .. })
    ));

    let unreachable =
        Registry::open(&Location::parse("postgres://nobody:secret@127.0.0.1:1/x").unwrap())
            .unwrap_err()
            .to_string();
    assert!(
        unreachable.contains("127.0.0.1:1") && !unreachable.contains("secret"),
        "{unreachable}"
    );
}

#[test]
fn stamping_logs_and_checking_recovers_through_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Arc::new(Registry::open_sqlite(&dir.path().join("r.sqlite")).unwrap());
    let dev = dev_identity();
    let stamper = Stamper::new(&dev.signing_identity().unwrap(), StampOptions::default())
        .unwrap()
        .with_registry(registry.clone());
    let stamped = stamper
        .stamp_bytes(&png(&textured_picture(640, 480, 5)), "generated.png")
        .unwrap();
    assert!(stamped.registered.is_some());
    let options = CheckOptions {
        trust_anchors_pem: dev.ca_pem.clone(),
        ..CheckOptions::default()
    };
    let checker = Checker::new(&options).unwrap().with_registry(registry);

    // The intact file: labelled, and the registry is a further layer it rests on.
    let intact = checker.check_bytes(&stamped.bytes);
    assert_eq!(intact.verdict, Verdict::LabelledAi);
    assert!(intact.rests_on.contains(&Layer::Registry));

    let report = checker.check_bytes(&strip_resize_jpeg40(&stamped.bytes));
    assert_eq!(report.verdict, Verdict::UnlabelledAi, "{report:?}");
    assert!(report
        .explanation
        .contains("credentials recovered from the registry"));
    let recovered = report.recovered.expect("recovered credentials");
    assert_eq!(recovered.manifest_store, stamped.manifest_store);
    assert_eq!(
        recovered.asset_id,
        stamped.watermark.map(|id| id.to_string())
    );
    assert_eq!(recovered.trust, Some(synthmark::Trust::Trusted));
    assert!(recovered
        .source_type
        .as_deref()
        .is_some_and(|s| s.ends_with("trainedAlgorithmicMedia")));
}

/// Stamps through one process, checks through another, sharing `registry`.
fn stamp_strip_check(home: &Path, registry: &str, watermark: bool) -> serde_json::Value {
    let input = home.join("generated.png");
    std::fs::write(&input, png(&textured_picture(800, 600, 11))).unwrap();
    let out = home.join("stamped");
    let mut args = vec![
        "stamp",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--registry",
        registry,
    ];
    if !watermark {
        args.push("--no-watermark");
    }
    let stamp = synthmark(home, &args);
    assert!(stamp.status.success(), "{}", stderr(&stamp));
    let stamped = std::fs::read(out.join("generated.png")).unwrap();
    let uploaded = home.join("uploaded.jpg");
    std::fs::write(&uploaded, strip_resize_jpeg40(&stamped)).unwrap();
    let recovered_dir = home.join("recovered");
    let check = synthmark(
        home,
        &[
            "check",
            uploaded.to_str().unwrap(),
            "--format",
            "ndjson",
            "--registry",
            registry,
            "--recover",
            "--out",
            recovered_dir.to_str().unwrap(),
        ],
    );
    assert!(check.status.success(), "{}", stderr(&check));
    let report = ndjson(&check).remove(0);
    // The recovered image is the upload, unchanged; the sidecar is the stamped manifest store.
    assert_eq!(
        std::fs::read(recovered_dir.join("uploaded.jpg")).unwrap(),
        std::fs::read(&uploaded).unwrap()
    );
    let sidecar = std::fs::read(recovered_dir.join("uploaded.c2pa")).unwrap();
    assert_eq!(
        c2pa_store_of(&stamped),
        sidecar,
        "the sidecar holds the manifest store embedded at stamping"
    );
    report
}

fn c2pa_store_of(png: &[u8]) -> Vec<u8> {
    c2pa::jumbf_io::load_jumbf_from_memory("image/png", png).unwrap()
}

#[test]
fn two_processes_share_a_postgres_registry_and_recover_stripped_credentials() {
    let Some(base) = common::postgres_url() else {
        return;
    };
    for watermark in [true, false] {
        let schema = PgSchema::new(&base, if watermark { "wm" } else { "nowm" });
        let home = tempfile::tempdir().unwrap();
        let report = stamp_strip_check(home.path(), &schema.url, watermark);
        assert_eq!(report["verdict"], "unlabelled-ai", "{report}");
        let explanation = report["explanation"].as_str().unwrap();
        assert!(
            explanation.contains("credentials recovered from the registry"),
            "{explanation}"
        );
        assert!(report["rests_on"]
            .as_array()
            .unwrap()
            .contains(&"registry".into()));
        let matched_by = report["recovered"]["matched_by"].as_str().unwrap();
        if watermark {
            // Half size at quality 40 usually leaves too little of the watermark on a picture
            // this small; the fingerprint finds the entry, which carries the asset id.
            assert!(report["recovered"]["asset_id"].is_string(), "{report}");
        } else {
            // Only the fingerprint is left to find it.
            assert!(matched_by.starts_with("PDQ fingerprint"), "{matched_by}");
            assert!(report["recovered"].get("asset_id").is_none());
            assert_eq!(report["rests_on"], serde_json::json!(["registry"]));
        }
    }
}

#[test]
fn registry_commands_import_prune_and_delete() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let registry = home.join("r.sqlite");
    let registry = registry.to_str().unwrap();
    let input = home.join("a.png");
    std::fs::write(&input, png(&textured_picture(400, 300, 21))).unwrap();
    let out = home.join("out");
    let stamp = synthmark(
        home,
        &[
            "stamp",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--no-registry",
        ],
    );
    assert!(stamp.status.success(), "{}", stderr(&stamp));
    let stamped = out.join("a.png");
    // Import logs the stamped file once; the unstamped input is refused with the reason.
    let import = synthmark(
        home,
        &[
            "registry",
            "import",
            stamped.to_str().unwrap(),
            input.to_str().unwrap(),
            "--registry",
            registry,
        ],
    );
    assert_eq!(import.status.code(), Some(1), "{}", stderr(&import));
    let text = stderr(&import);
    assert!(
        text.contains("a.png: not imported: it is no-signal"),
        "{text}"
    );
    let empty = home.join("empty.jpg");
    std::fs::write(&empty, b"").unwrap();
    let refused = synthmark(
        home,
        &[
            "registry",
            "import",
            empty.to_str().unwrap(),
            "--registry",
            registry,
        ],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("empty.jpg: not imported: the file is empty"),
        "{}",
        stderr(&refused)
    );
    assert!(text.contains("1 logged"), "{text}");
    let again = synthmark(
        home,
        &[
            "registry",
            "import",
            stamped.to_str().unwrap(),
            "--registry",
            registry,
        ],
    );
    assert!(
        stderr(&again).contains("1 already there"),
        "{}",
        stderr(&again)
    );
    let info = synthmark(home, &["registry", "info", "--registry", registry]);
    assert!(common::stdout(&info).contains("entries: 1"));

    // The stamped image's asset id deletes it.
    let check = synthmark(
        home,
        &[
            "check",
            stamped.to_str().unwrap(),
            "--format",
            "ndjson",
            "--registry",
            registry,
        ],
    );
    let report = ndjson(&check).remove(0);
    let id = report["recovered"]["asset_id"]
        .as_str()
        .unwrap()
        .to_string();
    let delete = synthmark(home, &["registry", "delete", &id, "--registry", registry]);
    assert!(delete.status.success(), "{}", stderr(&delete));
    let missing = synthmark(home, &["registry", "delete", &id, "--registry", registry]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("no entry"));

    // Prune by age: an entry logged now survives `--older-than 1d`, not `--older-than 0s`.
    synthmark(
        home,
        &[
            "registry",
            "import",
            stamped.to_str().unwrap(),
            "--registry",
            registry,
        ],
    );
    let keep = synthmark(
        home,
        &[
            "registry",
            "prune",
            "--older-than",
            "1d",
            "--registry",
            registry,
        ],
    );
    assert!(
        common::stdout(&keep).starts_with("0 entries"),
        "{}",
        common::stdout(&keep)
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let prune = synthmark(
        home,
        &[
            "registry",
            "prune",
            "--older-than",
            "0s",
            "--registry",
            registry,
        ],
    );
    assert!(
        common::stdout(&prune).starts_with("1 entries"),
        "{}",
        common::stdout(&prune)
    );
}

#[test]
fn an_unusable_registry_fails_the_stamp_loudly_and_check_answers_without_it() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let input = home.join("a.png");
    std::fs::write(&input, png(&textured_picture(400, 300, 31))).unwrap();
    let corrupt = home.join("corrupt.sqlite");
    std::fs::write(
        &corrupt,
        b"this is not a database, it is a text file that got in the way",
    )
    .unwrap();
    for registry in [
        corrupt.to_str().unwrap(),
        "postgres://synthmark@127.0.0.1:1/none",
    ] {
        let out = home.join("out");
        let stamp = synthmark(
            home,
            &[
                "stamp",
                input.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--registry",
                registry,
            ],
        );
        assert_eq!(stamp.status.code(), Some(2), "{}", stderr(&stamp));
        let text = stderr(&stamp);
        assert!(
            text.contains("cannot open the registry") && text.contains("--no-registry"),
            "{text}"
        );
        assert!(
            !out.join("a.png").exists(),
            "nothing is stamped without its registry entry"
        );

        // A stamped, stripped image: the watermark still answers, and the report says why the
        // registry did not.
        let stamped_dir = home.join("stamped");
        let _ = std::fs::remove_dir_all(&stamped_dir);
        let ok = synthmark(
            home,
            &[
                "stamp",
                input.to_str().unwrap(),
                "--out",
                stamped_dir.to_str().unwrap(),
                "--no-registry",
            ],
        );
        assert!(ok.status.success());
        let stripped = home.join("stripped.png");
        let stamped = std::fs::read(stamped_dir.join("a.png")).unwrap();
        std::fs::write(&stripped, common::reencode(&stamped, ImageFormat::Png)).unwrap();
        let check = synthmark(
            home,
            &[
                "check",
                stripped.to_str().unwrap(),
                "--format",
                "ndjson",
                "--registry",
                registry,
            ],
        );
        assert!(check.status.success(), "{}", stderr(&check));
        let report = ndjson(&check).remove(0);
        assert_eq!(report["verdict"], "unlabelled-ai");
        assert_eq!(report["rests_on"], serde_json::json!(["watermark"]));
        let unavailable = report["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["layer"] == "registry")
            .expect("a registry note");
        assert_eq!(unavailable["finding"], "unavailable");
        assert!(unavailable["detail"]
            .as_str()
            .unwrap()
            .contains("registry unavailable"));
    }
    assert!(
        std::fs::read(&corrupt)
            .unwrap()
            .starts_with(b"this is not a database"),
        "left as it was"
    );
}

#[test]
fn a_registry_that_fails_mid_batch_fails_that_stamp_with_the_reason() {
    let Some(base) = common::postgres_url() else {
        return;
    };
    let schema = PgSchema::new(&base, "broken");
    let registry = Arc::new(Registry::open(&Location::parse(&schema.url).unwrap()).unwrap());
    let stamper = Stamper::new(
        &dev_identity().signing_identity().unwrap(),
        StampOptions::default(),
    )
    .unwrap()
    .with_registry(registry);
    let image = png(&textured_picture(320, 240, 41));
    assert!(stamper.stamp_bytes(&image, "first.png").is_ok());
    // Someone drops the table under the running instance.
    let mut admin = postgres::Client::connect(&schema.url, postgres::NoTls).unwrap();
    admin.batch_execute("DROP TABLE entries").unwrap();
    let err = stamper.stamp_bytes(&image, "second.png").unwrap_err();
    assert!(matches!(err, StampError::Registry(_)), "{err:?}");
    // The library says what failed; the way out (`--no-registry`) is the command line's advice
    // (`an_unusable_registry_fails_the_stamp_loudly...` checks that the CLI gives it).
    let err = err.to_string();
    assert!(
        err.contains("not logged in the registry")
            && err.contains("entries")
            && !err.contains("--"),
        "{err}"
    );
}

#[test]
fn a_postgres_registry_reconnects_after_the_server_drops_its_connection() {
    let Some(base) = common::postgres_url() else {
        return;
    };
    let schema = PgSchema::new(&base, "reconnect");
    let name = format!("synthmark-reconnect-{}", std::process::id());
    let url = format!("{}&application_name={name}", schema.url);
    let registry = Registry::open(&Location::parse(&url).unwrap()).unwrap();
    registry
        .register(&entry(61, Some("00000000cc"), 0))
        .unwrap();
    // What a database restart or an idle-connection killer does to a long-running service.
    let mut admin = postgres::Client::connect(&base, postgres::NoTls).unwrap();
    let killed = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&name],
        )
        .unwrap();
    assert_eq!(killed.len(), 1);
    assert_eq!(registry.count().unwrap(), 1, "answered on a new connection");
}
