//! Events: their policy (tessera-core's `EventPolicy`) and the per-event secrets the
//! issuer keeps for them (T1 event seed, strict-JIT release secret).

use crate::db::{Conn, OptionalExtension, params};
use tessera_core::{EventId, EventPolicy};
use zeroize::Zeroizing;

use crate::audit;
use crate::error::ApiError;
use crate::secrets::random_bytes;

/// Bytes of every TOTP seed and release secret the issuer makes (≥ RFC 4226's 128 bits).
pub(crate) const SECRET_LEN: usize = 32;
/// Longest event name accepted.
const MAX_NAME_LEN: usize = 200;

/// An event as stored.
pub(crate) struct EventRow {
    /// Its policy.
    pub policy: EventPolicy,
    /// Per-event TOTP seed (T1 codes carry an event TOTP too).
    pub event_seed: Zeroizing<Vec<u8>>,
    /// Strict-JIT release secret, handed out only once the window opens.
    pub release_secret: Zeroizing<Vec<u8>>,
    /// Version of the release secret (sealed data is bound to it).
    pub release_version: u32,
}

/// An event id as SQLite stores it; ids above `i64::MAX` are refused rather than wrapped.
pub(crate) fn sql_id(id: EventId) -> Result<i64, ApiError> {
    i64::try_from(id.0).map_err(|_| ApiError::bad_request("event id out of range"))
}

/// Creates or replaces an event's policy; its secrets survive a replace. Audited.
pub(crate) fn put(
    c: &Conn<'_>,
    policy: &EventPolicy,
    role: &str,
    now_ms: i64,
) -> Result<(), ApiError> {
    policy
        .validate()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    if policy.name.len() > MAX_NAME_LEN {
        return Err(ApiError::bad_request("event name longer than 200 bytes"));
    }
    let id = sql_id(policy.event_id)?;
    let json = serde_json::to_string(policy).map_err(|_| ApiError::internal())?;
    let (event_seed, release) = (random_bytes(SECRET_LEN)?, random_bytes(SECRET_LEN)?);
    let tx = c.transaction()?;
    let existed = tx
        .query_row("SELECT 1 FROM events WHERE event_id = ?1", [id], |_| Ok(()))
        .optional()?
        .is_some();
    if existed {
        tx.execute(
            "UPDATE events SET policy = ?2, updated_ms = ?3 WHERE event_id = ?1",
            params![id, json, now_ms],
        )?;
    } else {
        tx.execute(
            "INSERT INTO events (event_id, policy, event_seed, release_secret, release_version, updated_ms)
             VALUES (?1, ?2, ?3, ?4, 1, ?5)",
            params![id, json, event_seed, release, now_ms],
        )?;
    }
    audit::record(
        &tx,
        now_ms,
        role,
        if existed {
            "event.replace"
        } else {
            "event.create"
        },
        &policy.event_id.to_string(),
        &policy.name,
    )?;
    tx.commit()?;
    Ok(())
}

/// An event, if it exists.
pub(crate) fn load(c: &Conn<'_>, id: EventId) -> Result<Option<EventRow>, ApiError> {
    let row: Option<(String, Vec<u8>, Vec<u8>, u32)> = c
        .query_row(
            "SELECT policy, event_seed, release_secret, release_version FROM events WHERE event_id = ?1",
            [sql_id(id)?],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((json, event_seed, release_secret, release_version)) = row else {
        return Ok(None);
    };
    let policy = serde_json::from_str(&json).map_err(|_| ApiError::internal())?;
    Ok(Some(EventRow {
        policy,
        event_seed: Zeroizing::new(event_seed),
        release_secret: Zeroizing::new(release_secret),
        release_version,
    }))
}

/// An event, or `not_found`.
pub(crate) fn require(c: &Conn<'_>, id: EventId) -> Result<EventRow, ApiError> {
    load(c, id)?.ok_or_else(|| ApiError::not_found("no such event"))
}
