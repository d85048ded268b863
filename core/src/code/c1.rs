//! C1: the compact signed code. The barcode carries only what changes per step or cannot
//! be looked up (a reference to the credential, the step, the strict-JIT MAC and the
//! device's signature); the gate finds the issuer-signed credential itself in its bundle.
//! The reference is the first four bytes of the credential's SHA-256: every binding has
//! its own (a rebound or transferred ticket has a new credential), and neither the issuer
//! nor the wallet keeps one more field. Layout and digit encoding: docs/PROTOCOL.md §7.7.
//!
//! The body is written in decimal digits, not base32: a QR code packs digits at 3⅓ bits
//! each (numeric mode), almost exactly their information, where base32 in alphanumeric
//! mode spends 5½ bits on 5. That, and carrying only the low 16 bits of the step, is what
//! keeps every C1 code at QR version 5 (S1: 12 or more).

use ring::signature::Ed25519KeyPair;

use super::ParseError;
use super::release::{MAC_LEN, release_mac};
use super::s1::{SIG_LEN, SignedCredential, step_message};

/// Text before the digits of a C1 payload.
pub const PREFIX: &str = "C1:";
/// Body format version (the low three bits of the flags byte).
pub const VERSION: u8 = 1;
/// Domain separation of the device's per-step signature (not S1's: a C1 signature never
/// verifies as an S1 one, nor the reverse).
pub const STEP_DOMAIN: &[u8] = b"tessera/v3/c1/step\0";
/// Flags bit: an 8-byte release MAC follows the step.
const FLAG_RELEASE_MAC: u8 = 0x80;
/// Bytes per group of 17 digits (2^56 < 10^17).
pub(crate) const GROUP_BYTES: usize = 7;
const GROUP_DIGITS: usize = 17;
/// Body lengths: flags, reference, the step's low 16 bits, [MAC], device signature.
const LEN_PLAIN: usize = 1 + 4 + 2 + SIG_LEN;
const LEN_MAC: usize = LEN_PLAIN + MAC_LEN;

/// One C1 frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct C1Code {
    /// The first four bytes of SHA-256(credential), big-endian: how the gate finds the
    /// credential in its bundle ([`reference_of`]).
    pub reference: u32,
    /// The low 16 bits of the time step (§2). The device signs the whole step; a gate
    /// takes the step with these low bits nearest its own ([`C1Code::step_near`]): codes
    /// more than a step away are stale anyway, and two bytes keep the code at QR version 5.
    pub step_low: u16,
    /// Strict just-in-time MAC (§6, the S1 context: event, ticket, credential digest).
    pub release_mac: Option<[u8; MAC_LEN]>,
    /// Device Ed25519 signature over [`C1Code::device_message`].
    pub device_sig: [u8; SIG_LEN],
}

impl C1Code {
    /// The message the device signs: `STEP_DOMAIN ‖ SHA-256(credential) ‖ step (u64 BE) ‖
    /// flags ‖ [MAC]` (the digest fixes the reference too).
    pub fn device_message(
        digest: &[u8; 32],
        step: u64,
        release_mac: Option<&[u8; MAC_LEN]>,
    ) -> Vec<u8> {
        step_message(
            STEP_DOMAIN,
            digest,
            step,
            flags(release_mac.is_some()),
            release_mac,
        )
    }

    /// Draws the frame for `step` of the credential `signed`.
    pub fn generate(
        signed: &SignedCredential,
        device: &Ed25519KeyPair,
        step: u64,
        release_secret: Option<&[u8]>,
    ) -> Self {
        let release_mac = release_secret.map(|r| release_mac(r, &signed.release_context(), step));
        let digest = signed.digest();
        let msg = Self::device_message(&digest, step, release_mac.as_ref());
        let mut device_sig = [0u8; SIG_LEN];
        device_sig.copy_from_slice(device.sign(&msg).as_ref());
        Self {
            reference: reference_from(&digest),
            step_low: low_bits(step),
            release_mac,
            device_sig,
        }
    }

    /// The step whose low 16 bits are the code's, nearest `around` (a gate's step); of
    /// two equally near (32,768 steps either side), the lower.
    pub fn step_near(&self, around: u64) -> u64 {
        let base = (around & !0xffff) | u64::from(self.step_low);
        [
            base.checked_sub(0x1_0000),
            Some(base),
            base.checked_add(0x1_0000),
        ]
        .into_iter()
        .flatten()
        .min_by_key(|s| s.abs_diff(around))
        .unwrap_or(base)
    }

