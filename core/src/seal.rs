//! AEAD sealing of secrets at rest, bound to the row and column they live in.
//!
//! Layout of a sealed blob: `0x01 ‖ nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16)`.
//! The associated data is `"tessera/v1/seal" ‖ 0x00 ‖ table ‖ 0x00 ‖ column ‖ 0x00 ‖
//! row id ‖ 0x00 ‖ version (u32 big-endian)`, so a blob copied to another row, column
//! or version fails to open.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::{Zeroize, Zeroizing};

/// Length of a key-encryption key in bytes.
pub const KEK_LEN: usize = 32;
const FORMAT: u8 = 1;
const TAG_LEN: usize = 16;

/// A 256-bit key-encryption key, wiped from memory when dropped.
pub struct Kek(Zeroizing<[u8; KEK_LEN]>);

impl Kek {
    /// A fresh random key.
    pub fn generate() -> Result<Self, SealError> {
        let mut k = Zeroizing::new([0u8; KEK_LEN]);
        SystemRandom::new()
            .fill(&mut k[..])
            .map_err(|_| SealError::Random)?;
        Ok(Self(k))
    }

    /// Takes key bytes (for example just unwrapped by a key vault); the input is wiped.
    pub fn from_bytes(bytes: &mut [u8]) -> Result<Self, SealError> {
        if bytes.len() != KEK_LEN {
            bytes.zeroize();
            return Err(SealError::KeyLength);
        }
        let mut k = Zeroizing::new([0u8; KEK_LEN]);
        k.copy_from_slice(bytes);
        bytes.zeroize();
        Ok(Self(k))
    }

    /// The raw key, for handing to a key vault to wrap.
    pub fn expose(&self) -> &[u8; KEK_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(..)")
    }
}

/// Names the place a sealed blob belongs to; becomes its associated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealContext<'a> {
    /// Table name.
    pub table: &'a str,
    /// Column name.
    pub column: &'a str,
    /// Row identity (ticket id, event id, …) as bytes.
    pub row: &'a [u8],
    /// Row version: resealing under a new version invalidates old copies.
    pub version: u32,
}

impl SealContext<'_> {
    fn aad(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(32 + self.table.len() + self.column.len() + self.row.len());
        v.extend_from_slice(b"tessera/v1/seal\0");
        v.extend_from_slice(self.table.as_bytes());
        v.push(0);
        v.extend_from_slice(self.column.as_bytes());
        v.push(0);
        v.extend_from_slice(self.row);
        v.push(0);
        v.extend_from_slice(&self.version.to_be_bytes());
        v
    }
}

/// Why sealing or opening failed. Opening never says more than "tampered" on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The blob was altered, truncated, or belongs to another row, column or key.
    #[error("sealed data was tampered with or belongs elsewhere")]
    Tampered,
    /// The system random generator failed.
    #[error("the system random generator failed")]
    Random,
    /// A key of the wrong length was offered.
    #[error("a key-encryption key is {KEK_LEN} bytes")]
    KeyLength,
}

fn key(kek: &Kek) -> Result<LessSafeKey, SealError> {
    UnboundKey::new(&AES_256_GCM, &kek.0[..])
        .map(LessSafeKey::new)
        .map_err(|_| SealError::KeyLength)
}

/// Seals `plaintext` under `kek` for the place `ctx` names.
pub fn seal(kek: &Kek, ctx: &SealContext<'_>, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| SealError::Random)?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + TAG_LEN);
    out.push(FORMAT);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = key(kek)?
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(ctx.aad()),
            &mut out[1 + NONCE_LEN..],
        )
        .map_err(|_| SealError::Tampered)?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Opens a blob sealed by [`seal`] for the same place; the plaintext is wiped on drop.
pub fn open(
    kek: &Kek,
    ctx: &SealContext<'_>,
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    if sealed.len() < 1 + NONCE_LEN + TAG_LEN || sealed[0] != FORMAT {
        return Err(SealError::Tampered);
    }
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&sealed[1..1 + NONCE_LEN]);
    let mut buf = Zeroizing::new(sealed[1 + NONCE_LEN..].to_vec());
    let len = key(kek)?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(ctx.aad()),
            &mut buf,
        )
        .map_err(|_| SealError::Tampered)?
        .len();
    buf.truncate(len);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(row: &[u8]) -> SealContext<'_> {
        SealContext {
            table: "tickets",
            column: "seed",
            row,
            version: 1,
        }
    }

    #[test]
    fn round_trip_and_every_flipped_byte_is_tampered() {
        let kek = Kek::generate().unwrap();
        let blob = seal(&kek, &ctx(b"t1"), b"secret seed").unwrap();
        assert_eq!(&open(&kek, &ctx(b"t1"), &blob).unwrap()[..], b"secret seed");
        for i in 0..blob.len() {
            for bit in 0..8 {
                let mut b = blob.clone();
                b[i] ^= 1 << bit;
                assert_eq!(
                    open(&kek, &ctx(b"t1"), &b),
                    Err(SealError::Tampered),
                    "byte {i} bit {bit}"
                );
            }
        }
        for n in 0..blob.len() {
            assert_eq!(
                open(&kek, &ctx(b"t1"), &blob[..n]),
                Err(SealError::Tampered)
            );
        }
    }

    #[test]
    fn blob_bound_to_row_column_version_and_key() {
        let kek = Kek::generate().unwrap();
        let blob = seal(&kek, &ctx(b"t1"), b"s").unwrap();
        assert_eq!(open(&kek, &ctx(b"t2"), &blob), Err(SealError::Tampered));
        let other_col = SealContext {
            column: "event_seed",
            ..ctx(b"t1")
        };
        assert_eq!(open(&kek, &other_col, &blob), Err(SealError::Tampered));
        let other_ver = SealContext {
            version: 2,
            ..ctx(b"t1")
        };
        assert_eq!(open(&kek, &other_ver, &blob), Err(SealError::Tampered));
        let other_key = Kek::generate().unwrap();
        assert_eq!(
            open(&other_key, &ctx(b"t1"), &blob),
            Err(SealError::Tampered)
        );
    }

    #[test]
    fn kek_from_bytes_checks_length_and_wipes_input() {
        let mut short = vec![7u8; 16];
        assert_eq!(
            Kek::from_bytes(&mut short).err(),
            Some(SealError::KeyLength)
        );
        assert!(short.iter().all(|b| *b == 0));
        let mut good = vec![9u8; KEK_LEN];
        let k = Kek::from_bytes(&mut good).unwrap();
        assert!(good.iter().all(|b| *b == 0));
        assert_eq!(k.expose(), &[9u8; KEK_LEN]);
        assert_eq!(format!("{k:?}"), "Kek(..)");
    }
}
