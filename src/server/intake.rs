//! Taking a request in within the service's limits: JSON errors, the body read at a minimum rate
//! into memory reserved as it arrives, the image identified and its header checked against the
//! limits before anything is decoded, then the work run on a blocking worker within the
//! request's deadline.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http_body_util::BodyExt;
use tokio::time::Instant;

use super::admission::{Admission, Refusal, Reservation};
use super::service::Service;
use crate::format::{Format, FormatError};
use crate::pixels::{self, DecodeError, ImageInfo};

/// A JSON error answer: `{"error": "...", "status": N}`.
pub struct ApiError {
    status: StatusCode,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A 503 that tells the client when to come back.
    pub fn unavailable(message: impl Into<String>, retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
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

/// A refused admission as an answer: 503 with `Retry-After` when busy (counted as an overload
/// refusal), 413 when the request could never fit.
pub fn refused(service: &Service, refusal: Refusal, what: &str) -> ApiError {
    match refusal {
        Refusal::Busy => {
            service.metrics.overloaded();
            ApiError::unavailable(format!("the server is busy {what}; retry shortly"), 1)
        }
        Refusal::TooLarge { needed, budget } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "this image needs about {} MiB of memory {what}; this server allows {} MiB at once",
                needed.div_ceil(1 << 20),
                budget >> 20
            ),
        ),
    }
}

/// Answers 413 from the `Content-Length` header alone when it announces more than the body limit,
/// before a byte of the body is read (and before `100 Continue` is sent).
pub async fn refuse_oversized(
    State(service): State<Arc<Service>>,
    request: Request,
    next: Next,
) -> Response {
    let limit = service.settings.max_body_bytes;
    if content_length(&request).is_some_and(|length| length > limit as u64) {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is larger than this service accepts ({} MiB)",
                limit >> 20
            ),
        )
        .into_response();
    }
    next.run(request).await
}

fn content_length(request: &Request) -> Option<u64> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// An image taken in: its bytes, format and header, with the memory it holds reserved.
pub struct Upload {
    pub bytes: Bytes,
    pub format: Format,
    /// The header's dimensions and depth; `None` when this build has no decoder for the format.
    pub info: Option<ImageInfo>,
}

/// The image in the request: the raw body, or the first file field of a multipart form. Its
/// bytes are reserved from `admission` as they arrive; it must arrive at the minimum rate and
/// before `deadline`; it must be a supported image whose header is within the limits.
pub async fn read_image(
    service: &Service,
    admission: &Admission,
    reservation: &mut Reservation,
    request: Request,
    deadline: Instant,
) -> Result<Upload, ApiError> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (parts, body) = request.into_parts();
    let raw = read_body(service, admission, reservation, body, deadline).await?;
    let bytes = if is_multipart {
        // The field is copied out of the form: reserve room for the copy.
        admission
            .reserve(reservation, raw.len() as u64, deadline)
            .await
            .map_err(|r| refused(service, r, "to read this form"))?;
        file_field(Request::from_parts(parts, Body::from(raw))).await?
    } else {
        raw
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
    let info = match pixels::probe(format, &bytes) {
        Ok(info) => {
            info.within(&service.settings.limits)
                .map_err(|e| decode_error(&e))?;
            Some(info)
        }
        Err(DecodeError::NoDecoder(_) | DecodeError::Unsupported(..)) => None,
        Err(err) => return Err(decode_error(&err)),
    };
    Ok(Upload {
        bytes,
        format,
        info,
    })
}

