//! S1: the signed offline code, modeled on UIC DOSIPAS' two-level barcode.
//!
//! Level 1, the issuer signs a credential binding the ticket to the device public key;
//! level 2, the device signs the credential digest and the current step. A gate needs
//! only the issuer's public keys. Layouts are in docs/PROTOCOL.md §S1.

use ring::digest::{SHA256, digest};
use ring::signature::{Ed25519KeyPair, KeyPair};

use super::release::{MAC_LEN, ReleaseContext, release_mac};
use super::{ParseError, Reader, encode_body};
use crate::ids::{EventId, TicketId};
use crate::policy::{MAX_PERIOD_SECS, MIN_PERIOD_SECS};

/// Text before the base32 body of an S1 payload.
pub const PREFIX: &str = "S1:";
/// Credential and frame format version: 2 since protocol revision 2 (release MAC bound to
/// the event and the credential); version 1 is refused as malformed (docs/PROTOCOL.md §13).
pub const VERSION: u8 = 2;
/// Longest seat label, in UTF-8 bytes.
pub const MAX_SEAT_LEN: usize = 64;
/// Ed25519 signature length.
pub const SIG_LEN: usize = 64;
/// Domain separation of the issuer's credential signature.
pub const CREDENTIAL_DOMAIN: &[u8] = b"tessera/v1/s1/credential\0";
/// Domain separation of the device's per-step signature.
pub const STEP_DOMAIN: &[u8] = b"tessera/v1/s1/step\0";

const FLAG_STRICT_JIT: u8 = 0b001;
const FLAG_REENTRY: u8 = 0b010;
const FLAG_PERSONALISED: u8 = 0b100;
const FRAME_FLAG_RELEASE_MAC: u8 = 0b1;

/// What the issuer vouches for (level 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// Which issuer key signs it.
    pub key_id: u32,
    /// The ticket.
    pub ticket: TicketId,
    /// Its event.
    pub event: EventId,
    /// Unix seconds when the reveal window (and validity) opens.
    pub reveal_opens_at: i64,
    /// Unix seconds when validity ends.
    pub valid_until: i64,
    /// Rotation period, seconds.
    pub period_secs: u8,
    /// Codes must carry a release MAC.
    pub strict_jit: bool,
    /// The ticket may be admitted more than once.
    pub reentry: bool,
    /// The gate should check the holder's ID against the bundle's name.
    pub personalised: bool,
    /// Ed25519 public key of the only device allowed to show the ticket.
    pub device_public_key: [u8; 32],
    /// Seat label (UTF-8, at most 64 bytes; may be empty).
    pub seat: String,
}

/// Why a credential cannot be built or signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// A field is out of its documented range.
    #[error("invalid credential: {0}")]
    Invalid(&'static str),
}

