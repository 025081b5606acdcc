//! Trusted time: stamping through a real RFC 3161 responder on loopback, checking the timestamp,
//! and failing clearly (without hanging or half-written output) when the TSA misbehaves.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::tsa::{refusing_url, Behaviour, LoopbackTsa};
use common::*;
use synthmark::{
    CheckOptions, Checker, Existing, Finding, Format, StampOptions, Stamper, StamperConfig, Trust,
    TsaOptions, Verdict,
};

fn stamper_with(tsa: TsaOptions) -> Stamper {
    let config = StamperConfig {
        tsa: Some(tsa),
        ..StamperConfig::default()
    };
    Stamper::with_config(
        &dev_identity().signing_identity().unwrap(),
        config,
        StampOptions::default(),
    )
    .unwrap()
}

fn checker(tsa_ca: Option<&Path>) -> Checker {
    let mut options = CheckOptions {
        trust_anchors_pem: dev_identity().ca_pem.clone(),
        ..CheckOptions::default()
    };
    if let Some(ca) = tsa_ca {
        options.add_tsa_trust_anchor_file(ca).unwrap();
    }
    Checker::new(&options).unwrap()
}

#[test]
fn stamps_through_a_loopback_tsa_and_reports_the_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let tsa = LoopbackTsa::start(&dir.path().join("tsa"), Behaviour::Honest);
    let stamper = stamper_with(TsaOptions::new(&tsa.url));
    let trusting = checker(Some(&tsa.ca_pem));
    for format in [Format::Jpeg, Format::Png, Format::Webp, Format::Avif] {
        let stamped = stamper.stamp_bytes(&image_bytes(format), "a").unwrap();
        assert!(stamped.timestamped, "{format}");
        let report = trusting.check_bytes(&stamped.bytes);
        assert_eq!(report.verdict, Verdict::LabelledAi, "{format}: {report:#?}");
        assert_eq!(report.trust, Some(Trust::Trusted), "{format}: {report:#?}");
        let ts = report.timestamp.as_ref().expect("a timestamp is reported");
        assert!(ts.trusted, "{report:#?}");
        assert!(
            ts.tsa
                .as_deref()
                .unwrap_or("")
                .contains("synthmark loopback TSA"),
            "{ts:?}"
        );
        assert!(ts.time.is_some(), "{ts:?}");
        assert!(report
            .evidence
            .iter()
            .any(|e| e.finding == Finding::Timestamp));
    }
    // One Stamper, one keep-alive connection: the TLS/TCP setup is paid once, not per image.
    assert_eq!(tsa.requests(), 4);
    assert!(
        tsa.connections() < tsa.requests(),
        "{} connections",
        tsa.connections()
    );

    // Without the TSA's anchor the timestamp is still reported, its TSA as untrusted.
    let stamped = stamper
        .stamp_bytes(&image_bytes(Format::Jpeg), "a")
        .unwrap();
    let report = checker(None).check_bytes(&stamped.bytes);
    assert_eq!(report.verdict, Verdict::LabelledAi, "{report:#?}");
    assert!(
        !report.timestamp.as_ref().expect("timestamp").trusted,
        "{report:#?}"
    );
}

#[test]
fn an_unreachable_tsa_fails_the_file_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("a.png");
    std::fs::write(&input, image_bytes(Format::Png)).unwrap();
    let output = dir.path().join("out.png");
    let mut options = TsaOptions::new(refusing_url());
    options.attempts = 2;
    let err = stamper_with(options)
        .stamp_file(&input, &output, Existing::Refuse)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unreachable after 2 attempt"), "{err}");
    assert!(!output.exists());
}

