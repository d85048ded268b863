//! Who is calling: device-signed attendee requests and bearer tokens for staff.
//!
//! Both are axum extractors, so a handler cannot forget to authenticate: it names
//! [`Signed`] (or [`Enrolling`] for enrollment) or [`Staff`] in its arguments.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH};
use axum::http::request::Parts;
use rusqlite::{OptionalExtension, params};
use serde::de::DeserializeOwned;
use tessera_core::EventId;
use tessera_core::sync::request::{
    HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, RequestAuthError,
    SignedHeaders, verify,
};

use crate::error::ApiError;
use crate::secrets::token_hash;
use crate::staff_tokens;
use crate::state::Shared;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How long a nonce is remembered: twice the allowed clock skew, so a request cannot be
/// replayed at any time its timestamp would still be accepted.
const NONCE_RETENTION_MS: i64 = 2 * tessera_core::sync::request::MAX_SKEW_MS;

/// Reads a body of at most [`MAX_BODY_BYTES`].
pub(crate) async fn read_body(parts: &Parts, body: Body) -> Result<Bytes, ApiError> {
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(ApiError::payload_too_large());
    }
    // The only failure a body read can have on a live connection is the limit (a broken
    // connection gets no answer anyway).
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::payload_too_large())
}

/// Parses a JSON body; an empty body reads as `{}` so bodiless calls need not send one.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    // serde's message names the field and position, never the offending value text of
    // our types, but keep to position only: bodies may hold codes or tokens.
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(format!(
            "request body is not the expected JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

/// A JSON body of at most 1 MiB, errors as `ErrorBody`.
pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<Shared> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &Shared) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let bytes = read_body(&parts, body).await?;
        parse_json(&bytes).map(Self)
    }
}

/// An empty body for bodiless device calls (`{}` or nothing).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoBody {}

/// A device-signed request from an enrolled device, with its parsed JSON body.
pub(crate) struct Signed<T> {
    /// The device public key that signed.
    pub device: [u8; 32],
    /// The body.
    pub body: T,
}

/// A device-signed enrollment: like [`Signed`] but the device need not be enrolled yet.
pub(crate) struct Enrolling<T> {
    /// The device public key that signed.
    pub device: [u8; 32],
    /// The body.
    pub body: T,
}

impl<T: DeserializeOwned + Send> FromRequest<Shared> for Signed<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, st: &Shared) -> Result<Self, ApiError> {
        let (device, bytes) = authenticate(req, st, false).await?;
        Ok(Self {
            device,
            body: parse_json(&bytes)?,
        })
    }
}

impl<T: DeserializeOwned + Send> FromRequest<Shared> for Enrolling<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, st: &Shared) -> Result<Self, ApiError> {
        let (device, bytes) = authenticate(req, st, true).await?;
        Ok(Self {
            device,
            body: parse_json(&bytes)?,
        })
    }
}

fn header(parts: &Parts, name: &str) -> Result<String, ApiError> {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| ApiError::unauthorized("missing device signature headers"))
}

