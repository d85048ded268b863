//! Records and enums the wallet surface exports, and their conversions from core.
//!
//! Conversion only: every value here is computed by `tessera-core`. Ticket ids travel as
//! 32 lowercase hex digits, times as Unix seconds (`*_at`, `until`) or milliseconds
//! (`*_ms`), as in core.

use tessera_core::qr::QrMatrix;
use tessera_core::sync::api::{EnrollResponse, VerificationStatus as CoreVerificationStatus};
use tessera_core::sync::apply::SyncReport as CoreSyncReport;

use crate::errors::WalletError;

/// Something the holder must prove before a ticket reveals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Verification {
    /// The order's email address, confirmed from this device (the link in the email).
    Email,
    /// The order's phone number, confirmed with the 6-digit SMS code.
    Phone,
    /// The person holding the phone, confirmed by biometrics or passcode just before
    /// reveal (`Wallet.confirm_presence`, through your `PresenceGate`).
    Presence,
}

impl From<tessera_core::Verification> for Verification {
    fn from(v: tessera_core::Verification) -> Self {
        match v {
            tessera_core::Verification::Email => Self::Email,
            tessera_core::Verification::Phone => Self::Phone,
            tessera_core::Verification::Presence => Self::Presence,
        }
    }
}

pub(crate) fn verifications(v: &[tessera_core::Verification]) -> Vec<Verification> {
    v.iter().copied().map(Verification::from).collect()
}

/// Which rotating code an event's tickets show (docs/PROTOCOL.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum CodeFormat {
    /// Shared-secret TOTP code: compact QR; the gate holds the ticket seeds.
    T1,
    /// Issuer-signed credential plus a device signature per step: the gate holds only
    /// public keys.
    S1,
}

impl From<tessera_core::CodeFormat> for CodeFormat {
    fn from(f: tessera_core::CodeFormat) -> Self {
        match f {
            tessera_core::CodeFormat::T1 => Self::T1,
            tessera_core::CodeFormat::S1 => Self::S1,
        }
    }
}

/// What an event's tickets do and require, as the issuer set it (read-only).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EventPolicy {
    /// The event's id, chosen by the issuer.
    pub event_id: u64,
    /// Name shown to the holder.
    pub name: String,
    /// Unix seconds when the reveal window opens: before it no code is shown.
    pub reveal_opens_at: i64,
    /// Unix seconds when the tickets stop being valid (the window closes).
    pub valid_until: i64,
    /// Seconds between two codes (5 to 60).
    pub period_secs: u8,
    /// The rotating code format.
    pub format: CodeFormat,
    /// Strict just-in-time: the ticket needs a sync inside the window before it shows a code.
    pub strict_jit: bool,
    /// Proofs the holder must give before reveal.
    pub requires: Vec<Verification>,
    /// Tickets carry the holder's name, checked against an ID at the gate.
    pub personalised: bool,
    /// The holder cannot change name or email (the box office can).
    pub change_block: bool,
    /// A ticket may enter more than once.
    pub reentry: bool,
    /// Tickets may be transferred to another person (`Wallet.transfer`).
    pub transferable: bool,
}

impl From<&tessera_core::EventPolicy> for EventPolicy {
    fn from(p: &tessera_core::EventPolicy) -> Self {
        Self {
            event_id: p.event_id.0,
            name: p.name.clone(),
            reveal_opens_at: p.reveal_opens_at,
            valid_until: p.valid_until,
            period_secs: p.period_secs,
            format: p.format.into(),
            strict_jit: p.strict_jit,
            requires: verifications(&p.requires),
            personalised: p.personalised,
            change_block: p.change_block,
            reentry: p.reentry,
            transferable: p.transferable,
        }
    }
}

/// Whether a ticket can show a code now, and if not, what would change that.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum RevealState {
    /// The reveal window has not opened yet (on trusted time): show a countdown.
    Locked {
        /// Unix seconds when the window opens.
        opens_at: i64,
    },
    /// The holder must still prove these (email, phone, presence) before the ticket reveals.
    NeedsVerification {
        /// What is missing, in a stable order.
        missing: Vec<Verification>,
    },
    /// The window is open, sync once to unlock the ticket (strict just-in-time release
    /// secret, or after a reboot the time: `refresh_time` is enough then).
    NeedsSync,
    /// Codes can be shown until `until`.
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

impl From<&tessera_core::RevealState> for RevealState {
    fn from(s: &tessera_core::RevealState) -> Self {
        use tessera_core::RevealState as C;
        match s {
            C::Locked { opens_at } => Self::Locked {
                opens_at: *opens_at,
            },
            C::NeedsVerification { missing } => Self::NeedsVerification {
                missing: verifications(missing),
            },
            C::NeedsSync => Self::NeedsSync,
            C::Ready { until } => Self::Ready { until: *until },
            C::Expired => Self::Expired,
            C::Revoked => Self::Revoked,
            C::BoundElsewhere => Self::BoundElsewhere,
            C::Tampered => Self::Tampered,
        }
    }
}

/// One ticket as an app lists it: public data only, plus its state at the time of the call.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TicketSummary {
    /// The ticket's id (32 hex digits).
    pub ticket_id: String,
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

