//! `synthmark serve`: flags, environment and configuration merged into the library's
//! [`synthmark::server::Settings`], then the service run on a tokio runtime until Ctrl-C or
//! SIGTERM. Everything about taking requests lives in [`synthmark::server`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use synthmark::server::{self, Service, Settings};
use synthmark::{CheckOptions, Checker, StampOptions, Stamper};

use super::config::ServeConfig;
use super::flags::{SigningArgs, TrustArgs};
use super::registry::{self as registry_cli, RegistryArgs};
use super::signing::{self, IdentityArgs};
use super::{Global, Outcome};

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
    /// Seconds a request may take from its first byte to its answer. Default: 30.
    #[arg(long, env = "SYNTHMARK_TIMEOUT", value_name = "SECS")]
    timeout: Option<u64>,
    /// Checks run at once. Default: twice the number of cores, at most one per 64 MB of
    /// --memory-mb.
    #[arg(long, env = "SYNTHMARK_WORKERS", value_name = "N")]
    workers: Option<usize>,
    /// Memory in megabytes that checks may hold at once (uploads and decoded pixels); stamping
    /// has its own budget (`[serve] stamp_memory_mb`). Default: a quarter of the machine's or
    /// container's memory, 256 to 1024 (stamping: an eighth, 192 to 768).
    #[arg(long, env = "SYNTHMARK_MEMORY_MB", value_name = "MB")]
    memory_mb: Option<u64>,
    /// Connections open at once; more are answered 503. Default: 512.
    #[arg(long, env = "SYNTHMARK_MAX_CONNECTIONS", value_name = "N")]
    max_connections: Option<usize>,
    #[command(flatten)]
    trust: TrustArgs,
    /// The defaults of `/v1/stamp` (a request may override the generator and no_train).
    #[command(flatten)]
    signing: SigningArgs,
    /// Let /v1/stamp sign with the development identity when no certificate is configured. For
    /// testing only: nothing outside this machine trusts it. Without --dev, tokens and no
    /// certificate is an error.
    #[arg(long)]
    dev: bool,
    #[command(flatten)]
    identity: IdentityArgs,
    #[command(flatten)]
    registry: RegistryArgs,
}

