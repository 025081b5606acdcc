//! The machine-readable command line, as a pipeline drives it: `stamp` and `check` records in
//! JSON and NDJSON validated against the JSON Schemas generated from the Rust types (and the
//! committed copies under `schema/` kept equal to them), NDJSON streamed while the batch runs,
//! `--files-from`, `check --fail-on`, shell completions and man pages.

mod common;

use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::hostile::png_chunk;
use common::*;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use synthmark::Format;

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/inputs")
        .join(name)
}

/// `count` copies of a Pillow 4:2:0 JPEG in `dir`, named `000.jpg`, `001.jpg`, ...
fn jpeg_folder(dir: &Path, count: usize) {
    let jpeg = std::fs::read(fixture("pillow-420-q95.jpg")).unwrap();
    for i in 0..count {
        write(&dir.join(format!("{i:03}.jpg")), &jpeg);
    }
}

/// Starts `synthmark ARGS` with its data in `home`, standard output piped to the test (as to
/// `| head`) and standard error piped or discarded.
fn spawn_piped(home: &Path, args: &[&OsStr], stderr: Stdio) -> Child {
    Command::new(env!("CARGO_BIN_EXE_synthmark"))
        .args(args)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

/// A PNG carrying AUTOMATIC1111's generation parameters: a generator trace, no label.
fn png_with_a1111_parameters() -> Vec<u8> {
    let png = image_bytes(Format::Png);
    let ihdr_end = 8 + 8 + 13 + 4;
    let mut data = b"parameters\0".to_vec();
    data.extend_from_slice(
        b"a lighthouse at dusk\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234, Size: 64x48, Model: sd_xl_base_1.0",
    );
    let mut out = png[..ihdr_end].to_vec();
    out.extend(png_chunk(b"tEXt", &data));
    out.extend_from_slice(&png[ihdr_end..]);
    out
}

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::validator_for(schema).expect("the generated schema is a valid JSON Schema")
}

