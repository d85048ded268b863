//! A ticket as the wallet holds it, and the secrets that travel with it.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::code::SignedCredential;
use crate::code::s1::public_key;
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

/// One ticket as the app lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketSummary {
    /// The ticket.
    pub ticket: Ticket,
    /// Its event's policy.
    pub event: EventPolicy,
    /// Its state at the time of the call.
    pub state: RevealState,
}

/// One frame of a rotating code: what the screen shows during one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The ticket shown.
    pub ticket: TicketId,
    /// The code format.
    pub format: CodeFormat,
    /// The time step this frame belongs to.
    pub step: u64,
    /// The QR payload text (docs/PROTOCOL.md).
    pub payload: String,
    /// The QR module matrix of `payload`.
    pub qr: QrMatrix,
    /// Unix ms when this frame's step begins.
    pub starts_at_ms: i64,
    /// Unix ms when the next step begins (show the next frame then).
    pub ends_at_ms: i64,
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
