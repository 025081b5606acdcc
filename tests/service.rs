//! The HTTP service end to end: real HTTP requests on a loopback port to the service as
//! `synthmark serve` builds it (in this test process: `synthmark::server`'s router and
//! connection handling), the verification page in a real headless Chromium, and a real
//! `synthmark serve` process for what only a process shows (start-up and SIGTERM).

mod common;

use std::io::{BufRead, BufReader, Cursor};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use image::ImageFormat;
use synthmark::registry::{Location, Registry};
use synthmark::server::{Service, Settings};
use synthmark::{CheckOptions, Checker, StampOptions, Stamper, StamperConfig, Verdict};

use common::browser::{self, Browser};
use common::textured_picture;

const TOKEN: &str = "test-token-5f1d8a";

/// A server on a loopback port, stopped when dropped.
struct Server {
    base: String,
    running: Running,
    home: tempfile::TempDir,
}

enum Running {
    /// Stops itself when dropped.
    InProcess {
        _server: common::server::InProcess,
    },
    Process(Child),
}

impl Server {
    /// The service with default settings and an SQLite registry of its own.
    fn start() -> Server {
        Server::start_with(Settings::default(), None)
    }

    /// The service in this process, as `synthmark serve` builds it: `settings`, the development
    /// identity, the bundled trust lists, one token, and `registry` (default: an SQLite file of
    /// its own) shared by the checkers and the stamper.
    fn start_with(settings: Settings, registry: Option<&str>) -> Server {
        let home = tempfile::tempdir().unwrap();
        let location = registry.map_or_else(
            || home.path().join("registry.sqlite").display().to_string(),
            str::to_string,
        );
        let registry = Arc::new(Registry::open(&Location::parse(&location).unwrap()).unwrap());
        let checker = |pixels: bool| {
            Checker::new(&CheckOptions {
                pixels,
                limits: settings.limits,
                ..CheckOptions::default()
            })
            .unwrap()
            .with_registry(registry.clone())
        };
        let stamper = Stamper::with_config(
            &common::dev_identity().signing_identity().unwrap(),
            StamperConfig {
                limits: settings.limits,
                ..StamperConfig::default()
            },
            StampOptions::default(),
        )
        .unwrap()
        .with_registry(registry.clone());
        let service = Arc::new(Service::new(
            checker(true),
            checker(false),
            stamper,
            Some(registry),
            vec![TOKEN.to_string()],
            settings,
        ));
        let running = common::server::InProcess::start(service);
        Server {
            base: format!("http://{}", running.address),
            running: Running::InProcess { _server: running },
            home,
        }
    }

    /// A real `synthmark serve` process with an SQLite registry of its own, signing with the
    /// development identity (`--dev`: tokens without a certificate are refused otherwise).
    fn process() -> Server {
        Server::process_with(None)
    }

