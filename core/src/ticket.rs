//! A ticket as the wallet holds it, and the secrets that travel with it.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::code::SignedCredential;
use crate::code::s1::public_key;
use crate::error::WalletError;
use crate::ids::{EventId, TicketId};
use crate::policy::{CodeFormat, EventPolicy, Verification};
use crate::qr::QrMatrix;

/// A ticket's public part: nothing here is secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// The ticket's id.
    pub id: TicketId,
    /// Its event.
    pub event_id: EventId,
    /// Seat label (empty for general admission).
    pub seat: String,
    /// Holder name for personalised events.
    pub holder_name: Option<String>,
    /// Public key of the device the issuer bound this ticket to.
    pub device_public_key: [u8; 32],
    /// The issuer-signed credential, for S1 events.
    pub credential: Option<SignedCredential>,
    /// Whether the issuer revoked the ticket.
    pub revoked: bool,
    /// Row version: bumps whenever the issuer changes the ticket; sealed data is bound to it.
    pub version: u32,
}

/// A ticket's secrets, wiped from memory when dropped. Never logged, never in `Debug`.
pub struct TicketSecrets {
    /// Per-ticket TOTP seed (T1); also kept for S1 so a format change needs no resync.
    pub ticket_seed: Zeroizing<Vec<u8>>,
    /// Optional per-event TOTP seed (T1).
    pub event_seed: Option<Zeroizing<Vec<u8>>>,
}

impl TicketSecrets {
    /// No secrets: the issuer withheld them until the device has the event's required
    /// verifications. Such a ticket is stored without seeds and draws no code.
    pub fn withheld() -> Self {
        Self {
            ticket_seed: Zeroizing::new(Vec::new()),
            event_seed: None,
        }
    }

    /// Whether these are [`TicketSecrets::withheld`].
    pub fn is_withheld(&self) -> bool {
        self.ticket_seed.is_empty()
    }
}

impl std::fmt::Debug for TicketSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TicketSecrets(..)")
    }
}

/// Whether a ticket can show a code now, and if not, what would change that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum RevealState {
    /// The reveal window has not opened (on trusted time). Opens at `opens_at` (Unix s).
    Locked {
        /// Unix seconds when the window opens.
        opens_at: i64,
    },
    /// The holder must still prove these before the ticket reveals.
    NeedsVerification {
        /// What is missing, in a stable order.
        missing: Vec<Verification>,
    },
    /// The window is open but a sync is needed: a strict just-in-time event's release
    /// secret is not here yet, or (after a reboot) nothing proves which step is now until
    /// a sync or `refresh_time`.
    NeedsSync,
    /// Codes can be shown until `until` (Unix s).
    Ready {
        /// Unix seconds when the ticket stops being valid.
        until: i64,
    },
    /// The event is over.
    Expired,
    /// The issuer revoked the ticket.
    Revoked,
    /// The ticket is bound to another device (transferred or re-bound).
    BoundElsewhere,
    /// The ticket's stored data failed its integrity check; a sync restores it.
    Tampered,
}

/// One ticket as an app lists it: public data only, plus its state at the time of the call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TicketSummary {
    /// The ticket's id (32 hex digits across the FFI).
    pub ticket_id: TicketId,
    /// Seat label (empty for general admission).
    pub seat: String,
    /// Holder name, for personalised events.
    pub holder_name: Option<String>,
    /// Whether the issuer revoked it.
    pub revoked: bool,
    /// Public key (hex) of the device the issuer bound the ticket to.
    pub device_public_key_hex: String,
    /// Its event.
    pub event: EventPolicy,
    /// Its state when the summary was made.
    pub state: RevealState,
}

impl TicketSummary {
    /// The summary of `ticket` under `event` in `state`.
    pub fn new(ticket: &Ticket, event: EventPolicy, state: RevealState) -> Self {
        Self {
            ticket_id: ticket.id,
            seat: ticket.seat.clone(),
            holder_name: ticket.holder_name.clone(),
            revoked: ticket.revoked,
            device_public_key_hex: hex::encode(ticket.device_public_key),
            event,
            state,
        }
    }
}

