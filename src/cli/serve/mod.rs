//! `synthmark serve`: the HTTP service (axum on tokio), a thin shell over the library's
//! [`Checker`] and [`Stamper`]. Stateless apart from the registry, so any number of instances
//! behind a load balancer share one PostgreSQL registry.
//!
//! Hardening lives here, in one place: a request body limit, a pixel-count limit checked from the
//! image header before anything is decoded, bounded concurrency for decoding and signing (a
//! request that cannot get a worker within the queue wait gets 503 with `Retry-After`), a
//! per-request timeout, JSON errors for every 4xx/5xx, structured logs without secrets, and a
//! graceful shutdown that finishes in-flight requests.

mod intake;
mod metrics;
mod routes;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;
use synthmark::{CheckOptions, Checker, SoftwareAgent, StampOptions, Stamper, TsaOptions};
use tokio::sync::Semaphore;

use super::registry::{self as registry_cli, RegistryArgs};
use super::signing::{self, IdentityArgs};
use super::Global;

/// `[serve]` in the configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    pub listen: Option<SocketAddr>,
    /// API tokens accepted by `POST /v1/stamp` (`Authorization: Bearer TOKEN`).
    #[serde(default)]
    pub tokens: Vec<String>,
    pub max_body_mb: Option<u64>,
    pub max_megapixels: Option<f64>,
    pub timeout_secs: Option<u64>,
    pub workers: Option<usize>,
    pub queue_wait_ms: Option<u64>,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on. Default: 127.0.0.1:8080 (`[serve] listen`).
    #[arg(long, env = "SYNTHMARK_LISTEN", value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// API tokens for POST /v1/stamp, comma-separated (`[serve] tokens`). Without any, stamping
    /// is refused (403) and only checking is served.
    #[arg(
        long = "token",
        env = "SYNTHMARK_API_TOKENS",
        value_name = "TOKEN",
        value_delimiter = ',',
        hide_env_values = true
    )]
    tokens: Vec<String>,
    /// Largest request body in megabytes. Default: 50.
    #[arg(long, env = "SYNTHMARK_MAX_BODY_MB", value_name = "MB")]
    max_body_mb: Option<u64>,
    /// Largest image, in megapixels, read from the header before decoding. Default and maximum:
    /// 40.
    #[arg(long, env = "SYNTHMARK_MAX_MEGAPIXELS", value_name = "MP")]
    max_megapixels: Option<f64>,
    /// Seconds a request may take before it is answered 503. Default: 30.
    #[arg(long, env = "SYNTHMARK_TIMEOUT", value_name = "SECS")]
    timeout: Option<u64>,
    /// Requests decoded or signed at once. Default: twice the number of cores.
    #[arg(long, env = "SYNTHMARK_WORKERS", value_name = "N")]
    workers: Option<usize>,
    /// Trust anchors for checks (PEM, repeatable; `[check] trust`).
    #[arg(
        long,
        env = "SYNTHMARK_TRUST",
        value_name = "PEM",
        value_delimiter = ','
    )]
    trust: Vec<std::path::PathBuf>,
    #[command(flatten)]
    identity: IdentityArgs,
    #[command(flatten)]
    registry: RegistryArgs,
}

/// Everything a request handler needs; built once, shared by all requests.
pub struct Service {
    /// Every layer, pixels included.
    pub checker: Checker,
    /// Metadata, credentials and the registry's exact lookups only: no pixel decoding.
    pub metadata_checker: Checker,
    pub stamper: Stamper,
    pub registry: Option<Arc<synthmark::registry::Registry>>,
    pub tokens: Vec<String>,
    pub limits: Limits,
    pub workers: Arc<Semaphore>,
    pub uploads: Arc<Semaphore>,
    pub metrics: metrics::Metrics,
}

