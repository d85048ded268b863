//! Strict just-in-time: the short MAC a code carries under the event's release secret.
//!
//! `mac = HMAC-SHA-256(release_secret, "tessera/v1/release" ‖ 0x00 ‖ ticket id (16) ‖ step (u64 BE))[..8]`

use ring::hmac;

use crate::ids::TicketId;

/// Bytes of the release MAC in a payload.
pub const MAC_LEN: usize = 8;
const DOMAIN: &[u8] = b"tessera/v1/release\0";

/// The release MAC of `ticket` at `step`.
pub fn release_mac(release_secret: &[u8], ticket: &TicketId, step: u64) -> [u8; MAC_LEN] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, release_secret);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(DOMAIN);
    ctx.update(ticket.as_bytes());
    ctx.update(&step.to_be_bytes());
    let tag = ctx.sign();
    let mut out = [0u8; MAC_LEN];
    out.copy_from_slice(&tag.as_ref()[..MAC_LEN]);
    out
}

/// Whether `mac` is the release MAC of `ticket` at `step`, compared in constant time.
pub fn verify_release_mac(
    release_secret: &[u8],
    ticket: &TicketId,
    step: u64,
    mac: &[u8; MAC_LEN],
) -> bool {
    let want = release_mac(release_secret, ticket, step);
    // Constant-time: fold every byte difference before looking at the result.
    want.iter().zip(mac).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_depends_on_secret_ticket_and_step() {
        let t = TicketId([1; 16]);
        let m = release_mac(b"secret", &t, 7);
        assert!(verify_release_mac(b"secret", &t, 7, &m));
        assert!(!verify_release_mac(b"secret", &t, 8, &m));
        assert!(!verify_release_mac(b"other", &t, 7, &m));
        assert!(!verify_release_mac(b"secret", &TicketId([2; 16]), 7, &m));
    }
}
