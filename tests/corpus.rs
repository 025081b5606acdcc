//! Real third-party files from `../shared/corpus/dev`: every file whose expected verdict rests on
//! the layers synthmark reads so far (the `c2pa-*` and `iptc-ai` categories of MANIFEST.tsv) must
//! get that verdict.
//!
//! The corpus lives beside the repository (CI has it). Outside CI, a missing corpus skips the
//! test with a note; in CI (`CI=true`) it is a failure.

use std::path::PathBuf;

use synthmark::{CheckOptions, Checker};

fn corpus_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/dev");
    if dir.join("MANIFEST.tsv").is_file() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but the corpus is missing at {}", dir.display());
    }
    eprintln!("note: {} not found; corpus test skipped", dir.display());
    None
}

#[test]
fn c2pa_and_iptc_categories_get_their_expected_verdicts() {
    let Some(dir) = corpus_dir() else { return };
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let mut lines = manifest.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (file, category, expected) = (
        column("file"),
        column("category"),
        column("expected_verdict"),
    );

    let checker = Checker::new(&CheckOptions::default()).unwrap();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        if !(fields[category].starts_with("c2pa") || fields[category] == "iptc-ai") {
            continue;
        }
        let report = checker.check_file(&dir.join(fields[file]));
        checked += 1;
        if report.verdict.as_str() != fields[expected] {
            let codes: Vec<String> = report.evidence.iter().map(|e| e.detail.clone()).collect();
            wrong.push(format!(
                "{}: got {}, expected {} ({codes:?})",
                fields[file], report.verdict, fields[expected]
            ));
        }
    }
    assert!(
        checked >= 20,
        "only {checked} C2PA and IPTC files in the corpus"
    );
    assert!(
        wrong.is_empty(),
        "{} of {checked} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    eprintln!("{checked} C2PA and IPTC corpus files, all with their expected verdicts");
}

#[test]
fn no_file_is_falsely_accused_and_nearly_all_get_their_verdict() {
    let Some(dir) = corpus_dir() else { return };
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let mut lines = manifest.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (file, expected, truth) = (
        column("file"),
        column("expected_verdict"),
        column("ground_truth_ai"),
    );
    let checker = Checker::new(&CheckOptions::default()).unwrap();
    let (mut total, mut right) = (0, 0);
    let (mut accusations, mut wrong) = (Vec::new(), Vec::new());
    for line in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        let report = checker.check_file(&dir.join(fields[file]));
        total += 1;
        let verdict = report.verdict.as_str();
        if verdict == fields[expected] {
            right += 1;
        } else {
            wrong.push(format!(
                "{}: got {verdict}, expected {}",
                fields[file], fields[expected]
            ));
        }
        let called_ai = matches!(verdict, "labelled-ai" | "unlabelled-ai");
        if fields[truth] == "non-ai" && called_ai {
            accusations.push(format!("{}: {verdict}", fields[file]));
        }
    }
    assert!(
        accusations.is_empty(),
        "non-AI files called AI:\n{}",
        accusations.join("\n")
    );
    // The remaining misses need layers that are not built yet (pixel-level stealth metadata).
    assert!(
        right * 100 >= total * 95,
        "{right}/{total} right; mismatches:\n{}",
        wrong.join("\n")
    );
    eprintln!("{right}/{total} corpus files with their expected verdict; misses: {wrong:?}");
}
