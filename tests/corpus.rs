//! Real third-party files from `../shared/corpus/dev` and `dev-more`: every file of MANIFEST.tsv
//! must get its expected verdict, no file whose ground truth is non-AI may be called AI, and on
//! every C2PA file synthmark's integrity judgement (tampered or not) must agree with c2pa-rs's
//! validation state except where the README lists the disagreement and its reason.
//!
//! The corpus lives beside the repository (CI has it). Outside CI, a missing corpus skips the
//! test with a note; in CI (`CI=true`) it is a failure.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use synthmark::{CheckOptions, Checker};

fn corpus_dir() -> Option<PathBuf> {
    corpus("dev")
}

/// `../shared/corpus/NAME`, or `None` (with a note) outside CI when it is missing.
fn corpus(name: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus")
        .join(name);
    let present = dir.join("MANIFEST.tsv").is_file();
    common::needed(
        present,
        &format!("the corpus at {}", dir.display()),
        "CI clones ../shared beside the repository",
    )
    .then_some(dir)
}

/// One row of a corpus's MANIFEST.tsv.
struct Row {
    file: String,
    category: String,
    expected: String,
    truth: String,
}

fn rows(dir: &Path) -> Vec<Row> {
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let mut lines = manifest.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (file, category, expected, truth) = (
        column("file"),
        column("category"),
        column("expected_verdict"),
        column("ground_truth_ai"),
    );
    lines
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            Row {
                file: fields[file].to_string(),
                category: fields[category].to_string(),
                expected: fields[expected].to_string(),
                truth: fields[truth].to_string(),
            }
        })
        .collect()
}

/// Checks every file of a corpus: each must get its expected verdict, and no non-AI file may
/// be called AI.
fn every_file_gets_its_expected_verdict(name: &str, at_least: usize) {
    let Some(dir) = corpus(name) else { return };
    let checker = Checker::new(&CheckOptions::default()).unwrap();
    let rows = rows(&dir);
    let (mut accusations, mut wrong) = (Vec::new(), Vec::new());
    for row in &rows {
        let report = checker.check_file(&dir.join(&row.file));
        let verdict = report.verdict.as_str();
        if verdict != row.expected {
            wrong.push(format!(
                "{}: got {verdict}, expected {}",
                row.file, row.expected
            ));
        }
        let called_ai = matches!(verdict, "labelled-ai" | "unlabelled-ai");
        if row.truth == "non-ai" && called_ai {
            accusations.push(format!("{}: {verdict}", row.file));
        }
    }
    let total = rows.len();
    assert!(
        accusations.is_empty(),
        "{name}: non-AI files called AI:\n{}",
        accusations.join("\n")
    );
    assert!(total >= at_least, "only {total} files in {name}");
    assert!(
        wrong.is_empty(),
        "{name}: {}/{total} right; mismatches:\n{}",
        total - wrong.len(),
        wrong.join("\n")
    );
    eprintln!("{name}: {total}/{total} files with their expected verdict, no false accusation");
}

#[test]
fn every_dev_file_gets_its_expected_verdict_and_none_is_falsely_accused() {
    every_file_gets_its_expected_verdict("dev", 80);
}

#[test]
fn every_dev_more_file_gets_its_expected_verdict_and_none_is_falsely_accused() {
    every_file_gets_its_expected_verdict("dev-more", 73);
}

/// c2pa-rs's own judgement of a file: `Some(true)` when its validation state is Invalid,
/// `Some(false)` for Valid or Trusted, `None` when it refuses to read the store at all; and the
/// failure codes it gave (active manifest and ingredient deltas).
fn c2pa_rs_judgement(path: &Path) -> (Option<bool>, Vec<String>) {
    let settings = serde_json::json!({
        "verify": { "remote_manifest_fetch": false, "ocsp_fetch": false },
    });
    let context = c2pa::Context::new()
        .with_settings(settings)
        .unwrap()
        .into_shared();
    let bytes = std::fs::read(path).unwrap();
    let Ok(format) = synthmark::Format::sniff(&bytes) else {
        return (None, Vec::new());
    };
    let reader = match c2pa::Reader::from_shared_context(&context)
        .with_stream(format.mime(), std::io::Cursor::new(bytes))
    {
        Ok(reader) => reader,
        Err(err) => return (None, vec![err.to_string()]),
    };
    let mut codes = Vec::new();
    if let Some(results) = reader.validation_results() {
        let active = results.active_manifest().map(|c| c.failure().as_slice());
        codes.extend(
            active
                .unwrap_or_default()
                .iter()
                .map(|s| s.code().to_string()),
        );
        for delta in results.ingredient_deltas().into_iter().flatten() {
            let failures = delta.validation_deltas().failure();
            codes.extend(failures.iter().map(|s| format!("ingredient:{}", s.code())));
        }
    }
    (
        Some(reader.validation_state() == c2pa::ValidationState::Invalid),
        codes,
    )
}