impl crate::Wallet {
    /// A ticket's whole public part as synced (its credential and version too), for Rust
    /// tools and tests; apps list tickets with [`crate::Wallet::tickets`].
    pub fn ticket_record(&self, id: &TicketId) -> Result<Ticket, WalletError> {
        Ok(self
            .store()
            .ticket(id)?
            .ok_or_else(|| WalletError::not_found(id))?
            .ticket)
    }
}

/// One frame of a rotating code: what the screen shows during one step.
///
/// Draw `qr_modules` yourself (a `qr_size` × `qr_size` grid, row by row, 1 = dark; add
/// a light margin of 4 modules) or use `qr_svg` / `qr_png`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Frame {
    /// The ticket shown (32 hex digits across the FFI).
    pub ticket_id: TicketId,
    /// The code format.
    pub format: CodeFormat,
    /// The time step this frame belongs to.
    pub step: u64,
    /// The QR payload text (docs/PROTOCOL.md); what a gate scans.
    pub payload: String,
    /// Unix ms when this frame's step begins.
    pub starts_at_ms: i64,
    /// Unix ms when the next step begins: show the next frame then.
    pub ends_at_ms: i64,
    /// QR modules per side, without the quiet zone.
    pub qr_size: u32,
    /// `qr_size * qr_size` bytes, row-major, 1 = dark module, 0 = light: plain bytes, so
    /// that an app draws them with its own toolkit and they cross the FFI cheaply.
    pub qr_modules: Vec<u8>,
}

impl Frame {
    /// The frame of `ticket` at `step`, showing `payload` drawn as `qr`.
    pub fn new(
        ticket: TicketId,
        format: CodeFormat,
        step: u64,
        payload: String,
        qr: &QrMatrix,
        starts_at_ms: i64,
        ends_at_ms: i64,
    ) -> Self {
        Self {
            ticket_id: ticket,
            format,
            step,
            payload,
            starts_at_ms,
            ends_at_ms,
            qr_size: qr.size(),
            qr_modules: qr.modules().iter().map(|&dark| u8::from(dark)).collect(),
        }
    }

    /// The QR matrix of `qr_modules`, for renderers (terminal, PNG, SVG).
    pub fn qr(&self) -> QrMatrix {
        QrMatrix::from_module_bytes(self.qr_size, &self.qr_modules)
    }
}

#[cfg_attr(feature = "uniffi", uniffi::export)]
impl Frame {
    /// The QR code as a standalone SVG document (quiet zone included); `module_px` sets
    /// the nominal size of one module (the image scales without blurring).
    pub fn qr_svg(&self, module_px: u32) -> String {
        self.qr().to_svg(module_px)
    }

    /// The QR code as a 1-bit PNG (quiet zone included), `module_px` pixels per module.
    pub fn qr_png(&self, module_px: u32) -> Result<Vec<u8>, WalletError> {
        self.qr()
            .to_png(module_px)
            .map_err(|e| WalletError::invalid(e.to_string()))
    }
}

impl Ticket {
    /// Builds the S1 credential fields for this ticket (used by issuers).
    pub fn credential_for(&self, policy: &EventPolicy, key_id: u32) -> crate::code::Credential {
        crate::code::Credential {
            key_id,
            ticket: self.id,
            event: self.event_id,
            reveal_opens_at: policy.reveal_opens_at,
            valid_until: policy.valid_until,
            period_secs: policy.period_secs,
            strict_jit: policy.strict_jit,
            reentry: policy.reentry,
            personalised: policy.personalised,
            device_public_key: self.device_public_key,
            seat: self.seat.clone(),
        }
    }
}

/// The 32-byte public key of an Ed25519 key pair (re-exported for issuers and tests).
pub fn ed25519_public_key(kp: &ring::signature::Ed25519KeyPair) -> [u8; 32] {
    public_key(kp)
}
