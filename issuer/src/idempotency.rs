//! `Idempotency-Key` on the calls that create things (orders, tokens, transfers).
//!
//! A client that lost the answer (connection dropped, timeout, process killed) cannot
//! know whether its request was stored; with a key it may simply send the request again.
//! The first answer is kept with the key, **in the same transaction** as what the call
//! created, so either both are stored or neither is. The same key with the same request
//! (method, path, JSON body) gets that first answer again; the same key with another
//! request gets 409 `conflict`. Refused requests keep nothing: their key can be retried.
//!
//! Keys belong to a caller (the bearer token, or the device key of a signed request), so
//! two callers never see each other's answers. The database keeps SHA-256 digests of
//! caller and key, never the key itself, and seals the kept answer (AES-256-GCM) under a
//! key derived from the caller's `Idempotency-Key`: a copy of the database does not hold
//! the tokens minted in the last day in the clear. Keys are kept [`KEY_TTL_MS`] (24 h).

use crate::db::{Conn, OptionalExtension, params};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::digest::{Context, SHA256};
use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::secrets::{random_bytes, token_hash};
use crate::state::Shared;

/// The request header.
pub(crate) const HEADER: &str = "idempotency-key";
/// How long a key and its first answer are kept: 24 hours, far beyond any client's
/// retries (the wallet's give up after a minute), short enough to keep the table small.
pub(crate) const KEY_TTL_MS: i64 = 24 * 60 * 60 * 1000;
/// Longest key accepted (UUIDs and 64-hex digests fit with room to spare).
const MAX_KEY_LEN: usize = 255;

/// The `Idempotency-Key` of a request, if it sent one (checked: 1 to 255 visible ASCII
/// characters, one header).
pub(crate) struct IdempotencyKey {
    key: Option<Zeroizing<String>>,
    /// The digest of the bearer token, for staff calls (the `Staff` extractor checks the
    /// token itself).
    bearer: Option<Vec<u8>>,
}

impl FromRequestParts<Shared> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &Shared) -> Result<Self, ApiError> {
        let bad = || {
            ApiError::bad_request(
                "Idempotency-Key must be one header of 1 to 255 visible ASCII characters",
            )
        };
        let mut values = parts.headers.get_all(HEADER).iter();
        let key = match (values.next(), values.next()) {
            (None, _) => None,
            (Some(v), None) => {
                let k = v.to_str().map_err(|_| bad())?;
                if k.is_empty() || k.len() > MAX_KEY_LEN || !k.bytes().all(|b| b.is_ascii_graphic())
                {
                    return Err(bad());
                }
                Some(Zeroizing::new(k.to_owned()))
            }
            (Some(_), Some(_)) => return Err(bad()),
        };
        let bearer = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| token_hash(t.trim()));
        Ok(Self { key, bearer })
    }
}

/// A request that carries a key: where its first answer is kept and how it is sealed.
pub(crate) struct Claim {
    /// SHA-256 over the caller and the key: the row's primary key.
    id: [u8; 32],
    /// SHA-256 over method, path and body: "the same request".
    request: [u8; 32],
    /// The answer's sealing key, derived from the key (which is not stored).
    seal: Zeroizing<[u8; 32]>,
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut c = Context::new(&SHA256);
    for p in parts {
        // Length-prefixed, so no two different part lists hash alike.
        c.update(&(p.len() as u64).to_be_bytes());
        c.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(c.finish().as_ref());
    out
}

impl IdempotencyKey {
    /// The claim of a staff call to `path` with `body`; `None` without a key.
    pub(crate) fn staff<B: Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<Option<Claim>, ApiError> {
        let scope = self.bearer.as_deref().ok_or_else(ApiError::internal)?;
        self.claim(b"staff", scope, path, body)
    }

    /// The claim of a device-signed call to `path` with `body`; `None` without a key.
    pub(crate) fn device<B: Serialize>(
        &self,
        device: &[u8; 32],
        path: &str,
        body: &B,
    ) -> Result<Option<Claim>, ApiError> {
        self.claim(b"device", device, path, body)
    }

