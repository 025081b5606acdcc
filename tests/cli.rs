//! The `synthmark` binary as a user drives it: keygen, batches with bad files, standard input,
//! output safety, exit codes and machine-readable output.

mod common;

use std::path::Path;

use common::*;
use synthmark::Format;

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A folder with three good images (one nested) and three bad ones, plus a text file that a
/// directory walk passes over.
fn mixed_folder(root: &Path) {
    write(&root.join("good.jpg"), &image_bytes(Format::Jpeg));
    write(&root.join("good.png"), &image_bytes(Format::Png));
    write(&root.join("nested/good.webp"), &image_bytes(Format::Webp));
    write(&root.join("empty.jpg"), b"");
    let mut truncated = image_bytes(Format::Jpeg);
    truncated.truncate(truncated.len() / 2);
    write(&root.join("truncated.jpg"), &truncated);
    write(&root.join("text.png"), b"this is not a picture\n");
    write(&root.join("README.txt"), b"notes\n");
}

/// `check --format ndjson --trust CA TARGET`, which must exit 0; the parsed reports.
fn check_trusting(home: &Path, ca: &Path, target: &Path) -> Vec<serde_json::Value> {
    let checked = synthmark(
        home,
        &[
            "check",
            "--format",
            "ndjson",
            "--trust",
            ca.to_str().unwrap(),
            target.to_str().unwrap(),
        ],
    );
    assert_eq!(checked.status.code(), Some(0), "{}", stderr(&checked));
    ndjson(&checked)
}