/// Checks signature, freshness, enrollment and nonce; returns the device and the raw body.
async fn authenticate(
    req: Request,
    st: &Shared,
    enrolling: bool,
) -> Result<([u8; 32], Bytes), ApiError> {
    let (parts, body) = req.into_parts();
    let headers = SignedHeaders {
        device: header(&parts, HEADER_DEVICE)?,
        timestamp: header(&parts, HEADER_TIMESTAMP)?,
        nonce: header(&parts, HEADER_NONCE)?,
        signature: header(&parts, HEADER_SIGNATURE)?,
    };
    let bytes = read_body(&parts, body).await?;
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |p| p.as_str());
    let now = st.now_ms();
    let v = verify(&headers, parts.method.as_str(), path, &bytes, now).map_err(|e| match e {
        RequestAuthError::Malformed => ApiError::unauthorized("malformed device signature headers"),
        RequestAuthError::Stale => ApiError::stale(),
        RequestAuthError::BadSignature => {
            st.metrics.failed_verification("request_signature");
            ApiError::bad_signature()
        }
        // A key nobody holds: an attack, not a client bug, so it is counted too.
        RequestAuthError::WeakKey => {
            st.metrics.failed_verification("request_device_key");
            ApiError::bad_request("device public key of small order or non-canonical")
        }
    })?;
    let (device, nonce) = (v.device, v.nonce);
    let fresh = st
        .db
        .call(move |c| {
            let tx = c.transaction()?;
            tx.execute("DELETE FROM nonces WHERE expires_ms < ?1", [now])?;
            if !enrolling {
                let known = tx
                    .query_row(
                        "SELECT 1 FROM devices WHERE public_key = ?1",
                        [&device[..]],
                        |_| Ok(()),
                    )
                    .optional()?
                    .is_some();
                if !known {
                    return Err(ApiError::unauthorized("device not enrolled"));
                }
            }
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO nonces (device, nonce, expires_ms) VALUES (?1, ?2, ?3)",
                params![
                    &device[..],
                    &nonce[..],
                    now.saturating_add(NONCE_RETENTION_MS)
                ],
            )?;
            tx.commit()?;
            Ok(inserted == 1)
        })
        .await?;
    if !fresh {
        st.metrics.replayed_request();
        return Err(ApiError::replayed());
    }
    Ok((device, bytes))
}

/// A staff role, proven by a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Runs the issuer: events, tokens, everything.
    Admin,
    /// Sells and fixes tickets: orders, revocations, holder overrides.
    BoxOffice,
    /// Scans at the door: bundles and scan uploads.
    Gate,
}

impl Role {
    /// `admin`, `box_office` or `gate`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::BoxOffice => "box_office",
            Self::Gate => "gate",
        }
    }

    /// The role a stored name stands for.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "box_office" => Some(Self::BoxOffice),
            "gate" => Some(Self::Gate),
            _ => None,
        }
    }
}

/// A caller with a valid bearer token: its role and, for a scoped token, the one event
/// (and gate id) it may act on. The admin token has no scope.
pub(crate) struct Staff {
    role: Role,
    event: Option<EventId>,
    gate_id: Option<String>,
}

impl Staff {
    /// The role, if it is one of `allowed`; `forbidden` otherwise.
    pub(crate) fn require(&self, allowed: &[Role]) -> Result<Role, ApiError> {
        if allowed.contains(&self.role) {
            Ok(self.role)
        } else {
            Err(ApiError::forbidden(format!(
                "the {} role may not do this",
                self.role.as_str()
            )))
        }
    }

    /// `forbidden` unless the token may act on `event`.
    pub(crate) fn require_event(&self, event: EventId) -> Result<(), ApiError> {
        match self.event {
            Some(own) if own != event => Err(ApiError::forbidden(
                "this token is limited to another event",
            )),
            _ => Ok(()),
        }
    }

    /// The one event the token may act on (`None`: every event).
    pub(crate) fn event(&self) -> Option<EventId> {
        self.event
    }

    /// `forbidden` unless the token may write scan records under `gate_id`: a gate token
    /// only under its own id, never another gate's.
    pub(crate) fn require_gate_id(&self, gate_id: &str) -> Result<(), ApiError> {
        match &self.gate_id {
            Some(own) if own != gate_id => Err(ApiError::forbidden(
                "scan records must carry this token's own gate id",
            )),
            _ => Ok(()),
        }
    }
}

impl FromRequestParts<Shared> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &Shared) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
        let hash = token_hash(token);
        // Hashes are compared, so timing reveals nothing about the admin token itself.
        if hash == token_hash(&st.secrets.admin_token) {
            return Ok(Self {
                role: Role::Admin,
                event: None,
                gate_id: None,
            });
        }
        // A revoked token reads as unknown: it grants nothing, whatever its scope was.
        let scope = st
            .db
            .call(move |c| staff_tokens::lookup(c, &hash))
            .await?
            .ok_or_else(|| ApiError::unauthorized("unknown bearer token"))?;
        Ok(Self {
            role: scope.role,
            event: scope.event,
            gate_id: scope.gate_id,
        })
    }
}
