//! Strict just-in-time: the short MAC a code carries under the event's release secret
//! (docs/PROTOCOL.md §6). Protocol revision 2 binds it to its event, and for S1 to the
//! exact credential, so a MAC never carries over to another event or another binding,
//! even where a release secret was reused:
//!
//! ```text
//! T1: HMAC-SHA-256(secret, "tessera/v2/t1/release\0" ‖ event id (u64 BE) ‖ ticket id (16) ‖ step (u64 BE))[0..8]
//! S1: HMAC-SHA-256(secret, "tessera/v2/s1/release\0" ‖ event id (u64 BE) ‖ ticket id (16) ‖ step (u64 BE)
//!                          ‖ SHA-256(credential bytes) (32))[0..8]
//! ```

use ring::hmac;

use crate::ids::{EventId, TicketId};

/// Bytes of the release MAC in a payload.
pub const MAC_LEN: usize = 8;
/// Domain separation of a T1 code's release MAC.
pub const T1_DOMAIN: &[u8] = b"tessera/v2/t1/release\0";
/// Domain separation of an S1 code's release MAC.
pub const S1_DOMAIN: &[u8] = b"tessera/v2/s1/release\0";

/// Everything a release MAC is bound to besides the step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReleaseContext {
    /// A T1 code: its event and ticket.
    T1 {
        /// The event.
        event: EventId,
        /// The ticket.
        ticket: TicketId,
    },
    /// An S1 code: its event, ticket and the SHA-256 of its credential bytes.
    S1 {
        /// The event.
        event: EventId,
        /// The ticket.
        ticket: TicketId,
        /// SHA-256 of the credential bytes (`SignedCredential::digest`).
        credential_digest: [u8; 32],
    },
}

impl ReleaseContext {
    /// The MACed message after the domain tag (without the tag, which `release_mac` adds).
    fn write(&self, ctx: &mut hmac::Context, step: u64) {
        let (domain, event, ticket, digest) = match self {
            Self::T1 { event, ticket } => (T1_DOMAIN, event, ticket, None),
            Self::S1 {
                event,
                ticket,
                credential_digest,
            } => (S1_DOMAIN, event, ticket, Some(credential_digest)),
        };
        ctx.update(domain);
        ctx.update(&event.0.to_be_bytes());
        ctx.update(ticket.as_bytes());
        ctx.update(&step.to_be_bytes());
        if let Some(d) = digest {
            ctx.update(d);
        }
    }
}

/// The release MAC of a code with context `ctx` at `step`.
pub fn release_mac(release_secret: &[u8], ctx: &ReleaseContext, step: u64) -> [u8; MAC_LEN] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, release_secret);
    let mut hmac_ctx = hmac::Context::with_key(&key);
    ctx.write(&mut hmac_ctx, step);
    let tag = hmac_ctx.sign();
    let mut out = [0u8; MAC_LEN];
    out.copy_from_slice(&tag.as_ref()[..MAC_LEN]);
    out
}

/// Whether `mac` is the release MAC of `ctx` at `step`, compared in constant time.
pub fn verify_release_mac(
    release_secret: &[u8],
    ctx: &ReleaseContext,
    step: u64,
    mac: &[u8; MAC_LEN],
) -> bool {
    let want = release_mac(release_secret, ctx, step);
    // Constant-time: fold every byte difference before looking at the result.
    want.iter().zip(mac).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t1(event: u64, ticket: u8) -> ReleaseContext {
        ReleaseContext::T1 {
            event: EventId(event),
            ticket: TicketId([ticket; 16]),
        }
    }

    fn s1(event: u64, ticket: u8, digest: u8) -> ReleaseContext {
        ReleaseContext::S1 {
            event: EventId(event),
            ticket: TicketId([ticket; 16]),
            credential_digest: [digest; 32],
        }
    }

    #[test]
    fn mac_depends_on_secret_event_ticket_step_and_credential() {
        let m = release_mac(b"secret", &t1(5, 1), 7);
        assert!(verify_release_mac(b"secret", &t1(5, 1), 7, &m));
        assert!(!verify_release_mac(b"secret", &t1(5, 1), 8, &m));
        assert!(!verify_release_mac(b"other", &t1(5, 1), 7, &m));
        assert!(!verify_release_mac(b"secret", &t1(5, 2), 7, &m));
        assert!(!verify_release_mac(b"secret", &t1(6, 1), 7, &m), "event");

        let m = release_mac(b"secret", &s1(5, 1, 9), 7);
        assert!(verify_release_mac(b"secret", &s1(5, 1, 9), 7, &m));
        assert!(!verify_release_mac(b"secret", &s1(6, 1, 9), 7, &m), "event");
        assert!(
            !verify_release_mac(b"secret", &s1(5, 1, 8), 7, &m),
            "credential"
        );
        assert!(!verify_release_mac(b"secret", &s1(5, 2, 9), 7, &m));
        assert!(!verify_release_mac(b"secret", &s1(5, 1, 9), 6, &m));
        // The formats are domain-separated: a T1 MAC is never an S1 MAC.
        assert_ne!(
            release_mac(b"secret", &t1(5, 1), 7),
            release_mac(b"secret", &s1(5, 1, 0), 7)
        );
    }

    #[test]
    fn mac_matches_the_documented_message() {
        // docs/PROTOCOL.md §6, built by hand.
        let mut msg = b"tessera/v2/s1/release\0".to_vec();
        msg.extend_from_slice(&5u64.to_be_bytes());
        msg.extend_from_slice(&[1; 16]);
        msg.extend_from_slice(&7u64.to_be_bytes());
        msg.extend_from_slice(&[9; 32]);
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, b"secret"), &msg);
        assert_eq!(release_mac(b"secret", &s1(5, 1, 9), 7), tag.as_ref()[..8]);
        let mut msg = b"tessera/v2/t1/release\0".to_vec();
        msg.extend_from_slice(&5u64.to_be_bytes());
        msg.extend_from_slice(&[1; 16]);
        msg.extend_from_slice(&7u64.to_be_bytes());
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, b"secret"), &msg);
        assert_eq!(release_mac(b"secret", &t1(5, 1), 7), tag.as_ref()[..8]);
    }
}
