//! A real RFC 3161 time-stamping authority on 127.0.0.1 for the scripts in `scripts/`
//! (`openssl ts -reply` behind a small HTTP server; the same code the tests use).
//!
//! `cargo run --example loopback_tsa -- DIR [LATENCY_MS]` creates the TSA's CA and certificate in
//! DIR, prints `url=http://127.0.0.1:PORT/tsa` and `ca=DIR/ca.pem`, and serves until it is killed.
//! LATENCY_MS delays every answer, to stand in for a TSA across a network.

#[path = "../tests/common/tsa.rs"]
mod tsa;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "loopback-tsa".to_string());
    let latency_ms: u64 = args
        .next()
        .map_or(0, |ms| ms.parse().expect("LATENCY_MS is a number"));
    let tsa = tsa::LoopbackTsa::start_with_latency(
        std::path::Path::new(&dir),
        tsa::Behaviour::Honest,
        std::time::Duration::from_millis(latency_ms),
    );
    println!("url={}", tsa.url);
    println!("ca={}", tsa.ca_pem.display());
    loop {
        std::thread::park();
    }
}