impl From<tessera_core::TicketSummary> for TicketSummary {
    fn from(s: tessera_core::TicketSummary) -> Self {
        Self {
            ticket_id: s.ticket.id.to_string(),
            seat: s.ticket.seat,
            holder_name: s.ticket.holder_name,
            revoked: s.ticket.revoked,
            device_public_key_hex: hex::encode(s.ticket.device_public_key),
            event: EventPolicy::from(&s.event),
            state: RevealState::from(&s.state),
        }
    }
}

/// One frame of a rotating code: what the screen shows during one step.
///
/// Draw `qr_modules` yourself (a `qr_size` × `qr_size` grid, row by row, 1 = dark; add
/// a light margin of 4 modules) or use `qr_svg` / `qr_png`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Frame {
    /// The ticket shown (32 hex digits).
    pub ticket_id: String,
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
    /// `qr_size * qr_size` bytes, row-major, 1 = dark module, 0 = light.
    pub qr_modules: Vec<u8>,
}

impl From<tessera_core::Frame> for Frame {
    fn from(f: tessera_core::Frame) -> Self {
        Self {
            ticket_id: f.ticket.to_string(),
            format: f.format.into(),
            step: f.step,
            qr_size: f.qr.size(),
            qr_modules: f.qr.modules().iter().map(|&dark| u8::from(dark)).collect(),
            payload: f.payload,
            starts_at_ms: f.starts_at_ms,
            ends_at_ms: f.ends_at_ms,
        }
    }
}

#[uniffi::export]
impl Frame {
    /// The QR code as a standalone SVG document (quiet zone included); `module_px` sets
    /// the nominal size of one module (the image scales without blurring).
    pub fn qr_svg(&self, module_px: u32) -> Result<String, WalletError> {
        Ok(self.matrix()?.to_svg(module_px))
    }

    /// The QR code as a 1-bit PNG (quiet zone included), `module_px` pixels per module.
    pub fn qr_png(&self, module_px: u32) -> Result<Vec<u8>, WalletError> {
        self.matrix()?
            .to_png(module_px)
            .map_err(|e| WalletError::Invalid {
                reason: e.to_string(),
            })
    }
}

impl Frame {
    /// The matrix again from the payload: encoding is deterministic, so it equals
    /// `qr_modules`, and the record stays plain data across the FFI.
    fn matrix(&self) -> Result<QrMatrix, WalletError> {
        QrMatrix::encode(&self.payload).map_err(|e| WalletError::Invalid {
            reason: e.to_string(),
        })
    }
}

/// This device's enrollment with the issuer.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Enrollment {
    /// The device id the issuer knows this wallet by (its public key, hex).
    pub device_id: String,
    /// The issuer's clock at enrollment, Unix ms (unsigned: it only corrects request timestamps).
    pub server_time_ms: i64,
}

impl From<EnrollResponse> for Enrollment {
    fn from(r: EnrollResponse) -> Self {
        Self {
            device_id: r.device_id,
            server_time_ms: r.server_time_ms,
        }
    }
}

/// Where this device stands with email and phone verification.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VerificationStatus {
    /// What this device has verified so far.
    pub verified: Vec<Verification>,
    /// When the pending link or code expires (Unix ms), if one is pending.
    pub pending_expires_at_ms: Option<i64>,
}

impl From<CoreVerificationStatus> for VerificationStatus {
    fn from(s: CoreVerificationStatus) -> Self {
        Self {
            verified: verifications(&s.verified),
            pending_expires_at_ms: s.pending_expires_at_ms,
        }
    }
}

/// What one sync changed (counts only).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    /// The issuer's clock the wallet anchored its time to, Unix ms.
    pub server_time_ms: i64,
    /// Events written.
    pub events: u32,
    /// Tickets written (bound to this device).
    pub tickets: u32,
    /// Of those, revoked.
    pub revoked: u32,
    /// Tickets reported as moved to another device.
    pub moved: u32,
    /// Release secrets written (strict just-in-time events whose window is open).
    pub releases: u32,
    /// What this device has verified, per the issuer.
    pub verified: Vec<Verification>,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl From<CoreSyncReport> for SyncReport {
    fn from(r: CoreSyncReport) -> Self {
        Self {
            server_time_ms: r.server_time_ms,
            events: count(r.events),
            tickets: count(r.tickets),
            revoked: count(r.revoked),
            moved: count(r.moved),
            releases: count(r.releases),
            verified: verifications(&r.verified),
        }
    }
}

/// The wallet's view of the current time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct TimeStatus {
    /// Best estimate of now, Unix ms: what codes are drawn with.
    pub now_ms: i64,
    /// A time certainly reached, Unix ms: what reveal windows open on.
    pub proven_ms: i64,
    /// Whether the time comes from an issuer anchor in the current clock session (false
    /// after a reboot until the next sync, enroll or `refresh_time`).
    pub anchored: bool,
    /// Whether the device clock disagrees with the issuer's beyond the tolerance (the user
    /// set it by hand); reveal windows ignore it either way.
    pub clock_manipulated: bool,
}
