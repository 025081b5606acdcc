//! A real RFC 3161 time-stamping authority on loopback, for tests and scripts: `openssl ts -reply`
//! behind a small HTTP/1.1 server (keep-alive), with its own CA and TSA certificate.
//!
//! It can also misbehave on purpose: answer garbage, answer 500, or accept and never answer.
#![allow(dead_code)] // each user takes a different part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the TSA answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Real timestamp responses.
    Honest,
    /// `200 application/timestamp-reply` with bytes that are not a response.
    Garbage,
    /// `500 Internal Server Error`.
    ServerError,
    /// Accepts the connection, reads the request, never answers.
    Hang,
}

/// A running loopback TSA. The server threads live until the process ends.
pub struct LoopbackTsa {
    pub url: String,
    /// The TSA's root CA (PEM): the trust anchor for `--trust-tsa`.
    pub ca_pem: PathBuf,
    requests: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
}

impl LoopbackTsa {
    /// Creates the TSA's keys and certificates in `dir` and starts serving.
    pub fn start(dir: &Path, behaviour: Behaviour) -> LoopbackTsa {
        Self::start_with_latency(dir, behaviour, Duration::ZERO)
    }

    /// Like [`LoopbackTsa::start`], answering each request `latency` late, like a TSA across a
    /// network (the responses themselves are made one at a time).
    pub fn start_with_latency(dir: &Path, behaviour: Behaviour, latency: Duration) -> LoopbackTsa {
        std::fs::create_dir_all(dir).unwrap();
        make_pki(dir);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}/tsa", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let state = Arc::new(State {
            dir: dir.to_path_buf(),
            behaviour,
            latency,
            openssl: Mutex::new(()),
            requests: requests.clone(),
        });
        let counter = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                let state = state.clone();
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        LoopbackTsa {
            url,
            ca_pem: dir.join("ca.pem"),
            requests,
            connections,
        }
    }

    /// Timestamp requests answered (or hung on) so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// A URL on which nothing listens: connections are refused.
pub fn refusing_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}/tsa", listener.local_addr().unwrap())
}

struct State {
    dir: PathBuf,
    behaviour: Behaviour,
    latency: Duration,
    /// `openssl ts -reply` keeps a serial-number file: one at a time.
    openssl: Mutex<()>,
    requests: Arc<AtomicUsize>,
}

fn serve(stream: TcpStream, state: &State) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut writer = stream;
    loop {
        let Some(body) = read_request(&mut reader) else {
            return; // connection closed
        };
        let id = state.requests.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(state.latency);
        let (status, reply) = match state.behaviour {
            Behaviour::Honest => ("200 OK", timestamp(state, id, &body)),
            Behaviour::Garbage => ("200 OK", b"this is not a timestamp response".to_vec()),
            Behaviour::ServerError => ("500 Internal Server Error", b"overloaded".to_vec()),
            Behaviour::Hang => loop {
                std::thread::sleep(Duration::from_secs(3600));
            },
        };
        // One write per answer (and no Nagle delay), so keep-alive requests do not stall on
        // delayed acknowledgements.
        let mut answer = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\n\r\n",
            reply.len()
        )
        .into_bytes();
        answer.extend_from_slice(&reply);
        if writer.write_all(&answer).is_err() {
            return;
        }
    }
}

/// Reads one HTTP request; returns its body.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut length = 0;
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(body)
}

fn timestamp(state: &State, id: usize, query: &[u8]) -> Vec<u8> {
    let query_file = state.dir.join(format!("query-{id}.tsq"));
    let reply_file = state.dir.join(format!("reply-{id}.tsr"));
    std::fs::write(&query_file, query).unwrap();
    let _one_at_a_time = state.openssl.lock().unwrap();
    let output = Command::new("openssl")
        .args(["ts", "-reply", "-config"])
        .arg(state.dir.join("tsa.cnf"))
        .arg("-queryfile")
        .arg(&query_file)
        .arg("-out")
        .arg(&reply_file)
        .output()
        .expect("run openssl ts");
    assert!(
        output.status.success(),
        "openssl ts -reply: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let reply = std::fs::read(&reply_file).unwrap();
    let _ = std::fs::remove_file(query_file);
    let _ = std::fs::remove_file(reply_file);
    reply
}

/// A root CA and a TSA certificate (EKU timeStamping, critical), valid ten years, made with the
/// openssl command line, plus the `openssl ts` configuration.
fn make_pki(dir: &Path) {
    // `command` is split on whitespace; `quoted` arguments (subjects) are passed as they are.
    let run = |command: &str, quoted: &[&str]| {
        let output = Command::new("openssl")
            .args(command.split_whitespace())
            .args(quoted)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            output.status.success(),
            "openssl {command}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let new_key = |file: &str| {
        run(
            &format!("ecparam -name prime256v1 -genkey -noout -out {file}"),
            &[],
        )
    };
    new_key("ca.key");
    run(
        "req -x509 -new -key ca.key -sha256 -days 3650 -out ca.pem \
         -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
         -addext subjectKeyIdentifier=hash -subj",
        &["/CN=synthmark test TSA root/O=synthmark tests"],
    );
    new_key("tsa.key");
    run(
        "req -new -key tsa.key -out tsa.csr -subj",
        &["/CN=synthmark loopback TSA/O=synthmark tests"],
    );
    std::fs::write(
        dir.join("tsa.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .unwrap();
    run(
        "x509 -req -in tsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -sha256 \
         -extfile tsa.ext -out tsa.pem",
        &[],
    );
    std::fs::write(dir.join("serial"), "01\n").unwrap();
    let d = dir.display();
    std::fs::write(
        dir.join("tsa.cnf"),
        format!(
            "[ tsa ]\ndefault_tsa = tsa_config\n\n[ tsa_config ]\nserial = {d}/serial\n\
             signer_cert = {d}/tsa.pem\ncerts = {d}/ca.pem\nsigner_key = {d}/tsa.key\n\
             signer_digest = sha256\ndefault_policy = 1.3.6.1.4.1.4146.2.3\n\
             digests = sha256, sha384, sha512\naccuracy = secs:1\nordering = yes\ntsa_name = yes\n\
             ess_cert_id_chain = no\ness_cert_id_alg = sha256\n"
        ),
    )
    .unwrap();
}