/// 413 for an image over the limits, 422 for one that does not decode.
pub fn decode_error(err: &DecodeError) -> ApiError {
    let status = if err.is_over_limit() {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    ApiError::new(status, err.to_string())
}

/// Reads a body frame by frame. Memory for it is reserved as it grows; after the grace period it
/// must have arrived at the minimum rate (a client trickling bytes is answered 408 instead of
/// holding a connection and its memory); it must be complete by `deadline`.
async fn read_body(
    service: &Service,
    admission: &Admission,
    reservation: &mut Reservation,
    mut body: Body,
    deadline: Instant,
) -> Result<Bytes, ApiError> {
    let settings = &service.settings;
    let started = Instant::now();
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        // The time by which the next frame must have started to arrive: the grace period, plus
        // what the minimum rate allows for the bytes received so far and a frame more.
        let allowance =
            (buffer.len() as u64 + (64 << 10)) as f64 / settings.min_upload_rate.max(1) as f64;
        let by_rate =
            started + settings.upload_grace + std::time::Duration::from_secs_f64(allowance);
        let frame = match tokio::time::timeout_at(by_rate.min(deadline), body.frame()).await {
            Err(_) if Instant::now() >= deadline => {
                return Err(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "the upload took longer than {} s",
                        settings.timeout.as_secs()
                    ),
                ))
            }
            Err(_) => {
                return Err(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "the upload is too slow ({} bytes in {:.0} s); send at least {} KiB/s",
                        buffer.len(),
                        started.elapsed().as_secs_f64(),
                        settings.min_upload_rate >> 10
                    ),
                ))
            }
            Ok(None) => break,
            Ok(Some(Err(err))) => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("the request body could not be read: {err}"),
                ))
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        let needed = buffer.len() + data.len();
        if needed > settings.max_body_bytes {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the request body is larger than this service accepts ({} MiB)",
                    settings.max_body_bytes >> 20
                ),
            ));
        }
        if needed > buffer.capacity() {
            // Grow by doubling (at least 64 KiB), within the body limit, reserving the new
            // capacity before it is allocated.
            let capacity = needed
                .max(2 * buffer.capacity())
                .max(64 << 10)
                .min(settings.max_body_bytes);
            admission
                .reserve(reservation, (capacity - buffer.capacity()) as u64, deadline)
                .await
                .map_err(|r| refused(service, r, "to take this upload"))?;
            buffer.reserve_exact(capacity - buffer.len());
        }
        buffer.extend_from_slice(&data);
    }
    Ok(Bytes::from(buffer))
}

/// The first file field of a buffered multipart form.
async fn file_field(request: Request) -> Result<Bytes, ApiError> {
    let mut form = Multipart::from_request(request, &())
        .await
        .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| ApiError::new(e.status(), e.body_text()))?
    {
        if field.file_name().is_some() || matches!(field.name(), Some("file" | "image")) {
            return field
                .bytes()
                .await
                .map_err(|e| ApiError::new(e.status(), e.body_text()));
        }
    }
    Err(ApiError::new(
        StatusCode::BAD_REQUEST,
        "the form has no file field; send the image as the field `file`",
    ))
}

/// Runs `work` on a blocking thread once `admission` has a worker free, and answers by
/// `deadline` (503 otherwise). The reservation moves into the work, so its memory stays
/// reserved until the work is done, even if the client has gone.
pub async fn on_worker<T: Send + 'static>(
    service: &Arc<Service>,
    admission: &Admission,
    reservation: Reservation,
    deadline: Instant,
    work: impl FnOnce(&Service) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let permit = admission
        .worker(deadline)
        .await
        .map_err(|r| refused(service, r, "(every worker is busy)"))?;
    let service = service.clone();
    let task = tokio::task::spawn_blocking(move || {
        let _held = (permit, reservation);
        work(&service)
    });
    match tokio::time::timeout_at(deadline, task).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(_)) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the request failed inside synthmark; this is a bug, please report it",
        )),
        Err(_) => Err(ApiError::unavailable(
            "the request took longer than this server allows",
            5,
        )),
    }
}

/// A 503 for a registry failure: the details go to the log, not to the client.
pub fn registry_unavailable(detail: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %detail, "registry failed");
    ApiError::unavailable("the registry is unavailable; retry shortly", 5)
}

/// Answers `error` after reading (and dropping) a small upload: a client still sending would
/// otherwise see a broken connection instead of the answer.
pub async fn refuse(request: Request, error: ApiError) -> ApiError {
    // Only small bodies are read: buffering a large one just to drop it would let anyone
    // without a token make the server hold it. A large upload sees the connection closed.
    if content_length(&request).is_some_and(|length| length <= 1024 * 1024) {
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            Bytes::from_request(request, &()),
        )
        .await;
    }
    error
}
