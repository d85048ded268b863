//! T1: the shared-secret rotating code (RFC 6238 TOTP plus the ticket reference and step).
//!
//! Body layout (docs/PROTOCOL.md §T1), all integers big-endian:
//! `version=2 ‖ flags ‖ digits ‖ period ‖ ticket id (16) ‖ event id (u64) ‖ step (u64) ‖
//! ticket TOTP (u32) ‖ [event TOTP (u32)] ‖ [release MAC (8)]`.
//! QR text: `"T1:" ‖ base32(body)` (RFC 4648 alphabet, upper case, no padding).

use super::release::{MAC_LEN, ReleaseContext, release_mac};
use super::totp::hotp;
use super::{ParseError, Reader, encode_body};
use crate::ids::{EventId, TicketId};
use crate::policy::{MAX_PERIOD_SECS, MIN_PERIOD_SECS, TotpAlgorithm};

/// Text before the base32 body of a T1 payload.
pub const PREFIX: &str = "T1:";
/// Body format version: 2 since protocol revision 2 (release MAC bound to the event);
/// version 1 is refused as malformed (docs/PROTOCOL.md §13).
pub const VERSION: u8 = 2;

const FLAG_EVENT_CODE: u8 = 0b0100;
const FLAG_RELEASE_MAC: u8 = 0b1000;
const FLAG_ALGORITHM: u8 = 0b0011;

/// A parsed or generated T1 code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct T1Code {
    /// HMAC of both TOTP values.
    pub algorithm: TotpAlgorithm,
    /// Decimal digits of each TOTP value.
    pub digits: u8,
    /// Rotation period, seconds.
    pub period_secs: u8,
    /// The ticket shown.
    pub ticket: TicketId,
    /// The ticket's event.
    pub event: EventId,
    /// The TOTP time step (Unix seconds / period).
    pub step: u64,
    /// TOTP of the per-ticket seed at `step`.
    pub ticket_code: u32,
    /// TOTP of the per-event seed at `step`, when the event uses one.
    pub event_code: Option<u32>,
    /// Strict just-in-time MAC under the event's release secret.
    pub release_mac: Option<[u8; MAC_LEN]>,
}

/// The secrets and parameters a T1 code is drawn from.
#[derive(Clone, Copy)]
pub struct T1Params<'a> {
    /// HMAC of the TOTP values.
    pub algorithm: TotpAlgorithm,
    /// Digits of each TOTP value.
    pub digits: u8,
    /// Rotation period, seconds.
    pub period_secs: u8,
    /// The ticket.
    pub ticket: TicketId,
    /// The event.
    pub event: EventId,
    /// Per-ticket TOTP seed.
    pub ticket_seed: &'a [u8],
    /// Optional per-event TOTP seed.
    pub event_seed: Option<&'a [u8]>,
    /// Release secret of a strict just-in-time event.
    pub release_secret: Option<&'a [u8]>,
}

impl T1Code {
    /// Draws the code for `step`.
    pub fn generate(p: &T1Params<'_>, step: u64) -> Self {
        Self {
            algorithm: p.algorithm,
            digits: p.digits,
            period_secs: p.period_secs,
            ticket: p.ticket,
            event: p.event,
            step,
            ticket_code: hotp(p.algorithm, p.ticket_seed, step, p.digits),
            event_code: p.event_seed.map(|s| hotp(p.algorithm, s, step, p.digits)),
            release_mac: p
                .release_secret
                .map(|r| release_mac(r, &Self::context(p.event, p.ticket), step)),
        }
    }

    /// What this code's release MAC is bound to (besides the step).
    pub fn release_context(&self) -> ReleaseContext {
        Self::context(self.event, self.ticket)
    }

    fn context(event: EventId, ticket: TicketId) -> ReleaseContext {
        ReleaseContext::T1 { event, ticket }
    }