#[test]
fn a_hanging_tsa_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let tsa = LoopbackTsa::start(&dir.path().join("tsa"), Behaviour::Hang);
    let mut options = TsaOptions::new(&tsa.url);
    options.timeout = Duration::from_secs(1);
    options.attempts = 2;
    let started = Instant::now();
    let err = stamper_with(options)
        .stamp_bytes(&image_bytes(Format::Jpeg), "a")
        .unwrap_err()
        .to_string();
    let elapsed = started.elapsed();
    assert!(err.contains("unreachable after 2 attempt"), "{err}");
    assert!(
        err.to_lowercase().contains("timeout") || err.contains("timed out"),
        "{err}"
    );
    // Two attempts of one second each, plus a backoff: bounded, not hung.
    assert!(elapsed < Duration::from_secs(8), "took {elapsed:?}");
}

#[test]
fn garbage_and_server_errors_are_clear_failures() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = LoopbackTsa::start(&dir.path().join("garbage"), Behaviour::Garbage);
    let err = stamper_with(TsaOptions::new(&garbage.url))
        .stamp_bytes(&image_bytes(Format::Jpeg), "a")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("no timestamp from {}", garbage.url)),
        "{err}"
    );
    assert_eq!(garbage.requests(), 1, "a malformed answer is not retried");

    let failing = LoopbackTsa::start(&dir.path().join("500"), Behaviour::ServerError);
    let mut options = TsaOptions::new(&failing.url);
    options.attempts = 3;
    let err = stamper_with(options)
        .stamp_bytes(&image_bytes(Format::Jpeg), "a")
        .unwrap_err()
        .to_string();
    assert!(err.contains("500"), "{err}");
    assert_eq!(failing.requests(), 3, "5xx answers are retried");
}

#[test]
fn an_optional_timestamp_falls_back_loudly() {
    let mut options = TsaOptions::new(refusing_url());
    options.optional = true;
    options.attempts = 1;
    let stamped = stamper_with(options)
        .stamp_bytes(&image_bytes(Format::Jpeg), "a")
        .unwrap();
    assert!(!stamped.timestamped);
    assert!(
        stamped
            .warnings
            .iter()
            .any(|w| matches!(w, synthmark::StampWarning::NoTimestamp { .. })
                && w.to_string().contains("WITHOUT a timestamp")),
        "{:?}",
        stamped.warnings
    );
    let report = checker(None).check_bytes(&stamped.bytes);
    assert_eq!(report.verdict, Verdict::LabelledAi);
    assert!(report.timestamp.is_none());
}

#[test]
fn the_command_line_reports_tsa_failures_per_file() {
    let home = tempfile::tempdir().unwrap();
    let inputs = home.path().join("in");
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::write(inputs.join("a.jpg"), image_bytes(Format::Jpeg)).unwrap();
    std::fs::write(inputs.join("b.png"), image_bytes(Format::Png)).unwrap();
    let out_dir = home.path().join("out");
    let url = refusing_url();
    let args = |extra: &[&str]| {
        let mut args = vec![
            "stamp",
            inputs.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
            "--tsa-url",
            &url,
            "--tsa-timeout",
            "1",
        ];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let strict = args(&[]);
    let strict: Vec<&str> = strict.iter().map(String::as_str).collect();
    let failed = synthmark(home.path(), &strict);
    assert_eq!(failed.status.code(), Some(1));
    let err = stderr(&failed);
    assert!(err.contains("0 stamped"), "{err}");
    assert!(
        err.contains("a.jpg: no timestamp from http://127.0.0.1"),
        "{err}"
    );
    assert!(err.contains("unreachable after 3 attempt"), "{err}");
    assert!(err.contains("--tsa-optional"), "{err}");
    assert!(!out_dir.join("a.jpg").exists() && !out_dir.join("b.png").exists());

    let optional = args(&["--tsa-optional"]);
    let optional: Vec<&str> = optional.iter().map(String::as_str).collect();
    let fell_back = synthmark(home.path(), &optional);
    assert_eq!(fell_back.status.code(), Some(0), "{}", stderr(&fell_back));
    let err = stderr(&fell_back);
    assert!(
        err.contains("2 images were signed WITHOUT a timestamp"),
        "{err}"
    );
}

/// `faketime`, which moves the clock of the process it runs (Debian package `faketime`).
fn faketime() -> Option<&'static str> {
    program("faketime", "--version", "faketime").then_some("faketime")
}

