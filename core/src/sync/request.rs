//! Device-signed requests: proof of possession of the device key on every attendee call.
//!
//! The device signs `"tessera/v1/request\0" ‖ METHOD ‖ 0x00 ‖ path-and-query ‖ 0x00 ‖
//! timestamp (decimal Unix ms) ‖ 0x00 ‖ nonce (32 hex) ‖ 0x00 ‖ SHA-256(body)` with Ed25519
//! and sends the four headers below. The issuer accepts a timestamp within
//! [`MAX_SKEW_MS`] of its clock and each nonce once, so a captured request cannot be replayed.

use ring::digest::{SHA256, digest};

/// Header carrying the device public key (64 hex).
pub const HEADER_DEVICE: &str = "x-tessera-device";
/// Header carrying the signing time (decimal Unix ms).
pub const HEADER_TIMESTAMP: &str = "x-tessera-timestamp";
/// Header carrying a fresh random nonce (32 hex).
pub const HEADER_NONCE: &str = "x-tessera-nonce";
/// Header carrying the Ed25519 signature (128 hex).
pub const HEADER_SIGNATURE: &str = "x-tessera-signature";
/// How far a request's timestamp may be from the issuer's clock.
pub const MAX_SKEW_MS: i64 = 300_000;

const DOMAIN: &[u8] = b"tessera/v1/request\0";

/// The bytes a device signs for a request.
pub fn signing_message(
    method: &str,
    path_and_query: &str,
    timestamp_ms: i64,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut m = Vec::with_capacity(DOMAIN.len() + method.len() + path_and_query.len() + 96);
    m.extend_from_slice(DOMAIN);
    m.extend_from_slice(method.as_bytes());
    m.push(0);
    m.extend_from_slice(path_and_query.as_bytes());
    m.push(0);
    m.extend_from_slice(timestamp_ms.to_string().as_bytes());
    m.push(0);
    m.extend_from_slice(nonce.as_bytes());
    m.push(0);
    m.extend_from_slice(digest(&SHA256, body).as_ref());
    m
}

/// The four authentication headers of a signed request, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// Device public key, hex.
    pub device: String,
    /// Unix ms, decimal.
    pub timestamp: String,
    /// Nonce, 32 hex.
    pub nonce: String,
    /// Signature, hex.
    pub signature: String,
}

/// Why a signed request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestAuthError {
    /// A header is missing or not well-formed.
    #[error("missing or malformed authentication headers")]
    Malformed,
    /// The timestamp is too far from the issuer's clock.
    #[error("request timestamp outside the allowed window")]
    Stale,
    /// The signature does not verify.
    #[error("bad request signature")]
    BadSignature,
    /// The device public key is of small order or non-canonical: nobody holds its
    /// private key, so its "signatures" prove nothing (`crate::ed25519`).
    #[error("device public key of small order or non-canonical")]
    WeakKey,
}

/// A verified request's device key and nonce (the caller checks the nonce is fresh).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The device public key that signed.
    pub device: [u8; 32],
    /// The nonce, to be remembered until it falls out of the time window.
    pub nonce: [u8; 16],
    /// The request's timestamp.
    pub timestamp_ms: i64,
}