    /// Whether the device signature verifies for `signed` (a credential of the gate's
    /// bundle with this reference) and the whole `step`, under the device key it binds.
    pub fn verify_device(&self, signed: &SignedCredential, step: u64) -> bool {
        let digest = signed.digest();
        if reference_from(&digest) != self.reference || low_bits(step) != self.step_low {
            return false;
        }
        let msg = Self::device_message(&digest, step, self.release_mac.as_ref());
        crate::ed25519::verify(&signed.credential.device_public_key, &msg, &self.device_sig)
    }

    /// The body bytes (71 without, 79 with a release MAC).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(LEN_MAC);
        b.push(flags(self.release_mac.is_some()));
        b.extend_from_slice(&self.reference.to_be_bytes());
        b.extend_from_slice(&self.step_low.to_be_bytes());
        if let Some(mac) = &self.release_mac {
            b.extend_from_slice(mac);
        }
        b.extend_from_slice(&self.device_sig);
        b
    }

    /// The QR payload text: the prefix and the body in digits.
    pub fn encode(&self) -> String {
        digit_text(PREFIX, &self.to_bytes())
    }

    /// Parses the text after the prefix; signatures are not checked here (the gate does).
    pub fn from_digits(text: &str) -> Result<Self, ParseError> {
        let bad = |why| Err(ParseError::Malformed(why));
        let len = match text.len() {
            n if n == digit_len(LEN_PLAIN) => LEN_PLAIN,
            n if n == digit_len(LEN_MAC) => LEN_MAC,
            _ => return bad("C1 length"),
        };
        if !text.bytes().all(|c| c.is_ascii_digit()) {
            return bad("C1 digits");
        }
        let mut body = Vec::with_capacity(len);
        let mut rest = text;
        let mut left = len;
        while left > 0 {
            let n = left.min(GROUP_BYTES);
            let (group, tail) = rest.split_at(digits_for(n));
            rest = tail;
            left -= n;
            let v: u64 = group
                .parse()
                .map_err(|_| ParseError::Malformed("C1 digits"))?;
            // Canonical only: a group whose value does not fit its bytes is malformed.
            // (n is 1–7: the shift is at most 56.)
            if v >> (8 * n) != 0 {
                return bad("C1 group out of range");
            }
            body.extend_from_slice(&v.to_be_bytes()[8 - n..]);
        }
        Self::from_bytes(&body)
    }

    /// Parses body bytes.
    pub fn from_bytes(b: &[u8]) -> Result<Self, ParseError> {
        let bad = |why| Err(ParseError::Malformed(why));
        let Some((&flags_byte, rest)) = b.split_first() else {
            return bad("C1 empty");
        };
        let with_mac = match flags_byte {
            f if f == flags(false) => false,
            f if f == flags(true) => true,
            _ => return bad("C1 flags"),
        };
        if rest.len() + 1 != if with_mac { LEN_MAC } else { LEN_PLAIN } {
            return bad("C1 length");
        }
        let (reference, rest) = rest.split_at(4);
        let (step, rest) = rest.split_at(2);
        let (release_mac, sig) = if with_mac {
            let (mac, sig) = rest.split_at(MAC_LEN);
            let mut m = [0u8; MAC_LEN];
            m.copy_from_slice(mac);
            (Some(m), sig)
        } else {
            (None, rest)
        };
        let mut device_sig = [0u8; SIG_LEN];
        device_sig.copy_from_slice(sig);
        let word = |s: &[u8]| u32::from_be_bytes([s[0], s[1], s[2], s[3]]);
        Ok(Self {
            reference: word(reference),
            step_low: u16::from_be_bytes([step[0], step[1]]),
            release_mac,
            device_sig,
        })
    }
}

/// The reference of a credential: the first four bytes of its SHA-256, big-endian.
pub fn reference_of(signed: &SignedCredential) -> u32 {
    reference_from(&signed.digest())
}

