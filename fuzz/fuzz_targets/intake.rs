//! Fuzzes the HTTP service's request intake in process: arbitrary methods, routes, query
//! options, headers (content type, length, authorisation) and bodies (raw or multipart) go
//! through the real router. Every request must be answered: never a panic, never a 5xx other
//! than 503, and every error as JSON.
#![no_main]

use std::sync::{Arc, LazyLock};

use axum::body::Body;
use axum::http::Request;
use synthmark::server::{app, Service, Settings};
use synthmark::{
    CheckOptions, Checker, DevIdentity, KeyAlgorithm, Limits, StampOptions, Stamper, StamperConfig,
};
use tower::ServiceExt as _;

const TOKEN: &str = "fuzz-token";

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
});

static SERVICE: LazyLock<Arc<Service>> = LazyLock::new(|| {
    let limits = Limits {
        max_pixels: 4_000_000,
        max_decoded_bytes: 32 << 20,
        max_text_bytes: 1 << 20,
    };
    let identity = DevIdentity::generate(KeyAlgorithm::Es256, "fuzz")
        .and_then(|dev| dev.signing_identity())
        .expect("a development identity");
    let checker = |pixels: bool| {
        Checker::new(&CheckOptions {
            pixels,
            limits,
            ..CheckOptions::default()
        })
        .expect("a checker")
    };
    let stamper = Stamper::with_config(
        &identity,
        StamperConfig {
            limits,
            verify_after_sign: false,
            ..StamperConfig::default()
        },
        StampOptions::default(),
    )
    .expect("a stamper");
    let settings = Settings {
        limits,
        max_body_bytes: 4 << 20,
        ..Settings::default()
    };
    Arc::new(Service::new(
        checker(true),
        checker(false),
        stamper,
        None,
        vec![TOKEN.to_string()],
        settings,
    ))
});

const PATHS: [&str; 8] = [
    "/v1/check",
    "/v1/stamp",
    "/v1/manifests/",
    "/healthz",
    "/metrics",
    "/openapi.json",
    "/",
    "/nowhere",
];
const METHODS: [&str; 4] = ["POST", "GET", "PUT", "DELETE"];
const CONTENT_TYPES: [&str; 4] = [
    "application/octet-stream",
    "multipart/form-data; boundary=X",
    "multipart/form-data",
    "image/png",
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (head, rest) = data.split_at(4);
    // The query (and the manifest id) is the text up to the first NUL, the body what follows.
    let split = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let (query, body) = (&rest[..split], rest.get(split + 1..).unwrap_or_default());
    let query: String = String::from_utf8_lossy(query)
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(200)
        .collect();
    let path = PATHS[usize::from(head[0]) % PATHS.len()];
    let uri = if path.ends_with('/') && path.len() > 1 {
        format!("{path}{query}")
    } else {
        format!("{path}?{query}")
    };
    let mut request = Request::builder()
        .method(METHODS[usize::from(head[1]) % METHODS.len()])
        .uri(&uri);
    if head[2] & 1 == 1 {
        request = request.header(
            "content-type",
            CONTENT_TYPES[usize::from(head[2] >> 1) % CONTENT_TYPES.len()],
        );
    }
    match head[3] % 4 {
        0 => request = request.header("authorization", format!("Bearer {TOKEN}")),
        1 => request = request.header("authorization", format!("bearer {TOKEN}")),
        2 => request = request.header("authorization", "Bearer wrong"),
        _ => {}
    }
    if head[3] & 4 == 4 {
        request = request.header("content-length", body.len().to_string());
    }
    let Ok(request) = request.body(Body::from(body.to_vec())) else {
        return; // not a valid HTTP request at all (hyper would refuse it first)
    };
    let response = RUNTIME.block_on(app(SERVICE.clone()).oneshot(request));
    let response = response.expect("the router is infallible");
    let status = response.status();
    assert!(
        !status.is_server_error() || status.as_u16() == 503,
        "{status} for {uri}"
    );
    if status.is_client_error() || status.is_server_error() {
        let bytes = RUNTIME
            .block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
            .expect("a body");
        let json: serde_json::Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("{status} for {uri} is not JSON"));
        assert!(json.get("error").is_some(), "{json}");
    }
});
