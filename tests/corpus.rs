//! Real third-party files from `../shared/corpus/dev`: every file of MANIFEST.tsv must get its
//! expected verdict, and no file whose ground truth is non-AI may be called AI.
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
fn every_file_gets_its_expected_verdict_and_none_is_falsely_accused() {
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
    assert!(total >= 80, "only {total} files in the corpus");
    assert!(
        wrong.is_empty(),
        "{right}/{total} right; mismatches:\n{}",
        wrong.join("\n")
    );
    eprintln!("{right}/{total} corpus files with their expected verdict, no false accusation");
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
