//! Ed25519 verification with the key and signature checks RFC 8032 leaves to the verifier.
//!
//! ring checks the cofactorless equation `[S]B = R + [k]A` (with `k = SHA-512(R ‖ A ‖ M)`)
//! and accepts any public key `A` that decodes to a curve point, the eight points of small
//! order included, and non-canonical encodings (`y ≥ p`, or `x = 0` with the sign bit set)
//! too. For a small-order `A`, `[k]A` is the identity for one message in (at most) eight, so
//! `R` = identity, `S = 0` "signs" such messages without any private key: a device enrolled
//! with such a key, or a ticket bound to it, belongs to nobody and anybody can mint its codes.
//!
//! So every Ed25519 signature in Tessera goes through [`verify`], which applies libsodium's
//! rules (`crypto_sign_verify_detached` since 1.0.16) before ring's verification:
//!
//! - the public key is canonical (`y < p`) and not of small order ([`check_public_key`]);
//! - the signature's `S` is canonical (`S < L`) and its `R` is not of small order.
//!
//! Keys are also checked where they enter (enrollment, issuance, sync, bundles), with
//! [`check_public_key`], so a bad key is refused with a clear error instead of failing
//! every later signature. docs/DECISIONS.md records the rule; docs/SECURITY.md the tests.

use ring::signature::{ED25519, UnparsedPublicKey};

/// Length of an Ed25519 public key (an encoded point), bytes.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of an Ed25519 signature (`R ‖ S`), bytes.
pub const SIGNATURE_LEN: usize = 64;

/// The `y` coordinates whose points have small order (libsodium's blocklist), little-endian
/// with the sign bit (bit 255) clear. An encoding is of small order iff, with its sign
/// bit cleared, it equals one of these; so each entry covers two encodings (both signs of
/// `x`), and the list names all eight small-order points plus their non-canonical forms:
///
/// | `y` | points |
/// | --- | --- |
/// | 0 | the two points of order 4 |
/// | 1 | the identity (order 1) |
/// | `y8` = 2707385501…402022 | two points of order 8 |
/// | `p − y8` | the other two points of order 8 |
/// | `p − 1` | the point of order 2 |
/// | `p` (non-canonical 0) | the points of order 4 again |
/// | `p + 1` (non-canonical 1) | the identity again |
///
/// `tests/vectors/test_small_order.py` proves, with its own curve arithmetic, that the 14
/// encodings (`tests/vectors/small_order.json`) are exactly those of small-order points.
pub const SMALL_ORDER_BLOCKLIST: [[u8; 32]; 7] = [
    // 0 (order 4)
    [0; 32],
    // 1 (order 1)
    [
        0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0,
    ],
    // y8 (order 8)
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ],
    // p - y8 (order 8)
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ],
    // p - 1 (order 2)
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    // p (non-canonical 0, order 4)
    [
        0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    // p + 1 (non-canonical 1, order 1)
    [
        0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
];

/// The group order `L = 2^252 + 27742317777372353535851937790883648493`, little-endian.
const ORDER_L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// Why a public key is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PublicKeyError {
    /// Not 32 bytes.
    #[error("an Ed25519 public key is 32 bytes")]
    Length,
    /// The `y` coordinate is not reduced (`y ≥ p`): some other encoding means the same point.
    #[error("non-canonical Ed25519 public key")]
    NonCanonical,
    /// The point has order 1, 2, 4 or 8: no private key exists and signatures can be forged.
    #[error("Ed25519 public key of small order")]
    SmallOrder,
}

/// Whether an encoded point is one of the eight small-order points, in any encoding
/// (compared with the sign bit masked, as libsodium does).
pub fn is_small_order(point: &[u8; 32]) -> bool {
    let mut y = *point;
    y[31] &= 0x7f;
    SMALL_ORDER_BLOCKLIST.contains(&y)
}

/// Whether an encoded point's `y` coordinate is reduced, `y < p = 2^255 − 19`.
///
/// The other non-canonical form, `x = 0` with the sign bit set, occurs only for `y = ±1`,
/// both small order, so [`is_small_order`] catches it.
pub fn is_canonical_point(point: &[u8; 32]) -> bool {
    // y ≥ p iff the top 255 bits are all ones except that the low byte is ≥ 0xed.
    !(point[31] & 0x7f == 0x7f && point[1..31].iter().all(|b| *b == 0xff) && point[0] >= 0xed)
}

/// Whether a signature scalar `S` is reduced, `S < L` (a larger `S` gives a second valid
/// signature for the same message: malleability).
pub fn is_canonical_scalar(s: &[u8; 32]) -> bool {
    // Little-endian: compare from the most significant byte down.
    for (a, l) in s.iter().rev().zip(ORDER_L.iter().rev()) {
        if a != l {
            return a < l;
        }
    }
    false
}

/// Checks a public key as it enters (enrollment, issuance, sync, bundles): 32 bytes,
/// canonical and not of small order. Points off the curve are left to ring's decoding,
/// which [`verify`] runs (a key that does not decode verifies nothing).
pub fn check_public_key(public_key: &[u8]) -> Result<(), PublicKeyError> {
    let pk: &[u8; PUBLIC_KEY_LEN] = public_key.try_into().map_err(|_| PublicKeyError::Length)?;
    if !is_canonical_point(pk) {
        return Err(PublicKeyError::NonCanonical);
    }
    if is_small_order(pk) {
        return Err(PublicKeyError::SmallOrder);
    }
    Ok(())
}

