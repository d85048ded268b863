//! Who is calling: device-signed attendee requests and bearer tokens for staff.
//!
//! Both are axum extractors, so a handler cannot forget to authenticate: it names
//! [`Signed`] (or [`Enrolling`] for enrollment) or [`Staff`] in its arguments.

use crate::db::{OptionalExtension, params};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH};
use axum::http::request::Parts;
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
///
/// A refusal says what is wrong and where, never with a value from the body (bodies hold
/// codes and tokens): the field's path (`seats[2]`, `records[0].seq`), serde's category
/// (`missing field`, `unknown field`, `invalid type`, `invalid value`, `unknown variant`)
/// with the expected type or fields, and the line and column. serde's texts quote the
/// value in `invalid type`, `invalid value`, `invalid length` and `unknown variant`
/// errors: only its kind (`string`, `integer`, …) is kept. A key the body sent (an
/// unknown field, a key of the path) is named only when it looks like a field name.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    use serde_json::error::Category;
    use serde_path_to_error::Segment;

    /// A key the message may name: it looks like a field name, so it is not a code or a
    /// token someone put where a key goes.
    fn field_like(key: &str) -> bool {
        key.len() <= 32
            && key.starts_with(|c: char| c.is_ascii_alphabetic())
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    }

    /// `seats[2]`, or `None` when empty or a key does not look like a field name.
    fn show(path: &[Segment]) -> Option<String> {
        let mut out = String::new();
        for seg in path {
            match seg {
                Segment::Map { key } if field_like(key) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(key);
                }
                Segment::Seq { index } => out.push_str(&format!("[{index}]")),
                _ => return None,
            }
        }
        (!out.is_empty()).then_some(out)
    }

    /// The kind of an unexpected value, without the value serde quotes after it.
    fn kind(unexpected: &str) -> &str {
        match unexpected.split(['`', '"']).next().unwrap_or("").trim() {
            k @ ("boolean" | "integer" | "floating point" | "character" | "string"
            | "byte array" | "unit value" | "Option value" | "newtype struct" | "sequence"
            | "map" | "enum" | "unit variant" | "newtype variant" | "tuple variant"
            | "struct variant" | "null") => k,
            _ => "another type",
        }
    }

    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    // Every body is a JSON object: serde would also read a struct from an array of its
    // fields, a second spelling of each body that no client needs and no schema describes.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::bad_request(
            "request body: a JSON object is expected (line 1, column 1)",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // serde_path_to_error says which field failed (a path of keys and indexes).
    let parsed = match serde_path_to_error::deserialize(&mut de) {
        Ok(v) => de.end().map(|()| v).map_err(|e| (Vec::new(), e)),
        Err(e) => Err((e.path().iter().cloned().collect(), e.into_inner())),
    };
    parsed.map_err(|(path, e): (Vec<Segment>, serde_json::Error)| {
        let at = format!("line {}, column {}", e.line(), e.column());
        let text = e.to_string();
        // serde_json appends " at line L column C"; a quoted value before it may hold
        // the same words, so cut at the last one.
        let text = text
            .rfind(" at line ")
            .map_or(text.as_str(), |i| &text[..i]);
        if e.classify() != Category::Data {
            // Syntax and end-of-input errors are serde_json's fixed texts.
            let m = format!("request body is not valid JSON: {text} ({at})");
            return ApiError::bad_request(m);
        }
        // Everything after the last ", expected " is the type's own text (serde's
        // `expecting`), which never holds request data; a quoted value may be before it.
        let expected = text
            .rfind(", expected ")
            .map(|i| &text[i..])
            .or_else(|| text.rfind(", there are no ").map(|i| &text[i..]))
            .unwrap_or("");
        let head = &text[..text.len() - expected.len()];
        let named = |prefix: &str| {
            head.strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix('`'))
                .filter(|name| field_like(name))
        };
        let (detail, in_container) = if let Some(f) = named("missing field `") {
            (format!("missing field `{f}`"), true)
        } else if head.starts_with("unknown field `") || head.starts_with("duplicate field `") {
            let what = if head.starts_with("unknown") {
                "unknown"
            } else {
                "duplicate"
            };
            match named(&format!("{what} field `")) {
                Some(f) => (format!("{what} field `{f}`{expected}"), true),
                None => (format!("{what} field{expected}"), true),
            }
        } else if let Some(u) = head.strip_prefix("invalid type: ") {
            (format!("invalid type: {}{expected}", kind(u)), false)
        } else if let Some(u) = head.strip_prefix("invalid value: ") {
            (format!("invalid value: {}{expected}", kind(u)), false)
        } else if head.starts_with("invalid length ") {
            (format!("invalid length{expected}"), false)
        } else if head.starts_with("unknown variant ") {
            (format!("unknown variant{expected}"), false)
        } else if !text.contains(['"', '`', '\''])
            && text.len() <= 120
            && !text.chars().any(char::is_control)
        {
            // A type's own message (`a ticket id is 32 hex digits`).
            (text.to_owned(), false)
        } else {
            ("invalid value".to_owned(), false)
        };
        let message = match (show(&path), in_container) {
            (None, _) => detail,
            (Some(p), true) => format!("{detail} in `{p}`"),
            (Some(p), false) => format!("field `{p}`: {detail}"),
        };
        ApiError::bad_request(format!("request body: {message} ({at})"))
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
            // This device's expired nonces only: a sweep of every device's would make
            // concurrent requests on other instances conflict (crate::db); the rest go
            // in the sweep one request in 256 makes.
            tx.execute(
                "DELETE FROM nonces WHERE device = ?1 AND expires_ms < ?2",
                params![&device[..], now],
            )?;
            if crate::secrets::random_bytes(1)?.first() == Some(&0) {
                tx.execute("DELETE FROM nonces WHERE expires_ms < ?1", [now])?;
            }
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
                "INSERT INTO nonces (device, nonce, expires_ms) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
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
