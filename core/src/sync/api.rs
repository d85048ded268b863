//! The issuer's HTTP API as data: every request and response body, shared by the
//! reference issuer and the wallet's client so the two cannot drift. docs/API.md
//! describes the endpoints; binary values travel as lowercase hex.

use serde::{Deserialize, Serialize};

use crate::ids::{EventId, TicketId};
use crate::policy::{EventPolicy, Verification};

/// `GET /v1/time?nonce=<64 hex>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeResponse {
    /// The issuer's clock, Unix ms.
    pub server_time_ms: i64,
    /// The issuer's signature over the request's nonce and this time; present when the
    /// request carried a nonce. Without it the time is only good for request timestamps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<TimeProof>,
}

/// An issuer signature over (nonce, server time, key id): `sync::signed_time`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeProof {
    /// Which issuer key signed.
    pub key_id: u32,
    /// Ed25519 signature (128 hex).
    pub signature: String,
}

/// The stable machine code of an error answer (`ErrorBody.error`): what the issuer sends
/// and the client acts on. On the wire it is the snake_case string of docs/API.md
/// (`"bad_request"`, …); a code this version does not know is kept as [`Self::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ApiErrorCode {
    /// `bad_request` (400, also 405 and other framework refusals): the request itself is
    /// wrong (a field, the path, the method). Repeating it will not help; fix the input.
    BadRequest,
    /// `wrong_code` (400): the SMS code does not match. Let the user try again, up to the
    /// attempt limit.
    WrongCode,
    /// `unauthorized` (401): no or unknown token, or the device is not enrolled. Enroll,
    /// then repeat.
    Unauthorized,
    /// `bad_signature` (401): the request signature does not verify; the device key or
    /// the signing code is wrong. Repeating will not help.
    BadSignature,
    /// `replayed_request` (401): this nonce was already used. Send a fresh request.
    ReplayedRequest,
    /// `stale_request` (401): the request timestamp is too far from the issuer's clock.
    /// Anchor the time (`GET /v1/time`) and sign again.
    StaleRequest,
    /// `forbidden` (403): the token's role or scope does not allow this call.
    Forbidden,
    /// `not_found` (404): no such ticket, transfer, code or endpoint.
    NotFound,
    /// `needs_verification` (403): the account must verify its email or phone on this
    /// device first.
    NeedsVerification,
    /// `change_blocked` (409): an event blocks holder changes; the box office can.
    ChangeBlocked,
    /// `not_transferable` (409): the event does not allow transfers.
    NotTransferable,
    /// `conflict` (409): the request contradicts the issuer's state (already done, an
    /// `Idempotency-Key` reused with another request). Refresh, do not repeat blindly.
    Conflict,
    /// `code_expired` (410): the code or link expired or was used; request a new one.
    CodeExpired,
    /// `too_many_attempts` (429): too many wrong codes; request a new code.
    TooManyAttempts,
    /// `rate_limited` (429, with `Retry-After`): wait that long, then try again.
    RateLimited,
    /// `payload_too_large` (413): the body is over 1 MiB; it will never be accepted.
    PayloadTooLarge,
    /// `internal` (500): the issuer failed; try again later.
    Internal,
    /// `delivery_failed` (502): the email or SMS could not be sent; try again later.
    DeliveryFailed,
    /// A code this version does not know (from a newer issuer), kept verbatim for error
    /// texts. Treat it by the HTTP status. Parsing never puts a known code here.
    Other(String),
}

impl ApiErrorCode {
    /// Every code this version knows, in the order of docs/API.md.
    pub const KNOWN: [Self; 18] = [
        Self::BadRequest,
        Self::WrongCode,
        Self::Unauthorized,
        Self::BadSignature,
        Self::ReplayedRequest,
        Self::StaleRequest,
        Self::Forbidden,
        Self::NotFound,
        Self::NeedsVerification,
        Self::ChangeBlocked,
        Self::NotTransferable,
        Self::Conflict,
        Self::CodeExpired,
        Self::TooManyAttempts,
        Self::RateLimited,
        Self::PayloadTooLarge,
        Self::Internal,
        Self::DeliveryFailed,
    ];