/// The service's limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_pixels: u64,
    pub timeout: Duration,
    pub queue_wait: Duration,
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<u8> {
    let config = &global.config.serve;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let max_body_mb = args
        .max_body_mb
        .or(config.max_body_mb)
        .unwrap_or(50)
        .clamp(1, 4096);
    // The checker never decodes more than MAX_PIXELS; a higher limit would let such images in
    // only to be checked without their pixel layers.
    let max_megapixels = args
        .max_megapixels
        .or(config.max_megapixels)
        .unwrap_or(40.0)
        .clamp(0.01, synthmark::MAX_PIXELS as f64 / 1e6);
    let limits = Limits {
        max_body_bytes: (max_body_mb * 1024 * 1024) as usize,
        max_pixels: (max_megapixels * 1e6) as u64,
        timeout: Duration::from_secs(
            args.timeout
                .or(config.timeout_secs)
                .unwrap_or(30)
                .clamp(1, 3600),
        ),
        queue_wait: Duration::from_millis(config.queue_wait_ms.unwrap_or(2000).min(60_000)),
    };
    let workers = args
        .workers
        .or(config.workers)
        .unwrap_or(2 * cores)
        .clamp(1, 1024);
    let listen = args
        .listen
        .or(config.listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let mut tokens: Vec<String> = args
        .tokens
        .into_iter()
        .chain(config.tokens.iter().cloned())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    tokens.dedup();

    let mut check_options = CheckOptions::default();
    for path in args.trust.iter().chain(&global.config.check.trust) {
        check_options.add_trust_anchor_file(path)?;
    }
    for path in &global.config.check.trust_tsa {
        check_options.add_tsa_trust_anchor_file(path)?;
    }
    let registry = registry_cli::for_stamping(&args.registry, &global.config.registry)?;
    let mut checker = Checker::new(&check_options)?;
    let mut metadata_checker = Checker::new(&CheckOptions {
        watermark: false,
        ..check_options.clone()
    })?;
    let identity = signing::resolve(&args.identity, &global.config.stamp, |w| eprintln!("{w}"))?;
    // The configuration's stamping defaults; a request may override generator and no_train.
    let stamp_config = &global.config.stamp;
    let defaults = StampOptions {
        generator: stamp_config
            .generator
            .as_deref()
            .and_then(SoftwareAgent::parse),
        no_train: stamp_config.no_train,
        tsa: stamp_config.tsa_url.as_ref().map(|url| {
            let mut tsa = TsaOptions::new(url.clone());
            tsa.optional = stamp_config.tsa_optional;
            tsa.timeout = Duration::from_secs(stamp_config.tsa_timeout.unwrap_or(10).max(1));
            tsa
        }),
        ..StampOptions::default()
    };
    let mut stamper = Stamper::new(&identity, defaults)?;
    if let Some(registry) = &registry {
        checker = checker.with_registry(registry.clone());
        metadata_checker = metadata_checker.with_registry(registry.clone());
        stamper = stamper.with_registry(registry.clone());
    }
    let service = Arc::new(Service {
        checker,
        metadata_checker,
        stamper,
        registry,
        tokens,
        limits,
        workers: Arc::new(Semaphore::new(workers)),
        // Uploads buffered at once: a bound on memory (each up to the body limit) that does not
        // depend on how many connections are open.
        uploads: Arc::new(Semaphore::new((4 * workers).max(16))),
        metrics: metrics::Metrics::default(),
    });

    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let bound = listener.local_addr()?;
        tracing::info!(
            address = %bound,
            workers,
            stamping = !service.tokens.is_empty(),
            registry = service.registry.as_ref().map(|r| r.location().to_string()),
            timestamps = service.stamper.options().tsa.is_some(),
            "synthmark serving"
        );
        // The address on standard output, for scripts that start the server on port 0.
        println!("listening on http://{bound}");
        axum::serve(listener, routes::router(service))
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("the server failed")?;
        tracing::info!("stopped: every in-flight request was answered");
        anyhow::Ok(())
    })?;
    Ok(super::EXIT_OK)
}

/// Logs as text, or as JSON lines with `SYNTHMARK_LOG_FORMAT=json`; level from `RUST_LOG`
/// (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = if std::env::var("SYNTHMARK_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Ctrl-C or SIGTERM: stop accepting, finish what is in flight.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