impl Credential {
    /// The canonical credential bytes (what the issuer signs).
    pub fn to_bytes(&self) -> Result<Vec<u8>, CredentialError> {
        if self.seat.len() > MAX_SEAT_LEN {
            return Err(CredentialError::Invalid("seat longer than 64 bytes"));
        }
        if !(MIN_PERIOD_SECS..=MAX_PERIOD_SECS).contains(&self.period_secs) {
            return Err(CredentialError::Invalid("period"));
        }
        if self.valid_until <= self.reveal_opens_at {
            // The parser rejects such a window, so never sign one.
            return Err(CredentialError::Invalid("window"));
        }
        let mut flags = 0;
        if self.strict_jit {
            flags |= FLAG_STRICT_JIT;
        }
        if self.reentry {
            flags |= FLAG_REENTRY;
        }
        if self.personalised {
            flags |= FLAG_PERSONALISED;
        }
        let mut b = Vec::with_capacity(80 + self.seat.len());
        b.push(VERSION);
        b.extend_from_slice(&self.key_id.to_be_bytes());
        b.extend_from_slice(self.ticket.as_bytes());
        b.extend_from_slice(&self.event.0.to_be_bytes());
        b.extend_from_slice(&self.reveal_opens_at.to_be_bytes());
        b.extend_from_slice(&self.valid_until.to_be_bytes());
        b.push(self.period_secs);
        b.push(flags);
        b.extend_from_slice(&self.device_public_key);
        // Length checked above, so it fits a byte.
        b.push(self.seat.len() as u8);
        b.extend_from_slice(self.seat.as_bytes());
        Ok(b)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, ParseError> {
        if r.u8()? != VERSION {
            return Err(ParseError::Malformed("S1 version"));
        }
        let key_id = r.u32()?;
        let ticket = TicketId(r.array()?);
        let event = EventId(r.u64()?);
        let reveal_opens_at = i64::from_be_bytes(r.array()?);
        let valid_until = i64::from_be_bytes(r.array()?);
        if valid_until <= reveal_opens_at {
            return Err(ParseError::Malformed("S1 window"));
        }
        let period_secs = r.u8()?;
        if !(MIN_PERIOD_SECS..=MAX_PERIOD_SECS).contains(&period_secs) {
            return Err(ParseError::Malformed("S1 period"));
        }
        let flags = r.u8()?;
        if flags & !(FLAG_STRICT_JIT | FLAG_REENTRY | FLAG_PERSONALISED) != 0 {
            return Err(ParseError::Malformed("S1 flags"));
        }
        let device_public_key = r.array()?;
        let seat_len = usize::from(r.u8()?);
        if seat_len > MAX_SEAT_LEN {
            return Err(ParseError::Malformed("S1 seat length"));
        }
        let seat = std::str::from_utf8(r.take(seat_len)?)
            .map_err(|_| ParseError::Malformed("S1 seat"))?
            .to_owned();
        Ok(Self {
            key_id,
            ticket,
            event,
            reveal_opens_at,
            valid_until,
            period_secs,
            strict_jit: flags & FLAG_STRICT_JIT != 0,
            reentry: flags & FLAG_REENTRY != 0,
            personalised: flags & FLAG_PERSONALISED != 0,
            device_public_key,
            seat,
        })
    }

    /// Signs the credential with an issuer key (level 1). Refuses a device key that is
    /// non-canonical or of small order: nobody holds its private key, so anybody could
    /// sign the ticket's codes (`crate::ed25519`).
    pub fn sign(&self, issuer: &Ed25519KeyPair) -> Result<SignedCredential, CredentialError> {
        if crate::ed25519::check_public_key(&self.device_public_key).is_err() {
            return Err(CredentialError::Invalid(
                "device key of small order or non-canonical",
            ));
        }
        let bytes = self.to_bytes()?;
        let mut msg = Vec::with_capacity(CREDENTIAL_DOMAIN.len() + bytes.len());
        msg.extend_from_slice(CREDENTIAL_DOMAIN);
        msg.extend_from_slice(&bytes);
        let mut issuer_sig = [0u8; SIG_LEN];
        issuer_sig.copy_from_slice(issuer.sign(&msg).as_ref());
        Ok(SignedCredential {
            credential: self.clone(),
            bytes,
            issuer_sig,
        })
    }
}

/// A credential with the issuer's signature, as the wallet stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCredential {
    /// The decoded fields.
    pub credential: Credential,
    /// The exact signed bytes.
    pub bytes: Vec<u8>,
    /// Issuer's Ed25519 signature over `CREDENTIAL_DOMAIN ‖ bytes`.
    pub issuer_sig: [u8; SIG_LEN],
}

impl SignedCredential {
    /// Parses stored bytes (`credential ‖ issuer signature`).
    pub fn from_bytes(b: &[u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(b);
        let s = Self::read(&mut r, b)?;
        r.finish()?;
        Ok(s)
    }

    fn read(r: &mut Reader<'_>, all: &[u8]) -> Result<Self, ParseError> {
        let start = r.offset();
        let credential = Credential::read(r)?;
        let bytes = all
            .get(start..r.offset())
            .ok_or(ParseError::Malformed("S1 credential"))?
            .to_vec();
        let issuer_sig = r.array()?;
        Ok(Self {
            credential,
            bytes,
            issuer_sig,
        })
    }

    /// `credential ‖ issuer signature`, for storage.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = self.bytes.clone();
        v.extend_from_slice(&self.issuer_sig);
        v
    }

