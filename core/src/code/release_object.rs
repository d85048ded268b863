//! The release object: a strict just-in-time event's release secret, signed by the issuer,
//! as a short text that fits a QR code (docs/PROTOCOL.md §14).
//!
//! Once an event's window opens every holder gets its release secret, and the secret mints
//! nothing on its own (docs/DECISIONS.md 13): from then on it can be public. The issuer
//! publishes it signed, at a static URL any cache can serve and as a QR code a venue shows
//! at the door; a wallet checks the signature against the issuer keys it pinned and stores
//! the secret as a sync would. The format:
//!
//! ```text
//! text = "R1:" ‖ digits(body)                 (the C1 digit groups, §7.7.2, any length)
//! body = version 0x01 ‖ event id (u64) ‖ release version (u32) ‖ opens_at (i64, Unix s)
//!      ‖ key id (u32) ‖ n (u8, 1–128) ‖ release secret (n) ‖ signature (64)
//! signature = Ed25519(issuer key `key id`, "tessera/v1/release-object\0" ‖ body[0..26+n])
//! ```
//!
//! Pure functions, no I/O; every failure on hostile input is a [`ReleaseObjectError`], never
//! a panic.

use std::collections::HashMap;

use ring::signature::Ed25519KeyPair;
use zeroize::Zeroizing;

use super::c1::{GROUP_BYTES, digit_len, digit_text, digits_for};
use super::{ParseError, Reader};
use crate::ids::EventId;

/// Text before the digits of a release object.
pub const PREFIX: &str = "R1:";
/// Body format version (the first byte).
pub const VERSION: u8 = 1;
/// Domain separation of the issuer's signature (docs/PROTOCOL.md §8).
pub const DOMAIN: &[u8] = b"tessera/v1/release-object\0";
/// Longest release secret a release object carries, bytes (what a sync accepts too).
pub const MAX_SECRET_LEN: usize = 128;
/// Bytes of the Ed25519 signature at the end of the body.
pub const SIG_LEN: usize = 64;
/// Bytes before the secret: version, event id, release version, opens_at, key id, n.
const HEADER_LEN: usize = 1 + 8 + 4 + 8 + 4 + 1;
/// Shortest body: a 1-byte secret.
const MIN_BODY_LEN: usize = HEADER_LEN + 1 + SIG_LEN;
/// Longest body: a [`MAX_SECRET_LEN`]-byte secret.
const MAX_BODY_LEN: usize = HEADER_LEN + MAX_SECRET_LEN + SIG_LEN;

/// Why a release object was refused. Coarse on purpose: what is wrong with a malformed
/// text is named (a place, never content), and a signature either verifies or not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseObjectError {
    /// Not a release object: the prefix, the digits, a field or a length is wrong.
    #[error("malformed release object: {0}")]
    Malformed(&'static str),
    /// Signed under a key id the verifier does not trust (not pinned).
    #[error("release object signed by unknown issuer key {key_id}")]
    UnknownKey {
        /// The key id the object names.
        key_id: u32,
    },
    /// The signature does not verify under the trusted key of that id (§7.6 rules: a
    /// small-order or non-canonical key never verifies).
    #[error("release object signature does not verify")]
    BadSignature,
}

impl From<ParseError> for ReleaseObjectError {
    fn from(e: ParseError) -> Self {
        match e {
            ParseError::Malformed(why) => Self::Malformed(why),
        }
    }
}

/// A release object, parsed or made. The secret is wiped on drop and never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ReleaseObject {
    /// The strict just-in-time event it releases.
    pub event: EventId,
    /// The release secret's version (the issuer's `release_version`): a wallet keeps the
    /// newest it has seen.
    pub version: u32,
    /// When the event's reveal window opens (its policy's `reveal_opens_at`), Unix seconds,
    /// as the issuer saw it when it signed.
    pub opens_at: i64,
    /// The issuer key that signed it.
    pub key_id: u32,
    /// The release secret, 1–128 bytes.
    pub secret: Zeroizing<Vec<u8>>,
    /// Ed25519 signature over [`ReleaseObject::signed_message`].
    pub signature: [u8; SIG_LEN],
}

