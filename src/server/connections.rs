//! Serving connections: hyper's HTTP/1.1 server with a timer, so a client must send its headers
//! (and an idle keep-alive connection its next request) within the header timeout; a cap on open
//! connections, beyond which a connection is answered 503 and closed at once; hyper's own
//! rejections (malformed requests, oversized headers) logged and counted; and a graceful
//! shutdown that finishes in-flight requests but never waits longer than a request may take.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

use super::routes::app;
use super::service::Service;

/// File descriptors kept free for the listener, the registry, logs and files a request opens.
const SPARE_DESCRIPTORS: u64 = 64;

/// Serves `service` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish for at most the request timeout.
pub async fn serve(
    listener: TcpListener,
    service: Arc<Service>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let settings = service.settings().clone();
    let cap = connection_cap(settings.max_connections);
    let slots = Arc::new(Semaphore::new(cap));
    let router = app(service.clone());
    let hyper_service = TowerToHyperService::new(
        router.map_request(|request: hyper::Request<Incoming>| request.map(Body::new)),
    );
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(settings.header_timeout)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    tracing::info!(max_connections = cap, "accepting connections");

    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(err) => {
                    // Out of descriptors or a connection reset before it was accepted: wait a
                    // moment rather than spin.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            service.metrics.connection_refused();
            tokio::spawn(refuse_connection(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let connection = http.serve_connection(TokioIo::new(stream), hyper_service.clone());
        let connection = graceful.watch(connection);
        let service = service.clone();
        tokio::spawn(async move {
            let _open = service.metrics.connection();
            if let Err(err) = connection.await {
                rejected(&service, &err);
            }
            drop(slot);
        });
    }
    drop(listener);
    let grace = settings.timeout + Duration::from_secs(1);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            seconds = grace.as_secs(),
            "stopped waiting for connections that did not finish within the request timeout"
        );
    }
    Ok(())
}

/// Logs and counts what hyper refused on its own: a malformed request (400), a URI or headers
/// too large (414, 431), a client that did not send its headers in time. A client that simply
/// went away is not worth a line.
fn rejected(service: &Service, err: &hyper::Error) {
    let kind = if err.is_timeout() {
        "header-timeout"
    } else if err.is_parse_too_large() {
        if err.to_string().contains("URI") {
            "414"
        } else {
            "431"
        }
    } else if err.is_parse() {
        "400"
    } else {
        return;
    };
    service.metrics.rejected(kind);
    tracing::info!(kind, error = %err, "request rejected before routing");
}

/// Answers a connection over the cap with a 503 and closes it, without reading the request.
async fn refuse_connection(mut stream: TcpStream) {
    const BODY: &str =
        r#"{"error":"the server has too many open connections; retry shortly","status":503}"#;
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// `wanted`, but never more connections than the process may open descriptors for.
fn connection_cap(wanted: usize) -> usize {
    let cap = descriptor_limit().map_or(wanted as u64, |limit| {
        limit.saturating_sub(SPARE_DESCRIPTORS).min(wanted as u64)
    });
    (cap as usize).max(1)
}

#[cfg(unix)]
fn descriptor_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given.
    let found = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    (found && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

#[cfg(not(unix))]
fn descriptor_limit() -> Option<u64> {
    None
}

/// Raises this process's soft limit on open files to its hard limit, so the connection cap
/// rather than the file limit decides how many clients are served. Returns the new soft limit.
#[cfg(unix)]
pub fn raise_descriptor_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct they are given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    Some(limit.rlim_cur)
}

/// Raising the file limit is a Unix notion; elsewhere nothing changes.
#[cfg(not(unix))]
pub fn raise_descriptor_limit() -> Option<u64> {
    None
}
