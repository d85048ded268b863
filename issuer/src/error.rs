//! Errors: [`ApiError`] is what a request gets back (an HTTP status and an `ErrorBody`
//! with a stable code from docs/API.md); [`IssuerError`] is why the server did not start.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tessera_core::sync::api::{ApiErrorCode, ErrorBody};

/// A refused or failed request: status, stable code, and a message for people.
///
/// Messages are written by hand at each call site and never quote request data, so no
/// seed, token or code can end up in an error text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine code, shared with the wallet's client.
    pub code: ApiErrorCode,
    /// What went wrong, for people.
    pub message: String,
    /// Seconds to wait before trying again (`Retry-After`), for `rate_limited`.
    pub retry_after_secs: Option<u64>,
}

/// The stable code of a refused request, attached to the response so the metrics layer
/// can count refusals by code without parsing bodies.
#[derive(Debug, Clone)]
pub(crate) struct RefusedCode(pub ApiErrorCode);

impl ApiError {
    fn new(status: StatusCode, code: ApiErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    /// 400 `bad_request`.
    pub fn bad_request(m: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ApiErrorCode::BadRequest, m)
    }
    /// 400 `wrong_code`: an SMS code that does not match; `remaining` tries are left.
    pub fn wrong_code(remaining: u32) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ApiErrorCode::WrongCode,
            format!("wrong code; {remaining} attempts left"),
        )
    }
    /// 401 `unauthorized`.
    pub fn unauthorized(m: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ApiErrorCode::Unauthorized, m)
    }
    /// 401 `bad_signature`.
    pub fn bad_signature() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ApiErrorCode::BadSignature,
            "the request signature does not verify",
        )
    }
    /// 401 `replayed_request`.
    pub fn replayed() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ApiErrorCode::ReplayedRequest,
            "this request was already received",
        )
    }
    /// 401 `stale_request`.
    pub fn stale() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ApiErrorCode::StaleRequest,
            "the request timestamp is too far from the issuer's clock",
        )
    }
    /// 403 `forbidden`.
    pub fn forbidden(m: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ApiErrorCode::Forbidden, m)
    }
    /// 404 `not_found`.
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ApiErrorCode::NotFound, m)
    }
    /// 403 `needs_verification`.
    pub fn needs_verification(m: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ApiErrorCode::NeedsVerification, m)
    }
    /// 409 `change_blocked`.
    pub fn change_blocked() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            ApiErrorCode::ChangeBlocked,
            "an event of this account blocks holder changes; ask the box office",
        )
    }
    /// 409 `not_transferable`.
    pub fn not_transferable() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            ApiErrorCode::NotTransferable,
            "the event does not allow transfers",
        )
    }
    /// 409 `conflict`.
    pub fn conflict(m: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, ApiErrorCode::Conflict, m)
    }
    /// 410 `code_expired`.
    pub fn code_expired(m: impl Into<String>) -> Self {
        Self::new(StatusCode::GONE, ApiErrorCode::CodeExpired, m)
    }
    /// 429 `too_many_attempts`.
    pub fn too_many_attempts() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ApiErrorCode::TooManyAttempts,
            "too many wrong codes; request a new one",
        )
    }
    /// 429 `rate_limited`, to be retried after `retry_after_secs`.
    pub fn rate_limited(m: impl Into<String>, retry_after_secs: u64) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, ApiErrorCode::RateLimited, m)
        }
    }
    /// 413 `payload_too_large`.
    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ApiErrorCode::PayloadTooLarge,
            "the request body is larger than 1 MiB",
        )
    }
    /// 502 `delivery_failed`: the email or SMS could not be sent; trying again later
    /// may work.
    pub fn delivery_failed(m: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, ApiErrorCode::DeliveryFailed, m)
    }
    /// 500 `internal`. The cause is not told: it could name storage details.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ApiErrorCode::Internal,
            "internal error",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after_secs = self.retry_after_secs;
        let mut r = (
            self.status,
            Json(ErrorBody {
                error: self.code.clone(),
                message: self.message,
            }),
        )
            .into_response();
        if let Some(secs) = retry_after_secs {
            r.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        r.extensions_mut().insert(RefusedCode(self.code));
        r
    }
}

/// Why the issuer could not start.
#[derive(Debug, thiserror::Error)]
pub enum IssuerError {
    /// The data directory or a file in it could not be created or read.
    #[error("data directory: {0}")]
    Io(#[from] std::io::Error),
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Storage(String),
    /// The database was written by a newer version of the issuer.
    #[error("database schema {0} is newer than this issuer understands")]
    NewerSchema(u32),
    /// The stored issuer key is unusable, or the random generator failed.
    #[error("issuer key: {0}")]
    Key(&'static str),
    /// The gate scan log could not be opened.
    #[error("scan log: {0}")]
    ScanLog(String),
    /// Dev mode is off and no message sender is configured
    /// ([`IssuerConfig::dev_outbox`](crate::IssuerConfig::dev_outbox)).
    #[error("no message sender configured and the dev outbox is off")]
    NoSender,
}
