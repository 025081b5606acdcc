//! Taking requests in within the service's limits: JSON errors, the body and pixel limits,
//! bounded uploads and workers (503 with `Retry-After` when they are all busy), timeouts.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use synthmark::{Format, FormatError};

use super::Service;

/// A JSON error answer.
pub struct ApiError {
    status: StatusCode,
    message: String,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
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

/// Answers 413 from the `Content-Length` header alone when it announces more than the body limit,
/// before a byte of the body is read (and before `100 Continue` is sent). Bodies without the
/// header are cut off at the limit while they are read.
pub async fn refuse_oversized(
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
pub async fn on_worker<T: Send + 'static>(
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
pub async fn read_image(service: &Service, request: Request) -> Result<(Bytes, Format), ApiError> {
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
pub fn registry_unavailable(detail: &dyn std::fmt::Display) -> ApiError {
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

/// Answers `error` after reading (and dropping) the upload, within the body limit: a client
/// still sending would otherwise see a broken connection instead of the answer.
pub async fn refuse(request: Request, error: ApiError) -> ApiError {
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
