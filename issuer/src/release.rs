//! Release objects (docs/PROTOCOL.md §14, docs/API.md "Release objects"): a strict
//! just-in-time event's release secret, signed, published from the moment its window
//! opens at `GET /v1/events/{id}/release`, a static answer any cache or CDN can serve, so
//! the doors-open surge costs the issuer almost nothing.
//!
//! The path is cheap by construction: each event's answer is signed once per (release
//! version, opening time) and kept in memory ([`ReleaseCache`]); a request reads the clock
//! and a map under a mutex and clones two `Arc`s. The database is read at most once a
//! second per event (one request refreshes while the others wait for it), through
//! [`read`], the only database access of this module. "Not yet" is never cached past the
//! opening: an entry for an event whose window has not opened expires at the opening.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::db::Conn;
use ring::digest::{SHA256, digest};
use tessera_core::EventId;
use tessera_core::code::release_object::ReleaseObject;
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::secrets::ISSUER_KEY_ID;
use crate::state::AppState;
use crate::{audit, events};

/// `Cache-Control: public, max-age=…` of a published release, seconds: short, so that a
/// rotated release version (a new `release_version`) reaches wallets and caches within
/// half a minute, and long enough that a cache in front of the issuer answers the surge.
pub(crate) const MAX_AGE_SECS: u32 = 30;
/// How long the issuer trusts its memory of an event before reading the database again.
const REVALIDATE_MS: i64 = 1000;
/// Most events kept in memory; beyond it the map starts over, so ids asked for at random
/// cannot grow it without bound.
const MAX_ENTRIES: usize = 4096;

/// What an event's row says about its release: the one read of [`read`].
pub(crate) struct ReleaseRow {
    /// Whether the event is strict just-in-time (only those have a release to publish).
    pub strict_jit: bool,
    /// When its window opens, Unix seconds.
    pub opens_at: i64,
    /// The release secret's version.
    pub version: u32,
    /// The release secret.
    pub secret: Zeroizing<Vec<u8>>,
}

/// The release fields of event `id`, or `None` for an event the issuer does not have (ids
/// above `i64::MAX` included: never stored). With `audit` (role, now) the read of a strict
/// event is recorded as `release.export` (an admin taking the object, possibly before the
/// window), without the secret. The only database access of release objects.
pub(crate) fn read(
    c: &Conn<'_>,
    id: EventId,
    audit: Option<(&str, i64)>,
) -> Result<Option<ReleaseRow>, ApiError> {
    if i64::try_from(id.0).is_err() {
        return Ok(None);
    }
    let Some(ev) = events::load(c, id)? else {
        return Ok(None);
    };
    let p = &ev.policy;
    if let Some((role, now_ms)) = audit.filter(|_| p.strict_jit) {
        let detail = format!(
            "release version {}, window opens at {}{}",
            ev.release_version,
            p.reveal_opens_at,
            if now_ms < p.reveal_opens_at.saturating_mul(1000) {
                " (before the window)"
            } else {
                ""
            }
        );
        audit::record(c, now_ms, role, "release.export", &id.to_string(), &detail)?;
    }
    Ok(Some(ReleaseRow {
        strict_jit: p.strict_jit,
        opens_at: p.reveal_opens_at,
        version: ev.release_version,
        secret: ev.release_secret,
    }))
}

/// A published release object: its text and its entity tag.
#[derive(Clone)]
pub(crate) struct Published {
    /// The release object's text (`R1:` and digits).
    pub text: Arc<str>,
    /// `"r<version>-<16 hex of SHA-256(text)>"`, quotes included.
    pub etag: Arc<str>,
}

/// An object signed for one (version, opening, secret) of an event.
struct Signed {
    version: u32,
    opens_at: i64,
    secret: Zeroizing<Vec<u8>>,
    published: Published,
}

/// What the issuer remembers of one event.
struct Entry {
    /// Until when (Unix ms) the answer below stands without reading the database.
    fresh_until_ms: i64,
    /// The answer: published, or `None` for "not yet" (also: unknown, not strict).
    answer: Option<Published>,
    /// The last object signed for the event, reused while its row is unchanged.
    signed: Option<Signed>,
}

/// Signed release objects by event, and per event the lock that lets one request at a
/// time refresh it from the database (per event, so that requests for ids nobody holds,
/// each a database read, never queue the real event's requests behind them).
#[derive(Default)]
pub(crate) struct ReleaseCache {
    entries: Mutex<HashMap<EventId, Entry>>,
    refreshing: Mutex<HashMap<EventId, Arc<tokio::sync::Mutex<()>>>>,
}

impl ReleaseCache {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<EventId, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The lock that refreshes `id`.
    fn refresh_lock(&self, id: EventId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .refreshing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(locks.entry(id).or_default())
    }

    /// Forgets `id`'s lock once nobody else holds or waits for it (the map would grow
    /// with every id ever asked for otherwise).
    fn release_lock(&self, id: EventId, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut locks = self
            .refreshing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Ours and the map's: nobody else's.
        if Arc::strong_count(&lock) <= 2 {
            locks.remove(&id);
        }
    }

