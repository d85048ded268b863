//! What the gate answers for a scan: a verdict the door person acts on, plus anomaly flags
//! for whoever watches the scans.

use std::fmt;
use std::str::FromStr;

use tessera_core::TicketId;
use tessera_core::text::escape;

/// Why a code was refused. Each reason has a [`door_text`](RejectReason::door_text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum RejectReason {
    /// Not a Tessera code (unknown prefix, bad base32, a field out of range).
    Malformed,
    /// S1: the credential names an issuer key this gate does not have; T1: no seed for the ticket.
    UnknownKey,
    /// S1: the issuer signature does not verify; T1: the TOTP value is wrong.
    BadSignature,
    /// S1: a genuine credential, but the step was signed by another device than the one it is bound to.
    WrongDevice,
    /// The code belongs to another event (or another event configuration).
    WrongEvent,
    /// Admission has not opened yet.
    NotYetValid,
    /// Admission has closed.
    Expired,
    /// The code's step is more than one step from the gate's: an old or screenshot code, or a wrong clock.
    Stale,
    /// This exact code (ticket and step) was scanned before.
    Replay,
    /// The ticket has already entered and the event does not allow re-entry.
    AlreadyAdmitted,
    /// The issuer revoked the ticket (or this device binding of it).
    Revoked,
    /// Strict just-in-time: the code lacks a valid release MAC, so it was made before the ticket was released.
    NotReleased,
    /// A compact (C1) code whose reference this gate's bundle does not have: a ticket
    /// bound or rebound after the bundle was made. The holder's full code (S1) carries
    /// its credential and is judged in full.
    UnknownTicket,
}

impl RejectReason {
    /// Every reason, in check order.
    pub const ALL: [Self; 13] = [
        Self::Malformed,
        Self::UnknownTicket,
        Self::WrongEvent,
        Self::UnknownKey,
        Self::BadSignature,
        Self::WrongDevice,
        Self::NotReleased,
        Self::NotYetValid,
        Self::Expired,
        Self::Stale,
        Self::Revoked,
        Self::Replay,
        Self::AlreadyAdmitted,
    ];

    /// A short instruction for the person at the door.
    pub fn door_text(self) -> &'static str {
        match self {
            Self::Malformed => "Not a ticket code. Ask the holder to open the ticket in the app.",
            Self::UnknownKey => {
                "Ticket unknown to this gate. Update the gate, or send to the box office."
            }
            Self::BadSignature => "Forged or damaged code. Do not admit; send to the box office.",
            Self::WrongDevice => {
                "Ticket shown from the wrong phone. Do not admit; send to the box office."
            }
            Self::WrongEvent => "Ticket for another event. Check the event, venue and date.",
            Self::NotYetValid => "Not valid yet. Check the admission time on the ticket.",
            Self::Expired => "Ticket no longer valid. Send to the box office.",
            Self::Stale => {
                "Old or screenshot code. Ask for the live code in the app; check the phone's clock."
            }
            Self::Replay => {
                "Code already scanned. Ask for the live code; if it repeats, send to the box office."
            }
            Self::AlreadyAdmitted => "Ticket has already entered. Send to the box office.",
            Self::Revoked => "Ticket cancelled. Send to the box office.",
            Self::NotReleased => {
                "Ticket not unlocked yet. Ask the holder to go online and reopen the ticket."
            }
            Self::UnknownTicket => {
                "Gate does not know this ticket yet. Ask the holder for the full code (in the app)."
            }
        }
    }

    /// Stable lower-case name, as stored in the scan log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::UnknownKey => "unknown_key",
            Self::BadSignature => "bad_signature",
            Self::WrongDevice => "wrong_device",
            Self::WrongEvent => "wrong_event",
            Self::NotYetValid => "not_yet_valid",
            Self::Expired => "expired",
            Self::Stale => "stale",
            Self::Replay => "replay",
            Self::AlreadyAdmitted => "already_admitted",
            Self::Revoked => "revoked",
            Self::NotReleased => "not_released",
            Self::UnknownTicket => "unknown_ticket",
        }
    }
}

// What the door app shows and stores for a reason, as methods of the exported enum
// (`reason.doorText()`, `reason.code()`).
#[cfg(feature = "uniffi")]
#[uniffi::export]
impl RejectReason {
    /// A short instruction for the person at the door (English).
    #[uniffi::method(name = "door_text")]
    pub fn door_text_string(&self) -> String {
        self.door_text().to_owned()
    }

    /// The stable lower-case name stored in scan logs (`stale`, `replay`…).
    pub fn code(&self) -> String {
        self.as_str().to_owned()
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.door_text())
    }
}

/// A text that names no reject reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown reject reason")]
pub struct UnknownReason;

impl FromStr for RejectReason {
    type Err = UnknownReason;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(UnknownReason)
    }
}

/// The answer for one scan.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Verdict {
    /// Let the holder in. Show the seat, and the name for an ID check when there is one.
    Admit {
        /// The ticket admitted (32 hex digits across the FFI).
        #[cfg_attr(feature = "uniffi", uniffi(name = "ticket_id"))]
        ticket: TicketId,
        /// Seat label, when the code or the bundle has one.
        seat: Option<String>,
        /// Holder's name for a personalised ticket: check it against an ID.
        holder_name: Option<String>,
    },
    /// Do not let the holder in; [`RejectReason::door_text`] says what to do.
    Reject {
        /// Why.
        reason: RejectReason,
    },
}