    /// `synthmark serve` as a process with the development identity and one token, logging to
    /// `serve.log` in its home, with the registry at `registry` (default: an SQLite file in its
    /// home).
    fn process_with(registry: Option<&str>) -> Server {
        let home = tempfile::tempdir().unwrap();
        let registry = registry.map_or_else(
            || home.path().join("registry.sqlite").display().to_string(),
            str::to_string,
        );
        let log = std::fs::File::create(home.path().join("serve.log")).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_synthmark"))
            .args([
                "serve",
                "--dev",
                "--listen",
                "127.0.0.1:0",
                "--token",
                TOKEN,
                "--registry",
                &registry,
            ])
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env_remove("SYNTHMARK_CERT")
            .env_remove("SYNTHMARK_KEY")
            .env_remove("SYNTHMARK_API_TOKENS")
            .env_remove("SYNTHMARK_REGISTRY")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start synthmark serve");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        Server {
            base,
            running: Running::Process(child),
            home,
        }
    }

    /// Sends SIGTERM to a process server and waits for it: its exit status and its log.
    fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let Running::Process(child) = &mut self.running else {
            unreachable!("a process server")
        };
        let pid = child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let exit = child.wait().unwrap();
        let log = std::fs::read_to_string(self.home.path().join("serve.log")).unwrap();
        (exit, log)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The development CA the server signs with.
    fn dev_ca(&self) -> String {
        match &self.running {
            Running::InProcess { .. } => common::dev_identity().ca_pem.clone(),
            // Created by the process on its first start.
            Running::Process(_) => {
                std::fs::read_to_string(self.home.path().join("data/synthmark/dev-identity/ca.pem"))
                    .unwrap()
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // An in-process server stops itself when dropped.
        if let Running::Process(child) = &mut self.running {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// (status, body) of a POST.
fn post(url: &str, body: &[u8], token: Option<&str>) -> (u16, Vec<u8>) {
    let mut request = agent().post(url);
    if let Some(token) = token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    let mut response = request.send(body).expect("request");
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(200 * 1024 * 1024)
        .read_to_vec()
        .unwrap();
    (status, body)
}

fn get(url: &str) -> (u16, Vec<u8>) {
    let mut response = agent().get(url).call().expect("request");
    let status = response.status().as_u16();
    (status, response.body_mut().read_to_vec().unwrap())
}

/// Sends only the headers of a POST announcing `length` bytes (with `Expect: 100-continue`) and
/// returns the status and the body of the answer.
fn announce_only(server: &Server, path: &str, length: usize) -> (u16, String) {
    use std::io::{Read, Write};
    let address = server.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: {length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

fn png(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    textured_picture(width, height, seed)
        .write_to(&mut out, ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

#[test]
fn stamping_needs_a_valid_token_and_returns_a_labelled_image() {
    let server = Server::start();
    let image = png(640, 480, 7);
    let stamp = server.url("/v1/stamp?generator=ExampleDiffusion/2.1");
    for token in [None, Some("wrong-token")] {
        let (status, body) = post(&stamp, &image, token);
        assert_eq!(status, 401, "{}", String::from_utf8_lossy(&body));
        assert!(json(&body)["error"].as_str().unwrap().contains("token"));
    }
    let (status, stamped) = post(&stamp, &image, Some(TOKEN));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&stamped));
    // The visible label is a request option too; a bad value is a 400.
    let (status, labelled) = post(
        &server.url("/v1/stamp?visible_label=ai-generated&corner=bottom-left"),
        &image,
        Some(TOKEN),
    );
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&labelled).contains("org.synthmark.visible-label"));
    assert_eq!(
        post(
            &server.url("/v1/stamp?visible_label=maybe"),
            &image,
            Some(TOKEN)
        )
        .0,
        400
    );
    let checker = Checker::new(&CheckOptions {
        trust_anchors_pem: server.dev_ca(),
        ..CheckOptions::default()
    })
    .unwrap();
    let report = checker.check_bytes(&stamped);
    assert_eq!(report.verdict, Verdict::LabelledAi, "{report:?}");
    assert_eq!(report.trust, Some(synthmark::Trust::Trusted));

    // The service's own check agrees, and the manifest is resolvable by the watermark's id.
    let (status, body) = post(&server.url("/v1/check"), &stamped, None);
    assert_eq!(status, 200);
    let report = json(&body);
    assert_eq!(report["verdict"], "labelled-ai");
    assert!(report["rests_on"]
        .as_array()
        .unwrap()
        .contains(&"watermark".into()));
    let id = report["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["finding"] == "watermark")
        .and_then(|e| e["value"].as_str())
        .unwrap()
        .to_string();
    let (status, store) = get(&server.url(&format!("/v1/manifests/{id}")));
    assert_eq!(status, 200);
    assert_eq!(
        store,
        c2pa::jumbf_io::load_jumbf_from_memory("image/png", &stamped).unwrap()
    );
    assert_eq!(get(&server.url("/v1/manifests/0000000000")).0, 404);
}

#[test]
fn a_manifest_asked_for_by_a_shared_asset_id_is_a_conflict() {
    // Two outputs drew the same 40-bit asset id; a third has another.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.sqlite");
    let registry = synthmark::registry::Registry::open_sqlite(&path).unwrap();
    let entry = |asset_id: &str, seed: u8| synthmark::registry::Entry {
        asset_id: Some(asset_id.to_string()),
        sha256: [seed; 32],
        fingerprint: None,
        format: "image/png".into(),
        generator: None,
        manifest_store: vec![seed; 64],
        created_at: 0,
    };
    registry
        .register_all(&[
            entry("00000000ab", 1),
            entry("00000000ab", 2),
            entry("00000000cd", 3),
        ])
        .unwrap();
    drop(registry);
    let server = Server::start_with(Settings::default(), Some(path.to_str().unwrap()));
    for id in ["00000000ab", "AB"] {
        let (status, body) = get(&server.url(&format!("/v1/manifests/{id}")));
        assert_eq!(status, 409, "{}", String::from_utf8_lossy(&body));
        let error = json(&body);
        assert_eq!(error["status"], 409);
        assert_eq!(error["entries"], 2);
        let message = error["error"].as_str().unwrap();
        assert!(
            message.contains("asset id 00000000ab is shared by 2 registry entries"),
            "{message}"
        );
    }
    // By SHA-256 each is one file; an unshared asset id is answered as before.
    let (status, store) = get(&server.url(&format!("/v1/manifests/{}", "02".repeat(32))));
    assert_eq!(status, 200);
    assert_eq!(store, vec![2; 64]);
    let (status, store) = get(&server.url("/v1/manifests/00000000cd"));
    assert_eq!(status, 200);
    assert_eq!(store, vec![3; 64]);
}

#[test]
fn bad_uploads_get_json_errors_and_the_server_keeps_answering() {
    let mut settings = Settings {
        max_body_bytes: 1 << 20,
        ..Settings::default()
    };
    settings.limits.max_pixels = 1_000_000;
    let server = Server::start_with(settings, None);
    let check = server.url("/v1/check");
    let valid = png(320, 240, 3);
    // A PNG header that claims 20000×20000 pixels: refused from the header, nothing decoded.
    let mut bomb = valid.clone();
    bomb[16..20].copy_from_slice(&20_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&20_000u32.to_be_bytes());
    let crc = crc32fast::hash(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("empty", Vec::new(), 400),
        ("text", b"hello, not an image".to_vec(), 415),
        ("truncated", valid[..valid.len() / 2].to_vec(), 422),
        ("too many pixels", bomb, 413),
    ];
    for (name, body, expected) in cases {
        let (status, answer) = post(&check, &body, None);
        assert_eq!(
            status,
            expected,
            "{name}: {}",
            String::from_utf8_lossy(&answer)
        );
        let error = json(&answer);
        assert!(
            error["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{name}: {error}"
        );
        assert_eq!(error["status"], expected);
    }
    // A body over the limit is refused from its Content-Length, before it is sent (a client
    // that waits for `100 Continue` as HTTP/1.1 allows; one that sends regardless may see the
    // connection closed after the 413).
    let (status, answer) = announce_only(&server, "/v1/check", 2 * 1024 * 1024);
    assert_eq!(status, 413, "{answer}");
    assert!(answer.contains("\"status\":413"), "{answer}");
    let (status, answer) = post(&server.url("/v1/check?watermark=maybe"), &valid, None);
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&answer));
    assert!(json(&answer)["error"].is_string());
    let (status, _) = post(&check, &valid, None);
    assert_eq!(status, 200, "still answering");
    let (status, body) = get(&server.url("/nowhere"));
    assert_eq!(status, 404);
    assert!(json(&body)["error"].is_string());
    let (_, metrics) = get(&server.url("/metrics"));
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains("synthmark_http_requests_total{route=\"/v1/check\",status=\"415\"} 1"),
        "{metrics}"
    );
}

#[test]
fn the_openapi_document_describes_the_routes_the_server_answers() {
    let server = Server::start();
    let (status, body) = get(&server.url("/openapi.json"));
    assert_eq!(status, 200);
    let document = json(&body);
    let paths = document["paths"].as_object().unwrap();
    for (path, operations) in paths {
        let concrete = path.replace("{id}", "0123456789");
        for method in operations.as_object().unwrap().keys() {
            let status = match method.as_str() {
                "get" => get(&server.url(&concrete)).0,
                "post" => post(&server.url(&concrete), b"x", Some(TOKEN)).0,
                other => panic!("undocumented method {other}"),
            };
            let documented = operations[method]["responses"]
                .as_object()
                .unwrap()
                .contains_key(&status.to_string());
            assert!(
                documented,
                "{method} {path} answered {status}, which the document does not list"
            );
        }
    }
}

#[test]
fn the_page_shows_the_verdict_for_a_stamped_and_a_stripped_image() {
    if !browser::available() {
        return;
    }
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let (status, stamped) = post(&server.url("/v1/stamp"), &png(800, 600, 9), Some(TOKEN));
    assert_eq!(status, 200);
    let stamped_path = dir.path().join("stamped.png");
    std::fs::write(&stamped_path, &stamped).unwrap();
    // Stripped as an upload pipeline would: decoded and re-encoded, no metadata left.
    let stripped_path = dir.path().join("stripped.png");
    std::fs::write(&stripped_path, common::reencode(&stamped, ImageFormat::Png)).unwrap();

    let mut browser = Browser::start();
    browser.open(&server.url("/"));
    assert_eq!(
        browser.eval("document.title"),
        "synthmark: is this image AI-generated?"
    );
    // The control is labelled for screen readers and reachable from the keyboard.
    assert_eq!(
        browser.eval("document.querySelector('label.drop input#file') !== null"),
        true
    );
    assert_eq!(
        browser.eval("document.getElementById('file').tabIndex >= 0"),
        true
    );

    browser.choose_file("#file", &stamped_path);
    browser.wait_for(
        "document.getElementById('status').textContent.startsWith('Checked stamped.png')",
    );
    assert_eq!(
        browser.eval("document.getElementById('verdict').dataset.verdict"),
        "labelled-ai"
    );
    assert_eq!(
        browser.eval("document.getElementById('verdict').textContent"),
        "Labelled as AI-generated"
    );
    let text = browser.eval("document.getElementById('result').innerText");
    let text = text.as_str().unwrap();
    assert!(
        text.contains("Signed by\nsynthmark DEVELOPMENT signer"),
        "{text}"
    );
    assert!(text.contains("not on this server's trust list"), "{text}");
    assert!(
        text.contains("Signed credentials (C2PA)") && text.contains("Invisible watermark"),
        "{text}"
    );
    assert_eq!(
        browser.eval("document.getElementById('download') !== null"),
        true
    );

    browser.choose_file("#file", &stripped_path);
    browser.wait_for(
        "document.getElementById('status').textContent.startsWith('Checked stripped.png')",
    );
    assert_eq!(
        browser.eval("document.getElementById('verdict').dataset.verdict"),
        "unlabelled-ai"
    );
    let text = browser.eval("document.getElementById('result').innerText");
    let text = text.as_str().unwrap();
    assert!(
        text.contains("Credentials recovered from the registry"),
        "{text}"
    );
    assert!(text.contains("Provider registry"), "{text}");
    assert!(text.contains("Signed by\nnobody"), "{text}");
    assert_eq!(
        browser.eval("document.getElementById('problem').textContent"),
        ""
    );
}

#[test]
fn two_instances_share_one_postgres_registry() {
    let Some(base) = common::postgres_url() else {
        return;
    };
    let schema = common::PgSchema::new(&base, "serve");
    let first = Server::start_with(Settings::default(), Some(&schema.url));
    let second = Server::start_with(Settings::default(), Some(&schema.url));
    let (status, stamped) = post(
        &first.url("/v1/stamp?watermark=false"),
        &png(800, 600, 17),
        Some(TOKEN),
    );
    assert_eq!(status, 200);
    // Stripped, halved and re-encoded at JPEG quality 40, then checked by the other instance:
    // only the shared registry's fingerprint can recognise it.
    let decoded = image::load_from_memory(&stamped).unwrap();
    let half = decoded.resize_exact(400, 300, image::imageops::FilterType::Triangle);
    let mut jpeg = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 40)
        .encode_image(&half.to_rgb8())
        .unwrap();
    let (status, body) = post(&second.url("/v1/check"), jpeg.get_ref(), None);
    assert_eq!(status, 200);
    let report = json(&body);
    assert_eq!(report["verdict"], "unlabelled-ai", "{report}");
    assert_eq!(report["rests_on"], serde_json::json!(["registry"]));
    assert!(report["recovered"]["matched_by"]
        .as_str()
        .unwrap()
        .starts_with("PDQ fingerprint"));
}

#[test]
fn sigterm_with_a_postgres_registry_exits_cleanly() {
    // The PostgreSQL client closes its connection when the registry is dropped, by blocking on
    // its own runtime: dropped on the server's async runtime at shutdown, it panicked ("Cannot
    // start a runtime from within a runtime") and the process exited 101.
    let Some(base) = common::postgres_url() else {
        return;
    };
    let schema = common::PgSchema::new(&base, "sigterm");
    let server = Server::process_with(Some(&schema.url));
    let (status, body) = post(&server.url("/v1/check"), &png(320, 240, 3), None);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (exit, log) = server.terminate();
    assert!(exit.success(), "{exit:?}\n{log}");
    assert!(!log.contains("panicked"), "{log}");
    assert!(log.contains("stopped"), "{log}");
}

#[test]
fn sigterm_finishes_the_request_in_flight() {
    let server = Server::process();
    let big = png(3000, 2000, 12);
    let url = server.url("/v1/check");
    let request = std::thread::spawn(move || post(&url, &big, None));
    // Wait until the check is being worked on (the metrics request itself is the other one).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, metrics) = get(&server.url("/metrics"));
        if String::from_utf8_lossy(&metrics).contains("synthmark_http_in_flight 2") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the check never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let (exit, log) = server.terminate();
    let (status, body) = request.join().unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(exit.success(), "{exit:?}\n{log}");
}