/// The service's settings from flags, then the configuration file, then the defaults; every
/// value clamped to a sane range.
fn settings(args: &Args, config: &ServeConfig) -> Settings {
    let defaults = Settings::default();
    let mut limits = defaults.limits;
    // The decoder's cap is the most anyone can ask for: a higher limit would let such images
    // in only to be checked without their pixel layers.
    let max_megapixels = args
        .max_megapixels
        .or(config.max_megapixels)
        .unwrap_or(limits.max_pixels as f64 / 1e6)
        .clamp(0.01, synthmark::MAX_PIXELS as f64 / 1e6);
    limits.max_pixels = (max_megapixels * 1e6) as u64;
    let mb = |value: Option<u64>, default: u64, max: u64| -> u64 {
        value.map_or(default, |mb| mb.clamp(1, max) << 20)
    };
    let check_memory_bytes = mb(
        args.memory_mb.or(config.memory_mb),
        defaults.check_memory_bytes,
        1 << 20,
    );
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    Settings {
        max_body_bytes: mb(
            args.max_body_mb.or(config.max_body_mb),
            defaults.max_body_bytes as u64,
            4096,
        ) as usize,
        limits,
        timeout: Duration::from_secs(
            args.timeout
                .or(config.timeout_secs)
                .unwrap_or(defaults.timeout.as_secs())
                .clamp(1, 3600),
        ),
        queue_wait: config.queue_wait_ms.map_or(defaults.queue_wait, |ms| {
            Duration::from_millis(ms.min(60_000))
        }),
        workers: args
            .workers
            .or(config.workers)
            .unwrap_or_else(|| server::default_workers(cores, check_memory_bytes))
            .clamp(1, 1024),
        stamp_workers: config
            .stamp_workers
            .unwrap_or(defaults.stamp_workers)
            .clamp(1, 1024),
        check_memory_bytes,
        stamp_memory_bytes: mb(config.stamp_memory_mb, defaults.stamp_memory_bytes, 1 << 20),
        header_timeout: config
            .header_timeout_secs
            .map_or(defaults.header_timeout, |s| {
                Duration::from_secs(s.clamp(1, 300))
            }),
        max_connections: args
            .max_connections
            .or(config.max_connections)
            .unwrap_or(defaults.max_connections)
            .clamp(1, 1 << 20),
        min_upload_rate: config
            .min_upload_kib_per_sec
            .map_or(defaults.min_upload_rate, |kib| kib.max(1) << 10),
        upload_grace: defaults.upload_grace,
    }
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<Outcome> {
    let config = &global.config.serve;
    let settings = settings(&args, config);
    let listen = args
        .listen
        .or(config.listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let tokens: Vec<String> = args
        .tokens
        .iter()
        .chain(config.tokens.iter())
        .cloned()
        .collect();

    // Before anything is opened: a production server must not sign with the development
    // identity by accident.
    let stamping = !tokens.is_empty();
    let development = !signing::configured(&args.identity, &global.config.stamp);
    if stamping && development && !args.dev {
        anyhow::bail!(
            "API tokens are configured, so /v1/stamp is enabled, but no signing certificate is: \
             it would sign with the DEVELOPMENT identity, which nothing outside this machine trusts\n\
             hint: pass --cert with --key, --signer-cmd or --pkcs11-module (or set them in the \
             configuration's [stamp]); or pass --dev to sign with the development identity for testing"
        );
    }

    let check_options = args.trust.check_options(
        &global.config.check,
        CheckOptions {
            limits: settings.limits,
            ..CheckOptions::default()
        },
    )?;
    let registry = registry_cli::for_stamping(&args.registry, &global.config.registry)?;
    let mut checker = Checker::new(&check_options)?;
    let mut metadata_checker = Checker::new(&CheckOptions {
        pixels: false,
        ..check_options.clone()
    })?;
    let identity = if development && !stamping {
        // Nothing is signed without tokens: the stamper needs an identity, nobody needs warning.
        signing::development_identity()?.0
    } else {
        signing::resolve(&args.identity, &global.config.stamp, |w| eprintln!("{w}"))?
    };
    if development && stamping {
        eprintln!(
            "WARNING: --dev: /v1/stamp signs with the DEVELOPMENT identity. Never serve real traffic like this."
        );
    }
    // The stamping defaults; a request may override the generator and no_train.
    let signing = args
        .signing
        .resolve(&global.config.stamp, settings.limits)?;
    let defaults = StampOptions {
        generator: signing.generator,
        no_train: signing.no_train,
        ..StampOptions::default()
    };
    let mut stamper = Stamper::with_config(&identity, signing.config, defaults)?;
    if let Some(registry) = &registry {
        checker = checker.with_registry(registry.clone());
        metadata_checker = metadata_checker.with_registry(registry.clone());
        stamper = stamper.with_registry(registry.clone());
    }
    let timeout = settings.timeout;
    let identity_key = identity.key_description();
    let service = Arc::new(Service::new(
        checker,
        metadata_checker,
        stamper,
        registry,
        tokens,
        settings,
    ));

    init_logging();
    if development && stamping {
        tracing::warn!(
            "--dev: /v1/stamp signs with the DEVELOPMENT identity; nothing outside this machine trusts it"
        );
    }
    server::raise_descriptor_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let bound = listener.local_addr()?;
        let settings = service.settings();
        tracing::info!(
            address = %bound,
            workers = settings.workers,
            stamp_workers = settings.stamp_workers,
            check_memory_mb = settings.check_memory_bytes >> 20,
            stamp_memory_mb = settings.stamp_memory_bytes >> 20,
            stamping = service.stamping_enabled(),
            development_identity = development,
            signing_key = %identity_key,
            registry = service.registry().map(|r| r.location().to_string()),
            timestamps = service.stamper().config().tsa.is_some(),
            "synthmark serving"
        );
        // The address on standard output, for scripts that start the server on port 0.
        println!("listening on http://{bound}");
        server::serve(listener, service, shutdown_signal())
            .await
            .context("the server failed")?;
        tracing::info!("stopped");
        anyhow::Ok(())
    })?;
    // Work still running on blocking threads (a stamp whose client has gone) is not waited for
    // beyond the request timeout.
    runtime.shutdown_timeout(timeout);
    Ok(Outcome::Done)
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