    /// Whether the issuer signature verifies under `issuer_public_key` and the credential
    /// binds a usable device key: one of small order or non-canonical belongs to nobody
    /// (anybody can sign its steps), so such a credential is no credential, whoever signed it.
    pub fn verify(&self, issuer_public_key: &[u8]) -> bool {
        let mut msg = Vec::with_capacity(CREDENTIAL_DOMAIN.len() + self.bytes.len());
        msg.extend_from_slice(CREDENTIAL_DOMAIN);
        msg.extend_from_slice(&self.bytes);
        crate::ed25519::check_public_key(&self.credential.device_public_key).is_ok()
            && crate::ed25519::verify(issuer_public_key, &msg, &self.issuer_sig)
    }

    /// What a release MAC of this credential's frames is bound to (besides the step).
    pub fn release_context(&self) -> ReleaseContext {
        ReleaseContext::S1 {
            event: self.credential.event,
            ticket: self.credential.ticket,
            credential_digest: self.digest(),
        }
    }

    /// SHA-256 of the credential bytes: what the device signs each step.
    pub fn digest(&self) -> [u8; 32] {
        let mut d = [0u8; 32];
        d.copy_from_slice(digest(&SHA256, &self.bytes).as_ref());
        d
    }
}

/// One S1 frame: the signed credential, the step, and the device's signature (level 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S1Code {
    /// The issuer-signed credential.
    pub signed: SignedCredential,
    /// The TOTP-style time step.
    pub step: u64,
    /// Strict just-in-time MAC.
    pub release_mac: Option<[u8; MAC_LEN]>,
    /// Device Ed25519 signature over [`S1Code::device_message`].
    pub device_sig: [u8; SIG_LEN],
}

impl S1Code {
    /// The message the device signs: `STEP_DOMAIN ‖ SHA-256(credential) ‖ step (u64 BE) ‖ frame flags ‖ [MAC]`.
    pub fn device_message(
        digest: &[u8; 32],
        step: u64,
        release_mac: Option<&[u8; MAC_LEN]>,
    ) -> Vec<u8> {
        let flags = if release_mac.is_some() {
            FRAME_FLAG_RELEASE_MAC
        } else {
            0
        };
        step_message(STEP_DOMAIN, digest, step, flags, release_mac)
    }

    /// Draws the frame for `step` with the device key (and the release secret of a strict-JIT event).
    pub fn generate(
        signed: &SignedCredential,
        device: &Ed25519KeyPair,
        step: u64,
        release_secret: Option<&[u8]>,
    ) -> Self {
        let release_mac = release_secret.map(|r| release_mac(r, &signed.release_context(), step));
        let msg = Self::device_message(&signed.digest(), step, release_mac.as_ref());
        let mut device_sig = [0u8; SIG_LEN];
        device_sig.copy_from_slice(device.sign(&msg).as_ref());
        Self {
            signed: signed.clone(),
            step,
            release_mac,
            device_sig,
        }
    }

    /// Whether the device signature verifies under the credential's device key.
    pub fn verify_device(&self) -> bool {
        let msg = Self::device_message(&self.signed.digest(), self.step, self.release_mac.as_ref());
        crate::ed25519::verify(
            &self.signed.credential.device_public_key,
            &msg,
            &self.device_sig,
        )
    }

