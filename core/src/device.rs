//! The device identity: an Ed25519 key whose 32-byte seed is sealed at rest.
//!
//! The key pair is rebuilt from the unsealed seed for each use and dropped right after,
//! so the private key spends as little time in memory as the work needs.

use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::Ed25519KeyPair;
use zeroize::Zeroizing;

use crate::code::s1::public_key;

/// Length of an Ed25519 seed.
pub const SEED_LEN: usize = 32;

/// Why a device key could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DeviceKeyError {
    /// The system random generator failed.
    #[error("the system random generator failed")]
    Random,
    /// The seed is not a valid Ed25519 seed (wrong length), or its public key is unusable
    /// (small order; only for a scalar that is a multiple of the group order).
    #[error("invalid device key seed")]
    Seed,
}

/// A fresh random seed.
pub fn generate_seed() -> Result<Zeroizing<[u8; SEED_LEN]>, DeviceKeyError> {
    let mut s = Zeroizing::new([0u8; SEED_LEN]);
    SystemRandom::new()
        .fill(&mut s[..])
        .map_err(|_| DeviceKeyError::Random)?;
    Ok(s)
}

/// The key pair of a seed.
pub fn keypair(seed: &[u8]) -> Result<Ed25519KeyPair, DeviceKeyError> {
    Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| DeviceKeyError::Seed)
}

/// The public key of a seed. Refuses one that gates and the issuer would refuse
/// (`crate::ed25519::check_public_key`), so a wallet never binds tickets to it.
pub fn public_key_of(seed: &[u8]) -> Result<[u8; 32], DeviceKeyError> {
    let pk = keypair(seed).map(|kp| public_key(&kp))?;
    crate::ed25519::check_public_key(&pk).map_err(|_| DeviceKeyError::Seed)?;
    Ok(pk)
}