fn assert_valid(validator: &jsonschema::Validator, instance: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{instance:#}");
}

/// `synthmark schema KIND`, parsed, and checked equal to the committed `schema/FILE`.
fn schema(home: &Path, kind: &str, committed: &str) -> Value {
    let out = synthmark(home, &["schema", kind]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let generated: Value = serde_json::from_slice(&out.stdout).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema")
        .join(committed);
    let on_disk: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        generated,
        on_disk,
        "{} is out of date: run `synthmark schema {kind} > schema/{committed}`",
        path.display()
    );
    generated
}

#[test]
fn stamp_records_carry_asset_id_and_hash_and_follow_their_schema() {
    let home = tempfile::tempdir().unwrap();
    let inputs = home.path().join("in");
    // Made by Pillow (a 4:2:0 JPEG, the common case, and an RGBA PNG), plus a broken file.
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::copy(fixture("pillow-420-q95.jpg"), inputs.join("photo.jpg")).unwrap();
    std::fs::copy(fixture("pillow-rgba.png"), inputs.join("render.png")).unwrap();
    write(&inputs.join("broken.jpg"), b"\xff\xd8\xff\xe0 not really");
    let schema = validator(&schema(home.path(), "stamp", "stamp-record.schema.json"));

    let out_dir = home.path().join("out");
    let run = synthmark(
        home.path(),
        &[
            "stamp",
            "--format",
            "ndjson",
            "--no-registry",
            "--out",
            out_dir.to_str().unwrap(),
            inputs.to_str().unwrap(),
        ],
    );
    assert_eq!(run.status.code(), Some(1), "one input is broken");
    let records = ndjson(&run);
    assert_eq!(records.len(), 3, "{}", stdout(&run));
    for record in &records {
        assert_valid(&schema, record);
        assert_eq!(record["schema_version"], 1);
    }
    let by_name = |name: &str| {
        records
            .iter()
            .find(|r| r["path"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("no record for {name}"))
    };
    for (name, format) in [("photo.jpg", "jpeg"), ("render.png", "png")] {
        let record = by_name(name);
        assert_eq!(record["status"], "stamped");
        assert_eq!(record["format"], format);
        assert_eq!(record["watermarked"], true);
        let asset_id = record["asset_id"].as_str().unwrap();
        assert_eq!(asset_id.len(), 10, "{asset_id}");
        let output = PathBuf::from(record["output"].as_str().unwrap());
        assert_eq!(output, out_dir.join(name));
        let written = std::fs::read(&output).unwrap();
        assert_eq!(record["sha256"], hex(&Sha256::digest(&written)));
        // The id in the record is the one the checker reads back from the pixels.
        let checked = ndjson(&synthmark(
            home.path(),
            &["check", "--format", "ndjson", output.to_str().unwrap()],
        ));
        let evidence = checked[0]["evidence"].to_string();
        assert!(evidence.contains(asset_id), "{evidence}");
    }
    let broken = by_name("broken.jpg");
    assert_eq!(broken["status"], "failed");
    assert!(broken["reason"].as_str().unwrap().len() > 10);
    assert!(broken.get("output").is_none());
    assert!(!out_dir.join("broken.jpg").exists());

    // --format json: one array of the same records, in input order.
    let again = synthmark(
        home.path(),
        &[
            "stamp",
            "--format",
            "json",
            "--no-registry",
            "--force",
            "--out",
            out_dir.to_str().unwrap(),
            inputs.to_str().unwrap(),
        ],
    );
    let array: Value = serde_json::from_slice(&again.stdout).unwrap();
    let array = array.as_array().unwrap();
    assert_eq!(array.len(), 3);
    array.iter().for_each(|r| assert_valid(&schema, r));
    let paths: Vec<&str> = array.iter().map(|r| r["path"].as_str().unwrap()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "input order");

    // The default table names the asset id of every stamped file.
    let table = synthmark(
        home.path(),
        &[
            "stamp",
            "--no-registry",
            "--force",
            "--out",
            out_dir.to_str().unwrap(),
            inputs.join("render.png").to_str().unwrap(),
        ],
    );
    assert_eq!(table.status.code(), Some(0), "{}", stderr(&table));
    let text = stdout(&table);
    let row = text.lines().nth(1).unwrap_or_default();
    assert!(row.starts_with("stamped "), "{text}");
    let id = by_name("render.png")["asset_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        row.split_whitespace().nth(1).map(str::len),
        Some(id.len()),
        "{text}"
    );
    assert!(row.contains("render.png ->"), "{text}");

    // Standard input to standard output: the image on stdout, the record on stderr.
    let png = image_bytes(Format::Png);
    let piped = synthmark_with_stdin(
        home.path(),
        &["stamp", "--format", "ndjson", "--no-registry", "-"],
        Some(&png),
    );
    assert_eq!(piped.status.code(), Some(0), "{}", stderr(&piped));
    let line = stderr(&piped)
        .lines()
        .find(|l| l.starts_with('{'))
        .map(str::to_string)
        .expect("a record on stderr");
    let record: Value = serde_json::from_str(&line).unwrap();
    assert_valid(&schema, &record);
    assert_eq!(record["sha256"], hex(&Sha256::digest(&piped.stdout)));
}

#[test]
fn check_reports_follow_their_schema_in_every_format() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("mixed");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixture("pillow-420-q95.jpg"), dir.join("photo.jpg")).unwrap();
    write(&dir.join("a1111.png"), &png_with_a1111_parameters());
    write(&dir.join("truncated.png"), &image_bytes(Format::Png)[..60]);
    let stamped = home.path().join("stamped");
    let run = synthmark(
        home.path(),
        &[
            "stamp",
            "--no-registry",
            "--out",
            stamped.to_str().unwrap(),
            fixture("pillow-422-q90.jpg").to_str().unwrap(),
        ],
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let schema = validator(&schema(home.path(), "check", "check-report.schema.json"));

    let targets = [dir.to_str().unwrap(), stamped.to_str().unwrap()];
    let streamed = synthmark(
        home.path(),
        &[&["check", "--format", "ndjson"][..], &targets[..]].concat(),
    );
    let reports = ndjson(&streamed);
    assert_eq!(reports.len(), 4);
    let verdicts: Vec<&str> = reports
        .iter()
        .map(|r| r["verdict"].as_str().unwrap())
        .collect();
    for verdict in ["no-signal", "unlabelled-ai", "error", "labelled-ai"] {
        assert!(verdicts.contains(&verdict), "{verdicts:?}");
    }
    for report in &reports {
        assert_valid(&schema, report);
        assert_eq!(report["schema_version"], 1);
    }
    let array = synthmark(
        home.path(),
        &[&["check", "--format", "json"][..], &targets[..]].concat(),
    );
    let array: Value = serde_json::from_slice(&array.stdout).unwrap();
    assert_eq!(array.as_array().unwrap().len(), 4);
    // Streamed or not, the reports come in input order.
    let paths = |reports: &[Value]| -> Vec<String> {
        reports.iter().map(|r| r["path"].to_string()).collect()
    };
    assert_eq!(paths(&reports), paths(array.as_array().unwrap()));
    array
        .as_array()
        .unwrap()
        .iter()
        .for_each(|r| assert_valid(&schema, r));
}

#[test]
fn fail_on_gates_uploads_by_verdict() {
    let home = tempfile::tempdir().unwrap();
    let ai = home.path().join("a1111.png");
    write(&ai, &png_with_a1111_parameters());
    let photo = fixture("pillow-420-q95.jpg");
    let gate = |path: &Path, extra: &[&str]| {
        let out = synthmark(
            home.path(),
            &[&["check", "-q"][..], extra, &[path.to_str().unwrap()][..]].concat(),
        );
        (out.status.code(), stdout(&out))
    };
    let (code, table) = gate(&ai, &["--fail-on", "unlabelled-ai"]);
    assert_eq!(code, Some(1), "{table}");
    assert!(table.contains("unlabelled-ai"), "{table}");
    assert_eq!(gate(&photo, &["--fail-on", "unlabelled-ai"]).0, Some(0));
    // Several verdicts, comma-separated; without the flag an unlabelled image passes.
    assert_eq!(
        gate(&ai, &["--fail-on", "tampered,unlabelled-ai"]).0,
        Some(1)
    );
    assert_eq!(gate(&ai, &[]).0, Some(0));
    // A gate never lets a corrupt file through: errors fail whatever --fail-on lists.
    let corrupt = home.path().join("truncated.png");
    write(&corrupt, &image_bytes(Format::Png)[..60]);
    assert_eq!(gate(&corrupt, &["--fail-on", "unlabelled-ai"]).0, Some(1));
    // A misspelt verdict is a usage error that lists the right names.
    let wrong = synthmark(
        home.path(),
        &["check", "--fail-on", "unlabeled", ai.to_str().unwrap()],
    );
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        stderr(&wrong).contains("unlabelled-ai"),
        "{}",
        stderr(&wrong)
    );
}