/// Checks a signed request's headers against the request and the issuer's clock.
pub fn verify(
    h: &SignedHeaders,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    now_ms: i64,
) -> Result<Verified, RequestAuthError> {
    let mut device = [0u8; 32];
    hex::decode_to_slice(&h.device, &mut device).map_err(|_| RequestAuthError::Malformed)?;
    let mut nonce = [0u8; 16];
    hex::decode_to_slice(&h.nonce, &mut nonce).map_err(|_| RequestAuthError::Malformed)?;
    let mut sig = [0u8; 64];
    hex::decode_to_slice(&h.signature, &mut sig).map_err(|_| RequestAuthError::Malformed)?;
    let timestamp_ms: i64 = h
        .timestamp
        .parse()
        .map_err(|_| RequestAuthError::Malformed)?;
    // Refused for the key alone, before any signature: enrollment must never take one.
    crate::ed25519::check_public_key(&device).map_err(|_| RequestAuthError::WeakKey)?;
    // abs_diff: any two i64 times have a distance in u64, so no timestamp overflows it.
    if timestamp_ms.abs_diff(now_ms) > MAX_SKEW_MS.unsigned_abs() {
        return Err(RequestAuthError::Stale);
    }
    let msg = signing_message(method, path_and_query, timestamp_ms, &h.nonce, body);
    if !crate::ed25519::verify(&device, &msg, &sig) {
        return Err(RequestAuthError::BadSignature);
    }
    Ok(Verified {
        device,
        nonce,
        timestamp_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{Ed25519KeyPair, KeyPair};

    fn signed(kp: &Ed25519KeyPair, ts: i64, body: &[u8]) -> SignedHeaders {
        let nonce = "00112233445566778899aabbccddeeff".to_owned();
        let sig = kp.sign(&signing_message(
            "POST",
            "/v1/attendee/sync",
            ts,
            &nonce,
            body,
        ));
        SignedHeaders {
            device: hex::encode(kp.public_key().as_ref()),
            timestamp: ts.to_string(),
            nonce,
            signature: hex::encode(sig.as_ref()),
        }
    }

    /// A signed timestamp at the ends of the i64 range: the skew is measured without
    /// overflow (it used to be `saturating_sub(..).abs()`, a panic in debug builds and a
    /// "fresh forever" request in release ones), so it is simply stale.
    #[test]
    fn extreme_timestamps_are_stale_not_a_panic_or_fresh() {
        let kp = Ed25519KeyPair::from_seed_unchecked(&[1; 32]).unwrap();
        for (ts, now) in [
            (i64::MIN, 1_000_000),
            (i64::MIN, 0),
            (i64::MIN, -1),
            (i64::MAX, i64::MIN),
            (i64::MAX, 1_000_000),
            (i64::MIN + 1, 1),
        ] {
            let h = signed(&kp, ts, b"{}");
            assert_eq!(
                verify(&h, "POST", "/v1/attendee/sync", b"{}", now),
                Err(RequestAuthError::Stale),
                "timestamp {ts} at {now}"
            );
        }
        let h = signed(&kp, i64::MIN, b"{}");
        assert!(verify(&h, "POST", "/v1/attendee/sync", b"{}", i64::MIN).is_ok());
    }

    #[test]
    fn signed_requests_verify_and_any_change_is_refused() {
        let kp = Ed25519KeyPair::from_seed_unchecked(&[1; 32]).unwrap();
        let h = signed(&kp, 1_000_000, b"{}");
        let v = verify(&h, "POST", "/v1/attendee/sync", b"{}", 1_000_000).unwrap();
        assert_eq!(&v.device[..], kp.public_key().as_ref());
        assert_eq!(
            verify(&h, "POST", "/v1/attendee/sync", b"{ }", 1_000_000),
            Err(RequestAuthError::BadSignature)
        );
        assert_eq!(
            verify(&h, "GET", "/v1/attendee/sync", b"{}", 1_000_000),
            Err(RequestAuthError::BadSignature)
        );
        assert_eq!(
            verify(&h, "POST", "/v1/attendee/syn", b"{}", 1_000_000),
            Err(RequestAuthError::BadSignature)
        );
        assert_eq!(
            verify(
                &h,
                "POST",
                "/v1/attendee/sync",
                b"{}",
                1_000_000 + MAX_SKEW_MS + 1
            ),
            Err(RequestAuthError::Stale)
        );
        let mut other = h.clone();
        other.device = hex::encode([7u8; 32]);
        assert_eq!(
            verify(&other, "POST", "/v1/attendee/sync", b"{}", 1_000_000),
            Err(RequestAuthError::BadSignature)
        );
        let mut bad = h;
        bad.nonce = "xyz".into();
        assert_eq!(
            verify(&bad, "POST", "/v1/attendee/sync", b"{}", 1_000_000),
            Err(RequestAuthError::Malformed)
        );
    }
}
