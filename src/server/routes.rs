//! The HTTP routes: `/v1/check`, `/v1/stamp`, `/v1/manifests/{id}`, `/healthz`, `/metrics`,
//! `/openapi.json` and the verification page at `/`. Every error is JSON:
//! `{"error": "...", "status": N}`.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tower_http::catch_panic::CatchPanicLayer;

use super::intake::{
    decode_error, on_worker, read_image, refuse, refuse_oversized, refused, registry_unavailable,
    ApiError,
};
use super::service::Service;
use crate::registry::choice::MAX_SHARING;
use crate::registry::{parse_sha256, Query as RegistryQuery};
use crate::{
    C2paError, Corner, Involvement, LabelKind, Quality, Reencoding, SoftwareAgent, StampError,
    StampOptions, Verdict, VisibleLabel, WatermarkOptions,
};

const PAGE: &str = include_str!("page.html");
const OPENAPI: &str = include_str!("openapi.json");

/// The service's routes, with request logging, metrics, the body limit and JSON answers for
/// panics. Serve it with [`super::serve`] (which adds the connection-level defences), or call it
/// in process (tests, fuzzing) with `tower::ServiceExt::oneshot`.
pub fn app(service: Arc<Service>) -> Router {
    let body_limit = service.settings.max_body_bytes;
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
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the request failed inside synthmark; this is a bug, please report it",
            )
            .into_response()
        }))
        .layer(middleware::from_fn_with_state(service.clone(), observe))
        .with_state(service)
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
    if response.status().is_server_error() && status != 503 {
        tracing::error!(%method, route, status, ms = elapsed.as_secs_f64() * 1000.0, "request");
    } else {
        tracing::info!(%method, route, status, ms = elapsed.as_secs_f64() * 1000.0, "request");
    }
    response
}

/// The moment a request arriving now must be answered by.
fn deadline(service: &Service) -> tokio::time::Instant {
    tokio::time::Instant::now() + service.settings.timeout
}

#[derive(Debug, Deserialize)]
struct CheckParams {
    /// `false`: metadata and credentials only, no pixel is decoded (faster).
    pixels: Option<bool>,
    /// The older name of `pixels`.
    watermark: Option<bool>,
}

async fn check(
    State(service): State<Arc<Service>>,
    params: Result<Query<CheckParams>, QueryRejection>,
    request: Request,
) -> Result<Response, ApiError> {
    let deadline = deadline(&service);
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
    let admission = &service.checking;
    let mut reservation = Default::default();
    let upload = read_image(&service, admission, &mut reservation, request, deadline).await?;
    let pixels = params.pixels.or(params.watermark).unwrap_or(true);
    let need = upload
        .info
        .filter(|_| pixels)
        .map_or(0, |info| info.memory_to_check())
        + 2 * service.settings.limits.max_text_bytes as u64;
    admission
        .reserve(&mut reservation, need, deadline)
        .await
        .map_err(|r| refused(&service, r, "to check this image"))?;
    let bytes = upload.bytes;
    let report = on_worker(&service, admission, reservation, deadline, move |service| {
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
    // The scheme is case-insensitive (RFC 9110 §11.1).
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim_start().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
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

/// The stamp options a request asks for, or why they are invalid.
fn stamp_options(
    service: &Service,
    params: Result<Query<StampParams>, QueryRejection>,
) -> Result<(StampOptions, String), ApiError> {
    let defaults = service.stamper.options();
    let Query(params) = params
        .map_err(|rejection| ApiError::new(StatusCode::BAD_REQUEST, rejection.body_text()))?;
    let quality = params
        .quality
        .map(Quality::new)
        .transpose()
        .map_err(|err| ApiError::new(StatusCode::BAD_REQUEST, err.to_string()))?;
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
            .then_some(WatermarkOptions::default()),
        reencoding: Reencoding { quality },
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
    let deadline = deadline(&service);
    let admission = &service.stamping;
    let mut reservation = Default::default();
    let upload = read_image(&service, admission, &mut reservation, request, deadline).await?;
    // Decoding and re-encoding (watermark, label), the signed copy, and the answer.
    let need = upload.info.map_or(0, |info| info.memory_to_stamp()) + 3 * upload.bytes.len() as u64;
    admission
        .reserve(&mut reservation, need, deadline)
        .await
        .map_err(|r| refused(&service, r, "to stamp this image"))?;
    let (bytes, format) = (upload.bytes, upload.format);
    let stamped = on_worker(&service, admission, reservation, deadline, move |service| {
        service.stamper.stamp_bytes_with(&bytes, &title, &options)
    })
    .await?
    .map_err(|err| match &err {
        StampError::Registry(_) => registry_unavailable(&err),
        StampError::Timestamp { .. } => ApiError::unavailable(err.to_string(), 5),
        StampError::Pixels(decode) => decode_error(decode),
        _ if err.is_input_fault() => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, err.to_string())
        }
        // The signer's failure (a command's standard error, a token's state) and anything else
        // on the server's side go to the log, not to the client.
        StampError::Identity(_) | StampError::C2pa(C2paError::Sign(_)) => {
            tracing::error!(error = %err, "stamp failed: the signer failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "signing failed; the server log has the reason",
            )
        }
        _ => {
            tracing::error!(error = %err, "stamp failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "stamping failed; the server log has the reason",
            )
        }
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
        if let Ok(value) = HeaderValue::from_str(&warning.to_string()) {
            headers.append("x-synthmark-warning", value);
        }
    }
    Ok(response)
}

/// The manifest store logged for an asset id or a file's SHA-256: soft-binding resolution.
async fn manifest(
    State(service): State<Arc<Service>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(|rejection| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "the id must be an asset id (10 hex digits) or a SHA-256 (64 hex digits): {}",
                rejection.body_text()
            ),
        )
    })?;
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
    let by_asset_id = query.asset_id.is_some();
    let Some(registry) = service.registry.clone() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "this server has no registry",
        ));
    };
    let found = on_worker(
        &service,
        &service.checking,
        Default::default(),
        deadline(&service),
        move |_| registry.find(&query),
    )
    .await?
    .map_err(|e| registry_unavailable(&e))?;
    // By SHA-256 every entry is the same file. By asset id, several entries may share it (40
    // random bits collide at scale), and serving one of them could be another image's
    // credentials: the client must ask by the file's SHA-256, or check the image itself.
    if by_asset_id && found.len() > 1 {
        let (count, entries) = if found.len() > MAX_SHARING {
            (format!("more than {MAX_SHARING}"), None)
        } else {
            (found.len().to_string(), Some(found.len()))
        };
        let mut body = serde_json::json!({
            "error": format!(
                "asset id {id:0>10} is shared by {count} registry entries; ask by the file's SHA-256, or check the image (POST /v1/check), whose fingerprint tells them apart"
            ),
            "status": 409,
        });
        if let Some(entries) = entries {
            body["entries"] = entries.into();
        }
        return Ok((StatusCode::CONFLICT, Json(body)).into_response());
    }
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