/// Whether a signature passes libsodium's form checks: `S < L` (no second encoding of
/// the same signature) and `R` not of small order (an honest signer's `R = [r]B` never
/// is; a keyless forgery's is). Says nothing about validity: [`verify`] does both.
pub fn is_canonical_signature(signature: &[u8]) -> bool {
    let Ok(sig) = <&[u8; SIGNATURE_LEN]>::try_from(signature) else {
        return false;
    };
    let (r, s) = sig.split_at(32);
    let (Ok(r), Ok(s)) = (<&[u8; 32]>::try_from(r), <&[u8; 32]>::try_from(s)) else {
        return false;
    };
    is_canonical_scalar(s) && !is_small_order(r)
}

/// Verifies an Ed25519 signature (RFC 8032, pure Ed25519) with libsodium's extra rules:
/// refuses a non-canonical or small-order public key ([`check_public_key`]), a signature
/// whose `S ≥ L` or whose `R` is of small order ([`is_canonical_signature`]); then runs
/// ring's verification. The only Ed25519 check Tessera uses.
pub fn verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    check_public_key(public_key).is_ok()
        && is_canonical_signature(signature)
        && UnparsedPublicKey::new(&ED25519, public_key)
            .verify(message, signature)
            .is_ok()
}

/// Every encoding of a small-order point: each blocklist entry with the sign bit clear
/// and set (14 encodings, non-canonical ones included). What
/// `tests/vectors/small_order.json` lists.
pub fn small_order_encodings() -> Vec<[u8; 32]> {
    let mut all = Vec::with_capacity(2 * SMALL_ORDER_BLOCKLIST.len());
    for y in SMALL_ORDER_BLOCKLIST {
        for sign in [0u8, 0x80] {
            let mut e = y;
            e[31] |= sign;
            all.push(e);
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{Ed25519KeyPair, KeyPair};

    /// `R` = identity, `S` = 0: what an attacker without a private key sends.
    fn forged() -> [u8; 64] {
        let mut s = [0u8; 64];
        s[0] = 1;
        s
    }

    fn ring_accepts(pk: &[u8], msg: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, pk)
            .verify(msg, sig)
            .is_ok()
    }

    #[test]
    fn genuine_signatures_verify_and_changes_do_not() {
        let kp = Ed25519KeyPair::from_seed_unchecked(&[7; 32]).unwrap();
        let sig = kp.sign(b"message");
        let pk = kp.public_key().as_ref();
        assert_eq!(check_public_key(pk), Ok(()));
        assert!(verify(pk, b"message", sig.as_ref()));
        assert!(!verify(pk, b"messagf", sig.as_ref()));
        assert!(!verify(pk, b"message", &sig.as_ref()[..63]));
        assert!(!verify(&pk[..31], b"message", sig.as_ref()));
    }

    #[test]
    fn every_small_order_key_is_refused_although_ring_accepts_a_forgery() {
        let encodings = small_order_encodings();
        assert_eq!(encodings.len(), 14);
        for pk in &encodings {
            let canonical = is_canonical_point(pk);
            let err = check_public_key(pk).unwrap_err();
            assert!(
                err == PublicKeyError::SmallOrder
                    || (!canonical && err == PublicKeyError::NonCanonical),
                "{}: {err:?}",
                hex::encode(pk)
            );
            // Find a message ring accepts the keyless signature for ([k]A = identity).
            let msg = (0u32..256)
                .map(|i| i.to_be_bytes().to_vec())
                .find(|m| ring_accepts(pk, m, &forged()))
                .unwrap_or_else(|| panic!("no forgery for {}", hex::encode(pk)));
            assert!(!verify(pk, &msg, &forged()), "{}", hex::encode(pk));
        }
    }

    #[test]
    fn non_canonical_keys_are_refused() {
        // y = p + 2 … 2^255 − 1: every non-reduced y, both signs.
        for low in 0xed..=0xffu8 {
            for sign in [0u8, 0x80] {
                let mut pk = [0xff; 32];
                pk[0] = low;
                pk[31] = 0x7f | sign;
                assert!(!is_canonical_point(&pk));
                assert!(check_public_key(&pk).is_err());
            }
        }
        let mut below = [0xff; 32];
        below[0] = 0xeb;
        below[31] = 0x7f;
        assert!(is_canonical_point(&below), "p - 2 is reduced");
    }

    #[test]
    fn a_signature_with_s_at_or_above_l_or_small_order_r_is_refused() {
        let kp = Ed25519KeyPair::from_seed_unchecked(&[9; 32]).unwrap();
        let pk = kp.public_key().as_ref();
        let sig: [u8; 64] = kp.sign(b"m").as_ref().try_into().unwrap();
        // S + L is the same scalar mod L: ring refuses it too, and so must we.
        let mut s = [0u8; 32];
        s.copy_from_slice(&sig[32..]);
        let mut carry = 0u16;
        for (b, l) in s.iter_mut().zip(ORDER_L) {
            let v = u16::from(*b) + u16::from(l) + carry;
            *b = v as u8;
            carry = v >> 8;
        }
        assert!(!is_canonical_scalar(&s));
        let mut malleable = sig;
        malleable[32..].copy_from_slice(&s);
        assert!(!verify(pk, b"m", &malleable));
        assert!(!is_canonical_scalar(&ORDER_L));
        let mut l_minus_1 = ORDER_L;
        l_minus_1[0] -= 1;
        assert!(is_canonical_scalar(&l_minus_1));
        assert!(!is_canonical_signature(&malleable));
        assert!(is_canonical_signature(&sig));
        assert!(!is_canonical_signature(&sig[..63]));
        // A small-order R never comes out of an honest signer.
        for r in small_order_encodings() {
            let mut bad = sig;
            bad[..32].copy_from_slice(&r);
            assert!(!is_canonical_signature(&bad), "R = {}", hex::encode(r));
            assert!(!verify(pk, b"m", &bad));
        }
    }
}
