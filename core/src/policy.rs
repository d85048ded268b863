//! Per-event policy: the reveal window, the code format and the protections an event turns on.

use serde::{Deserialize, Serialize};

use crate::ids::EventId;
use crate::text::FieldError;

/// Shortest rotation period an event may choose, in seconds.
pub const MIN_PERIOD_SECS: u8 = 5;
/// Longest rotation period an event may choose, in seconds.
pub const MAX_PERIOD_SECS: u8 = 60;
/// Rotation period used when an event does not choose one, in seconds.
pub const DEFAULT_PERIOD_SECS: u8 = 15;

/// Which rotating code an event's tickets show (docs/PROTOCOL.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum CodeFormat {
    /// Shared-secret TOTP code; the gate holds the ticket seeds.
    T1,
    /// Issuer-signed credential plus a device signature per step; the gate holds only public keys.
    S1,
    /// Compact S1 (docs/PROTOCOL.md §7.7): the same credential and device signature, but
    /// the barcode carries only a reference to the credential, which the gate looks up in
    /// its bundle (QR version 5 instead of 12, read from about twice the distance). The holder
    /// can always show the full S1 code instead (`Wallet::full_frame`), for a gate whose
    /// bundle predates the ticket's binding.
    C1,
}

impl CodeFormat {
    /// Whether tickets of this format carry an issuer-signed credential (S1 and C1).
    pub fn is_signed(self) -> bool {
        matches!(self, Self::S1 | Self::C1)
    }
}

/// The HMAC hash of a T1 code (RFC 6238 allows all three).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum TotpAlgorithm {
    /// HMAC-SHA-1, what most deployed TOTP systems use.
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl TotpAlgorithm {
    /// The two-bit code of this algorithm in a T1 payload.
    pub fn code(self) -> u8 {
        match self {
            Self::Sha1 => 0,
            Self::Sha256 => 1,
            Self::Sha512 => 2,
        }
    }

    /// The algorithm for a two-bit payload code, if it names one.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Sha1),
            1 => Some(Self::Sha256),
            2 => Some(Self::Sha512),
            _ => None,
        }
    }

    /// The name used in test vectors and the API ("SHA1", "SHA256", "SHA512").
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }
}

/// Something the holder must prove before a ticket reveals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Verification {
    /// The order's email address, confirmed from this device.
    Email,
    /// The order's phone number, confirmed with an SMS code.
    Phone,
    /// The person holding the phone, confirmed by biometrics or device passcode just before reveal.
    Presence,
}

/// How an event's tickets behave. Chosen by the issuer, carried to the wallet by sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct EventPolicy {
    /// The event this policy belongs to.
    pub event_id: EventId,
    /// Name shown to the holder.
    pub name: String,
    /// Unix seconds when the reveal window opens: before it no barcode is produced.
    pub reveal_opens_at: i64,
    /// Unix seconds when tickets stop being valid (the window closes).
    pub valid_until: i64,
    /// Seconds between code rotations, 5 to 60.
    pub period_secs: u8,
    /// Which rotating code the tickets show.
    pub format: CodeFormat,
    /// HMAC of T1 codes.
    pub totp_algorithm: TotpAlgorithm,
    /// Digits of each T1 TOTP value (6 to 9).
    pub totp_digits: u8,
    /// Strict just-in-time: codes carry a MAC under a release secret the issuer sends only once the window is open.
    pub strict_jit: bool,
    /// Proofs the holder must give before reveal.
    pub requires: Vec<Verification>,
    /// Tickets carry the holder's name, shown at the gate for an ID check.
    pub personalised: bool,
    /// The holder cannot change name or email; only the box office can.
    pub change_block: bool,
    /// A ticket may be admitted more than once (leave and come back).
    pub reentry: bool,
    /// Tickets may be transferred to another person.
    pub transferable: bool,
}

/// Why a policy is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The rotation period is outside 5–60 s.
    #[error("rotation period must be {MIN_PERIOD_SECS}–{MAX_PERIOD_SECS} s, not {0}")]
    Period(u8),
    /// The reveal window closes before it opens.
    #[error("the reveal window closes before it opens")]
    Window,
    /// TOTP digits outside 6–9.
    #[error("TOTP digits must be 6–9, not {0}")]
    Digits(u8),
    /// The event name is blank or holds a control, bidi or invisible character
    /// ([`crate::text`]).
    #[error("{0}")]
    Name(FieldError),
}

impl EventPolicy {
    /// A policy with the defaults: T1, 15 s, SHA-1, 8 digits, no extra protections.
    pub fn new(
        event_id: EventId,
        name: impl Into<String>,
        reveal_opens_at: i64,
        valid_until: i64,
    ) -> Self {
        Self {
            event_id,
            name: name.into(),
            reveal_opens_at,
            valid_until,
            period_secs: DEFAULT_PERIOD_SECS,
            format: CodeFormat::T1,
            totp_algorithm: TotpAlgorithm::Sha1,
            totp_digits: 8,
            strict_jit: false,
            requires: Vec::new(),
            personalised: false,
            change_block: false,
            reentry: false,
            transferable: false,
        }
    }

    /// Checks the invariants every consumer relies on.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if !(MIN_PERIOD_SECS..=MAX_PERIOD_SECS).contains(&self.period_secs) {
            return Err(PolicyError::Period(self.period_secs));
        }
        if self.valid_until <= self.reveal_opens_at {
            return Err(PolicyError::Window);
        }
        if !(6..=9).contains(&self.totp_digits) {
            return Err(PolicyError::Digits(self.totp_digits));
        }
        crate::text::check_event_name(&self.name).map_err(PolicyError::Name)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_rejects_bad_periods_windows_and_digits() {
        let ok = EventPolicy::new(EventId(1), "x", 100, 200);
        assert_eq!(ok.validate(), Ok(()));
        for p in [0, 4, 61, 255] {
            let bad = EventPolicy {
                period_secs: p,
                ..ok.clone()
            };
            assert_eq!(bad.validate(), Err(PolicyError::Period(p)));
        }
        for p in [5, 60] {
            assert_eq!(
                EventPolicy {
                    period_secs: p,
                    ..ok.clone()
                }
                .validate(),
                Ok(())
            );
        }
        let window = EventPolicy {
            valid_until: 100,
            ..ok.clone()
        };
        assert_eq!(window.validate(), Err(PolicyError::Window));
        let digits = EventPolicy {
            totp_digits: 10,
            ..ok
        };
        assert_eq!(digits.validate(), Err(PolicyError::Digits(10)));
        for name in ["", " ", "Gig\u{1b}[2J", "\u{202e}giG"] {
            let bad = EventPolicy::new(EventId(1), name, 100, 200);
            assert!(
                matches!(bad.validate(), Err(PolicyError::Name(_))),
                "{name:?}"
            );
        }
    }

    #[test]
    fn algorithm_codes_round_trip() {
        for a in [
            TotpAlgorithm::Sha1,
            TotpAlgorithm::Sha256,
            TotpAlgorithm::Sha512,
        ] {
            assert_eq!(TotpAlgorithm::from_code(a.code()), Some(a));
        }
        assert_eq!(TotpAlgorithm::from_code(3), None);
    }
}
