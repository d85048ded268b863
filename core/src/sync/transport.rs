//! Seeds in transit: sealed by the issuer to the wallet's per-sync ephemeral X25519 key.
//!
//! Both sides make an ephemeral X25519 key; the shared secret goes through
//! HKDF-SHA-256 (salt `"tessera/v1/sync-seal"`, info = issuer ephemeral public key ‖
//! wallet ephemeral public key) into an AES-256-GCM key. Each secret is sealed as
//! `nonce (12) ‖ ciphertext ‖ tag (16)` with associated data
//! `"tessera/v1/sync\0" ‖ column ‖ 0x00 ‖ row id ‖ 0x00 ‖ version (u32 BE)`, so a sealed
//! seed cannot be replayed into another ticket, column or version.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::agreement::{EphemeralPrivateKey, UnparsedPublicKey, X25519, agree_ephemeral};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

const SALT: &[u8] = b"tessera/v1/sync-seal";
const AAD_DOMAIN: &[u8] = b"tessera/v1/sync\0";

/// Why a transport seal failed. Opening says only "tampered": anything else would help an attacker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The sealed secret was altered, truncated, or sealed to another key or place.
    #[error("sealed secret does not open")]
    Tampered,
    /// The peer's public key is not a valid X25519 key.
    #[error("invalid ephemeral public key")]
    BadPublicKey,
    /// The system random generator failed.
    #[error("the system random generator failed")]
    Random,
}

/// An AES-256-GCM key agreed for one sync.
pub struct TransportKey(LessSafeKey);

impl std::fmt::Debug for TransportKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TransportKey(..)")
    }
}

/// An ephemeral X25519 key pair, used for exactly one agreement.
pub struct Ephemeral {
    private: EphemeralPrivateKey,
    public: [u8; 32],
}

impl Ephemeral {
    /// A fresh key pair.
    pub fn generate() -> Result<Self, TransportError> {
        let private = EphemeralPrivateKey::generate(&X25519, &SystemRandom::new())
            .map_err(|_| TransportError::Random)?;
        let pk = private
            .compute_public_key()
            .map_err(|_| TransportError::Random)?;
        let mut public = [0u8; 32];
        public.copy_from_slice(pk.as_ref());
        Ok(Self { private, public })
    }

    /// The public half, to send to the peer.
    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    /// Agrees on the transport key with the peer's public key; consumes the private key.
    /// `issuer_public` and `wallet_public` name who is who, so both sides derive the same key.
    pub fn agree(
        self,
        peer_public: &[u8],
        issuer_public: &[u8; 32],
        wallet_public: &[u8; 32],
    ) -> Result<TransportKey, TransportError> {
        let peer = UnparsedPublicKey::new(&X25519, peer_public);
        let mut info = [0u8; 64];
        info[..32].copy_from_slice(issuer_public);
        info[32..].copy_from_slice(wallet_public);
        agree_ephemeral(self.private, &peer, |shared| {
            let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, SALT).extract(shared);
            let info_parts = [&info[..]];
            let okm = prk
                .expand(&info_parts, &AES_256_GCM)
                .map_err(|_| TransportError::BadPublicKey)?;
            Ok(TransportKey(LessSafeKey::new(UnboundKey::from(okm))))
        })
        .map_err(|_| TransportError::BadPublicKey)?
    }
}

/// Names the place a transported secret belongs to.
#[derive(Debug, Clone, Copy)]
pub struct TransportContext<'a> {
    /// Column (`ticket_seed`, `event_seed`, `release_secret`).
    pub column: &'a str,
    /// Row id bytes (ticket id, or event id as u64 BE).
    pub row: &'a [u8],
    /// Row version.
    pub version: u32,
}

impl TransportContext<'_> {
    fn aad(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(AAD_DOMAIN.len() + self.column.len() + self.row.len() + 6);
        v.extend_from_slice(AAD_DOMAIN);
        v.extend_from_slice(self.column.as_bytes());
        v.push(0);
        v.extend_from_slice(self.row);
        v.push(0);
        v.extend_from_slice(&self.version.to_be_bytes());
        v
    }
}

impl TransportKey {
    /// Seals `secret` for `ctx`.
    pub fn seal(
        &self,
        ctx: &TransportContext<'_>,
        secret: &[u8],
    ) -> Result<Vec<u8>, TransportError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| TransportError::Random)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(secret);
        let tag = self
            .0
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(ctx.aad()),
                &mut out[NONCE_LEN..],
            )
            .map_err(|_| TransportError::Tampered)?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Opens a secret sealed for `ctx`; the plaintext is wiped on drop.
    pub fn open(
        &self,
        ctx: &TransportContext<'_>,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, TransportError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(TransportError::Tampered);
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&sealed[..NONCE_LEN]);
        let mut buf = Zeroizing::new(sealed[NONCE_LEN..].to_vec());
        let n = self
            .0
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(ctx.aad()),
                &mut buf,
            )
            .map_err(|_| TransportError::Tampered)?
            .len();
        buf.truncate(n);
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (TransportKey, TransportKey) {
        let wallet = Ephemeral::generate().unwrap();
        let issuer = Ephemeral::generate().unwrap();
        let (wp, ip) = (wallet.public_key(), issuer.public_key());
        (
            wallet.agree(&ip, &ip, &wp).unwrap(),
            issuer.agree(&wp, &ip, &wp).unwrap(),
        )
    }

    #[test]
    fn both_sides_agree_and_secrets_are_bound_to_their_place() {
        let (w, i) = pair();
        let ctx = TransportContext {
            column: "ticket_seed",
            row: &[1; 16],
            version: 1,
        };
        let sealed = i.seal(&ctx, b"seed").unwrap();
        assert_eq!(&w.open(&ctx, &sealed).unwrap()[..], b"seed");
        let other_row = TransportContext {
            row: &[2; 16],
            ..ctx
        };
        assert_eq!(w.open(&other_row, &sealed), Err(TransportError::Tampered));
        let other_version = TransportContext { version: 2, ..ctx };
        assert_eq!(
            w.open(&other_version, &sealed),
            Err(TransportError::Tampered)
        );
        for i in 0..sealed.len() {
            let mut m = sealed.clone();
            m[i] ^= 1;
            assert_eq!(w.open(&ctx, &m), Err(TransportError::Tampered));
        }
    }

    #[test]
    fn a_secret_sealed_to_another_wallet_does_not_open() {
        let (_, i) = pair();
        let (w2, _) = pair();
        let ctx = TransportContext {
            column: "ticket_seed",
            row: &[1; 16],
            version: 1,
        };
        assert_eq!(
            w2.open(&ctx, &i.seal(&ctx, b"seed").unwrap()),
            Err(TransportError::Tampered)
        );
    }

    #[test]
    fn bad_public_keys_are_refused() {
        let e = Ephemeral::generate().unwrap();
        let p = e.public_key();
        assert!(matches!(
            e.agree(&[0u8; 5], &p, &p),
            Err(TransportError::BadPublicKey)
        ));
    }
}
