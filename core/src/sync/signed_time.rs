//! Issuer time the wallet can trust: signed by a pinned issuer key over a nonce the
//! wallet chose for this one request.
//!
//! Trusted time decides when reveal windows open, so an unsigned clock would let any
//! server the phone talks to (or a proxy in front of the real one) open windows early.
//! The issuer signs
//!
//! ```text
//! "tessera/v2/time\0" ‖ nonce (32) ‖ server_time_ms (i64 BE) ‖ key_id (u32 BE)
//! ```
//!
//! with Ed25519 (docs/API.md, "Signed time"). The nonce makes an answer good for one
//! request only, so an old answer cannot be replayed to hold the wallet's clock back.

use ring::signature::Ed25519KeyPair;

use crate::sync::api::TimeProof;
use crate::sync::error::SyncError;

/// Domain tag of the signed time message.
pub const TIME_DOMAIN: &[u8] = b"tessera/v2/time\0";
/// Length of a time nonce.
pub const TIME_NONCE_LEN: usize = 32;
/// The issuer's clock is absurd beyond 2200-01-01T00:00:00Z.
pub const LATEST_SERVER_TIME_MS: i64 = 7_258_118_400_000;

/// The bytes the issuer signs for a time answer.
pub fn time_message(nonce: &[u8; TIME_NONCE_LEN], server_time_ms: i64, key_id: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(TIME_DOMAIN.len() + TIME_NONCE_LEN + 12);
    m.extend_from_slice(TIME_DOMAIN);
    m.extend_from_slice(nonce);
    m.extend_from_slice(&server_time_ms.to_be_bytes());
    m.extend_from_slice(&key_id.to_be_bytes());
    m
}

/// Signs `server_time_ms` for the request that carried `nonce` (the issuer's side).
pub fn sign_time(
    key: &Ed25519KeyPair,
    key_id: u32,
    nonce: &[u8; TIME_NONCE_LEN],
    server_time_ms: i64,
) -> TimeProof {
    let sig = key.sign(&time_message(nonce, server_time_ms, key_id));
    TimeProof {
        key_id,
        signature: hex::encode(sig.as_ref()),
    }
}

/// Parses a nonce sent as hex (the issuer's side).
pub fn parse_nonce(text: &str) -> Option<[u8; TIME_NONCE_LEN]> {
    let mut n = [0u8; TIME_NONCE_LEN];
    hex::decode_to_slice(text, &mut n).ok()?;
    Some(n)
}

/// Checks a signed time against the keys the wallet trusts for time (`key_id` → public
/// key) and the nonce it sent. A key the wallet does not trust, a signature that does not
/// verify, or a time outside (1970, 2200) is refused; nothing is changed by a refusal.
pub fn verify_time(
    trusted: &std::collections::HashMap<u32, [u8; 32]>,
    nonce: &[u8; TIME_NONCE_LEN],
    server_time_ms: i64,
    proof: &TimeProof,
) -> Result<(), SyncError> {
    if server_time_ms <= 0 || server_time_ms > LATEST_SERVER_TIME_MS {
        return Err(SyncError::BadServerTime { server_time_ms });
    }
    let key = trusted.get(&proof.key_id).ok_or(SyncError::UnsignedTime)?;
    let mut sig = [0u8; 64];
    hex::decode_to_slice(&proof.signature, &mut sig).map_err(|_| SyncError::UnsignedTime)?;
    let msg = time_message(nonce, server_time_ms, proof.key_id);
    if !crate::ed25519::verify(key, &msg, &sig) {
        return Err(SyncError::UnsignedTime);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::code::s1::public_key;
    use std::collections::HashMap;

    #[test]
    fn a_signed_time_verifies_only_for_its_nonce_time_and_key() {
        let k = Ed25519KeyPair::from_seed_unchecked(&[7; 32]).unwrap();
        let other = Ed25519KeyPair::from_seed_unchecked(&[8; 32]).unwrap();
        let trusted = HashMap::from([(3u32, public_key(&k))]);
        let nonce = [1u8; 32];
        let t = 1_800_000_000_000;
        let p = sign_time(&k, 3, &nonce, t);
        assert_eq!(verify_time(&trusted, &nonce, t, &p), Ok(()));
        assert_eq!(
            verify_time(&trusted, &[2; 32], t, &p),
            Err(SyncError::UnsignedTime),
            "another request's nonce"
        );
        assert_eq!(
            verify_time(&trusted, &nonce, t + 86_400_000, &p),
            Err(SyncError::UnsignedTime),
            "a day added to a signed time"
        );
        let foreign = sign_time(&other, 3, &nonce, t);
        assert_eq!(
            verify_time(&trusted, &nonce, t, &foreign),
            Err(SyncError::UnsignedTime),
            "signed by a key the wallet does not trust"
        );
        let relabelled = TimeProof {
            key_id: 4,
            ..p.clone()
        };
        assert_eq!(
            verify_time(&trusted, &nonce, t, &relabelled),
            Err(SyncError::UnsignedTime)
        );
        let garbled = TimeProof {
            signature: "zz".into(),
            ..p
        };
        assert_eq!(
            verify_time(&trusted, &nonce, t, &garbled),
            Err(SyncError::UnsignedTime)
        );
        let late = sign_time(&k, 3, &nonce, LATEST_SERVER_TIME_MS + 1);
        assert!(matches!(
            verify_time(&trusted, &nonce, LATEST_SERVER_TIME_MS + 1, &late),
            Err(SyncError::BadServerTime { .. })
        ));
        assert_eq!(parse_nonce(&hex::encode(nonce)), Some(nonce));
        assert_eq!(parse_nonce("00"), None);
    }
}