    /// The body bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = self.signed.to_bytes();
        b.extend_from_slice(&self.step.to_be_bytes());
        match &self.release_mac {
            Some(m) => {
                b.push(FRAME_FLAG_RELEASE_MAC);
                b.extend_from_slice(m);
            }
            None => b.push(0),
        }
        b.extend_from_slice(&self.device_sig);
        b
    }

    /// The QR payload text.
    pub fn encode(&self) -> String {
        encode_body(PREFIX, &self.to_bytes())
    }

    /// Parses body bytes; signatures are not checked here (the gate does).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(bytes);
        let signed = SignedCredential::read(&mut r, bytes)?;
        let step = r.u64()?;
        let release_mac = match r.u8()? {
            0 => None,
            FRAME_FLAG_RELEASE_MAC => Some(r.array()?),
            _ => return Err(ParseError::Malformed("S1 frame flags")),
        };
        let device_sig = r.array()?;
        r.finish()?;
        Ok(Self {
            signed,
            step,
            release_mac,
            device_sig,
        })
    }
}

/// What a device signs per step, S1 and C1 alike: `domain ‖ digest ‖ step (u64 BE) ‖
/// flags ‖ [MAC]` (the formats differ in their domain and flag values).
pub(crate) fn step_message(
    domain: &[u8],
    digest: &[u8; 32],
    step: u64,
    flags: u8,
    release_mac: Option<&[u8; MAC_LEN]>,
) -> Vec<u8> {
    let mut m = Vec::with_capacity(domain.len() + 32 + 8 + 1 + MAC_LEN);
    m.extend_from_slice(domain);
    m.extend_from_slice(digest);
    m.extend_from_slice(&step.to_be_bytes());
    m.push(flags);
    if let Some(mac) = release_mac {
        m.extend_from_slice(mac);
    }
    m
}

/// The 32-byte public key of an Ed25519 key pair.
pub fn public_key(kp: &Ed25519KeyPair) -> [u8; 32] {
    let mut pk = [0u8; 32];
    pk.copy_from_slice(kp.public_key().as_ref());
    pk
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::Code;

    fn kp(seed: u8) -> Ed25519KeyPair {
        Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap()
    }

    fn cred(device: &Ed25519KeyPair) -> Credential {
        Credential {
            key_id: 3,
            ticket: TicketId([9; 16]),
            event: EventId(77),
            reveal_opens_at: 1_800_000_000,
            valid_until: 1_800_010_000,
            period_secs: 15,
            strict_jit: true,
            reentry: false,
            personalised: true,
            device_public_key: public_key(device),
            seat: "Block C · Row 4 · Seat 12".into(),
        }
    }

    #[test]
    fn two_level_signatures_round_trip_and_verify() {
        let (issuer, device) = (kp(1), kp(2));
        let signed = cred(&device).sign(&issuer).unwrap();
        assert!(signed.verify(&public_key(&issuer)));
        assert!(!signed.verify(&public_key(&device)));
        let code = S1Code::generate(&signed, &device, 120_000_000, Some(b"release"));
        assert!(code.verify_device());
        assert_eq!(
            Code::parse(&code.encode()),
            Ok(Code::S1(Box::new(code.clone())))
        );
        let other = S1Code::generate(&signed, &kp(4), 120_000_000, None);
        assert!(
            !other.verify_device(),
            "a code signed by another device must not verify"
        );
    }

    #[test]
    fn truncations_and_bad_fields_are_rejected() {
        let device = kp(2);
        let b = S1Code::generate(&cred(&device).sign(&kp(1)).unwrap(), &device, 5, None).to_bytes();
        for n in 0..b.len() {
            assert!(S1Code::from_bytes(&b[..n]).is_err(), "truncated to {n}");
        }
        let mut longer = b.clone();
        longer.push(1);
        assert!(S1Code::from_bytes(&longer).is_err());
        for (i, v) in [(0usize, 1u8), (0, 3), (45, 4), (46, 0x08), (79, 65)] {
            let mut m = b.clone();
            m[i] = v;
            assert!(S1Code::from_bytes(&m).is_err(), "byte {i} = {v}");
        }
    }

    #[test]
    fn credentials_with_long_seats_are_refused() {
        let mut c = cred(&kp(2));
        c.seat = "x".repeat(65);
        assert!(c.sign(&kp(1)).is_err());
    }
}