impl std::fmt::Debug for ReleaseObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReleaseObject")
            .field("event", &self.event)
            .field("version", &self.version)
            .field("opens_at", &self.opens_at)
            .field("key_id", &self.key_id)
            .field("secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl ReleaseObject {
    /// Signs a release object with the issuer key `key` (id `key_id`). Refuses a secret
    /// that is empty or longer than [`MAX_SECRET_LEN`].
    pub fn sign(
        key: &Ed25519KeyPair,
        key_id: u32,
        event: EventId,
        version: u32,
        opens_at: i64,
        secret: &[u8],
    ) -> Result<Self, ReleaseObjectError> {
        if secret.is_empty() || secret.len() > MAX_SECRET_LEN {
            return Err(ReleaseObjectError::Malformed("secret length"));
        }
        let mut obj = Self {
            event,
            version,
            opens_at,
            key_id,
            secret: Zeroizing::new(secret.to_vec()),
            signature: [0; SIG_LEN],
        };
        let sig = key.sign(&obj.signed_message());
        obj.signature.copy_from_slice(sig.as_ref());
        Ok(obj)
    }

    /// The body without its signature: version, event id, release version, opens_at, key
    /// id, secret length and secret.
    fn unsigned_body(&self) -> Zeroizing<Vec<u8>> {
        let mut b = Zeroizing::new(Vec::with_capacity(HEADER_LEN + self.secret.len()));
        b.push(VERSION);
        b.extend_from_slice(&self.event.0.to_be_bytes());
        b.extend_from_slice(&self.version.to_be_bytes());
        b.extend_from_slice(&self.opens_at.to_be_bytes());
        b.extend_from_slice(&self.key_id.to_be_bytes());
        // `sign` and `from_bytes` keep the length within 1–128.
        b.push(u8::try_from(self.secret.len()).unwrap_or(u8::MAX));
        b.extend_from_slice(&self.secret);
        b
    }

    /// What the issuer signs: [`DOMAIN`] followed by the body up to the signature.
    pub fn signed_message(&self) -> Zeroizing<Vec<u8>> {
        let body = self.unsigned_body();
        let mut m = Zeroizing::new(Vec::with_capacity(DOMAIN.len() + body.len()));
        m.extend_from_slice(DOMAIN);
        m.extend_from_slice(&body);
        m
    }

    /// The body bytes (90 + secret length).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut b = self.unsigned_body();
        b.extend_from_slice(&self.signature);
        b
    }

    /// The text: [`PREFIX`] and the body in digit groups (QR numeric mode).
    pub fn encode(&self) -> String {
        digit_text(PREFIX, &self.to_bytes())
    }

    /// Parses a release object's text exactly (no trimming: a line ending or a space is
    /// malformed). Checks form only; [`ReleaseObject::verify`] checks the signature.
    pub fn parse(text: &str) -> Result<Self, ReleaseObjectError> {
        let digits = text
            .strip_prefix(PREFIX)
            .ok_or(ReleaseObjectError::Malformed("prefix"))?;
        // Bounded before any decoding: no valid object comes near.
        if digits.len() > digit_len(MAX_BODY_LEN) {
            return Err(ReleaseObjectError::Malformed("too long"));
        }
        if !digits.bytes().all(|c| c.is_ascii_digit()) {
            return Err(ReleaseObjectError::Malformed("not a digit"));
        }
        let len = body_len_of(digits.len()).ok_or(ReleaseObjectError::Malformed("length"))?;
        let mut body = Zeroizing::new(Vec::with_capacity(len));
        let mut rest = digits;
        let mut left = len;
        while left > 0 {
            let n = left.min(GROUP_BYTES);
            let (group, tail) = rest.split_at(digits_for(n));
            rest = tail;
            left -= n;
            let v: u64 = group
                .parse()
                .map_err(|_| ReleaseObjectError::Malformed("not a digit"))?;
            // Canonical only: a group whose value does not fit its bytes is malformed
            // (n is 1–7: the shift is at most 56).
            if v >> (8 * n) != 0 {
                return Err(ReleaseObjectError::Malformed("group out of range"));
            }
            body.extend_from_slice(&v.to_be_bytes()[8 - n..]);
        }
        Self::from_bytes(&body)
    }

    /// Parses body bytes: exactly 90 + n bytes for an n-byte secret, nothing left over.
    pub fn from_bytes(b: &[u8]) -> Result<Self, ReleaseObjectError> {
        if b.len() < MIN_BODY_LEN || b.len() > MAX_BODY_LEN {
            return Err(ReleaseObjectError::Malformed("length"));
        }
        let mut r = Reader::new(b);
        if r.u8()? != VERSION {
            return Err(ReleaseObjectError::Malformed("version"));
        }
        let event = EventId(r.u64()?);
        let version = r.u32()?;
        let opens_at = i64::from_be_bytes(r.array()?);
        let key_id = r.u32()?;
        let n = usize::from(r.u8()?);
        if n == 0 || n > MAX_SECRET_LEN {
            return Err(ReleaseObjectError::Malformed("secret length"));
        }
        let secret = Zeroizing::new(r.take(n)?.to_vec());
        let signature = r.array::<SIG_LEN>()?;
        r.finish()?;
        Ok(Self {
            event,
            version,
            opens_at,
            key_id,
            secret,
            signature,
        })
    }

    /// Checks the signature under `public_key`, the issuer key of [`ReleaseObject::key_id`]
    /// (docs/PROTOCOL.md §7.6: a small-order or non-canonical key, a malleable signature
    /// or a small-order `R` never verifies).
    pub fn verify(&self, public_key: &[u8; 32]) -> Result<(), ReleaseObjectError> {
        if crate::ed25519::verify(public_key, &self.signed_message(), &self.signature) {
            Ok(())
        } else {
            Err(ReleaseObjectError::BadSignature)
        }
    }

    /// Checks the signature against trusted issuer keys by id: the object's key id must be
    /// among them ([`ReleaseObjectError::UnknownKey`]), and it is verified under that key
    /// only, never another.
    pub fn verify_with(&self, trusted: &HashMap<u32, [u8; 32]>) -> Result<(), ReleaseObjectError> {
        let key = trusted
            .get(&self.key_id)
            .ok_or(ReleaseObjectError::UnknownKey {
                key_id: self.key_id,
            })?;
        self.verify(key)
    }
}

