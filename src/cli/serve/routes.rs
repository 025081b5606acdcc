//! The HTTP routes: `/v1/check`, `/v1/stamp`, `/v1/manifests/{id}`, `/healthz`, `/metrics`,
//! `/openapi.json` and the verification page at `/`. Every error is JSON:
//! `{"error": "...", "status": N}`.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{
    DefaultBodyLimit, FromRequest, MatchedPath, Multipart, Path, Query, Request, State,
};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use synthmark::registry::{parse_sha256, Query as RegistryQuery};
use synthmark::{
    Corner, Format, FormatError, Involvement, LabelKind, SoftwareAgent, StampError, StampOptions,
    Verdict, VisibleLabel, WatermarkOptions,
};

use super::Service;

const PAGE: &str = include_str!("page.html");
const OPENAPI: &str = include_str!("openapi.json");

pub fn router(service: Arc<Service>) -> Router {
    let body_limit = service.limits.max_body_bytes;
    Router::new()
        .route("/", get(page))
        .route("/v1/check", post(check))
        .route("/v1/stamp", post(stamp))
        .route("/v1/manifests/{id}", get(manifest))
        .route("/healthz", get(health))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(
            service.clone(),
            refuse_oversized,
        ))
        .layer(middleware::from_fn_with_state(service.clone(), observe))
        .with_state(service)
}

/// A JSON error answer.
pub struct ApiError {
    status: StatusCode,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.message, "status": self.status.as_u16()});
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Logs one line per request (never headers or bodies: tokens stay out of the logs) and counts
/// it for `/metrics`.
async fn observe(State(service): State<Arc<Service>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = match request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
    {
        Some("/") => "/",
        Some("/v1/check") => "/v1/check",
        Some("/v1/stamp") => "/v1/stamp",
        Some("/v1/manifests/{id}") => "/v1/manifests/{id}",
        Some("/healthz") => "/healthz",
        Some("/metrics") => "/metrics",
        Some("/openapi.json") => "/openapi.json",
        _ => "other",
    };
    let method = request.method().clone();
    // Counted down when dropped, so a request whose client went away is not left in flight.
    let _in_flight = service.metrics.enter();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    service.metrics.record(route, status, elapsed);
    tracing::info!(%method, route, status, ms = elapsed.as_secs_f64() * 1000.0, "request");
    response
}

/// Answers 413 from the `Content-Length` header alone when it announces more than the body limit,
/// before a byte of the body is read (and before `100 Continue` is sent). Bodies without the
/// header are cut off at the limit while they are read.
async fn refuse_oversized(
    State(service): State<Arc<Service>>,
    request: Request,
    next: Next,
) -> Response {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = service.limits.max_body_bytes;
    if announced.is_some_and(|length| length > limit as u64) {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is larger than this service accepts ({} MB)",
                limit / (1024 * 1024)
            ),
        )
        .into_response();
    }
    next.run(request).await
}

/// Runs `work` on a blocking worker once one is free (503 with `Retry-After` when none frees up
/// within the queue wait) and within the request timeout.
async fn on_worker<T: Send + 'static>(
    service: &Arc<Service>,
    work: impl FnOnce(&Service) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let limits = service.limits;
    let permit = acquire(
        service,
        &service.workers,
        "every worker is busy; retry shortly",
    )
    .await?;
    let service = service.clone();
    let task = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work(&service)
    });
    match tokio::time::timeout(limits.timeout, task).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(_)) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the request failed inside synthmark; this is a bug, please report it",
        )),
        Err(_) => {
            let mut error = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the request took longer than {} s",
                    limits.timeout.as_secs()
                ),
            );
            error.retry_after = Some(5);
            Err(error)
        }
    }
}

/// The image in the request: the raw body, or the first file field of a multipart form.
/// Checks that it is a supported image within the pixel limit before anything is decoded.
async fn read_image(service: &Service, request: Request) -> Result<(Bytes, Format), ApiError> {
    let limits = service.limits;
    // A bounded number of uploads is buffered at once, each within the request timeout.
    let _upload = acquire(
        service,
        &service.uploads,
        "too many uploads in progress; retry shortly",
    )
    .await?;
    tokio::time::timeout(limits.timeout, read_upload(service, request))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!("the upload took longer than {} s", limits.timeout.as_secs()),
            )
        })?
}

/// A permit from `semaphore` within the queue wait, or 503 with `Retry-After` saying `busy`.
async fn acquire(
    service: &Service,
    semaphore: &Arc<tokio::sync::Semaphore>,
    busy_message: &str,
) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
    match tokio::time::timeout(service.limits.queue_wait, semaphore.clone().acquire_owned()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(busy(service, busy_message)),
    }
}

