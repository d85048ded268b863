//! Applying a release object (docs/PROTOCOL.md §14): a strict just-in-time event's release
//! secret, signed by the issuer, that reaches the wallet without a sync: from the issuer's
//! static, cacheable URL (`GET /v1/events/{id}/release`, fetched by
//! [`crate::sync::session::WalletSync::fetch_release`]) or from a QR code a venue shows at
//! the door, scanned with no network at all.
//!
//! It is checked against the issuer keys this wallet pinned (never keys it carries
//! itself), refused for an event the wallet holds no ticket of and for a version older
//! than the one held, and stored exactly where a sync stores release secrets, so the
//! event's tickets draw codes once proven time has opened their window. The object does
//! not prove the time: a venue may print it before doors open (`tessera issuer
//! release-qr --before-window`), so a wallet whose time is not anchored inside the window
//! still shows `Locked` or `NeedsSync` after applying it.

use crate::code::release_object::{ReleaseObject, ReleaseObjectError};
use crate::error::WalletError;
use crate::ids::EventId;
use crate::wallet::Wallet;

/// What applying a release object did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ReleaseApplied {
    /// The event whose tickets it releases.
    pub event_id: EventId,
    /// The release version now held.
    pub version: u32,
    /// When the event's window opens, Unix seconds, as the issuer signed it. The wallet
    /// keeps revealing by its own synced policy; a different value means the event moved
    /// since the last sync (sync when there is a network).
    pub opens_at: i64,
    /// False when the wallet already held exactly this release (scanning twice is fine).
    pub updated: bool,
    /// How many of the event's tickets this wallet holds (bound to this device).
    pub tickets: u32,
}

/// The wallet error for a release object that does not parse or verify.
pub(crate) fn release_error(e: ReleaseObjectError) -> WalletError {
    match e {
        ReleaseObjectError::Malformed(why) => {
            WalletError::invalid(format!("not a release object ({why})"))
        }
        // A key this wallet never pinned vouches for nothing, like a bad signature.
        ReleaseObjectError::UnknownKey { .. } | ReleaseObjectError::BadSignature => {
            WalletError::BadSignature
        }
    }
}

impl Wallet {
    /// Applies a release object's text (a scanned venue QR code, or the body of
    /// `GET /v1/events/{id}/release`): checks it and stores the event's release secret as
    /// a sync would, so its tickets draw codes offline once the window is open on proven
    /// time. Surrounding white space (a pasted line ending) is ignored; anything else
    /// malformed is `Invalid`. Refused, changing nothing: `BadSignature` when it is not
    /// signed by an issuer key this wallet pinned (a key id it does not know, another
    /// issuer's key, a small-order key); `NotFound` when the wallet holds no ticket of the
    /// event bound to this device; `Invalid` when the event is not strict just-in-time
    /// here; `Conflict` when the wallet holds a newer release version, or another secret
    /// under the same version; `WalletLocked` while locked (the secret is sealed).
    pub fn apply_release(&self, text: &str) -> Result<ReleaseApplied, WalletError> {
        let object = ReleaseObject::parse(text.trim_matches(|c: char| c.is_ascii_whitespace()))
            .map_err(release_error)?;
        self.apply_release_object(&object)
    }

    /// [`Wallet::apply_release`] for an object already parsed (its signature is checked
    /// here).
    pub fn apply_release_object(
        &self,
        object: &ReleaseObject,
    ) -> Result<ReleaseApplied, WalletError> {
        let pinned = self.pinned_key_map()?;
        object.verify_with(&pinned).map_err(release_error)?;
        let event = object.event;
        let (held, _) = self.store().tickets()?;
        let device = self.device_public_key();
        let tickets = held
            .iter()
            .filter(|t| t.ticket.event_id == event && t.ticket.device_public_key == device)
            .count();
        if tickets == 0 {
            return Err(no_ticket(event));
        }
        let policy = self.store().event(event)?.ok_or_else(|| no_ticket(event))?;
        if !policy.strict_jit {
            return Err(WalletError::invalid(format!(
                "event {event} is not strict just-in-time: it has no release secret"
            )));
        }
        let mut applied = ReleaseApplied {
            event_id: event,
            version: object.version,
            opens_at: object.opens_at,
            updated: false,
            tickets: u32::try_from(tickets).unwrap_or(u32::MAX),
        };
        if let Some((version, secret)) = self.held_release(event)? {
            if version > object.version {
                return Err(older(object.version, version));
            }
            if version == object.version {
                if secret[..] == object.secret[..] {
                    return Ok(applied);
                }
                return Err(WalletError::Conflict {
                    detail: format!(
                        "another release secret under version {version} is held: sync with the issuer"
                    ),
                });
            }
        }
        if !self.store_release_unless_older(event, object.version, &object.secret)? {
            // A sync stored a newer version meanwhile.
            let held = self.held_release(event)?.map_or(0, |(v, _)| v);
            return Err(older(object.version, held));
        }
        applied.updated = true;
        Ok(applied)
    }
}

fn no_ticket(event: EventId) -> WalletError {
    WalletError::NotFound {
        what: format!("a ticket of event {event} in this wallet"),
    }
}

fn older(version: u32, held: u32) -> WalletError {
    WalletError::Conflict {
        detail: format!("release version {version} is older than the version {held} held"),
    }
}