/// The README's list of C2PA files on which synthmark's integrity judgement knowingly differs
/// from c2pa-rs's validation state: (corpus/file, reason).
fn listed_disagreements() -> BTreeMap<String, String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let (start, end) = (
        "<!-- c2pa-disagreements:start -->",
        "<!-- c2pa-disagreements:end -->",
    );
    let table = &readme[readme
        .find(start)
        .expect("README has no c2pa-disagreements list")..];
    let table = &table[..table.find(end).unwrap()];
    table
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let file = cells.get(1)?.trim_matches('`');
            (file.contains('/') && !file.starts_with('-'))
                .then(|| (file.to_string(), cells.get(4).unwrap_or(&"").to_string()))
        })
        .collect()
}

#[test]
fn integrity_judgements_agree_with_c2pa_rs_except_where_the_readme_says_why() {
    let listed = listed_disagreements();
    let checker = Checker::new(&CheckOptions {
        pixels: false,
        ..CheckOptions::default()
    })
    .unwrap();
    let mut disagreements = BTreeMap::new();
    let mut compared = 0;
    for name in ["dev", "dev-more"] {
        let Some(dir) = corpus(name) else { return };
        for row in rows(&dir) {
            let path = dir.join(&row.file);
            let bytes = std::fs::read(&path).unwrap();
            let has_store =
                row.category.starts_with("c2pa") || bytes.windows(8).any(|w| w == b"jumdc2pa");
            if !has_store {
                continue;
            }
            compared += 1;
            let ours = checker.check_file(&path).verdict.as_str() == "tampered";
            let (theirs, codes) = c2pa_rs_judgement(&path);
            // A store c2pa-rs refuses to read is not Valid either: it agrees with `tampered`.
            if theirs.unwrap_or(true) != ours {
                let theirs = match theirs {
                    Some(true) => "Invalid",
                    Some(false) => "Valid",
                    None => "refused",
                };
                let ours = if ours { "tampered" } else { "not tampered" };
                disagreements.insert(
                    format!("{name}/{}", row.file),
                    format!("{theirs} vs {ours} [{}]", codes.join(", ")),
                );
            }
        }
    }
    assert!(compared >= 40, "only {compared} C2PA files compared");
    let unlisted: Vec<_> = disagreements
        .iter()
        .filter(|(file, _)| !listed.contains_key(*file))
        .map(|(file, how)| format!("{file}: c2pa-rs {how}"))
        .collect();
    let stale: Vec<_> = listed
        .keys()
        .filter(|file| !disagreements.contains_key(*file))
        .collect();
    assert!(
        unlisted.is_empty() && stale.is_empty(),
        "disagreements with c2pa-rs not in the README:\n{}\nlisted but no longer disagreeing: {stale:?}",
        unlisted.join("\n")
    );
    eprintln!(
        "{compared} C2PA files: synthmark and c2pa-rs agree except the README's {} listed cases",
        listed.len()
    );
}

#[test]
fn novelai_signatures_verify_on_novelai_files() {
    let Some(dir) = corpus_dir() else { return };
    let checker = Checker::new(&CheckOptions::default()).unwrap();
    let files: Vec<_> = std::fs::read_dir(dir.join("novelai"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!files.is_empty());
    for path in files {
        let report = checker.check_file(&path);
        let verified = report
            .evidence
            .iter()
            .any(|e| e.signed && e.value.as_deref() == Some("NovelAI"));
        assert!(verified, "{}: {:#?}", path.display(), report.evidence);
    }
}

#[test]
fn the_bundled_c2pa_trust_list_trusts_real_signers_and_can_be_turned_off() {
    let Some(dir) = corpus("dev") else { return };
    let gemini = dir.join("c2pa-ai/sd-metadata__samples_c2pa_png_gemini_3.1pro.png");
    let check = |official_trust_lists| {
        Checker::new(&CheckOptions {
            official_trust_lists,
            pixels: false,
            ..CheckOptions::default()
        })
        .unwrap()
        .check_file(&gemini)
    };
    let trusted = check(true);
    assert_eq!(
        trusted.trust.map(|t| t.as_str()),
        Some("trusted"),
        "{trusted:#?}"
    );
    // Google's root is on both official lists; the signer is reported on the signers' one
    // (the TSA list vouches for timestamps only), the same in every run.
    let signer = trusted.signer.as_ref().unwrap();
    assert_eq!(
        signer.trust_list.as_deref(),
        Some(synthmark::OFFICIAL_TRUST_LIST_URI),
        "{signer:?}"
    );
    assert!(
        trusted.timestamp.as_ref().unwrap().trusted,
        "the TSA list too"
    );
    assert!(trusted.evidence[0]
        .detail
        .contains("official C2PA trust list"));

    let own_anchors_only = check(false);
    assert_eq!(
        own_anchors_only.trust.map(|t| t.as_str()),
        Some("untrusted")
    );
    assert_eq!(
        own_anchors_only.verdict, trusted.verdict,
        "trust never changes the verdict"
    );
}