/// A 503 with `Retry-After`, counted as an overload refusal.
fn busy(service: &Service, message: &str) -> ApiError {
    service
        .metrics
        .overloaded
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut error = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message);
    error.retry_after = Some(1);
    error
}

/// A 503 for a registry failure: the details go to the log, not to the client.
fn registry_unavailable(detail: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %detail, "registry failed");
    let mut error = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "the registry is unavailable; retry shortly",
    );
    error.retry_after = Some(5);
    error
}

async fn read_upload(service: &Service, request: Request) -> Result<(Bytes, Format), ApiError> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let bytes = if is_multipart {
        let mut form = Multipart::from_request(request, &())
            .await
            .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
        let mut found = None;
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| ApiError::new(e.status(), e.body_text()))?
        {
            if field.file_name().is_some() || matches!(field.name(), Some("file" | "image")) {
                found = Some(
                    field
                        .bytes()
                        .await
                        .map_err(|e| ApiError::new(e.status(), e.body_text()))?,
                );
                break;
            }
        }
        found.ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "the form has no file field; send the image as the field `file`",
            )
        })?
    } else {
        Bytes::from_request(request, &())
            .await
            .map_err(|e| ApiError::new(e.status(), e.body_text()))?
    };
    if bytes.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "the request body is empty; send the image as the body or as the multipart field `file`",
        ));
    }
    let format = Format::identify(&bytes).map_err(|e| {
        let status = match e {
            FormatError::Malformed { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        };
        ApiError::new(status, e.to_string())
    })?;
    if let Some((width, height)) = synthmark::dimensions(format, &bytes) {
        let pixels = u64::from(width) * u64::from(height);
        if pixels > service.limits.max_pixels {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the image is {width}×{height} pixels ({:.1} MP); this service accepts at most {:.1} MP",
                    pixels as f64 / 1e6,
                    service.limits.max_pixels as f64 / 1e6
                ),
            ));
        }
    }
    Ok((bytes, format))
}

#[derive(Debug, Deserialize)]
struct CheckParams {
    /// `false`: metadata and credentials only, no pixel decoding (faster).
    watermark: Option<bool>,
}

async fn check(
    State(service): State<Arc<Service>>,
    params: Result<Query<CheckParams>, QueryRejection>,
    request: Request,
) -> Result<Response, ApiError> {
    let params = match params {
        Ok(Query(params)) => params,
        Err(rejection) => {
            return Err(refuse(
                request,
                ApiError::new(StatusCode::BAD_REQUEST, rejection.body_text()),
            )
            .await)
        }
    };
    let (bytes, _) = read_image(&service, request).await?;
    let pixels = params.watermark.unwrap_or(true);
    let report = on_worker(&service, move |service| {
        if pixels {
            service.checker.check_bytes(&bytes)
        } else {
            service.metadata_checker.check_bytes(&bytes)
        }
    })
    .await?;
    service.metrics.verdict(report.verdict.as_str());
    if report.verdict == Verdict::Error {
        let body = serde_json::json!({
            "error": report.error.clone().unwrap_or_default(),
            "status": 422,
            "report": report,
        });
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response());
    }
    Ok(Json(report).into_response())
}

#[derive(Debug, Deserialize)]
struct StampParams {
    generator: Option<String>,
    edited: Option<bool>,
    no_train: Option<bool>,
    watermark: Option<bool>,
    quality: Option<u8>,
    /// The asset's title in the manifest (a file name). Default: `image`.
    title: Option<String>,
    /// `ai-generated` or `ai-modified`: burn a visible "AI" badge into the image.
    visible_label: Option<String>,
    /// Where the badge goes. Default: `top-right`.
    corner: Option<String>,
}

/// True when the request carries one of the configured tokens (compared in constant time).
fn authorised(service: &Service, headers: &HeaderMap) -> Result<(), ApiError> {
    if service.tokens.is_empty() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "stamping is disabled on this server: no API tokens are configured",
        ));
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(presented) = presented else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "stamping needs an API token: send `Authorization: Bearer TOKEN`",
        ));
    };
    let mut valid = false;
    for token in &service.tokens {
        valid |= constant_time_eq(token.as_bytes(), presented.as_bytes());
    }
    if valid {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "the API token is not valid",
        ))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Answers `error` after reading (and dropping) the upload, within the body limit: a client
/// still sending would otherwise see a broken connection instead of the answer.
async fn refuse(request: Request, error: ApiError) -> ApiError {
    // Only small bodies are read: buffering a large one just to drop it would let anyone
    // without a token make the server hold it. A large upload sees the connection closed.
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|length| length <= 1024 * 1024) {
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            Bytes::from_request(request, &()),
        )
        .await;
    }
    error
}

