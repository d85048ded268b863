//! The sync error: one enum for everything talking to the issuer can fail with, each
//! variant something an app can act on (retry later, ask the user for a code, show a
//! message), and none carrying a secret.

use crate::error::WalletError;
use crate::ids::TicketId;
use crate::sync::api::{ApiErrorCode, ErrorBody};

/// Everything a call to the issuer, or applying its answer, can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// The issuer URL does not parse or is not usable as a base (query, credentials…).
    #[error("invalid issuer URL: {0}")]
    InvalidUrl(String),
    /// The issuer URL is not HTTPS and not on this machine (loopback): refused, because
    /// tickets and device signatures would travel in clear.
    #[error("insecure issuer URL (HTTPS required except on loopback): {0}")]
    InsecureUrl(String),
    /// A root certificate handed in by the app is not a valid DER certificate.
    #[error("invalid root certificate #{index}")]
    BadRootCertificate {
        /// Position of the certificate in [`crate::sync::client::ClientOptions::extra_roots_der`].
        index: usize,
    },
    /// The HTTP client could not be built (TLS configuration); the text says why.
    #[error("HTTP client set-up failed: {0}")]
    ClientSetup(String),
    /// The issuer could not be reached or the connection broke (offline, DNS, TLS
    /// handshake, reset). Everything already synced keeps working; try again later.
    #[error("network error: {0}")]
    Network(String),
    /// The issuer did not answer in time.
    #[error("the issuer did not answer in time")]
    Timeout,
    /// The answer was larger than the client accepts; nothing was applied.
    #[error("response larger than {limit} bytes")]
    ResponseTooLarge {
        /// The limit, bytes.
        limit: usize,
    },
    /// The answer is not what the API promises (bad JSON, bad hex, wrong sizes,
    /// duplicates, contradictions); nothing was applied. The text names the place.
    #[error("malformed response: {0}")]
    MalformedResponse(String),
    /// The issuer's clock is absurd (before what this wallet has already proven, or
    /// centuries ahead); nothing was applied.
    #[error("issuer time {server_time_ms} ms is not plausible")]
    BadServerTime {
        /// The time the issuer claimed, Unix ms.
        server_time_ms: i64,
    },
    /// A credential's issuer signature does not verify, or the issuer keys changed
    /// from the ones this wallet first saw (trust on first use); nothing was applied.
    #[error("issuer signature or key does not verify")]
    BadSignature,
    /// The issuer's time was not signed by a pinned issuer key over this request's nonce
    /// (a replayed, forged or proxied answer). Nothing was changed.
    #[error("issuer time is not signed for this request by a pinned issuer key")]
    UnsignedTime,
    /// A sealed secret in the answer does not open with this sync's key: it was sealed to
    /// another key or place, or altered; nothing was applied.
    #[error("a sealed secret does not open with this sync's key ({what})")]
    SealedToAnotherKey {
        /// Which secret (column and ticket or event), never its content.
        what: String,
    },
    /// The issuer sent a ticket bound to another device as one of this device's.
    #[error("ticket {ticket} is bound to another device")]
    WrongDevice {
        /// The ticket.
        ticket: TicketId,
    },
    /// An event policy in the answer is not valid; nothing was applied.
    #[error("invalid event policy: {0}")]
    InvalidPolicy(String),
    /// The account must verify its email or phone on this device first.
    #[error("verification needed: {message}")]
    NeedsVerification {
        /// The issuer's explanation.
        message: String,
    },
    /// The event blocks holders from changing name or email; the box office can.
    #[error("change blocked: {message}")]
    ChangeBlocked {
        /// The issuer's explanation.
        message: String,
    },
    /// The event does not allow transfers.
    #[error("ticket not transferable: {message}")]
    NotTransferable {
        /// The issuer's explanation.
        message: String,
    },
    /// Too many requests; wait before trying again.
    #[error("rate limited")]
    RateLimited {
        /// Seconds to wait, when the issuer said (`Retry-After`).
        retry_after_secs: Option<u64>,
    },
    /// The code or link expired; request a new one.
    #[error("code expired")]
    CodeExpired,
    /// Too many wrong codes; request a new one.
    #[error("too many attempts")]
    TooManyAttempts,
    /// The code was wrong; the user may try again (up to the attempt limit). Sent by
    /// issuers with the `wrong_code` error code (proposed for docs/API.md).
    #[error("wrong code")]
    WrongCode,
    /// The issuer did not accept this device's credentials: not enrolled (call enroll),
    /// bad or replayed signature. `code` is the issuer's error code.
    #[error("unauthorized ({})", code_text(code))]
    Unauthorized {
        /// [`ApiErrorCode::Unauthorized`], `BadSignature`, `ReplayedRequest` or
        /// `Forbidden`; `None` when a 401 or 403 came without an `ErrorBody`.
        code: Option<ApiErrorCode>,
    },
    /// The request's timestamp was too far from the issuer's clock (the device clock is
    /// off and the wallet has not anchored its time yet).
    #[error("request timestamp rejected as stale")]
    StaleRequest,
    /// The issuer does not know what was asked for (ticket, transfer).
    #[error("not found: {message}")]
    NotFound {
        /// The issuer's explanation.
        message: String,
    },
    /// The request conflicts with the current state (already transferred, …).
    #[error("conflict: {message}")]
    Conflict {
        /// The issuer's explanation.
        message: String,
    },
    /// Any other answer outside 2xx.
    #[error("issuer error {status} {}: {message}", code_text(code))]
    Server {
        /// HTTP status.
        status: u16,
        /// The issuer's error code (`None` when the body was not an `ErrorBody`): one
        /// without a variant of its own (`bad_request`, `internal`, `delivery_failed`…) or
        /// one this version does not know ([`ApiErrorCode::Other`]).
        code: Option<ApiErrorCode>,
        /// The issuer's explanation.
        message: String,
    },
    /// The local wallet refused (locked, storage failure, key missing…).
    #[error(transparent)]
    Wallet(#[from] WalletError),
}