    /// The code as it travels (`"bad_request"`, …; an unknown code as received).
    pub fn as_str(&self) -> &str {
        match self {
            Self::BadRequest => "bad_request",
            Self::WrongCode => "wrong_code",
            Self::Unauthorized => "unauthorized",
            Self::BadSignature => "bad_signature",
            Self::ReplayedRequest => "replayed_request",
            Self::StaleRequest => "stale_request",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::NeedsVerification => "needs_verification",
            Self::ChangeBlocked => "change_blocked",
            Self::NotTransferable => "not_transferable",
            Self::Conflict => "conflict",
            Self::CodeExpired => "code_expired",
            Self::TooManyAttempts => "too_many_attempts",
            Self::RateLimited => "rate_limited",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Internal => "internal",
            Self::DeliveryFailed => "delivery_failed",
            Self::Other(code) => code,
        }
    }
}

impl From<&str> for ApiErrorCode {
    /// The known code spelled `s`, or [`Self::Other`].
    fn from(s: &str) -> Self {
        Self::KNOWN
            .into_iter()
            .find(|c| c.as_str() == s)
            .unwrap_or_else(|| Self::Other(s.to_owned()))
    }
}

impl std::fmt::Display for ApiErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ApiErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ApiErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Self::from(s.as_str()))
    }
}

/// An error body: a stable machine code and a human message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine code; clients act on it, never on `message`.
    pub error: ApiErrorCode,
    /// What went wrong, for people. Never contains secrets.
    pub message: String,
}

/// `POST /v1/devices` (device-signed): enroll the signing device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// Free-form platform name ("android", "ios", "jvm", "python", "cli").
    pub platform: String,
}

/// Answer to enrollment: this device's enrollment with the issuer (`Enrollment` in the
/// bindings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "uniffi",
    derive(uniffi::Record),
    uniffi(name = "Enrollment")
)]
pub struct EnrollResponse {
    /// The device id the issuer knows this wallet by: its public key in hex.
    pub device_id: String,
    /// The issuer's clock at enrollment, Unix ms (unsigned: it only corrects request
    /// timestamps).
    pub server_time_ms: i64,
}

/// `POST /v1/attendee/email/request` (device-signed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailRequest {
    /// The address of the order.
    pub email: String,
}

/// `POST /v1/attendee/email/confirm` (device-signed by the device that asked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailConfirm {
    /// The token from the link in the email.
    pub token: String,
}

/// `POST /v1/attendee/phone/request` (device-signed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneRequest {
    /// The phone number of the order, E.164.
    pub phone: String,
}

/// `POST /v1/attendee/phone/confirm` (device-signed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneConfirm {
    /// The 6-digit code from the SMS.
    pub code: String,
}

/// Answer to a verification request or confirmation: where this device stands with
/// email and phone verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct VerificationStatus {
    /// What this device has verified so far.
    pub verified: Vec<Verification>,
    /// When the pending code or link expires (Unix ms), if one is pending.
    pub pending_expires_at_ms: Option<i64>,
}

/// `POST /v1/attendee/sync` (device-signed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// The wallet's fresh X25519 public key for this sync (hex).
    pub ephemeral_public_key: String,
    /// A fresh nonce (64 hex) the issuer signs together with its clock.
    pub time_nonce: String,
}

/// An issuer signing key, for verifying S1 credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerKey {
    /// Key id named in credentials.
    pub key_id: u32,
    /// Ed25519 public key (hex).
    pub public_key: String,
}

/// One ticket in a sync answer. Seeds are sealed to the sync's ephemeral key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncTicket {
    /// The ticket.
    pub ticket_id: TicketId,
    /// Its event.
    pub event_id: EventId,
    /// Seat label.
    pub seat: String,
    /// Holder name (personalised events).
    pub holder_name: Option<String>,
    /// Device public key the ticket is bound to (hex).
    pub device_public_key: String,
    /// Signed S1 credential bytes (hex), for S1 events.
    pub credential: Option<String>,
    /// Whether the ticket is revoked.
    pub revoked: bool,
    /// Row version; sealed seeds are bound to it.
    pub version: u32,
    /// Per-ticket seed sealed to the sync key (hex), column `ticket_seed`.
    pub sealed_ticket_seed: String,
    /// Per-event seed sealed to the sync key (hex), column `event_seed`.
    pub sealed_event_seed: Option<String>,
}

