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

/// An error body: a stable machine code and a human message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable code (`bad_request`, `unauthorized`, `bad_signature`, `replayed_request`,
    /// `not_found`, `needs_verification`, `change_blocked`, `rate_limited`,
    /// `code_expired`, `too_many_attempts`, `not_transferable`, `conflict`, `internal`).
    pub error: String,
    /// What went wrong, for people. Never contains secrets.
    pub message: String,
}

/// `POST /v1/devices` (device-signed): enroll the signing device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// Free-form platform name ("android", "ios", "jvm", "python", "cli").
    pub platform: String,
}

/// Answer to enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollResponse {
    /// The device id: its public key in hex.
    pub device_id: String,
    /// The issuer's clock, Unix ms.
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

/// Answer to a verification request or confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// `POST /v1/admin/tokens` (admin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    /// `box_office` or `gate`.
    pub role: String,
}

/// A bearer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The token.
    pub token: String,
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