/// The stamp options a request asks for, or why they are invalid.
fn stamp_options(
    service: &Service,
    params: Result<Query<StampParams>, QueryRejection>,
) -> Result<(StampOptions, String), ApiError> {
    let defaults = service.stamper.options();
    let Query(params) = params
        .map_err(|rejection| ApiError::new(StatusCode::BAD_REQUEST, rejection.body_text()))?;
    if params.quality.is_some_and(|q| !(1..=100).contains(&q)) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "quality must be 1 to 100",
        ));
    }
    let generator = match params.generator.as_deref() {
        None => defaults.generator.clone(),
        Some(text) => Some(SoftwareAgent::parse(text).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "generator must not be empty; write Name/version",
            )
        })?),
    };
    let visible_label = match params.visible_label.as_deref() {
        None => None,
        Some(kind) => Some(VisibleLabel {
            kind: LabelKind::parse(kind).ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "visible_label must be ai-generated or ai-modified",
                )
            })?,
            corner: match params.corner.as_deref() {
                None => Corner::default(),
                Some(corner) => Corner::parse(corner).ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "corner must be top-right, top-left, bottom-right or bottom-left",
                    )
                })?,
            },
        }),
    };
    let options = StampOptions {
        visible_label,
        involvement: if params.edited.unwrap_or(false) {
            Involvement::Edited
        } else {
            Involvement::Generated
        },
        generator,
        no_train: params.no_train.unwrap_or(defaults.no_train),
        watermark: params
            .watermark
            .unwrap_or(true)
            .then_some(WatermarkOptions {
                quality: params.quality,
                ..WatermarkOptions::default()
            }),
        ..StampOptions::default()
    };
    let title = params.title.unwrap_or_else(|| "image".to_string());
    Ok((options, title))
}

async fn stamp(
    State(service): State<Arc<Service>>,
    params: Result<Query<StampParams>, QueryRejection>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, ApiError> {
    let (options, title) =
        match authorised(&service, &headers).and_then(|()| stamp_options(&service, params)) {
            Ok(valid) => valid,
            Err(error) => return Err(refuse(request, error).await),
        };
    let (bytes, format) = read_image(&service, request).await?;
    let stamped = on_worker(&service, move |service| {
        service.stamper.stamp_bytes_with(&bytes, &title, &options)
    })
    .await?
    .map_err(|err| {
        let status = match &err {
            StampError::Format(_) | StampError::VisibleLabel(_) => StatusCode::UNPROCESSABLE_ENTITY,
            StampError::Registry(_) => return registry_unavailable(&err),
            StampError::Timestamp { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!(error = %err, "stamp failed");
        }
        let mut error = ApiError::new(status, err.to_string());
        if status == StatusCode::SERVICE_UNAVAILABLE {
            error.retry_after = Some(5);
        }
        error
    })?;
    let mut response = Response::new(Body::from(stamped.bytes));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.mime()),
    );
    if let Some(id) = stamped.watermark {
        if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
            headers.insert("x-synthmark-asset-id", value);
        }
    }
    for warning in &stamped.warnings {
        if let Ok(value) = HeaderValue::from_str(warning) {
            headers.append("x-synthmark-warning", value);
        }
    }
    Ok(response)
}

/// The manifest store logged for an asset id or a file's SHA-256: soft-binding resolution.
async fn manifest(
    State(service): State<Arc<Service>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = id.trim().to_ascii_lowercase();
    let query = match parse_sha256(&id) {
        Some(sha256) => RegistryQuery {
            sha256: Some(sha256),
            ..RegistryQuery::default()
        },
        None if id.len() <= 10 && id.chars().all(|c| c.is_ascii_hexdigit()) => RegistryQuery {
            asset_id: Some(format!("{id:0>10}")),
            ..RegistryQuery::default()
        },
        None => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "the id must be an asset id (10 hex digits) or a SHA-256 (64 hex digits)",
            ))
        }
    };
    let Some(registry) = service.registry.clone() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "this server has no registry",
        ));
    };
    let found = on_worker(&service, move |_| registry.find(&query))
        .await?
        .map_err(|e| registry_unavailable(&e))?;
    let Some(first) = found.into_iter().next() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no credentials logged for {id}"),
        ));
    };
    let mut response = Response::new(Body::from(first.stored.entry.manifest_store));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/c2pa"),
    );
    Ok(response)
}

async fn health(State(service): State<Arc<Service>>) -> Response {
    Json(serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "stamping": !service.tokens.is_empty(),
        // Whether there is one, not where: the address is not for the public.
        "registry": service.registry.is_some(),
    }))
    .into_response()
}

async fn metrics(State(service): State<Arc<Service>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        service.metrics.render(),
    )
        .into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src blob: data:; connect-src 'self'",
            ),
        ],
        PAGE,
    )
        .into_response()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this route does not take that method; see /openapi.json",
    )
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such route; see /openapi.json")
}
