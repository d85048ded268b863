//! Randomness, hashing and the issuer's long-lived secrets: its Ed25519 signing key
//! (key id 1), the admin token and the key that MACs SMS codes at rest.
//!
//! They are created on first start and kept in the database in the data directory, so a
//! restart keeps credentials verifiable and the printed admin token valid.

use crate::db::{Conn, OptionalExtension, params};
use ring::digest::{SHA256, digest};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::Ed25519KeyPair;
use zeroize::Zeroizing;

use crate::error::{ApiError, IssuerError};

/// Key id of the issuer signing key named in S1 credentials.
pub const ISSUER_KEY_ID: u32 = tessera_gate::signed_bundle::ISSUER_KEY_ID;

/// `n` random bytes from the system generator.
pub(crate) fn random_bytes(n: usize) -> Result<Vec<u8>, ApiError> {
    let mut b = vec![0u8; n];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| ApiError::internal())?;
    Ok(b)
}

/// A fresh bearer token or one-time link token: 32 random bytes, hex.
pub(crate) fn new_token() -> Result<String, ApiError> {
    Ok(hex::encode(random_bytes(32)?))
}

/// SHA-256 of a token: what the database keeps, so a copy of it grants nothing.
pub(crate) fn token_hash(token: &str) -> Vec<u8> {
    digest(&SHA256, token.as_bytes()).as_ref().to_vec()
}

/// The issuer's keys, loaded once at start.
pub(crate) struct IssuerSecrets {
    /// Ed25519 signing key for S1 credentials.
    pub signing: Ed25519KeyPair,
    /// Its public key.
    pub public: [u8; 32],
    /// The admin bearer token.
    pub admin_token: Zeroizing<String>,
    /// HMAC key for SMS codes at rest (a 6-digit code's plain hash is trivial to invert).
    pub code_key: hmac::Key,
}

impl IssuerSecrets {
    /// Loads the secrets, creating each on first start.
    pub(crate) fn load_or_create(c: &Conn<'_>, now_ms: i64) -> Result<Self, IssuerError> {
        let tx = c.transaction()?;
        let seed: Option<Vec<u8>> = tx
            .query_row(
                "SELECT seed FROM issuer_keys WHERE key_id = ?1",
                [ISSUER_KEY_ID],
                |r| r.get(0),
            )
            .optional()?;
        let seed = Zeroizing::new(match seed {
            Some(s) => s,
            None => {
                let s = random_bytes(32).map_err(|_| IssuerError::Key("random generator"))?;
                tx.execute(
                    "INSERT INTO issuer_keys (key_id, seed, created_ms) VALUES (?1, ?2, ?3)",
                    params![ISSUER_KEY_ID, s, now_ms],
                )?;
                s
            }
        });
        let signing = Ed25519KeyPair::from_seed_unchecked(&seed)
            .map_err(|_| IssuerError::Key("stored signing key is not an Ed25519 seed"))?;
        let public = tessera_core::ticket::ed25519_public_key(&signing);
        // Wallets and gates refuse a small-order issuer key; never serve one.
        tessera_core::ed25519::check_public_key(&public)
            .map_err(|_| IssuerError::Key("stored signing key gives an unusable public key"))?;
        let admin = meta_or_create(&tx, "admin_token", || new_token().map(String::into_bytes))?;
        let admin_token = Zeroizing::new(
            String::from_utf8(admin.to_vec())
                .map_err(|_| IssuerError::Key("stored admin token is not text"))?,
        );
        let code_key = meta_or_create(&tx, "code_mac_key", || random_bytes(32))?;
        tx.commit()?;
        Ok(Self {
            signing,
            public,
            admin_token,
            code_key: hmac::Key::new(hmac::HMAC_SHA256, &code_key),
        })
    }
}

fn meta_or_create(
    tx: &Conn<'_>,
    key: &str,
    make: impl FnOnce() -> Result<Vec<u8>, ApiError>,
) -> Result<Zeroizing<Vec<u8>>, IssuerError> {
    let v: Option<Vec<u8>> = tx
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?;
    if let Some(v) = v {
        return Ok(Zeroizing::new(v));
    }
    let v = make().map_err(|_| IssuerError::Key("random generator"))?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)",
        params![key, v],
    )?;
    Ok(Zeroizing::new(v))
}
