//! Trusted time: RFC 3161 timestamps on C2PA signatures, from a time-stamping authority (TSA).
//!
//! Without a timestamp a validator judges the signing certificate at the time of validation, so
//! every credential reads expired the day the certificate does. With one, the certificate is
//! judged at the time the TSA vouches for.
//!
//! The `c2pa` crate builds the request, checks the nonce and verifies the response; it is built
//! without HTTP clients, so this module gives it one ([`TsaClient`]): `ureq` with TLS, a keep-alive
//! connection pool (one TLS handshake per worker, not per image), a timeout, retries with backoff
//! for transport failures and 5xx answers, and a cap on requests in flight.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use c2pa::crypto::time_stamp::{default_rfc3161_message, default_rfc3161_request};
use c2pa::{Context, Signer, SigningAlg};

/// How to reach the time-stamping authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsaOptions {
    /// The TSA's URL (`http://` or `https://`), e.g. `http://timestamp.digicert.com`.
    pub url: String,
    /// The longest one attempt may take, connecting included.
    ///
    /// Default: 10 s
    pub timeout: Duration,
    /// Attempts per image before the image fails (transport errors and 5xx answers are retried,
    /// after 250 ms, 500 ms, …).
    ///
    /// Default: 3
    pub attempts: u32,
    /// Sign without a timestamp when the TSA cannot be reached, instead of failing the image.
    ///
    /// Default: `false`
    pub optional: bool,
    /// Requests in flight at once, across all threads.
    ///
    /// Default: 16
    pub max_in_flight: usize,
}

impl TsaOptions {
    /// Options for `url` with the defaults above.
    pub fn new(url: impl Into<String>) -> Self {
        TsaOptions {
            url: url.into(),
            timeout: Duration::from_secs(10),
            attempts: 3,
            optional: false,
            max_in_flight: 16,
        }
    }
}

/// A TSA connection pool, shared by every thread of a [`crate::Stamper`].
pub struct TsaClient {
    options: TsaOptions,
    /// A `c2pa` context whose HTTP resolver is [`HttpClient`]: the crate's timestamp request code
    /// sends through it.
    context: Arc<Context>,
}

impl TsaClient {
    pub fn new(options: TsaOptions) -> Self {
        let resolver = HttpClient::new(&options);
        let context = Context::new().with_resolver(resolver).into_shared();
        TsaClient { options, context }
    }

    /// Requests a timestamp token over `message` (the signature's countersignature data).
    fn request(&self, message: &[u8]) -> c2pa::Result<Vec<u8>> {
        let body = default_rfc3161_message(message)?;
        Ok(default_rfc3161_request(
            &self.options.url,
            None,
            &body,
            message,
            &self.context,
        )?)
    }
}

/// A signer that timestamps its signatures through a [`TsaClient`]. Built per image, around the
/// shared signer; records whether an optional timestamp was skipped.
pub(crate) struct TimestampingSigner<'a> {
    inner: &'a dyn Signer,
    tsa: &'a TsaClient,
    /// Why the last timestamp request failed.
    failure: RefCell<Option<String>>,
}

impl<'a> TimestampingSigner<'a> {
    /// `inner` must have been created with the TSA URL, so its reserved size includes room for
    /// the token.
    pub fn new(inner: &'a dyn Signer, tsa: &'a TsaClient) -> Self {
        TimestampingSigner {
            inner,
            tsa,
            failure: RefCell::new(None),
        }
    }

    /// Why the TSA gave no timestamp: with [`TsaOptions::optional`] the signature was made
    /// without one, otherwise signing failed.
    pub fn failure(&self) -> Option<String> {
        self.failure.borrow().clone()
    }

    pub fn url(&self) -> &str {
        &self.tsa.options.url
    }
}

impl Signer for TimestampingSigner<'_> {
    fn sign(&self, data: &[u8]) -> c2pa::Result<Vec<u8>> {
        self.inner.sign(data)
    }

    fn alg(&self) -> SigningAlg {
        self.inner.alg()
    }

    fn certs(&self) -> c2pa::Result<Vec<Vec<u8>>> {
        self.inner.certs()
    }

    fn reserve_size(&self) -> usize {
        self.inner.reserve_size()
    }

    fn time_authority_url(&self) -> Option<String> {
        Some(self.tsa.options.url.clone())
    }

    fn send_timestamp_request(&self, message: &[u8]) -> Option<c2pa::Result<Vec<u8>>> {
        match self.tsa.request(message) {
            Ok(token) => Some(Ok(token)),
            Err(err) => {
                *self.failure.borrow_mut() = Some(err.to_string());
                if self.tsa.options.optional {
                    None
                } else {
                    Some(Err(err))
                }
            }
        }
    }
}

/// The HTTP transport: `ureq` with TLS when the `tsa` feature is on.
#[cfg(feature = "tsa")]
mod http {
    use std::io::Read;
    use std::sync::{Condvar, Mutex};
    use std::time::Duration;

    use c2pa::http::http::{Request, Response};
    use c2pa::http::{HttpResolverError, SyncHttpResolver};

    use super::TsaOptions;

    /// The HTTP client the `c2pa` crate sends timestamp requests through.
    pub(super) struct HttpClient {
        agent: ureq::Agent,
        attempts: u32,
        in_flight: Semaphore,
    }