fn reference_from(digest: &[u8; 32]) -> u32 {
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

fn low_bits(step: u64) -> u16 {
    (step & 0xffff) as u16
}

fn flags(with_mac: bool) -> u8 {
    if with_mac {
        VERSION | FLAG_RELEASE_MAC
    } else {
        VERSION
    }
}

/// `prefix` and `body` as decimal digits, [`GROUP_BYTES`] bytes to a group of
/// [`digits_for`] digits (QR numeric mode): C1 codes and release objects.
pub(crate) fn digit_text(prefix: &str, body: &[u8]) -> String {
    let mut s = String::with_capacity(prefix.len() + digit_len(body.len()));
    s.push_str(prefix);
    for chunk in body.chunks(GROUP_BYTES) {
        let mut v: u64 = 0;
        for &b in chunk {
            v = (v << 8) | u64::from(b);
        }
        s.push_str(&format!("{v:0width$}", width = digits_for(chunk.len())));
    }
    s
}

/// Digits of a group of `n` bytes: 17 for 7, else the fewest that hold 256^n − 1.
pub(crate) fn digits_for(n: usize) -> usize {
    match n {
        GROUP_BYTES => GROUP_DIGITS,
        1 => 3,
        2 => 5,
        3 => 8,
        4 => 10,
        5 => 13,
        _ => 15,
    }
}

/// Digits of a body of `len` bytes.
pub(crate) fn digit_len(len: usize) -> usize {
    let rem = len % GROUP_BYTES;
    (len / GROUP_BYTES) * GROUP_DIGITS + if rem == 0 { 0 } else { digits_for(rem) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::s1::{Credential, public_key};
    use crate::code::{Code, MAX_BODY_LEN};
    use crate::ids::{EventId, TicketId};
    use crate::qr::QrMatrix;

    fn kp(seed: u8) -> Ed25519KeyPair {
        Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap()
    }

    fn signed(device: &Ed25519KeyPair, seat: &str) -> SignedCredential {
        Credential {
            key_id: 1,
            ticket: TicketId([7; 16]),
            event: EventId(42),
            reveal_opens_at: 1_800_000_000,
            valid_until: 1_800_010_000,
            period_secs: 5,
            strict_jit: true,
            reentry: false,
            personalised: true,
            device_public_key: public_key(device),
            seat: seat.into(),
        }
        .sign(&kp(1))
        .unwrap()
    }

    #[test]
    fn round_trips_and_verifies_only_for_its_credential_reference_and_step() {
        let device = kp(2);
        let cred = signed(&device, "A1");
        let step = 360_000_000;
        for secret in [None, Some(&b"release"[..])] {
            let code = C1Code::generate(&cred, &device, step, secret);
            assert!(code.verify_device(&cred, step));
            assert_eq!(code.reference, reference_of(&cred));
            let text = code.encode();
            assert_eq!(Code::parse(&text), Ok(Code::C1(code.clone())));
            // Another binding of the ticket (another device), another reference, another
            // step with the same low bits: no.
            let rebound = signed(&kp(3), "A1");
            assert_ne!(reference_of(&rebound), code.reference);
            assert!(!code.verify_device(&rebound, step));
            let moved = C1Code {
                reference: code.reference ^ 1,
                ..code.clone()
            };
            assert!(!moved.verify_device(&cred, step));
            assert!(!code.verify_device(&cred, step + 0x1_0000));
            assert!(!code.verify_device(&cred, step + 1));
        }
    }

    #[test]
    fn the_gate_takes_the_step_with_the_codes_low_bits_nearest_its_own() {
        let code = |step| C1Code::generate(&signed(&kp(2), "A1"), &kp(2), step, None);
        for (step, gate) in [
            (360_000_000u64, 360_000_000u64),
            (360_000_001, 360_000_000),
            (359_999_999, 360_000_000),
            // Across a 16-bit boundary, both ways.
            (0x1_0000, 0xffff),
            (0xffff, 0x1_0000),
            (0, 0),
            (u64::MAX, u64::MAX - 1),
        ] {
            assert_eq!(code(step).step_near(gate), step, "{step} at {gate}");
        }
        // Half the cycle away is another step: a code that old is stale at any gate.
        assert_ne!(code(1_000_000).step_near(1_000_000 + 0x8001), 1_000_000);
    }

    #[test]
    fn every_compact_code_fits_qr_version_5_at_level_m() {
        let device = kp(2);
        // The seat is looked up, not carried: the longest one changes nothing.
        let cred = signed(&device, &"é".repeat(32));
        for (secret, digits) in [(None, 173), (Some(&b"r"[..]), 192)] {
            let text = C1Code::generate(&cred, &device, u64::MAX, secret).encode();
            assert_eq!(text.len(), 3 + digits);
            let qr = QrMatrix::encode(&text).unwrap();
            // Version 5 is 37 modules a side: with the quiet zone 45, i.e. 23 rows of
            // half blocks, so a code fits a standard 80×24 terminal.
            assert_eq!(qr.size(), 37, "version {}", (qr.size() - 17) / 4);
        }
    }

    #[test]
    fn malformed_digits_are_refused() {
        let device = kp(2);
        let cred = signed(&device, "A1");
        let text = C1Code::generate(&cred, &device, 5, None).encode();
        let digits = &text[PREFIX.len()..];
        for n in 0..digits.len() {
            assert!(C1Code::from_digits(&digits[..n]).is_err(), "cut to {n}");
        }
        assert!(C1Code::from_digits(&format!("{digits}0")).is_err());
        let letter = format!("A{}", &digits[1..]);
        assert!(C1Code::from_digits(&letter).is_err());
        // A first group of 17 nines is ≥ 2^56: not a canonical encoding.
        let huge = format!("{}{}", "9".repeat(17), &digits[17..]);
        assert!(C1Code::from_digits(&huge).is_err());
        // Unknown flags (version 2, or another bit).
        for f in [0x02u8, 0x41, 0x00] {
            let mut b = C1Code::from_digits(digits).unwrap().to_bytes();
            b[0] = f;
            assert!(C1Code::from_bytes(&b).is_err(), "flags {f:#x}");
        }
        assert!(digits.len() < MAX_BODY_LEN);
    }

    #[test]
    fn the_flags_byte_is_0x01_or_0x81_and_nothing_else_parses() {
        let device = kp(2);
        let cred = signed(&device, "A1");
        let plain = C1Code::generate(&cred, &device, 7, None).to_bytes();
        let jit = C1Code::generate(&cred, &device, 7, Some(b"r")).to_bytes();
        assert_eq!((plain[0], plain.len()), (0x01, 71));
        assert_eq!((jit[0], jit.len()), (0x81, 79));
        // Any other flags byte, at either length, is malformed.
        for body in [&plain, &jit] {
            for f in (0..=255u8).filter(|f| ![0x01, 0x81].contains(f)) {
                let mut b = body.clone();
                b[0] = f;
                assert!(
                    C1Code::from_bytes(&b).is_err(),
                    "flags {f:#x}, {} bytes",
                    b.len()
                );
            }
        }
    }

    #[test]
    fn every_group_must_be_canonical_wherever_it_is() {
        let device = kp(2);
        let cred = signed(&device, "A1");
        let text = C1Code::generate(&cred, &device, 7, Some(b"r")).encode();
        let digits = &text[PREFIX.len()..];
        // The last group is 2 bytes, 5 digits: 65536 is one past its largest value.
        let (head, _) = digits.split_at(digits.len() - 5);
        assert!(C1Code::from_digits(&format!("{head}65535")).is_ok());
        assert!(C1Code::from_digits(&format!("{head}65536")).is_err());
        // A middle group of 7 bytes: 2^56 is one past its largest value.
        let (a, rest) = digits.split_at(GROUP_DIGITS * 3);
        let rest = &rest[GROUP_DIGITS..];
        let max = format!("{}", (1u64 << 56) - 1);
        assert!(C1Code::from_digits(&format!("{a}{max}{rest}")).is_ok());
        let over = format!("{}", 1u64 << 56);
        assert!(C1Code::from_digits(&format!("{a}{over}{rest}")).is_err());
    }

    #[test]
    fn group_widths_are_the_fewest_digits_that_hold_the_bytes() {
        for n in 1..=GROUP_BYTES {
            let largest = (1u128 << (8 * n)) - 1;
            let fewest = largest.to_string().len();
            assert_eq!(digits_for(n), fewest, "{n} bytes");
        }
        assert_eq!(digit_len(LEN_PLAIN), 173);
        assert_eq!(digit_len(LEN_MAC), 192);
    }
}
