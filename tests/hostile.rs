//! Hostile input, as an attacker would send it: compression bombs, images whose header promises
//! gigabytes, containers that loop or hold junk, undecodable images, slow clients, secrets in
//! bad configuration, a crash in the middle of a batch. Each answer must be a clear per-file
//! error or a bounded result; memory and time figures come from `scripts/hostile.sh`.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::hostile;
use common::{image_bytes, ndjson, stderr, synthmark, textured_picture};
use synthmark::server::{Service, Settings};
use synthmark::{
    CheckOptions, Checker, Format, Limits, StampOptions, Stamper, StamperConfig, Verdict,
};

const TOKEN: &str = "hostile-token";

/// Runs `synthmark` with an address-space limit: an allocation past it aborts the process, as
/// running out of memory would on a small machine.
fn synthmark_within(home: &Path, limit_bytes: u64, args: &[&str]) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_synthmark"));
    command
        .args(args)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("SYNTHMARK_CONFIG")
        .env_remove("SYNTHMARK_REGISTRY");
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: limit_bytes,
                rlim_max: limit_bytes,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.output().expect("run synthmark")
}

#[test]
fn a_text_bomb_is_checked_within_a_small_address_space() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("in");
    std::fs::create_dir(&dir).unwrap();
    // 200 chunks of 16 MiB 0xFF each (3.2 GB of UTF-8 text if all were kept), beside an
    // ordinary file that must still get its report.
    let bomb = hostile::text_bomb(200, 16 << 20, false);
    std::fs::write(dir.join("bomb.png"), &bomb).unwrap();
    std::fs::write(dir.join("itxt.png"), hostile::text_bomb(40, 16 << 20, true)).unwrap();
    std::fs::write(dir.join("fine.png"), image_bytes(Format::Png)).unwrap();
    let dir_arg = dir.to_str().unwrap();
    let output = synthmark_within(
        home.path(),
        1 << 30,
        &[
            "check",
            dir_arg,
            "--format",
            "ndjson",
            "--no-registry",
            "-j",
            "2",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let reports = ndjson(&output);
    assert_eq!(reports.len(), 3, "every file has its report");
    for report in &reports {
        assert_eq!(report["verdict"], "no-signal", "{report}");
    }
    assert_eq!(std::fs::read(dir.join("bomb.png")).unwrap(), bomb);
}

#[test]
fn images_over_the_limits_are_refused_from_the_header_by_check_and_stamp() {
    let home = tempfile::tempdir().unwrap();
    let huge = home.path().join("huge.png");
    std::fs::write(&huge, hostile::huge_png(20_000, 20_000, false)).unwrap();
    let deep = home.path().join("deep.png");
    std::fs::write(&deep, hostile::huge_png(7_300, 5_440, true)).unwrap();
    let out = home.path().join("out");
    for input in [&huge, &deep] {
        let path = input.to_str().unwrap();
        let check = synthmark_within(
            home.path(),
            1 << 30,
            &["check", path, "--format", "ndjson", "--no-registry"],
        );
        assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
        let report = &ndjson(&check)[0];
        assert_eq!(report["verdict"], "error", "{report}");
        let reason = report["error"].as_str().unwrap();
        assert!(reason.contains("at most"), "{reason}");
        let stamp = synthmark_within(
            home.path(),
            1 << 30,
            &[
                "stamp",
                path,
                "--out",
                out.to_str().unwrap(),
                "--no-registry",
            ],
        );
        assert_eq!(stamp.status.code(), Some(1), "{}", stderr(&stamp));
        assert!(stderr(&stamp).contains("at most"), "{}", stderr(&stamp));
    }
    assert!(!out.join("huge.png").exists() && !out.join("deep.png").exists());
}

#[test]
fn undecodable_images_are_errors_and_are_not_stamped() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("in");
    std::fs::create_dir(&dir).unwrap();
    let cases: [(&str, Vec<u8>); 3] = [
        ("zero.png", hostile::zero_size_png()),
        ("no-idat.png", hostile::png_without_idat()),
        ("noise.webp", hostile::corrupt_vp8l_webp()),
    ];
    for (name, bytes) in &cases {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let check = synthmark(
        home.path(),
        &[
            "check",
            dir.to_str().unwrap(),
            "--format",
            "ndjson",
            "--no-registry",
        ],
    );
    assert_eq!(check.status.code(), Some(1));
    for report in ndjson(&check) {
        assert_eq!(report["verdict"], "error", "{report}");
    }
    let out = home.path().join("out");
    let stamp = synthmark(
        home.path(),
        &[
            "stamp",
            dir.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--no-registry",
        ],
    );
    assert_eq!(stamp.status.code(), Some(1), "{}", stderr(&stamp));
    assert!(stderr(&stamp).contains("0 stamped"), "{}", stderr(&stamp));
    for (name, bytes) in &cases {
        assert!(!out.join(name).exists(), "{name} was stamped");
        assert_eq!(&std::fs::read(dir.join(name)).unwrap(), bytes);
    }
}

/// A crashed run's staged file, in the output directory, as `kill -9` leaves it.
fn leave_stale_file(dir: &Path, bytes: &[u8]) -> std::path::PathBuf {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let path = dir.join(format!(".synthmark-{dead}-x1y2z3.tmp"));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_rerun_after_a_crash_cleans_up_and_does_not_stamp_twice() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("batch");
    std::fs::create_dir(&dir).unwrap();
    for i in 0..3 {
        let mut png = Vec::new();
        textured_picture(320, 256, i)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        std::fs::write(dir.join(format!("{i}.png")), png).unwrap();
    }
    let registry = home.path().join("registry.sqlite");
    let registry_arg = registry.to_str().unwrap();
    let dir_arg = dir.to_str().unwrap();
    // The "crashed" run: one file stamped in place and logged; a second was staged and logged,
    // then the process died before the rename.
    let first = synthmark(
        home.path(),
        &[
            "stamp",
            &format!("{dir_arg}/0.png"),
            "--in-place",
            "--registry",
            registry_arg,
        ],
    );
    assert!(first.status.success(), "{}", stderr(&first));
    let stamped_copy = {
        let out = home.path().join("copy");
        let run = synthmark(
            home.path(),
            &[
                "stamp",
                &format!("{dir_arg}/1.png"),
                "--out",
                out.to_str().unwrap(),
                "--registry",
                registry_arg,
            ],
        );
        assert!(run.status.success(), "{}", stderr(&run));
        std::fs::read(out.join("1.png")).unwrap()
    };
    let leftover = leave_stale_file(&dir, &stamped_copy);
    let leftover_sha = {
        use sha2::{Digest, Sha256};
        common::hex(&Sha256::digest(&stamped_copy))
    };

    let rerun = synthmark(
        home.path(),
        &["stamp", dir_arg, "--in-place", "--registry", registry_arg],
    );
    let said = stderr(&rerun);
    assert!(rerun.status.success(), "{said}");
    assert!(!leftover.exists(), "the stale staged file is removed");
    assert!(said.contains("removed 1 temporary files"), "{said}");
    assert!(said.contains("registry entries"), "{said}");
    assert!(said.contains("2 stamped in place, 1 skipped"), "{said}");
    // The row logged for the staged file went with it.
    let gone = synthmark(
        home.path(),
        &[
            "registry",
            "delete",
            &leftover_sha,
            "--registry",
            registry_arg,
        ],
    );
    assert_eq!(gone.status.code(), Some(1), "{}", stderr(&gone));
    // Every file now reads labelled-ai with exactly one synthmark manifest.
    let check = synthmark(
        home.path(),
        &[
            "check",
            dir_arg,
            "--format",
            "ndjson",
            "--registry",
            registry_arg,
        ],
    );
    for report in ndjson(&check) {
        assert_eq!(report["verdict"], "labelled-ai", "{report}");
        let credentials = report["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["finding"] == "credentials")
            .count();
        assert_eq!(credentials, 1, "not stamped twice: {report}");
    }
    let forced = synthmark(
        home.path(),
        &[
            "stamp",
            dir_arg,
            "--in-place",
            "--force",
            "--registry",
            registry_arg,
        ],
    );
    assert!(
        stderr(&forced).contains("3 stamped in place"),
        "{}",
        stderr(&forced)
    );
}

#[test]
fn secrets_stay_out_of_errors() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(&config, "[serve]\ntokens = \"SECRET-TOKEN-1\"\n").unwrap();
    let png = home.path().join("a.png");
    std::fs::write(&png, image_bytes(Format::Png)).unwrap();
    let run = synthmark(
        home.path(),
        &[
            "--config",
            config.to_str().unwrap(),
            "check",
            png.to_str().unwrap(),
        ],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(!stderr(&run).contains("SECRET"), "{}", stderr(&run));
    assert!(stderr(&run).contains("line 2"), "{}", stderr(&run));

    // A libpq keyword string is not a file name.
    let libpq = "host=db user=me password=SECRET-PW dbname=x";
    let run = synthmark(
        home.path(),
        &["check", png.to_str().unwrap(), "--registry", libpq],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(!stderr(&run).contains("SECRET"), "{}", stderr(&run));
    assert!(stderr(&run).contains("postgres://"), "{}", stderr(&run));
    assert!(!home.path().join(libpq).exists());

    // A key file others can read is refused, with the fix.
    let keys = home.path().join("id");
    let made = synthmark(home.path(), &["keygen", "--out", keys.to_str().unwrap()]);
    assert!(made.status.success(), "{}", stderr(&made));
    let key = keys.join("key.pem");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let cert = keys.join("cert.pem");
    let out = home.path().join("out");
    let args = [
        "stamp",
        png.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-registry",
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ];
    let refused = synthmark(home.path(), &args);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("chmod 600"),
        "{}",
        stderr(&refused)
    );
    assert!(!stderr(&refused).contains("PRIVATE KEY"));
    let mut allowed = args.to_vec();
    allowed.push("--allow-readable-key");
    let run = synthmark(home.path(), &allowed);
    assert!(run.status.success(), "{}", stderr(&run));
}

/// A server on a loopback port inside this test process, stopped when dropped.
struct Server {
    address: SocketAddr,
    _running: common::server::InProcess,
}

impl Server {
    fn start(settings: Settings) -> Server {
        let identity = common::dev_identity().signing_identity().unwrap();
        let checker = |pixels: bool| {
            Checker::new(&CheckOptions {
                pixels,
                limits: settings.limits,
                ..CheckOptions::default()
            })
            .unwrap()
        };
        let stamper = Stamper::with_config(
            &identity,
            StamperConfig {
                limits: settings.limits,
                ..StamperConfig::default()
            },
            StampOptions::default(),
        )
        .unwrap();
        let service = Arc::new(Service::new(
            checker(true),
            checker(false),
            stamper,
            None,
            vec![TOKEN.to_string()],
            settings,
        ));
        let running = common::server::InProcess::start(service);
        Server {
            address: running.address,
            _running: running,
        }
    }

    /// One request on a fresh connection: (status, headers and body as text).
    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        let mut stream = TcpStream::connect(self.address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let status = answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, answer)
    }
}

fn body_of(answer: &str) -> serde_json::Value {
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

#[test]
fn the_service_answers_bombs_and_oversized_images_with_4xx_or_a_bounded_200() {
    let server = Server::start(Settings::default());
    let bomb = hostile::text_bomb(40, 16 << 20, false);
    for path in ["/v1/check?watermark=false", "/v1/check"] {
        let (status, answer) = server.request("POST", path, &[], &bomb);
        assert_eq!(status, 200, "{answer}");
        assert_eq!(body_of(&answer)["verdict"], "no-signal");
    }
    for huge in [
        hostile::huge_png(20_000, 20_000, false),
        hostile::huge_png(7_300, 5_440, true),
    ] {
        let (status, answer) = server.request("POST", "/v1/check", &[], &huge);
        assert_eq!(status, 413, "{answer}");
        assert!(body_of(&answer)["error"]
            .as_str()
            .unwrap()
            .contains("at most"));
    }
}

#[test]
fn client_faults_are_4xx_json_and_the_bearer_scheme_is_case_insensitive() {
    let server = Server::start(Settings::default());
    let auth = format!("Bearer {TOKEN}");
    let jpeg = image_bytes(Format::Jpeg);
    for (name, body) in [
        ("cyclic TIFF", hostile::cyclic_ifd_tiff()),
        ("junk HEIC", hostile::junk_bmff(b"heic")),
        ("junk AVIF", hostile::junk_bmff(b"avif")),
        ("broken JUMBF", hostile::broken_jumbf_jpeg(&jpeg)),
        ("zero-size PNG", hostile::zero_size_png()),
        ("corrupt VP8L", hostile::corrupt_vp8l_webp()),
    ] {
        let (status, answer) =
            server.request("POST", "/v1/stamp", &[("Authorization", &auth)], &body);
        assert!((400..500).contains(&status), "{name}: {answer}");
        assert!(body_of(&answer)["error"].is_string(), "{name}: {answer}");
    }
    let (status, answer) = server.request("GET", "/v1/manifests/%ff", &[], b"");
    assert_eq!(status, 400, "{answer}");
    assert!(answer
        .to_ascii_lowercase()
        .contains("content-type: application/json"));
    let lower = format!("bearer {TOKEN}");
    let (status, answer) = server.request("POST", "/v1/stamp", &[("authorization", &lower)], &jpeg);
    assert_eq!(status, 200, "{answer}");
}

/// Opens a connection and sends `prefix`, then nothing more.
fn stall(address: SocketAddr, prefix: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.write_all(prefix.as_bytes()).unwrap();
    stream
}

/// True once the server has closed `stream` (a read returns end of file or an error).
fn closed(mut stream: &TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let mut byte = [0u8; 512];
    loop {
        match stream.read(&mut byte) {
            Ok(0) => return true,
            Ok(_) => continue, // an answer (408, 503): read on to the close
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn slow_clients_are_cut_off_and_cannot_keep_a_provider_from_stamping() {
    let server = Server::start(Settings {
        header_timeout: Duration::from_secs(2),
        upload_grace: Duration::from_secs(1),
        ..Settings::default()
    });
    // 16 uploads that announce 100 kB, send 2 bytes and stall, and 50 connections that never
    // finish their headers.
    let head = "POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nab";
    let slow_bodies: Vec<TcpStream> = (0..16).map(|_| stall(server.address, head)).collect();
    let slow_headers: Vec<TcpStream> = (0..50)
        .map(|_| {
            stall(
                server.address,
                "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ",
            )
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut picture = Vec::new();
    textured_picture(320, 256, 7)
        .write_to(
            &mut std::io::Cursor::new(&mut picture),
            image::ImageFormat::Png,
        )
        .unwrap();
    let auth = format!("Bearer {TOKEN}");
    let (status, answer) =
        server.request("POST", "/v1/stamp", &[("Authorization", &auth)], &picture);
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = server.request("POST", "/v1/check", &[], &picture);
    assert_eq!(status, 200, "{answer}");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        let (status, _) = server.request("GET", "/healthz", &[], b"");
        assert_eq!(status, 200, "/healthz answers while slow clients hang on");
        let open_headers = slow_headers.iter().filter(|s| !closed(s)).count();
        let open_bodies = slow_bodies.iter().filter(|s| !closed(s)).count();
        if open_headers == 0 && open_bodies == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("slow connections were still open 10 s later");
}

#[test]
fn connections_over_the_cap_are_answered_503_and_the_rest_still_served() {
    let server = Server::start(Settings {
        max_connections: 8,
        ..Settings::default()
    });
    let idle: Vec<TcpStream> = (0..8)
        .map(|_| stall(server.address, "GET /healthz HTTP/1.1\r\n"))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let (status, answer) = server.request("GET", "/healthz", &[], b"");
    assert_eq!(status, 503, "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after"),
        "{answer}"
    );
    drop(idle);
    std::thread::sleep(Duration::from_millis(200));
    let (status, _) = server.request("GET", "/healthz", &[], b"");
    assert_eq!(status, 200);
    let (_, metrics) = server.request("GET", "/metrics", &[], b"");
    assert!(
        metrics.contains("synthmark_connections_refused_total 1"),
        "{metrics}"
    );
}

#[test]
fn sigterm_exits_within_the_request_timeout_whatever_a_slow_client_does() {
    use std::io::BufRead;
    let home = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_synthmark"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--timeout",
            "3",
            "--no-registry",
        ])
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env_remove("SYNTHMARK_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address: SocketAddr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap()
        .parse()
        .unwrap();
    // A request whose body never comes, and a connection that never finishes its headers.
    let _body = stall(
        address,
        "POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Length: 999\r\n\r\n",
    );
    let _headers = stall(address, "GET / HTTP/1.1\r\n");
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    // SAFETY: kill sends a signal to our own child.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "still running 8 s after SIGTERM with a 3 s request timeout"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_library_checks_a_bomb_without_reading_past_the_text_budget() {
    let limits = Limits {
        max_text_bytes: 1 << 20,
        ..Limits::default()
    };
    let checker = Checker::new(&CheckOptions {
        limits,
        ..CheckOptions::default()
    })
    .unwrap();
    let report = checker.check_bytes(&hostile::text_bomb(10, 4 << 20, true));
    assert_eq!(report.verdict, Verdict::NoSignal);
}