    impl HttpClient {
        pub(super) fn new(options: &TsaOptions) -> Self {
            let agent = ureq::Agent::config_builder()
                .timeout_global(Some(options.timeout))
                .http_status_as_error(false)
                .user_agent(concat!("synthmark/", env!("CARGO_PKG_VERSION")))
                .build()
                .new_agent();
            HttpClient {
                agent,
                attempts: options.attempts.max(1),
                in_flight: Semaphore::new(options.max_in_flight.max(1)),
            }
        }
    }

    impl SyncHttpResolver for HttpClient {
        fn http_resolve(
            &self,
            request: Request<Vec<u8>>,
        ) -> Result<Response<Box<dyn Read>>, HttpResolverError> {
            let _permit = self.in_flight.acquire();
            let mut attempt = 1;
            loop {
                let outcome = self.agent.run(copy(&request)?);
                let retry = match &outcome {
                    Ok(response) => response.status().is_server_error(),
                    Err(err) => is_transient(err),
                };
                if !retry || attempt >= self.attempts {
                    return match outcome {
                        Ok(response) => {
                            let (parts, body) = response.into_parts();
                            let reader: Box<dyn Read> = Box::new(body.into_reader());
                            Ok(Response::from_parts(parts, reader))
                        }
                        Err(err) => Err(HttpResolverError::Io(std::io::Error::other(format!(
                            "time-stamping authority unreachable after {attempt} attempt(s): {err}"
                        )))),
                    };
                }
                std::thread::sleep(Duration::from_millis(250 << (attempt - 1)));
                attempt += 1;
            }
        }
    }

    /// A copy of a request, for another attempt.
    fn copy(request: &Request<Vec<u8>>) -> Result<Request<Vec<u8>>, HttpResolverError> {
        let mut builder = Request::builder()
            .method(request.method().clone())
            .uri(request.uri().clone())
            .version(request.version());
        for (name, value) in request.headers() {
            builder = builder.header(name, value);
        }
        Ok(builder.body(request.body().clone())?)
    }

    /// Transport failures worth another try: refused or reset connections, timeouts, DNS hiccups.
    fn is_transient(err: &ureq::Error) -> bool {
        matches!(
            err,
            ureq::Error::Io(_) | ureq::Error::Timeout(_) | ureq::Error::HostNotFound
        )
    }

    /// A counting semaphore: at most `permits` holders at once.
    pub(super) struct Semaphore {
        available: Mutex<usize>,
        freed: Condvar,
    }

    pub(super) struct Permit<'a>(&'a Semaphore);

    impl Semaphore {
        pub(super) fn new(permits: usize) -> Self {
            Semaphore {
                available: Mutex::new(permits),
                freed: Condvar::new(),
            }
        }

        pub(super) fn acquire(&self) -> Permit<'_> {
            let mut available = self.available.lock().unwrap_or_else(|e| e.into_inner());
            while *available == 0 {
                available = self
                    .freed
                    .wait(available)
                    .unwrap_or_else(|e| e.into_inner());
            }
            *available -= 1;
            Permit(self)
        }
    }

    impl Drop for Permit<'_> {
        fn drop(&mut self) {
            *self.0.available.lock().unwrap_or_else(|e| e.into_inner()) += 1;
            self.0.freed.notify_one();
        }
    }
}

/// Without the `tsa` feature there is no transport: every request fails with what to do.
#[cfg(not(feature = "tsa"))]
mod http {
    use std::io::Read;

    use c2pa::http::http::{Request, Response};
    use c2pa::http::{HttpResolverError, SyncHttpResolver};

    use super::TsaOptions;

    pub(super) struct HttpClient;

    impl HttpClient {
        pub(super) fn new(_options: &TsaOptions) -> Self {
            HttpClient
        }
    }

    impl SyncHttpResolver for HttpClient {
        fn http_resolve(
            &self,
            _request: Request<Vec<u8>>,
        ) -> Result<Response<Box<dyn Read>>, HttpResolverError> {
            Err(HttpResolverError::Io(std::io::Error::other(
                "this build has no RFC 3161 client (build synthmark with the `tsa` feature)",
            )))
        }
    }
}

use http::HttpClient;

#[cfg(all(test, feature = "tsa"))]
mod tests {
    use super::http::Semaphore;
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn semaphore_caps_concurrency() {
        let semaphore = Arc::new(Semaphore::new(2));
        let peak = Arc::new(Mutex::new((0usize, 0usize)));
        std::thread::scope(|scope| {
            for _ in 0..8 {
                let (semaphore, peak) = (semaphore.clone(), peak.clone());
                scope.spawn(move || {
                    let _permit = semaphore.acquire();
                    {
                        let mut p = peak.lock().unwrap();
                        p.0 += 1;
                        p.1 = p.1.max(p.0);
                    }
                    std::thread::sleep(Duration::from_millis(10));
                    peak.lock().unwrap().0 -= 1;
                });
            }
        });
        // The cap holds however the threads happen to overlap.
        let peak = peak.lock().unwrap().1;
        assert!((1..=2).contains(&peak), "{peak} holders at once");
    }

    #[test]
    fn unreachable_tsa_fails_after_the_configured_attempts() {
        // A port that was just free: connections are refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut options = TsaOptions::new(format!("http://127.0.0.1:{port}/tsa"));
        options.attempts = 2;
        let client = TsaClient::new(options);
        let started = std::time::Instant::now();
        let err = client.request(b"message").unwrap_err().to_string();
        assert!(err.contains("after 2 attempt"), "{err}");
        // Two refused connections and one 250 ms backoff: nowhere near a timeout.
        assert!(started.elapsed() < Duration::from_secs(8));
    }
}