    fn claim<B: Serialize>(
        &self,
        kind: &[u8],
        scope: &[u8],
        path: &str,
        body: &B,
    ) -> Result<Option<Claim>, ApiError> {
        let Some(key) = &self.key else {
            return Ok(None);
        };
        // The parsed body, written again: the same JSON in other spacing or key order is
        // the same request.
        let body = serde_json::to_vec(body).map_err(|_| ApiError::internal())?;
        let key = key.as_bytes();
        Ok(Some(Claim {
            id: sha256(&[b"tessera/idempotency/v1/id", kind, scope, key]),
            request: sha256(&[
                b"tessera/idempotency/v1/request",
                b"POST",
                path.as_bytes(),
                &body,
            ]),
            seal: Zeroizing::new(sha256(&[b"tessera/idempotency/v1/seal", kind, scope, key])),
        }))
    }
}

fn cipher(claim: &Claim) -> Result<LessSafeKey, ApiError> {
    UnboundKey::new(&AES_256_GCM, &claim.seal[..])
        .map(LessSafeKey::new)
        .map_err(|_| ApiError::internal())
}

/// The first answer to this claim's key, if one is kept: `Ok(Some)` when the request is
/// the same, 409 `conflict` when the key came with another request. `Ok(None)` without a
/// claim or when the key is new (or older than [`KEY_TTL_MS`]).
pub(crate) fn replay<T: DeserializeOwned>(
    c: &Conn<'_>,
    claim: Option<&Claim>,
    now_ms: i64,
) -> Result<Option<T>, ApiError> {
    let Some(claim) = claim else {
        return Ok(None);
    };
    let row: Option<(Vec<u8>, Vec<u8>)> = c
        .query_row(
            "SELECT request_hash, response FROM idempotency_keys
             WHERE key_hash = ?1 AND created_ms >= ?2",
            params![&claim.id[..], now_ms.saturating_sub(KEY_TTL_MS)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((request, sealed)) = row else {
        return Ok(None);
    };
    if request != claim.request {
        return Err(ApiError::conflict(
            "this Idempotency-Key was already used with another request",
        ));
    }
    if sealed.len() < NONCE_LEN {
        return Err(ApiError::internal());
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| ApiError::internal())?;
    let mut body = Zeroizing::new(body.to_vec());
    let plain = cipher(claim)?
        .open_in_place(nonce, Aad::from(&claim.id), &mut body)
        .map_err(|_| ApiError::internal())?;
    serde_json::from_slice(plain)
        .map(Some)
        .map_err(|_| ApiError::internal())
}

/// Keeps `answer` as the first answer to this claim's key, inside the transaction that
/// stores what the call created (and forgets keys older than [`KEY_TTL_MS`]). Without a
/// claim it does nothing.
pub(crate) fn remember<T: Serialize>(
    tx: &Conn<'_>,
    claim: Option<&Claim>,
    answer: &T,
    now_ms: i64,
) -> Result<(), ApiError> {
    let Some(claim) = claim else {
        return Ok(());
    };
    tx.execute(
        "DELETE FROM idempotency_keys WHERE created_ms < ?1",
        [now_ms.saturating_sub(KEY_TTL_MS)],
    )?;
    let mut body = Zeroizing::new(serde_json::to_vec(answer).map_err(|_| ApiError::internal())?);
    let nonce = random_bytes(NONCE_LEN)?;
    let tag = cipher(claim)?
        .seal_in_place_separate_tag(
            Nonce::try_assume_unique_for_key(&nonce).map_err(|_| ApiError::internal())?,
            Aad::from(&claim.id),
            &mut body[..],
        )
        .map_err(|_| ApiError::internal())?;
    let mut sealed = nonce;
    sealed.extend_from_slice(&body);
    sealed.extend_from_slice(tag.as_ref());
    tx.execute(
        "INSERT INTO idempotency_keys (key_hash, request_hash, response, created_ms)
         VALUES (?1, ?2, ?3, ?4)",
        params![&claim.id[..], &claim.request[..], sealed, now_ms],
    )?;
    Ok(())
}