/// A strict-JIT release secret sealed to the sync key (column `release_secret`, row = event id u64 BE).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRelease {
    /// The event.
    pub event_id: EventId,
    /// Secret version.
    pub version: u32,
    /// Sealed secret (hex).
    pub sealed: String,
}

/// Answer to a sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// The issuer's clock, Unix ms (anchors trusted time).
    pub server_time_ms: i64,
    /// The issuer's signature over the request's `time_nonce` and `server_time_ms`.
    pub time_proof: TimeProof,
    /// The issuer's ephemeral X25519 public key for this sync (hex).
    pub server_ephemeral_public_key: String,
    /// Issuer signing keys.
    pub issuer_keys: Vec<IssuerKey>,
    /// What this device has verified.
    pub verified: Vec<Verification>,
    /// Policies of every event the tickets belong to.
    pub events: Vec<EventPolicy>,
    /// Tickets bound to this device.
    pub tickets: Vec<SyncTicket>,
    /// Tickets this device held that are now bound elsewhere (transferred or re-bound).
    pub moved: Vec<TicketId>,
    /// Release secrets of strict-JIT events whose window is open.
    pub releases: Vec<SyncRelease>,
}

/// `POST /v1/attendee/tickets/{id}/transfer` (device-signed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRequest {
    /// The recipient's email address.
    pub to_email: String,
}

/// Answer to a transfer: the recipient gets the id by email too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferResponse {
    /// Transfer id to accept with.
    pub transfer_id: String,
}

/// `POST /v1/attendee/profile` (device-signed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileUpdate {
    /// New holder name for the account's tickets.
    pub holder_name: Option<String>,
    /// New email address for the account.
    pub email: Option<String>,
}

/// `POST /v1/admin/tokens` (admin): a staff token and its scope.
///
/// A gate token must name its event and its gate id: it fetches that event's bundle only
/// and uploads scans under that gate id only. A box-office token may name an event to
/// sell, revoke and fix tickets of that event only. Unknown fields are refused, so a
/// misspelt scope cannot silently mint an unscoped token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// `box_office` or `gate`.
    pub role: String,
    /// The one event the token may act on (required for `gate`, optional for `box_office`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<EventId>,
    /// The gate's id, chosen by the admin (`gate` only, required): 1–64 characters of
    /// `A–Z a–z 0–9 . _ -`. Scan records uploaded with the token must carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_id: Option<String>,
}

impl TokenRequest {
    /// A gate token for `gate_id` at `event`.
    pub fn gate(event: EventId, gate_id: impl Into<String>) -> Self {
        Self {
            role: "gate".into(),
            event_id: Some(event),
            gate_id: Some(gate_id.into()),
        }
    }

    /// A box-office token, for one event or (`None`) every event.
    pub fn box_office(event: Option<EventId>) -> Self {
        Self {
            role: "box_office".into(),
            event_id: event,
            gate_id: None,
        }
    }
}

/// A new bearer token: the only time the token itself is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The token.
    pub token: String,
    /// Its public id, to list and revoke it by (`POST /v1/admin/tokens/{id}/revoke`).
    #[serde(default)]
    pub id: String,
    /// Its role.
    #[serde(default)]
    pub role: String,
    /// Its event scope, if any.
    #[serde(default)]
    pub event_id: Option<EventId>,
    /// Its gate id (gate tokens).
    #[serde(default)]
    pub gate_id: Option<String>,
}

/// One staff token in `GET /v1/admin/tokens` (admin): everything but the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Public id.
    pub id: String,
    /// `box_office` or `gate`.
    pub role: String,
    /// Event scope, if any.
    pub event_id: Option<EventId>,
    /// Gate id (gate tokens).
    pub gate_id: Option<String>,
    /// When it was minted, Unix ms.
    pub created_ms: i64,
    /// When the admin revoked it, Unix ms; `None` while it is valid.
    pub revoked_ms: Option<i64>,
}