fn keygen(home: &Path) -> std::path::PathBuf {
    let id = home.join("id");
    let out = synthmark(home, &["keygen", "--out", id.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    id
}

#[test]
fn keygen_writes_a_private_key_0600_and_refuses_to_overwrite() {
    let home = tempfile::tempdir().unwrap();
    let id = keygen(home.path());
    for name in ["ca.pem", "cert.pem", "key.pem"] {
        assert!(id.join(name).is_file(), "{name}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(id.join("key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let key_before = std::fs::read(id.join("key.pem")).unwrap();
    let again = synthmark(home.path(), &["keygen", "--out", id.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));
    assert_eq!(std::fs::read(id.join("key.pem")).unwrap(), key_before);
    let printed = stdout(&again) + &stderr(&again);
    assert!(!printed.contains("PRIVATE KEY"), "the key is never echoed");

    let ed = synthmark(
        home.path(),
        &[
            "keygen",
            "--alg",
            "ed25519",
            "--force",
            "--out",
            id.to_str().unwrap(),
        ],
    );
    assert!(ed.status.success(), "{}", stderr(&ed));
    assert!(stdout(&ed).contains("DEVELOPMENT"));
}

#[test]
fn a_mixed_batch_stamps_the_good_reports_the_bad_and_touches_no_input() {
    let home = tempfile::tempdir().unwrap();
    let id = keygen(home.path());
    let inputs = home.path().join("in");
    mixed_folder(&inputs);
    let before = fingerprint(&inputs);
    let out_dir = home.path().join("out");
    let (cert, key) = (id.join("cert.pem"), id.join("key.pem"));
    let out = synthmark(
        home.path(),
        &[
            "stamp",
            inputs.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--generator",
            "CliTest/1.0",
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("3 stamped"), "{err}");
    assert!(err.contains("3 failed"), "{err}");
    assert!(err.contains("empty.jpg: the file is empty"), "{err}");
    assert!(
        err.contains("truncated.jpg: JPEG is truncated or corrupt"),
        "{err}"
    );
    assert!(err.contains("text.png: not a supported image"), "{err}");
    assert!(
        !err.contains("README.txt"),
        "non-images in a folder are passed over: {err}"
    );
    assert!(
        !err.contains("DEVELOPMENT identity"),
        "an explicit identity gives no warning"
    );
    assert_eq!(fingerprint(&inputs), before, "inputs are never modified");
    for good in ["good.jpg", "good.png", "nested/good.webp"] {
        assert!(out_dir.join(good).is_file(), "{good}");
    }
    assert!(
        !out_dir.join("empty.jpg").exists(),
        "no output for a failed file"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files: {leftovers:?}");

    // check: trusted with the CA, untrusted without; ndjson with the documented fields.
    let reports = check_trusting(home.path(), &id.join("ca.pem"), &out_dir);
    assert_eq!(reports.len(), 3);
    for report in &reports {
        assert_eq!(report["verdict"], "labelled-ai", "{report}");
        assert_eq!(report["trust"], "trusted", "{report}");
        assert!(report["path"].as_str().is_some());
        // Stamping logged every output in the default registry, which check consults.
        assert_eq!(report["rests_on"], serde_json::json!(["c2pa", "registry"]));
        let evidence = report["evidence"].as_array().unwrap();
        assert!(evidence.iter().any(|e| e["finding"] == "ai-source-type"
            && e["value"] == synthmark::source_types::TRAINED_ALGORITHMIC_MEDIA));
    }
    let untrusted = synthmark(
        home.path(),
        &["check", "--format", "json", out_dir.to_str().unwrap()],
    );
    assert_eq!(untrusted.status.code(), Some(0));
    let reports: Vec<serde_json::Value> = serde_json::from_str(&stdout(&untrusted)).unwrap();
    assert!(reports
        .iter()
        .all(|r| r["trust"] == "untrusted" && r["verdict"] == "labelled-ai"));

    // Checking the original folder: unlabelled images, and errors for the bad files.
    let originals = synthmark(
        home.path(),
        &["check", "--format", "ndjson", inputs.to_str().unwrap()],
    );
    assert_eq!(originals.status.code(), Some(1), "errors make check exit 1");
    let reports = ndjson(&originals);
    let verdict_of = |name: &str| {
        reports
            .iter()
            .find(|r| r["path"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("{name} missing"))
            .clone()
    };
    assert_eq!(verdict_of("good.jpg")["verdict"], "no-signal");
    assert_eq!(verdict_of("good.jpg")["trust"], serde_json::Value::Null);
    let empty = verdict_of("empty.jpg");
    assert_eq!(empty["verdict"], "error");
    assert_eq!(empty["error"], "the file is empty");
    assert_eq!(verdict_of("text.png")["verdict"], "error");
}

#[test]
fn tampered_files_make_check_exit_1_and_the_table_says_why() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("imgs");
    write(&dir.join("a.png"), &image_bytes(Format::Png));
    let out_dir = home.path().join("out");
    let stamp = synthmark(
        home.path(),
        &[
            "stamp",
            dir.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert!(stamp.status.success(), "{}", stderr(&stamp));
    assert!(
        stderr(&stamp).contains("DEVELOPMENT identity"),
        "the dev identity is announced"
    );

    let stamped = out_dir.join("a.png");
    let mut bytes = std::fs::read(&stamped).unwrap();
    flip_pixel_byte(Format::Png, &mut bytes);
    std::fs::write(&stamped, &bytes).unwrap();
    let checked = synthmark(home.path(), &["check", stamped.to_str().unwrap()]);
    assert_eq!(checked.status.code(), Some(1));
    let table = stdout(&checked);
    assert!(table.starts_with("VERDICT"), "{table}");
    assert!(table.contains("tampered"), "{table}");
    assert!(table.contains("assertion.dataHash.mismatch"), "{table}");
    assert!(
        stderr(&checked).contains("1 checked: 1 tampered"),
        "{}",
        stderr(&checked)
    );
}

#[test]
fn standard_input_to_standard_output() {
    let home = tempfile::tempdir().unwrap();
    let png = image_bytes(Format::Png);
    let stamped = synthmark_with_stdin(home.path(), &["stamp", "-"], Some(&png));
    assert!(stamped.status.success(), "{}", stderr(&stamped));
    assert!(stamped.stdout.len() > png.len());
    let checked = synthmark_with_stdin(
        home.path(),
        &["check", "--format", "ndjson", "-"],
        Some(&stamped.stdout),
    );
    assert!(checked.status.success());
    let report = &ndjson(&checked)[0];
    assert_eq!(report["path"], "-");
    assert_eq!(report["verdict"], "labelled-ai");

    let garbage = synthmark_with_stdin(home.path(), &["stamp", "-"], Some(b"nope"));
    assert_eq!(garbage.status.code(), Some(1));
    assert!(garbage.stdout.is_empty(), "nothing half-written to stdout");
    assert!(
        stderr(&garbage).contains("-: not a supported image"),
        "{}",
        stderr(&garbage)
    );
}

#[test]
fn outputs_are_never_clobbered_without_being_asked() {
    let home = tempfile::tempdir().unwrap();
    let input = home.path().join("a.jpg");
    write(&input, &image_bytes(Format::Jpeg));
    let original = std::fs::read(&input).unwrap();
    let out_dir = home.path().join("out");
    let args = [
        "stamp",
        input.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ];

    let no_target = synthmark(home.path(), &["stamp", input.to_str().unwrap()]);
    assert_eq!(no_target.status.code(), Some(2));
    assert!(
        stderr(&no_target).contains("--in-place"),
        "{}",
        stderr(&no_target)
    );

    assert!(synthmark(home.path(), &args).status.success());
    let first = std::fs::read(out_dir.join("a.jpg")).unwrap();
    let again = synthmark(home.path(), &args);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("already exists; pass --force"),
        "{}",
        stderr(&again)
    );
    assert_eq!(std::fs::read(out_dir.join("a.jpg")).unwrap(), first);

    let mut forced = args.to_vec();
    forced.push("--force");
    assert!(synthmark(home.path(), &forced).status.success());

    let onto_itself = synthmark(
        home.path(),
        &[
            "stamp",
            input.to_str().unwrap(),
            "--out",
            home.path().to_str().unwrap(),
        ],
    );
    assert_eq!(onto_itself.status.code(), Some(1));
    assert!(
        stderr(&onto_itself).contains("overwrite the input"),
        "{}",
        stderr(&onto_itself)
    );
    assert_eq!(std::fs::read(&input).unwrap(), original);

    let in_place = synthmark(
        home.path(),
        &["stamp", "--in-place", input.to_str().unwrap()],
    );
    assert!(in_place.status.success(), "{}", stderr(&in_place));
    let replaced = std::fs::read(&input).unwrap();
    assert_ne!(replaced, original);
    let check = synthmark(
        home.path(),
        &["check", "--format", "ndjson", input.to_str().unwrap()],
    );
    assert_eq!(ndjson(&check)[0]["verdict"], "labelled-ai");
}

#[test]
fn unusable_identities_and_trust_files_are_fatal_with_a_reason() {
    let home = tempfile::tempdir().unwrap();
    let input = home.path().join("a.png");
    write(&input, &image_bytes(Format::Png));
    let id = keygen(home.path());
    let cert = id.join("cert.pem");

    let half = synthmark(
        home.path(),
        &[
            "stamp",
            "--in-place",
            "--cert",
            cert.to_str().unwrap(),
            input.to_str().unwrap(),
        ],
    );
    assert_eq!(half.status.code(), Some(2));
    assert!(stderr(&half).contains("without --key"), "{}", stderr(&half));

    let wrong_key = home.path().join("other");
    synthmark(
        home.path(),
        &["keygen", "--out", wrong_key.to_str().unwrap()],
    );
    let mismatch = synthmark(
        home.path(),
        &[
            "stamp",
            "--in-place",
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            wrong_key.join("key.pem").to_str().unwrap(),
            input.to_str().unwrap(),
        ],
    );
    assert_eq!(mismatch.status.code(), Some(2));
    let err = stderr(&mismatch);
    assert!(
        err.contains("does not belong to the signing certificate"),
        "{err}"
    );
    assert!(!err.contains("PRIVATE KEY"), "{err}");

    let ca_as_signer = synthmark(
        home.path(),
        &[
            "stamp",
            "--in-place",
            "--cert",
            id.join("ca.pem").to_str().unwrap(),
            "--key",
            id.join("key.pem").to_str().unwrap(),
            input.to_str().unwrap(),
        ],
    );
    assert_eq!(ca_as_signer.status.code(), Some(2));
    assert!(
        stderr(&ca_as_signer).contains("CA certificate"),
        "{}",
        stderr(&ca_as_signer)
    );

    let bad_trust = synthmark(
        home.path(),
        &[
            "check",
            "--trust",
            input.to_str().unwrap(),
            input.to_str().unwrap(),
        ],
    );
    assert_eq!(bad_trust.status.code(), Some(2));
    assert!(
        stderr(&bad_trust).contains("contains no PEM certificate"),
        "{}",
        stderr(&bad_trust)
    );

    // A configuration value out of range is refused before anything is touched.
    let config = home.path().join("bad-quality.toml");
    write(&config, b"[stamp]\nquality = 0\n");
    let before = std::fs::read(&input).unwrap();
    let bad_quality = synthmark(
        home.path(),
        &[
            "--config",
            config.to_str().unwrap(),
            "stamp",
            "--in-place",
            input.to_str().unwrap(),
        ],
    );
    assert_eq!(bad_quality.status.code(), Some(2));
    assert!(
        stderr(&bad_quality).contains("quality = 0 is out of range"),
        "{}",
        stderr(&bad_quality)
    );
    assert_eq!(std::fs::read(&input).unwrap(), before);

    // The same rules as over HTTP: an empty generator name is refused, not dropped.
    let empty_generator = synthmark(
        home.path(),
        &[
            "stamp",
            "--in-place",
            "--generator",
            "",
            input.to_str().unwrap(),
        ],
    );
    assert_eq!(empty_generator.status.code(), Some(2));
    assert!(
        stderr(&empty_generator).contains("the generator name is empty"),
        "{}",
        stderr(&empty_generator)
    );
    let bad_flag_quality = synthmark(
        home.path(),
        &[
            "stamp",
            "--in-place",
            "--quality",
            "0",
            input.to_str().unwrap(),
        ],
    );
    assert_eq!(bad_flag_quality.status.code(), Some(2));
    assert!(
        stderr(&bad_flag_quality).contains("quality 0 is out of range; use 1 to 100"),
        "{}",
        stderr(&bad_flag_quality)
    );
    assert_eq!(std::fs::read(&input).unwrap(), before);
}

#[test]
fn serve_takes_the_signing_and_trust_flags_stamp_and_check_take() {
    let home = tempfile::tempdir().unwrap();
    let help = stdout(&synthmark(home.path(), &["serve", "--help"]));
    for flag in [
        "--generator",
        "--no-train",
        "--tsa-url",
        "--tsa-optional",
        "--tsa-timeout",
        "--trust",
        "--trust-tsa",
        "--no-default-trust",
    ] {
        assert!(help.contains(flag), "serve --help lacks {flag}:\n{help}");
    }
    let stamp_help = stdout(&synthmark(home.path(), &["stamp", "--help"]));
    let check_help = stdout(&synthmark(home.path(), &["check", "--help"]));
    assert!(stamp_help.contains("--tsa-url") && stamp_help.contains("--generator"));
    assert!(check_help.contains("--trust-tsa") && check_help.contains("--no-default-trust"));
}

#[test]
fn every_bundled_sample_format_checks_labelled_ai_in_ndjson() {
    let home = tempfile::tempdir().unwrap();
    let out_dir = home.path().join("labelled");
    let stamp = synthmark(
        home.path(),
        &[
            "stamp",
            "-q",
            samples_dir().to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert!(stamp.status.success(), "{}", stderr(&stamp));
    let ca = home.path().join("data/synthmark/dev-identity/ca.pem");
    let reports = check_trusting(home.path(), &ca, &out_dir);
    let mut formats: Vec<String> = reports
        .iter()
        .map(|r| {
            assert_eq!(r["verdict"], "labelled-ai", "{r}");
            assert_eq!(r["trust"], "trusted", "{r}");
            r["format"].as_str().unwrap().to_string()
        })
        .collect();
    formats.sort();
    assert_eq!(
        formats,
        ["avif", "gif", "heic", "jpeg", "jxl", "png", "tiff", "webp"]
    );
    // The formats synthmark re-encodes also carry the watermark, and the verdict says so.
    for report in &reports {
        let format = report["format"].as_str().unwrap();
        let watermarked = report["rests_on"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l == "watermark");
        assert_eq!(
            watermarked,
            matches!(format, "jpeg" | "png" | "tiff" | "webp"),
            "{report}"
        );
    }
}

/// `exiftool -all=` removes every metadata block; the watermark keeps the image flagged.
#[test]
fn stripping_metadata_with_exiftool_leaves_an_unlabelled_ai_image_with_its_asset_id() {
    if !common::program("exiftool", "-ver", "libimage-exiftool-perl") {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let out_dir = home.path().join("out");
    let landscape = samples_dir().join("landscape.jpg");
    let stamp = synthmark(
        home.path(),
        &[
            "stamp",
            "-q",
            landscape.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert!(stamp.status.success(), "{}", stderr(&stamp));
    let stamped = out_dir.join("landscape.jpg");
    let labelled = synthmark(
        home.path(),
        &["check", "--format", "ndjson", stamped.to_str().unwrap()],
    );
    let id = ndjson(&labelled)[0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["finding"] == "watermark")
        .expect("watermark evidence")["value"]
        .as_str()
        .unwrap()
        .to_string();

    let strip = std::process::Command::new("exiftool")
        .args(["-q", "-all=", "-overwrite_original"])
        .arg(&stamped)
        .status()
        .unwrap();
    assert!(strip.success());
    let out = synthmark(
        home.path(),
        &["check", "--format", "ndjson", stamped.to_str().unwrap()],
    );
    let report = &ndjson(&out)[0];
    assert_eq!(report["verdict"], "unlabelled-ai", "{report}");
    // The default registry logged the stamp: it recovers the credentials as well.
    assert_eq!(
        report["rests_on"],
        serde_json::json!(["watermark", "registry"]),
        "{report}"
    );
    assert!(report["explanation"]
        .as_str()
        .unwrap()
        .contains("credentials recovered from the registry"));
    assert!(
        report["explanation"].as_str().unwrap().contains(&id),
        "{report}"
    );
    assert!(out.status.success());
}

#[test]
fn csv_output_has_a_header_and_one_quoted_row_per_file() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("imgs");
    write(&dir.join("a,b.png"), &image_bytes(Format::Png));
    write(&dir.join("c.jpg"), &image_bytes(Format::Jpeg));
    let out = synthmark(
        home.path(),
        &["check", "--format", "csv", dir.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("path,verdict,trust,rests_on"));
    assert!(
        lines[1].starts_with('"') && lines[1].contains("a,b.png\",no-signal,"),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains("c.jpg,no-signal,"), "{}", lines[2]);
}

#[test]
fn the_html_report_is_self_contained_with_thumbnails_and_evidence() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("imgs");
    write(&dir.join("plain.png"), &image_bytes(Format::Png));
    write(&dir.join("<b>.png"), b"not an image");
    let out_dir = home.path().join("out");
    let stamp = synthmark(
        home.path(),
        &[
            "stamp",
            "-q",
            // Without a registry, the unstamped original reads no-signal (with one, the
            // registry recognises the picture it logged).
            "--no-registry",
            dir.join("plain.png").to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert!(stamp.status.success(), "{}", stderr(&stamp));
    let report = home.path().join("report.html");
    let out = synthmark(
        home.path(),
        &[
            "check",
            "-q",
            "--report",
            report.to_str().unwrap(),
            dir.to_str().unwrap(),
            out_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "the bad file makes check exit 1"
    );
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert!(
        html.contains("labelled-ai: 1")
            && html.contains("no-signal: 1")
            && html.contains("error: 1"),
        "{html}"
    );
    assert_eq!(
        html.matches("data:image/jpeg;base64,").count(),
        2,
        "a thumbnail per readable image"
    );
    assert!(html.contains("&lt;b&gt;.png"), "paths are escaped");
    assert!(!html.contains("<b>"), "no markup injected from file names");
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "no external resources"
    );
    assert!(
        html.contains("c2pa (signed)"),
        "evidence says whether it is signed"
    );
}