#[test]
fn files_from_takes_lines_or_nul_separated_names_from_a_file_or_stdin() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("list");
    let names = ["one.png", "two with space.png", "three\nline.png"];
    for name in names {
        write(&dir.join(name), &image_bytes(Format::Png));
    }
    let checked = |args: &[&str], stdin: Option<&[u8]>| {
        let out = synthmark_with_stdin(
            home.path(),
            &[&["check", "--no-pixels", "--format", "ndjson"][..], args].concat(),
            stdin,
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let mut paths: Vec<String> = ndjson(&out)
            .iter()
            .map(|r| r["path"].as_str().unwrap().to_string())
            .collect();
        paths.sort();
        paths
    };
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();

    let mut nul_list = Vec::new();
    for name in names {
        nul_list.extend_from_slice(path(name).as_bytes());
        nul_list.push(0);
    }
    let mut expected: Vec<String> = names.iter().map(|n| path(n)).collect();
    expected.sort();
    assert_eq!(checked(&["--files-from", "-"], Some(&nul_list)), expected);

    let lines = format!("{}\n\n{}\r\n", path("one.png"), path("two with space.png"));
    let list = home.path().join("list.txt");
    std::fs::write(&list, lines).unwrap();
    // The listed files come after those on the command line.
    let three = path("three\nline.png");
    assert_eq!(
        checked(&["--files-from", list.to_str().unwrap(), &three], None),
        expected
    );

    let missing = synthmark(
        home.path(),
        &[
            "check",
            "--files-from",
            home.path().join("nope.txt").to_str().unwrap(),
        ],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("nope.txt"),
        "{}",
        stderr(&missing)
    );

    // stamp takes the same list.
    let out_dir = home.path().join("stamped");
    let stamped = synthmark_with_stdin(
        home.path(),
        &[
            "stamp",
            "--no-registry",
            "--format",
            "ndjson",
            "--out",
            out_dir.to_str().unwrap(),
            "--files-from",
            "-",
        ],
        Some(&nul_list),
    );
    assert_eq!(stamped.status.code(), Some(0), "{}", stderr(&stamped));
    assert_eq!(ndjson(&stamped).len(), 3);
}

#[test]
fn check_ndjson_streams_each_report_while_the_batch_is_still_running() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("many");
    jpeg_folder(&dir, 200);
    let args = ["check", "-j", "2", "--format", "ndjson"].map(OsStr::new);
    let mut child = spawn_piped(
        home.path(),
        &[&args[..], &[dir.as_os_str()]].concat(),
        Stdio::null(),
    );
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Two workers, and the reports come in input order: the 80th arrives while 120 files are
    // still to be checked, not held back until the end (as it would be if each worker took a
    // contiguous half of the files). Killing the run then loses none of what was printed.
    let mut paths = Vec::new();
    for _ in 0..80 {
        let report: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        assert_eq!(report["verdict"], "no-signal");
        paths.push(report["path"].as_str().unwrap().to_string());
    }
    let still_running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    let expected: Vec<String> = (0..80)
        .map(|i| {
            dir.join(format!("{i:03}.jpg"))
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(paths, expected, "input order");
    assert!(
        still_running,
        "the reports were held back until the batch ended"
    );
}

#[test]
fn a_reader_that_stops_reading_is_not_an_error() {
    // `synthmark check --format json dir | head -1`: the rest of the output meets a closed
    // pipe, which ends the run quietly and successfully, as it does for ripgrep or cat. (That
    // NDJSON stops checking soon after is a unit test of the batch runner.)
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("many");
    jpeg_folder(&dir, 200);
    for format in ["json", "ndjson"] {
        let args = ["check", "-j", "2", "--format", format].map(OsStr::new);
        let mut child = spawn_piped(
            home.path(),
            &[&args[..], &[dir.as_os_str()]].concat(),
            Stdio::piped(),
        );
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(
            first.starts_with(if format == "json" { "[" } else { "{" }),
            "{first}"
        );
        // The reader (and with it the pipe) is gone here: every later write fails.
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{format}: {:?}\n{stderr}",
            output.status
        );
        assert!(!stderr.contains("error"), "{format}: {stderr}");
    }
}