/// The body length whose digits are `digits` long, if any: whole groups of 17 digits,
/// then a last group of 3, 5, 8, 10, 13 or 15 digits (1–6 bytes) or none.
fn body_len_of(digits: usize) -> Option<usize> {
    let whole = digits / digits_for(GROUP_BYTES);
    let rem = digits % digits_for(GROUP_BYTES);
    let last = (0..GROUP_BYTES).find(|&n| n > 0 && digits_for(n) == rem);
    match (rem, last) {
        (0, _) => Some(whole * GROUP_BYTES),
        (_, Some(n)) => Some(whole * GROUP_BYTES + n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ed25519::{SMALL_ORDER_BLOCKLIST, check_public_key};
    use crate::qr::QrMatrix;

    fn kp(seed: u8) -> Ed25519KeyPair {
        Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap()
    }

    fn pk(k: &Ed25519KeyPair) -> [u8; 32] {
        crate::ticket::ed25519_public_key(k)
    }

    fn sample() -> ReleaseObject {
        ReleaseObject::sign(&kp(1), 1, EventId(42), 3, 1_800_000_000, &[0xa5; 32]).unwrap()
    }

    #[test]
    fn a_signed_object_round_trips_and_verifies() {
        let o = sample();
        let text = o.encode();
        assert!(text.starts_with("R1:"));
        // 122 bytes: 17 groups of 7 (17 digits each) and one of 3 (8 digits).
        assert_eq!(o.to_bytes().len(), 122);
        assert_eq!(text.len(), 3 + 17 * 17 + 8);
        let back = ReleaseObject::parse(&text).unwrap();
        assert_eq!(back, o);
        assert_eq!(back.encode(), text);
        back.verify(&pk(&kp(1))).unwrap();
        let keys = HashMap::from([(1, pk(&kp(1)))]);
        back.verify_with(&keys).unwrap();
    }

    #[test]
    fn the_signed_message_is_the_documented_one() {
        let o = sample();
        let mut want = b"tessera/v1/release-object\0".to_vec();
        want.push(1);
        want.extend_from_slice(&42u64.to_be_bytes());
        want.extend_from_slice(&3u32.to_be_bytes());
        want.extend_from_slice(&1_800_000_000i64.to_be_bytes());
        want.extend_from_slice(&1u32.to_be_bytes());
        want.push(32);
        want.extend_from_slice(&[0xa5; 32]);
        assert_eq!(&o.signed_message()[..], &want[..]);
        assert_eq!(&o.to_bytes()[..122 - 64], &want[DOMAIN.len()..]);
        assert_eq!(&o.to_bytes()[122 - 64..], &o.signature[..]);
    }

    #[test]
    fn it_fits_a_small_qr_code() {
        // QR version 8 at level M: 49 modules a side, a printed sign reads from afar.
        let qr = QrMatrix::encode(&sample().encode()).unwrap();
        assert_eq!(qr.size(), 49);
        // The longest secret still fits comfortably.
        let long = ReleaseObject::sign(&kp(1), 1, EventId(u64::MAX), 1, 0, &[7; 128]).unwrap();
        assert!(QrMatrix::encode(&long.encode()).unwrap().size() <= 73);
    }

    #[test]
    fn every_tampered_body_byte_is_refused() {
        let o = sample();
        let key = pk(&kp(1));
        let body = o.to_bytes();
        for i in 0..body.len() {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut b = body.to_vec();
                b[i] ^= mask;
                match ReleaseObject::from_bytes(&b) {
                    // Version or length byte: no longer a release object.
                    Err(ReleaseObjectError::Malformed(_)) => assert!(i == 0 || i == 25, "{i}"),
                    Err(e) => panic!("{i}: {e}"),
                    Ok(t) => assert_eq!(
                        t.verify(&key),
                        Err(ReleaseObjectError::BadSignature),
                        "byte {i} mask {mask:#x}"
                    ),
                }
            }
        }
    }

    #[test]
    fn another_key_or_an_unknown_key_id_is_refused() {
        let o = sample();
        assert_eq!(o.verify(&pk(&kp(2))), Err(ReleaseObjectError::BadSignature));
        // The same id pinned for another issuer's key: that key only, never another.
        let other = HashMap::from([(1, pk(&kp(2))), (2, pk(&kp(1)))]);
        assert_eq!(o.verify_with(&other), Err(ReleaseObjectError::BadSignature));
        let missing = HashMap::from([(2, pk(&kp(1)))]);
        assert_eq!(
            o.verify_with(&missing),
            Err(ReleaseObjectError::UnknownKey { key_id: 1 })
        );
        assert_eq!(
            o.verify_with(&HashMap::new()),
            Err(ReleaseObjectError::UnknownKey { key_id: 1 })
        );
    }

    #[test]
    fn a_keyless_forgery_under_a_small_order_key_is_refused() {
        // R = identity, S = 0 satisfies the bare equation for a small-order key (the
        // identity: for every message); no private key is needed.
        let mut o = sample();
        let mut r = [0u8; 32];
        r[0] = 1;
        o.signature = [0; 64];
        o.signature[..32].copy_from_slice(&r);
        for key in SMALL_ORDER_BLOCKLIST {
            assert!(check_public_key(&key).is_err());
            assert_eq!(o.verify(&key), Err(ReleaseObjectError::BadSignature));
            let mut signed = key;
            signed[31] |= 0x80;
            assert_eq!(o.verify(&signed), Err(ReleaseObjectError::BadSignature));
        }
    }

    #[test]
    fn a_malleable_signature_is_refused() {
        // S + L verifies under the bare equation; §7.6 rule 2 refuses it.
        let o = sample();
        let l: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut m = o.clone();
        let mut carry = 0u16;
        for (i, li) in l.iter().enumerate() {
            let s = u16::from(m.signature[32 + i]) + u16::from(*li) + carry;
            m.signature[32 + i] = (s & 0xff) as u8;
            carry = s >> 8;
        }
        assert_eq!(carry, 0, "S + L fits 256 bits for this signature");
        assert_eq!(m.verify(&pk(&kp(1))), Err(ReleaseObjectError::BadSignature));
    }

    #[test]
    fn malformed_texts_are_refused_without_panicking() {
        let good = sample().encode();
        let digits = &good[3..];
        let mut cases: Vec<String> = vec![
            String::new(),
            "R1:".into(),
            "r1:".to_owned() + digits,
            "R2:".to_owned() + digits,
            "C1:".to_owned() + digits,
            " ".to_owned() + &good,
            good.clone() + "\n",
            good.clone() + "\r\n",
            good.clone() + " ",
            good[..good.len() - 1].to_owned(),
            good[..good.len() - 8].to_owned(),
            good.clone() + "0",
            good.clone() + &"0".repeat(17),
            format!("R1:{}", "9".repeat(17 * 18)),
            format!("R1:{}", "1".repeat(100_000)),
            good.replacen('1', "a", 1),
            good.replacen('1', "+", 1),
            // A non-ASCII digit (Arabic-Indic one, two bytes) where a digit was.
            format!("R1:\u{661}{}", &digits[2..]),
        ];
        // 17 nines is no 7-byte group.
        cases.push(format!("R1:{}{}", "9".repeat(17), &digits[17..]));
        // A group plus 2^56: still 17 digits, the same low bytes, not canonical.
        let first: u64 = digits[..17].parse().unwrap();
        let shifted = format!("R1:{:017}{}", first + (1 << 56), &digits[17..]);
        assert_eq!(
            ReleaseObject::parse(&shifted),
            Err(ReleaseObjectError::Malformed("group out of range"))
        );
        for c in &cases {
            assert!(
                matches!(
                    ReleaseObject::parse(c),
                    Err(ReleaseObjectError::Malformed(_))
                ),
                "{c:?}"
            );
        }
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let body = sample().to_bytes().to_vec();
        let refuse = |b: &[u8], why: &str| {
            assert_eq!(
                ReleaseObject::from_bytes(b),
                Err(ReleaseObjectError::Malformed(match why {
                    "length" => "length",
                    "version" => "version",
                    "secret length" => "secret length",
                    "truncated" => "truncated",
                    _ => "trailing bytes",
                })),
                "{why}"
            );
        };
        refuse(&[], "length");
        refuse(&body[..MIN_BODY_LEN - 1], "length");
        refuse(&[body.clone(), vec![0; 200]].concat(), "length");
        for v in [0u8, 2, 0xff] {
            let mut b = body.clone();
            b[0] = v;
            refuse(&b, "version");
        }
        // The secret length byte disagreeing with the body's length.
        let mut b = body.clone();
        b[25] = 33;
        refuse(&b, "truncated");
        let mut b = body.clone();
        b[25] = 31;
        refuse(&b, "trailing bytes");
        let mut b = body.clone();
        b[25] = 0;
        refuse(&b, "secret length");
        // 129 bytes of secret with a body exactly as long as that would need.
        let mut b = body[..25].to_vec();
        b.push(129);
        b.extend_from_slice(&[0; 129]);
        b.extend_from_slice(&[0; 64]);
        assert!(ReleaseObject::from_bytes(&b).is_err());
        let mut b = body[..25].to_vec();
        b.push(128);
        b.extend_from_slice(&[0; 128 + 64]);
        assert!(ReleaseObject::from_bytes(&b).is_ok());
    }

    #[test]
    fn secrets_out_of_range_are_not_signed_and_never_printed() {
        for len in [0, 129] {
            assert_eq!(
                ReleaseObject::sign(&kp(1), 1, EventId(1), 1, 0, &vec![1; len]),
                Err(ReleaseObjectError::Malformed("secret length"))
            );
        }
        let o = sample();
        let debug = format!("{o:?}");
        assert!(!debug.contains("a5") && !debug.contains("165"), "{debug}");
    }

    #[test]
    fn digit_lengths_map_back_to_body_lengths() {
        for len in 0..=MAX_BODY_LEN + 10 {
            assert_eq!(body_len_of(digit_len(len)), Some(len), "{len}");
        }
        for bad in [1, 2, 4, 6, 7, 9, 11, 12, 14, 16, 18, 19] {
            assert_eq!(body_len_of(bad), None, "{bad}");
        }
    }
}