impl SyncError {
    /// Whether trying the same idempotent call again later may succeed (connection
    /// trouble, time-outs, server-side failures). Never true for answers that were
    /// received and judged wrong: repeating them would only repeat the refusal.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Network(_) | Self::Timeout => true,
            Self::Server { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// Maps an HTTP error answer to its typed variant: by the stable `ErrorBody.error`
    /// code first, by status when the body is not an `ErrorBody` (a proxy's error page).
    pub fn from_http(status: u16, body: &[u8], retry_after_secs: Option<u64>) -> Self {
        use ApiErrorCode as C;
        let (code, message) = match serde_json::from_slice::<ErrorBody>(body) {
            Ok(ErrorBody { error, message }) => (Some(error), message),
            Err(_) => (None, String::new()),
        };
        // Every code is listed: a new one must be given its variant (or `Server`) here.
        match code {
            Some(C::NeedsVerification) => Self::NeedsVerification { message },
            Some(C::ChangeBlocked) => Self::ChangeBlocked { message },
            Some(C::NotTransferable) => Self::NotTransferable { message },
            Some(C::RateLimited) => Self::RateLimited { retry_after_secs },
            Some(C::CodeExpired) => Self::CodeExpired,
            Some(C::TooManyAttempts) => Self::TooManyAttempts,
            Some(C::WrongCode) => Self::WrongCode,
            Some(c @ (C::Unauthorized | C::BadSignature | C::ReplayedRequest | C::Forbidden)) => {
                Self::Unauthorized { code: Some(c) }
            }
            Some(C::StaleRequest) => Self::StaleRequest,
            Some(C::NotFound) => Self::NotFound { message },
            Some(C::Conflict) => Self::Conflict { message },
            Some(
                c @ (C::BadRequest
                | C::PayloadTooLarge
                | C::Internal
                | C::DeliveryFailed
                | C::Other(_)),
            ) => Self::Server {
                status,
                code: Some(c),
                message,
            },
            None => match status {
                401 | 403 => Self::Unauthorized { code: None },
                404 => Self::NotFound { message },
                429 => Self::RateLimited { retry_after_secs },
                _ => Self::Server {
                    status,
                    code: None,
                    message,
                },
            },
        }
    }
}

/// How an app sees a failed issuer call: the wallet API's one error, flattened (the
/// app acts on "rate limited" or "network", not on where in the client it happened).
impl From<SyncError> for WalletError {
    fn from(e: SyncError) -> Self {
        use SyncError as S;
        let bad = |e: &SyncError| Self::BadResponse {
            reason: e.to_string(),
        };
        match e {
            S::InvalidUrl(reason) => Self::InvalidUrl { reason },
            S::InsecureUrl(url) => Self::InsecureUrl { url },
            S::BadRootCertificate { .. } => Self::Invalid {
                reason: e.to_string(),
            },
            S::ClientSetup(reason) => Self::Internal { reason },
            S::Network(reason) => Self::Network { reason },
            S::Timeout => Self::Timeout,
            S::ResponseTooLarge { .. }
            | S::MalformedResponse(_)
            | S::SealedToAnotherKey { .. }
            | S::WrongDevice { .. }
            | S::InvalidPolicy(_) => bad(&e),
            S::BadServerTime { server_time_ms } => Self::BadServerTime { server_time_ms },
            S::BadSignature => Self::BadSignature,
            S::UnsignedTime => Self::UnsignedTime,
            S::NeedsVerification { message } => Self::NeedsVerification {
                missing: Vec::new(),
                detail: message,
            },
            S::ChangeBlocked { message } => Self::ChangeBlocked { detail: message },
            S::NotTransferable { message } => Self::NotTransferable { detail: message },
            S::RateLimited { retry_after_secs } => Self::RateLimited { retry_after_secs },
            S::CodeExpired => Self::CodeExpired,
            S::TooManyAttempts => Self::TooManyAttempts,
            S::WrongCode => Self::WrongCode,
            S::Unauthorized { code } => Self::Unauthorized {
                code: code_text(&code).to_owned(),
            },
            // The session already re-anchored and retried once; a second refusal means
            // the issuer does not accept this device's requests.
            S::StaleRequest => Self::Unauthorized {
                code: ApiErrorCode::StaleRequest.to_string(),
            },
            S::NotFound { message } => Self::NotFound { what: message },
            S::Conflict { message } => Self::Conflict { detail: message },
            S::Server {
                status,
                code,
                message,
            } => Self::ServerError {
                status,
                code: code_text(&code).to_owned(),
                detail: message,
            },
            S::Wallet(w) => w,
        }
    }
}

/// An optional code for an error text: the code, or nothing.
fn code_text(code: &Option<ApiErrorCode>) -> &str {
    code.as_ref().map_or("", ApiErrorCode::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: ApiErrorCode) -> Vec<u8> {
        serde_json::to_vec(&ErrorBody {
            error: code,
            message: "why".into(),
        })
        .unwrap()
    }

    #[test]
    fn every_documented_code_maps_to_its_variant() {
        use ApiErrorCode as C;
        let m = |status, code: C| SyncError::from_http(status, &body(code), Some(7));
        let why = || "why".to_owned();
        assert_eq!(
            m(403, C::NeedsVerification),
            SyncError::NeedsVerification { message: why() }
        );
        assert_eq!(
            m(409, C::ChangeBlocked),
            SyncError::ChangeBlocked { message: why() }
        );
        assert_eq!(
            m(409, C::NotTransferable),
            SyncError::NotTransferable { message: why() }
        );
        assert_eq!(
            m(429, C::RateLimited),
            SyncError::RateLimited {
                retry_after_secs: Some(7)
            }
        );
        assert_eq!(m(410, C::CodeExpired), SyncError::CodeExpired);
        assert_eq!(m(429, C::TooManyAttempts), SyncError::TooManyAttempts);
        assert_eq!(m(400, C::WrongCode), SyncError::WrongCode);
        for c in [
            C::Unauthorized,
            C::BadSignature,
            C::ReplayedRequest,
            C::Forbidden,
        ] {
            assert_eq!(m(401, c.clone()), SyncError::Unauthorized { code: Some(c) });
        }
        assert_eq!(m(401, C::StaleRequest), SyncError::StaleRequest);
        assert_eq!(m(404, C::NotFound), SyncError::NotFound { message: why() });
        assert_eq!(m(409, C::Conflict), SyncError::Conflict { message: why() });
        assert_eq!(
            m(500, C::Internal),
            SyncError::Server {
                status: 500,
                code: Some(C::Internal),
                message: why()
            }
        );
        assert_eq!(
            m(400, C::BadRequest),
            SyncError::Server {
                status: 400,
                code: Some(C::BadRequest),
                message: why()
            }
        );
    }

    #[test]
    fn bodies_that_are_not_error_bodies_map_by_status() {
        let html = b"<html>Bad Gateway</html>";
        assert_eq!(
            SyncError::from_http(502, html, None),
            SyncError::Server {
                status: 502,
                code: None,
                message: String::new()
            }
        );
        assert_eq!(
            SyncError::from_http(502, html, None).to_string(),
            "issuer error 502 : "
        );
        assert!(SyncError::from_http(502, html, None).is_transient());
        assert_eq!(
            SyncError::from_http(404, b"", None),
            SyncError::NotFound {
                message: String::new()
            }
        );
        assert_eq!(
            SyncError::from_http(429, b"", Some(3)),
            SyncError::RateLimited {
                retry_after_secs: Some(3)
            }
        );
        assert_eq!(
            SyncError::from_http(401, b"{}", None),
            SyncError::Unauthorized { code: None }
        );
    }

    #[test]
    fn codes_without_a_variant_keep_status_and_code() {
        let m = |status, code: &str| SyncError::from_http(status, &body(code.into()), None);
        let e = m(502, "delivery_failed");
        assert_eq!(
            e,
            SyncError::Server {
                status: 502,
                code: Some(ApiErrorCode::DeliveryFailed),
                message: "why".into()
            }
        );
        assert!(e.is_transient());
        assert_eq!(e.to_string(), "issuer error 502 delivery_failed: why");
        // A code from a newer issuer: kept for the text, handled by status.
        let e = m(418, "teapot_busy");
        assert_eq!(
            e,
            SyncError::Server {
                status: 418,
                code: Some(ApiErrorCode::Other("teapot_busy".into())),
                message: "why".into()
            }
        );
        assert_eq!(e.to_string(), "issuer error 418 teapot_busy: why");
        assert_eq!(
            m(401, "bad_signature").to_string(),
            "unauthorized (bad_signature)"
        );
    }

    #[test]
    fn only_connection_trouble_and_server_failures_are_transient() {
        assert!(SyncError::Timeout.is_transient());
        assert!(SyncError::Network("reset".into()).is_transient());
        assert!(SyncError::from_http(503, b"", None).is_transient());
        assert!(!SyncError::from_http(400, b"", None).is_transient());
        assert!(
            !SyncError::RateLimited {
                retry_after_secs: None
            }
            .is_transient()
        );
        assert!(!SyncError::MalformedResponse("x".into()).is_transient());
        assert!(!SyncError::ResponseTooLarge { limit: 1 }.is_transient());
        assert!(!SyncError::BadSignature.is_transient());
    }

    #[test]
    fn sync_errors_map_to_what_an_app_acts_on() {
        let m = |e: SyncError| WalletError::from(e);
        assert_eq!(m(SyncError::Timeout), WalletError::Timeout);
        assert_eq!(
            m(SyncError::RateLimited {
                retry_after_secs: Some(30)
            }),
            WalletError::RateLimited {
                retry_after_secs: Some(30)
            }
        );
        assert_eq!(
            m(SyncError::StaleRequest),
            WalletError::Unauthorized {
                code: "stale_request".into()
            }
        );
        assert!(matches!(
            m(SyncError::MalformedResponse("tickets[3]".into())),
            WalletError::BadResponse { reason } if reason.contains("tickets[3]")
        ));
        assert_eq!(
            m(SyncError::Wallet(WalletError::Locked { opens_at: 5 })),
            WalletError::Locked { opens_at: 5 }
        );
        assert_eq!(
            m(SyncError::NeedsVerification {
                message: "email first".into()
            })
            .to_string(),
            "verification needed: email first"
        );
        assert_eq!(
            m(SyncError::Server {
                status: 503,
                code: None,
                message: String::new()
            }),
            WalletError::ServerError {
                status: 503,
                code: String::new(),
                detail: String::new()
            }
        );
    }

    #[test]
    fn issuer_codes_reach_the_app_as_their_wire_strings() {
        let m = |e: SyncError| WalletError::from(e);
        assert_eq!(
            m(SyncError::Unauthorized {
                code: Some(ApiErrorCode::BadSignature)
            }),
            WalletError::Unauthorized {
                code: "bad_signature".into()
            }
        );
        assert_eq!(
            m(SyncError::Unauthorized { code: None }),
            WalletError::Unauthorized {
                code: String::new()
            }
        );
        assert_eq!(
            m(SyncError::Server {
                status: 502,
                code: Some(ApiErrorCode::DeliveryFailed),
                message: "later".into()
            }),
            WalletError::ServerError {
                status: 502,
                code: "delivery_failed".into(),
                detail: "later".into()
            }
        );
        assert_eq!(
            m(SyncError::Server {
                status: 418,
                code: Some(ApiErrorCode::Other("teapot_busy".into())),
                message: String::new()
            }),
            WalletError::ServerError {
                status: 418,
                code: "teapot_busy".into(),
                detail: String::new()
            }
        );
    }
}