#[test]
fn stamping_goes_on_when_the_reader_of_its_output_goes_away() {
    // `synthmark stamp missing.jpg dir --out out | head -0`: the table's header and the line for
    // the input refused before the batch meet a closed pipe. That used to panic before the batch
    // (exit 101, nothing stamped); every file must still be stamped, and the run end as it would
    // have with the output read.
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("in");
    jpeg_folder(&dir, 3);
    let (missing, out) = (home.path().join("missing.jpg"), home.path().join("out"));
    let args = [
        OsStr::new("stamp"),
        missing.as_os_str(),
        dir.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
        OsStr::new("--no-registry"),
    ];
    let mut child = spawn_piped(home.path(), &args, Stdio::piped());
    // Closed before the program has started up, let alone printed.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The missing input still fails the run, and the summary says so.
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("3 stamped into"), "{stderr}");
    assert!(stderr.contains("1 failed"), "{stderr}");
    for i in 0..3 {
        assert!(
            out.join(format!("{i:03}.jpg")).is_file(),
            "{i:03}.jpg not stamped\n{stderr}"
        );
    }
}

#[test]
fn completions_and_man_pages_are_generated_from_the_command_line() {
    let home = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = synthmark(home.path(), &["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        // fish lists long options without their dashes (`-l files-from`).
        for word in ["synthmark", "stamp", "check", "files-from", "fail-on"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    if common::program("bash", "--version", "bash") {
        let script = home.path().join("synthmark.bash");
        std::fs::write(
            &script,
            synthmark(home.path(), &["completions", "bash"]).stdout,
        )
        .unwrap();
        let sourced = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source {} && complete -p synthmark",
                script.display()
            ))
            .output()
            .unwrap();
        assert!(sourced.status.success(), "{}", stderr(&sourced));
    }

    let page = synthmark(home.path(), &["man"]);
    assert_eq!(page.status.code(), Some(0));
    let roff = stdout(&page);
    assert!(roff.contains(".TH synthmark 1"), "{roff}");
    assert!(roff.contains("completions"), "{roff}");
    let dir = home.path().join("man");
    let written = synthmark(home.path(), &["man", "--out", dir.to_str().unwrap()]);
    assert_eq!(written.status.code(), Some(0), "{}", stderr(&written));
    let stamp_page = std::fs::read_to_string(dir.join("synthmark-stamp.1")).unwrap();
    for flag in ["\\-\\-format", "\\-\\-files\\-from", "\\-\\-out"] {
        assert!(
            stamp_page.contains(flag),
            "{flag} missing from synthmark-stamp.1"
        );
    }
    // The page renders without warnings where man is installed.
    if Command::new("man").arg("--version").output().is_ok() {
        let rendered = Command::new("man")
            .args(["--warnings", "-l"])
            .arg(dir.join("synthmark-stamp.1"))
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
            .unwrap();
        assert!(rendered.status.success(), "{}", stderr(&rendered));
        assert!(stdout(&rendered).contains("files-from"));
    }
}

#[test]
fn the_openapi_report_names_the_fields_of_the_generated_schema() {
    // /openapi.json describes the report by hand (OpenAPI keeps its own component layout); it
    // must name the same fields, and require the same ones, as the schema generated from the type.
    let openapi: Value = serde_json::from_str(include_str!("../src/server/openapi.json")).unwrap();
    let by_hand = &openapi["components"]["schemas"]["Report"];
    let generated = synthmark::Report::json_schema();
    let keys = |schema: &Value| -> Vec<String> {
        let mut keys: Vec<String> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    let required = |schema: &Value| -> Vec<String> {
        let mut names: Vec<String> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        keys(by_hand),
        keys(&generated),
        "src/server/openapi.json Report"
    );
    assert_eq!(
        required(by_hand),
        required(&generated),
        "src/server/openapi.json Report"
    );
}