    /// The published object remembered for `id`, fresh or not.
    fn published(&self, id: EventId) -> Option<Published> {
        self.entries().get(&id).and_then(|e| e.answer.clone())
    }

    /// The remembered answer for `id`, if still fresh at `now_ms`.
    fn fresh(&self, id: EventId, now_ms: i64) -> Option<Option<Published>> {
        self.entries()
            .get(&id)
            .filter(|e| now_ms < e.fresh_until_ms)
            .map(|e| e.answer.clone())
    }
}

/// The public answer for event `id` now: the published object from the window's opening
/// on, `None` before it and for an event that is unknown or not strict just-in-time.
pub(crate) async fn public(st: &Arc<AppState>, id: EventId) -> Result<Option<Published>, ApiError> {
    let cache = &st.releases;
    if let Some(answer) = cache.fresh(id, st.now_ms()) {
        return Ok(answer);
    }
    // One refresh per event at a time. A published object stays valid, so while one
    // request refreshes it the others get the one they had; the rest wait, then find the
    // entry fresh.
    let lock = cache.refresh_lock(id);
    let answer = match lock.try_lock() {
        Ok(_guard) => refresh(st, id).await,
        Err(_) => match cache.published(id) {
            Some(stale) => Ok(Some(stale)),
            None => {
                let _guard = lock.lock().await;
                refresh(st, id).await
            }
        },
    };
    cache.release_lock(id, lock);
    answer
}

/// Reads event `id`'s row and remembers the answer it gives now (the caller holds the
/// event's refresh lock).
async fn refresh(st: &Arc<AppState>, id: EventId) -> Result<Option<Published>, ApiError> {
    let cache = &st.releases;
    let now_ms = st.now_ms();
    if let Some(answer) = cache.fresh(id, now_ms) {
        return Ok(answer);
    }
    let row = st.db.call(move |c| read(c, id, None)).await?;
    let reusable = {
        let entries = cache.entries();
        entries
            .get(&id)
            .and_then(|e| e.signed.as_ref())
            .filter(|s| {
                row.as_ref().is_some_and(|r| {
                    r.version == s.version && r.opens_at == s.opens_at && r.secret == s.secret
                })
            })
            .map(|s| s.published.clone())
    };
    let open = row
        .as_ref()
        .filter(|r| r.strict_jit && now_ms >= r.opens_at.saturating_mul(1000));
    let (answer, signed) = match (open, reusable) {
        (Some(_), Some(p)) => (Some(p), None),
        (Some(r), None) => {
            let s = sign(st, id, r)?;
            (Some(s.published.clone()), Some(s))
        }
        (None, _) => (None, None),
    };
    // "Not yet" stands until the opening at the latest, never past it.
    let mut fresh_until_ms = now_ms.saturating_add(REVALIDATE_MS);
    if let Some(r) = row.as_ref().filter(|r| r.strict_jit && answer.is_none()) {
        fresh_until_ms = fresh_until_ms.min(r.opens_at.saturating_mul(1000));
    }
    let mut entries = cache.entries();
    if entries.len() >= MAX_ENTRIES && !entries.contains_key(&id) {
        // Ids nobody holds (asked for at random) go first: a published object stays.
        entries.retain(|_, e| e.signed.is_some());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
    }
    let entry = entries.entry(id).or_insert(Entry {
        fresh_until_ms,
        answer: None,
        signed: None,
    });
    entry.fresh_until_ms = fresh_until_ms;
    entry.answer = answer.clone();
    if signed.is_some() {
        entry.signed = signed;
    }
    Ok(answer)
}

/// Signs event `id`'s release object with the issuer key.
fn sign(st: &AppState, id: EventId, r: &ReleaseRow) -> Result<Signed, ApiError> {
    let text = signed_text(st, id, r)?;
    let hash = digest(&SHA256, text.as_bytes());
    let etag = format!("\"r{}-{}\"", r.version, hex::encode(&hash.as_ref()[..8]));
    Ok(Signed {
        version: r.version,
        opens_at: r.opens_at,
        secret: r.secret.clone(),
        published: Published {
            text: Arc::from(text),
            etag: Arc::from(etag),
        },
    })
}

/// The release object's text for event `id` as its row stands (the admin's export signs
/// afresh each time; it is rare).
pub(crate) fn signed_text(st: &AppState, id: EventId, r: &ReleaseRow) -> Result<String, ApiError> {
    ReleaseObject::sign(
        &st.secrets.signing,
        ISSUER_KEY_ID,
        id,
        r.version,
        r.opens_at,
        &r.secret,
    )
    .map(|o| o.encode())
    .map_err(|_| ApiError::internal())
}

/// Whether an `If-None-Match` header value names `etag` (weak comparison, RFC 9110
/// §13.1.2: a `W/` prefix is ignored; `*` matches any).
pub(crate) fn matches_etag(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_compare_weakly_and_in_lists() {
        let e = "\"r1-00112233aabbccdd\"";
        assert!(matches_etag(e, e));
        assert!(matches_etag(&format!("W/{e}"), e));
        assert!(matches_etag(&format!("\"x\", {e}"), e));
        assert!(matches_etag("*", e));
        assert!(!matches_etag("\"r2-00112233aabbccdd\"", e));
        assert!(!matches_etag("", e));
    }
}