impl Verdict {
    /// Whether the holder may enter.
    pub fn is_admit(&self) -> bool {
        matches!(self, Self::Admit { .. })
    }

    /// The reject reason, if refused.
    pub fn reason(&self) -> Option<RejectReason> {
        match self {
            Self::Admit { .. } => None,
            Self::Reject { reason } => Some(*reason),
        }
    }
}

impl fmt::Display for Verdict {
    /// One line for the door person's screen: `ADMIT · seat · check ID: name`, or
    /// `REJECT (reason): what to do`. The seat and name come from the ticket (the signed
    /// credential or the bundle): any control, bidi or invisible character in them is
    /// shown escaped ([`tessera_core::text::escape`]), never handed to the terminal. Unlike
    /// `Debug` (for logs), this shows the holder's name: it is for the ID check.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Admit {
                seat, holder_name, ..
            } => {
                f.write_str("ADMIT")?;
                if let Some(seat) = seat.as_deref().filter(|s| !s.is_empty()) {
                    write!(f, " · {}", escape(seat))?;
                }
                if let Some(name) = holder_name {
                    write!(f, " · check ID: {}", escape(name))?;
                }
                Ok(())
            }
            Self::Reject { reason } => {
                write!(f, "REJECT ({}): {}", reason.as_str(), reason.door_text())
            }
        }
    }
}

impl fmt::Debug for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The holder's name is personal data: it is for the screen, not for logs.
            Self::Admit {
                ticket,
                seat,
                holder_name,
            } => f
                .debug_struct("Admit")
                .field("ticket", ticket)
                .field("seat", seat)
                .field("holder_name", &holder_name.as_ref().map(|_| "<redacted>"))
                .finish(),
            Self::Reject { reason } => f.debug_struct("Reject").field("reason", reason).finish(),
        }
    }
}

/// Something worth a supervisor's look, raised beside (never instead of) a verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Anomaly {
    /// The same ticket showed a genuine code at another gate shortly before.
    SeenAtOtherGate {
        /// The other gate's id.
        other_gate: String,
        /// Milliseconds between the two scans.
        apart_ms: i64,
    },
    /// Several refused scans of one ticket in a short time: someone may be trying codes.
    FailureBurst {
        /// Refusals inside the window, this one included.
        failures: u32,
        /// The window, seconds.
        within_secs: u32,
    },
    /// The code's step is off from the gate's (±1 again and again, or more): the phone's clock is wrong.
    DeviceClockSkew {
        /// Code step minus gate step (saturated to the i64 range).
        offset_steps: i64,
    },
    /// Most recent genuine codes from many tickets are off the same way: the gate's own clock is suspect.
    GateClockSkew {
        /// +1 when codes run ahead of the gate (gate clock slow), −1 when behind (gate clock fast).
        direction: i8,
    },
    /// The scan could not be written to the scan log yet; it is kept in memory and retried.
    LogNotPersisted,
    /// The gate's bundle is older than the gate's maximum age: tickets transferred,
    /// rebound or revoked since are not known to it. Fetch the bundle again.
    BundleStale {
        /// The bundle's age, seconds.
        age_secs: i64,
    },
}

/// A verdict with what the gate learned on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ScanResult {
    /// Admit or reject.
    pub verdict: Verdict,
    /// The ticket the code names, once parsed (not authenticated when the verdict is a signature failure).
    #[cfg_attr(feature = "uniffi", uniffi(name = "ticket_id"))]
    pub ticket: Option<TicketId>,
    /// The code's step, once parsed.
    pub step: Option<u64>,
    /// Flags for a supervisor; usually empty.
    pub anomalies: Vec<Anomaly>,
    /// How old the gate's bundle was at this scan, ms (gate time minus the bundle's
    /// issue time): what the verdict is based on.
    pub bundle_age_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_names_round_trip_and_are_distinct() {
        let mut names = std::collections::HashSet::new();
        for r in RejectReason::ALL {
            assert_eq!(r.as_str().parse::<RejectReason>(), Ok(r));
            assert!(names.insert(r.as_str()));
            assert!(r.door_text().len() < 100);
        }
        assert!("admit".parse::<RejectReason>().is_err());
    }

    #[test]
    fn debug_redacts_holder_name() {
        let v = Verdict::Admit {
            ticket: TicketId([0; 16]),
            seat: None,
            holder_name: Some("Ada Lovelace".into()),
        };
        assert!(!format!("{v:?}").contains("Ada"));
    }

    #[test]
    fn display_escapes_what_the_ticket_says() {
        let v = Verdict::Admit {
            ticket: TicketId([0; 16]),
            seat: Some("\u{1b}[2J\u{9b}31mRow 4".into()),
            holder_name: Some("\u{202e}ecalevoL adA".into()),
        };
        assert_eq!(
            v.to_string(),
            "ADMIT · \\u{1b}[2J\\u{9b}31mRow 4 · check ID: \\u{202e}ecalevoL adA"
        );
        // Debug escapes the seat too, and still redacts the name.
        assert!(!format!("{v:?}").contains('\u{1b}'));
        let plain = Verdict::Admit {
            ticket: TicketId([0; 16]),
            seat: Some(String::new()),
            holder_name: None,
        };
        assert_eq!(plain.to_string(), "ADMIT");
        let r = Verdict::Reject {
            reason: RejectReason::Stale,
        };
        assert!(
            r.to_string()
                .starts_with("REJECT (stale): Old or screenshot code.")
        );
    }
}