#[test]
fn a_timestamped_label_outlives_its_certificate_and_an_untimestamped_one_expires() {
    let Some(faketime) = faketime() else {
        eprintln!("note: faketime not installed; expiry test skipped");
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let tsa = LoopbackTsa::start(&home.path().join("tsa"), Behaviour::Honest);
    let input = home.path().join("in/a.jpg");
    std::fs::create_dir_all(input.parent().unwrap()).unwrap();
    std::fs::write(&input, image_bytes(Format::Jpeg)).unwrap();
    let (with_ts, without_ts) = (home.path().join("ts"), home.path().join("plain"));
    for (out, tsa_args) in [
        (&with_ts, vec!["--tsa-url", tsa.url.as_str()]),
        (&without_ts, vec![]),
    ] {
        let mut args = vec![
            "stamp",
            "-q",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(tsa_args);
        let stamped = synthmark(home.path(), &args);
        assert!(stamped.status.success(), "{}", stderr(&stamped));
    }
    let ca = home.path().join("data/synthmark/dev-identity/ca.pem");
    // The development certificate is valid for one year; 400 days later it has expired.
    let output = std::process::Command::new(faketime)
        .args([
            "-f",
            "+400d",
            env!("CARGO_BIN_EXE_synthmark"),
            "check",
            "--format",
            "ndjson",
        ])
        .arg("--trust")
        .arg(&ca)
        .arg("--trust-tsa")
        .arg(&tsa.ca_pem)
        .arg(with_ts.join("a.jpg"))
        .arg(without_ts.join("a.jpg"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .output()
        .unwrap();
    let reports = ndjson(&output);
    assert_eq!(reports.len(), 2, "{}", stderr(&output));
    assert_eq!(reports[0]["verdict"], "labelled-ai", "{}", reports[0]);
    assert_eq!(reports[0]["trust"], "trusted", "{}", reports[0]);
    assert_eq!(reports[0]["timestamp"]["trusted"], true, "{}", reports[0]);
    let still_valid = reports[0]["evidence"].as_array().unwrap().iter().any(|e| {
        e["finding"] == "timestamp"
            && e["detail"]
                .as_str()
                .unwrap()
                .contains("the signature was made before that")
    });
    assert!(still_valid, "{}", reports[0]);
    assert_eq!(reports[1]["verdict"], "labelled-ai", "{}", reports[1]);
    assert_eq!(reports[1]["trust"], "expired", "{}", reports[1]);
    let explained = reports[1]["evidence"].as_array().unwrap().iter().any(|e| {
        e["finding"] == "trust-finding" && e["detail"].as_str().unwrap().contains("no timestamp")
    });
    assert!(explained, "{}", reports[1]);

    // The signer's root also trusted as a time-stamping authority (as Google's is on both
    // official lists): still trusted, in every process (the anchors' order changes from one to
    // the next, and with it whether the signer is checked a second time, against the signers'
    // anchors alone, where the expired certificate must still be judged at the timestamp's time).
    for _ in 0..6 {
        let output = std::process::Command::new(faketime)
            .args(["-f", "+400d", env!("CARGO_BIN_EXE_synthmark"), "check"])
            .args(["--format", "ndjson", "--trust"])
            .arg(&ca)
            .arg("--trust-tsa")
            .arg(&tsa.ca_pem)
            .arg("--trust-tsa")
            .arg(&ca)
            .arg(with_ts.join("a.jpg"))
            .env("XDG_DATA_HOME", home.path().join("data"))
            .output()
            .unwrap();
        let reports = ndjson(&output);
        assert_eq!(reports.len(), 1, "{}", stderr(&output));
        assert_eq!(reports[0]["trust"], "trusted", "{}", reports[0]);
    }
}