/// `POST /v1/admin/orders` (admin or box office): tickets for one buyer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRequest {
    /// The event.
    pub event_id: EventId,
    /// The buyer's email (the account).
    pub email: String,
    /// The buyer's phone, for SMS verification.
    pub phone: Option<String>,
    /// Holder name (personalised events).
    pub holder_name: Option<String>,
    /// One seat label per ticket (empty strings for general admission).
    pub seats: Vec<String>,
}

/// Answer to an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderResponse {
    /// The tickets created.
    pub tickets: Vec<TicketId>,
}

/// `POST /v1/boxoffice/tickets/{id}/holder` (box office; audited).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderChange {
    /// New holder name.
    pub holder_name: Option<String>,
    /// New email (moves the ticket to that account; its binding ends).
    pub email: Option<String>,
    /// Why (goes to the audit log).
    pub reason: String,
}

/// A message the dev sender wrote to its outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    /// `email` or `sms`.
    pub channel: String,
    /// Recipient address or number.
    pub to: String,
    /// Message text (contains the link or code).
    pub body: String,
    /// Unix ms.
    pub sent_at_ms: i64,
}

/// An audit-log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Unix ms.
    pub at_ms: i64,
    /// Role of the actor (`admin`, `box_office`, `gate`, `device`).
    pub role: String,
    /// What was done.
    pub action: String,
    /// On what (ticket id, event id…).
    pub subject: String,
    /// Free text (reason).
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The strings the issuer sends (docs/API.md, issuer/openapi.json), written out
    /// rather than taken from `as_str`.
    const WIRE: [&str; 18] = [
        "bad_request",
        "wrong_code",
        "unauthorized",
        "bad_signature",
        "replayed_request",
        "stale_request",
        "forbidden",
        "not_found",
        "needs_verification",
        "change_blocked",
        "not_transferable",
        "conflict",
        "code_expired",
        "too_many_attempts",
        "rate_limited",
        "payload_too_large",
        "internal",
        "delivery_failed",
    ];

    #[test]
    fn every_error_code_round_trips_as_the_string_the_issuer_sends() {
        for (code, wire) in ApiErrorCode::KNOWN.iter().zip(WIRE) {
            let json = format!("\"{wire}\"");
            assert_eq!(serde_json::to_string(code).unwrap(), json, "{code:?}");
            assert_eq!(
                serde_json::from_str::<ApiErrorCode>(&json).unwrap(),
                *code,
                "{wire}"
            );
            assert_eq!(code.as_str(), wire);
            assert_eq!(code.to_string(), wire);
            assert!(!matches!(code, ApiErrorCode::Other(_)), "{wire}");
        }
        let distinct: std::collections::BTreeSet<&str> = ApiErrorCode::KNOWN
            .iter()
            .map(ApiErrorCode::as_str)
            .collect();
        assert_eq!(distinct.len(), ApiErrorCode::KNOWN.len());
        let body = ErrorBody {
            error: ApiErrorCode::RateLimited,
            message: "slow down".into(),
        };
        let json = r#"{"error":"rate_limited","message":"slow down"}"#;
        assert_eq!(serde_json::to_string(&body).unwrap(), json);
        assert_eq!(serde_json::from_str::<ErrorBody>(json).unwrap(), body);
    }

    #[test]
    fn an_unknown_code_is_kept_verbatim() {
        let json = r#"{"error":"quota_exceeded","message":"m"}"#;
        let body: ErrorBody = serde_json::from_str(json).unwrap();
        assert_eq!(body.error, ApiErrorCode::Other("quota_exceeded".into()));
        assert_eq!(body.error.as_str(), "quota_exceeded");
        assert_eq!(serde_json::to_string(&body).unwrap(), json);
        assert_eq!(ApiErrorCode::from(""), ApiErrorCode::Other(String::new()));
        assert!(serde_json::from_str::<ErrorBody>(r#"{"error":7,"message":"m"}"#).is_err());
    }
}