    /// The body bytes (without prefix and base32).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut flags = self.algorithm.code();
        if self.event_code.is_some() {
            flags |= FLAG_EVENT_CODE;
        }
        if self.release_mac.is_some() {
            flags |= FLAG_RELEASE_MAC;
        }
        let mut b = Vec::with_capacity(52);
        b.extend_from_slice(&[VERSION, flags, self.digits, self.period_secs]);
        b.extend_from_slice(self.ticket.as_bytes());
        b.extend_from_slice(&self.event.0.to_be_bytes());
        b.extend_from_slice(&self.step.to_be_bytes());
        b.extend_from_slice(&self.ticket_code.to_be_bytes());
        if let Some(c) = self.event_code {
            b.extend_from_slice(&c.to_be_bytes());
        }
        if let Some(m) = &self.release_mac {
            b.extend_from_slice(m);
        }
        b
    }

    /// The QR payload text.
    pub fn encode(&self) -> String {
        encode_body(PREFIX, &self.to_bytes())
    }

    /// Parses body bytes, checking every field's range.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(bytes);
        if r.u8()? != VERSION {
            return Err(ParseError::Malformed("T1 version"));
        }
        let flags = r.u8()?;
        if flags & !(FLAG_ALGORITHM | FLAG_EVENT_CODE | FLAG_RELEASE_MAC) != 0 {
            return Err(ParseError::Malformed("T1 flags"));
        }
        let algorithm = TotpAlgorithm::from_code(flags & FLAG_ALGORITHM)
            .ok_or(ParseError::Malformed("T1 algorithm"))?;
        let digits = r.u8()?;
        if !(6..=9).contains(&digits) {
            return Err(ParseError::Malformed("T1 digits"));
        }
        let period_secs = r.u8()?;
        if !(MIN_PERIOD_SECS..=MAX_PERIOD_SECS).contains(&period_secs) {
            return Err(ParseError::Malformed("T1 period"));
        }
        let ticket = TicketId(r.array()?);
        let event = EventId(r.u64()?);
        let step = r.u64()?;
        let limit = 10u32.pow(u32::from(digits));
        let in_range = |c: u32| {
            if c < limit {
                Ok(c)
            } else {
                Err(ParseError::Malformed("T1 code range"))
            }
        };
        let ticket_code = in_range(r.u32()?)?;
        let event_code = if flags & FLAG_EVENT_CODE != 0 {
            Some(in_range(r.u32()?)?)
        } else {
            None
        };
        let release_mac = if flags & FLAG_RELEASE_MAC != 0 {
            Some(r.array()?)
        } else {
            None
        };
        r.finish()?;
        Ok(Self {
            algorithm,
            digits,
            period_secs,
            ticket,
            event,
            step,
            ticket_code,
            event_code,
            release_mac,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::Code;

    fn params<'a>() -> T1Params<'a> {
        T1Params {
            algorithm: TotpAlgorithm::Sha256,
            digits: 8,
            period_secs: 15,
            ticket: TicketId([7; 16]),
            event: EventId(42),
            ticket_seed: b"ticket-seed-0123456789",
            event_seed: Some(b"event-seed"),
            release_secret: Some(b"release"),
        }
    }

    #[test]
    fn round_trips_with_and_without_optional_parts() {
        let full = T1Code::generate(&params(), 120_000_000);
        assert_eq!(Code::parse(&full.encode()), Ok(Code::T1(full.clone())));
        assert_eq!(full.to_bytes().len(), 52);
        let bare = T1Code::generate(
            &T1Params {
                event_seed: None,
                release_secret: None,
                ..params()
            },
            5,
        );
        assert_eq!(bare.to_bytes().len(), 40);
        assert_eq!(Code::parse(&bare.encode()), Ok(Code::T1(bare)));
        assert!(full.encode().starts_with("T1:"));
    }

    #[test]
    fn every_truncation_and_extension_is_rejected() {
        let b = T1Code::generate(&params(), 9).to_bytes();
        for n in 0..b.len() {
            assert!(T1Code::from_bytes(&b[..n]).is_err(), "truncated to {n}");
        }
        let mut longer = b.clone();
        longer.push(0);
        assert!(T1Code::from_bytes(&longer).is_err());
    }

    #[test]
    fn out_of_range_fields_are_rejected() {
        let b = T1Code::generate(&params(), 9).to_bytes();
        for (i, v) in [
            (0, 1u8),
            (0, 3),
            (1, 0x10),
            (1, 0x03),
            (2, 5),
            (2, 10),
            (3, 4),
            (3, 61),
        ] {
            let mut m = b.clone();
            m[i] = v;
            assert!(T1Code::from_bytes(&m).is_err(), "byte {i} = {v}");
        }
        let mut big = b.clone();
        big[36..40].copy_from_slice(&100_000_000u32.to_be_bytes());
        assert_eq!(
            T1Code::from_bytes(&big),
            Err(ParseError::Malformed("T1 code range"))
        );
    }
}
