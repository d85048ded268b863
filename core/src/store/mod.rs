//! SQLite storage: one file, WAL, versioned migrations, every multi-row change in one transaction.
//!
//! The store knows rows, not policy: sealed columns arrive sealed and leave sealed.

mod migrations;
mod row_mac;

use std::path::Path;
use std::sync::{Mutex, MutexGuard, OnceLock};

use rusqlite::{Connection, OptionalExtension, params};

use crate::code::SignedCredential;
use crate::ids::{EventId, TicketId};
use crate::policy::{EventPolicy, Verification};
use crate::sqlite;
use crate::ticket::Ticket;

pub use migrations::SCHEMA_VERSION;
pub use row_mac::{Field, ROW_MAC_LEN, RowKey};

/// The first schema with row tags: a file migrated from below it holds untagged rows.
const FIRST_TAGGED_SCHEMA: u32 = 2;

/// Why the store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(String),
    /// The file was written by a newer Tessera.
    #[error("database schema {found} is newer than this build supports ({supported})")]
    NewerSchema {
        /// Version found.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
    /// A row does not decode or its tag does not verify; names the row, not its content.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A row was read or written before the wallet's key was known.
    #[error("the row key is not set")]
    NoRowKey,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sqlite(e.to_string())
    }
}

impl From<sqlite::OpenError> for StoreError {
    fn from(e: sqlite::OpenError) -> Self {
        match e {
            sqlite::OpenError::Sqlite(e) => e.into(),
            sqlite::OpenError::NewerSchema { found, supported } => {
                Self::NewerSchema { found, supported }
            }
        }
    }
}

/// A ticket row: the public ticket plus its sealed secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTicket {
    /// The public part.
    pub ticket: Ticket,
    /// Per-ticket seed, sealed with (tickets, ticket_seed, id, version).
    pub sealed_ticket_seed: Vec<u8>,
    /// Per-event seed, sealed with (tickets, event_seed, id, version).
    pub sealed_event_seed: Option<Vec<u8>>,
}

/// A sealed release secret of a strict just-in-time event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRelease {
    /// Secret version (the issuer may rotate it).
    pub version: u32,
    /// Sealed with (release_secrets, secret, event id, version).
    pub sealed: Vec<u8>,
}

/// The wallet database. `Connection` is not `Sync`, so it sits behind a mutex.
///
/// Every row carries a tag ([`RowKey`]); reads check it and writes make it, so the store
/// needs the row key ([`Store::set_row_key`]) before anything but the two `meta` rows
/// that lead to the key (`wallet_id`, `wrapped_kek`, read with [`Store::meta_untrusted`]).
pub struct Store {
    conn: Mutex<Connection>,
    key: OnceLock<RowKey>,
    schema_before: u32,
}

/// A row that failed to decode, reported beside the rows that did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedRow {
    /// The row's ticket id, when that much could be read.
    pub ticket: Option<TicketId>,
    /// What failed.
    pub reason: String,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let sqlite::Opened {
            conn,
            found: schema_before,
        } = sqlite::open(path, migrations::SCHEMA, sqlite::Options::default())?;
        Ok(Self {
            conn: Mutex::new(conn),
            key: OnceLock::new(),
            schema_before,
        })
    }

    /// Sets the key rows are tagged with (once; later calls are ignored).
    pub fn set_row_key(&self, key: RowKey) {
        let _ = self.key.set(key);
    }

    fn key(&self) -> Result<&RowKey, StoreError> {
        self.key.get().ok_or(StoreError::NoRowKey)
    }

    /// Whether this open migrated a file written before rows were tagged, with a wallet
    /// in it: its rows carry no tags yet (see [`Store::adopt_untagged`]).
    pub fn holds_untagged_rows(&self) -> Result<bool, StoreError> {
        Ok(self.schema_before > 0
            && self.schema_before < FIRST_TAGGED_SCHEMA
            && self.meta_untrusted("wrapped_kek")?.is_some())
    }

    /// Brings a file from before row tags under the row key, once, right after the
    /// migration that added them. Rows whose content the wallet can prove by other means
    /// are tagged: the wallet id and wrapped key (they unlocked the KEK), the sealed
    /// device seed (its AEAD binds it to the wallet) and the device public key (checked
    /// against that seed), and the pinned issuer keys (as trusted as before this
    /// version). Time rows and verifications are dropped: the next sync brings them
    /// again, signed. Events, tickets and release secrets stay untagged, so they read as
    /// damaged until the next sync rewrites them.
    pub fn adopt_untagged(
        &self,
        adopted_meta: &[&str],
        dropped_meta: &[&str],
    ) -> Result<(), StoreError> {
        let key = self.key()?;
        let mut c = self.conn();
        let tx = c.transaction()?;
        for k in adopted_meta {
            let v: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT value FROM meta WHERE key = ?1 AND mac IS NULL",
                    [k],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(v) = v {
                let mac = key.tag("meta", &[Field::Text(k), Field::Blob(&v)]);
                tx.execute("UPDATE meta SET mac = ?2 WHERE key = ?1", params![k, mac])?;
            }
        }
        for k in dropped_meta {
            tx.execute("DELETE FROM meta WHERE key = ?1 AND mac IS NULL", [k])?;
        }
        tx.execute("DELETE FROM verifications WHERE mac IS NULL", [])?;
        tx.commit()?;
        Ok(())
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions
        // roll back on drop), so a poisoned lock is still safe to use.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads a `meta` value without checking its tag: only for the rows that lead to the
    /// key (wallet id, wrapped KEK), which are checked once the key is known.
    pub fn meta_untrusted(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Reads a `meta` value; a value whose tag does not verify is `Corrupt`.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row_key = self.key()?;
        let row: Option<(Vec<u8>, Option<Vec<u8>>)> = self
            .conn()
            .query_row("SELECT value, mac FROM meta WHERE key = ?1", [key], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        row.map(|(v, mac)| {
            if row_key.verifies("meta", &[Field::Text(key), Field::Blob(&v)], mac.as_deref()) {
                Ok(v)
            } else {
                Err(StoreError::Corrupt(format!("meta {key}")))
            }
        })
        .transpose()
    }

    /// Writes several `meta` values in one transaction.
    pub fn set_meta(&self, entries: &[(&str, &[u8])]) -> Result<(), StoreError> {
        let row_key = self.key()?;
        let mut c = self.conn();
        let tx = c.transaction()?;
        for (k, v) in entries {
            put_meta(&tx, row_key, k, v)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Commits a new wallet's id before its key exists (untagged; tagged with the rest of
    /// the wallet's first rows), so an interrupted creation resumes under the same id.
    pub fn put_pending_wallet_id(&self, key: &str, id: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO meta (key, value, mac) VALUES (?1, ?2, NULL)",
            params![key, id.as_bytes()],
        )?;
        Ok(())
    }

    /// Rows outside `events` and `tickets` whose tag does not verify (`meta`, release
    /// secrets, verifications): the wallet reads them as absent and reports them here.
    pub fn untagged_rows(&self) -> Result<Vec<DamagedRow>, StoreError> {
        let row_key = self.key()?;
        let c = self.conn();
        let mut bad = Vec::new();
        let mut st = c.prepare_cached("SELECT key, value, mac FROM meta ORDER BY key")?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Option<Vec<u8>>>(2)?,
            ))
        })?;
        for row in rows {
            let (k, v, mac) = row?;
            if !row_key.verifies("meta", &[Field::Text(&k), Field::Blob(&v)], mac.as_deref()) {
                bad.push(DamagedRow {
                    ticket: None,
                    reason: "meta row".into(),
                });
            }
        }
        let mut st =
            c.prepare_cached("SELECT event_id, version, sealed, mac FROM release_secrets")?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, Option<Vec<u8>>>(3)?,
            ))
        })?;
        for row in rows {
            let (e, version, sealed, mac) = row?;
            if !row_key.verifies(
                "release_secrets",
                &release_fields(e, version, &sealed),
                mac.as_deref(),
            ) {
                bad.push(DamagedRow {
                    ticket: None,
                    reason: format!("release secret of event {}", e as u64),
                });
            }
        }
        let mut st = c.prepare_cached("SELECT kind, verified_at_ms, mac FROM verifications")?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<Vec<u8>>>(2)?,
            ))
        })?;
        for row in rows {
            let (kind, at, mac) = row?;
            if !row_key.verifies(
                "verifications",
                &[Field::Text(&kind), Field::Int(at)],
                mac.as_deref(),
            ) {
                bad.push(DamagedRow {
                    ticket: None,
                    reason: "verification row".into(),
                });
            }
        }
        Ok(bad)
    }

    /// Inserts or replaces events and tickets together: all land or none do.
    pub fn put(&self, events: &[EventPolicy], tickets: &[StoredTicket]) -> Result<(), StoreError> {
        let row_key = self.key()?;
        let mut c = self.conn();
        let tx = c.transaction()?;
        write_events_and_tickets(&tx, row_key, events, tickets)?;
        tx.commit()?;
        Ok(())
    }

    /// Marks a ticket revoked (or not). A row whose tag does not verify is left as it
    /// is (still damaged) rather than re-tagged with the edits in it.
    pub fn set_revoked(&self, id: &TicketId, revoked: bool) -> Result<bool, StoreError> {
        let row_key = self.key()?;
        let mut c = self.conn();
        let tx = c.transaction()?;
        let raw = tx
            .prepare_cached(&format!("{SELECT_TICKET} WHERE ticket_id = ?1"))?
            .query_row([&id.0[..]], raw_ticket)
            .optional()?;
        let Some(raw) = raw else {
            return Ok(false);
        };
        let mut t = decode_ticket(row_key, raw).map_err(|(_, why)| StoreError::Corrupt(why))?;
        t.ticket.revoked = revoked;
        write_ticket(&tx, row_key, &t)?;
        tx.commit()?;
        Ok(true)
    }

    /// All event policies; an undecodable policy is reported as damaged, not dropped silently.
    pub fn events(&self) -> Result<(Vec<EventPolicy>, Vec<DamagedRow>), StoreError> {
        let row_key = self.key()?;
        let c = self.conn();
        let mut st =
            c.prepare_cached("SELECT event_id, policy, mac FROM events ORDER BY event_id")?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<Vec<u8>>>(2)?,
            ))
        })?;
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        for row in rows {
            let (id, json, mac) = row?;
            match decode_event(row_key, id, &json, mac.as_deref()) {
                Some(p) => ok.push(p),
                None => bad.push(DamagedRow {
                    ticket: None,
                    reason: format!("event {} policy", id as u64),
                }),
            }
        }
        Ok((ok, bad))
    }

    /// One event's policy.
    pub fn event(&self, id: EventId) -> Result<Option<EventPolicy>, StoreError> {
        let row_key = self.key()?;
        let row: Option<(String, Option<Vec<u8>>)> = self
            .conn()
            .query_row(
                "SELECT policy, mac FROM events WHERE event_id = ?1",
                [id.0 as i64],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        row.map(|(j, mac)| {
            decode_event(row_key, id.0 as i64, &j, mac.as_deref())
                .ok_or_else(|| StoreError::Corrupt(format!("event {id} policy")))
        })
        .transpose()
    }

    /// All tickets, decodable ones and damaged ones apart.
    pub fn tickets(&self) -> Result<(Vec<StoredTicket>, Vec<DamagedRow>), StoreError> {
        let row_key = self.key()?;
        let c = self.conn();
        let mut st = c.prepare_cached(&format!("{SELECT_TICKET} ORDER BY event_id, ticket_id"))?;
        let rows = st.query_map([], raw_ticket)?;
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        for row in rows {
            match decode_ticket(row_key, row?) {
                Ok(t) => ok.push(t),
                Err((ticket, reason)) => bad.push(DamagedRow { ticket, reason }),
            }
        }
        Ok((ok, bad))
    }

    /// One ticket.
    pub fn ticket(&self, id: &TicketId) -> Result<Option<StoredTicket>, StoreError> {
        let row_key = self.key()?;
        let c = self.conn();
        let mut st = c.prepare_cached(&format!("{SELECT_TICKET} WHERE ticket_id = ?1"))?;
        let raw = st.query_row([&id.0[..]], raw_ticket).optional()?;
        raw.map(|r| decode_ticket(row_key, r).map_err(|(_, why)| StoreError::Corrupt(why)))
            .transpose()
    }

    /// Number of tickets stored.
    pub fn ticket_count(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM tickets", [], |r| r.get::<_, i64>(0))?
            as u64)
    }

    /// Stores an event's sealed release secret.
    pub fn put_release(&self, event: EventId, release: &StoredRelease) -> Result<(), StoreError> {
        let row_key = self.key()?;
        let mut c = self.conn();
        let tx = c.transaction()?;
        write_release(&tx, row_key, event, release)?;
        tx.commit()?;
        Ok(())
    }

    /// Stores an event's sealed release secret unless the row holds a newer version (a
    /// row whose tag fails is replaced, as a sync would). Checked and written in one
    /// transaction, so a sync writing a newer version meanwhile is never undone. Returns
    /// whether it was written.
    pub fn put_release_unless_older(
        &self,
        event: EventId,
        release: &StoredRelease,
    ) -> Result<bool, StoreError> {
        let row_key = self.key()?;
        let mut c = self.conn();
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let held: Option<(u32, Vec<u8>, Option<Vec<u8>>)> = tx
            .query_row(
                "SELECT version, sealed, mac FROM release_secrets WHERE event_id = ?1",
                [event.0 as i64],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        if let Some((version, sealed, mac)) = held {
            let intact = row_key.verifies(
                "release_secrets",
                &release_fields(event.0 as i64, version, &sealed),
                mac.as_deref(),
            );
            if intact && version > release.version {
                return Ok(false);
            }
        }
        write_release(&tx, row_key, event, release)?;
        tx.commit()?;
        Ok(true)
    }

    /// An event's sealed release secret, if synced; `Corrupt` when its tag does not verify.
    pub fn release(&self, event: EventId) -> Result<Option<StoredRelease>, StoreError> {
        let row_key = self.key()?;
        let row: Option<(u32, Vec<u8>, Option<Vec<u8>>)> = self
            .conn()
            .query_row(
                "SELECT version, sealed, mac FROM release_secrets WHERE event_id = ?1",
                [event.0 as i64],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        row.map(|(version, sealed, mac)| {
            if row_key.verifies(
                "release_secrets",
                &release_fields(event.0 as i64, version, &sealed),
                mac.as_deref(),
            ) {
                Ok(StoredRelease { version, sealed })
            } else {
                Err(StoreError::Corrupt(format!(
                    "release secret of event {event}"
                )))
            }
        })
        .transpose()
    }

    /// Records a completed verification (keeping the time of one already recorded).
    pub fn set_verified(&self, v: Verification, at_ms: i64) -> Result<(), StoreError> {
        let row_key = self.key()?;
        let mut c = self.conn();
        let tx = c.transaction()?;
        put_verified(&tx, row_key, v, at_ms)?;
        tx.commit()?;
        Ok(())
    }

    /// Completed verifications. A row whose tag does not verify does not count.
    pub fn verified(&self) -> Result<Vec<Verification>, StoreError> {
        let row_key = self.key()?;
        let c = self.conn();
        Ok(tagged_verifications(&c, row_key)?
            .into_iter()
            .filter_map(|(kind, _)| match kind.as_str() {
                "email" => Some(Verification::Email),
                "phone" => Some(Verification::Phone),
                // Presence is never persisted; unknown kinds come from a newer build.
                _ => None,
            })
            .collect())
    }

    /// Runs SQLite's full integrity check; true when the file is sound.
    pub fn integrity_check(&self) -> Result<bool, StoreError> {
        let r: String = self
            .conn()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(r == "ok")
    }

    /// Deletes every row (wallet wipe) in one transaction.
    pub fn wipe(&self) -> Result<(), StoreError> {
        self.conn().execute_batch(
            "BEGIN; DELETE FROM tickets; DELETE FROM release_secrets; DELETE FROM events;
             DELETE FROM verifications; DELETE FROM meta; COMMIT;",
        )?;
        Ok(())
    }

    /// Writes everything one sync brings in a single transaction: events and tickets
    /// (inserted or replaced), release secrets, the verification set (the issuer's list
    /// replaces the stored one; kinds already recorded keep their time), moved tickets
    /// (kept, device key zeroed and seeds dropped, see `sync::apply::MOVED_DEVICE_KEY`)
    /// and `meta` rows (the time anchor). All land or none do.
    pub fn apply_sync(
        &self,
        events: &[EventPolicy],
        tickets: &[StoredTicket],
        releases: &[(EventId, StoredRelease)],
        verified: &[(Verification, i64)],
        moved: &[TicketId],
        meta: &[(&str, &[u8])],
    ) -> Result<(), StoreError> {
        let row_key = self.key()?;
        let mut c = self.conn();
        let tx = c.transaction()?;
        write_events_and_tickets(&tx, row_key, events, tickets)?;
        for (event, r) in releases {
            write_release(&tx, row_key, *event, r)?;
        }
        let kinds: Vec<&str> = verified
            .iter()
            .map(|(v, _)| verification_name(*v))
            .collect();
        let mut stored = tx.prepare_cached("SELECT kind FROM verifications")?;
        let old: Vec<String> = stored
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<_, _>>()?;
        for k in old.iter().filter(|k| !kinds.contains(&k.as_str())) {
            tx.execute("DELETE FROM verifications WHERE kind = ?1", [k])?;
        }
        for (v, at_ms) in verified {
            put_verified(&tx, row_key, *v, *at_ms)?;
        }
        for id in moved {
            Self::mark_moved_in(&tx, row_key, id)?;
        }
        for (k, v) in meta {
            put_meta(&tx, row_key, k, v)?;
        }
        drop(stored);
        tx.commit()?;
        Ok(())
    }

    /// Marks tickets as moved to another device in one transaction; returns how many of
    /// them the store held. The rows stay (the app shows them as bound elsewhere).
    pub fn mark_moved(&self, ids: &[TicketId]) -> Result<usize, StoreError> {
        let row_key = self.key()?;
        let mut c = self.conn();
        let tx = c.transaction()?;
        let mut n = 0;
        for id in ids {
            n += Self::mark_moved_in(&tx, row_key, id)?;
        }
        tx.commit()?;
        Ok(n)
    }

    /// A moved ticket keeps its public fields; its device key becomes all zeroes (no key
    /// pair has it, so it reveals as bound elsewhere) and its seeds are dropped: this
    /// device is no longer entitled to them. A row whose tag does not verify is not
    /// re-tagged (that would launder the edit); it stays damaged and draws nothing.
    fn mark_moved_in(
        tx: &rusqlite::Transaction<'_>,
        row_key: &RowKey,
        id: &TicketId,
    ) -> Result<usize, StoreError> {
        let raw = tx
            .prepare_cached(&format!("{SELECT_TICKET} WHERE ticket_id = ?1"))?
            .query_row([&id.0[..]], raw_ticket)
            .optional()?;
        let Some(raw) = raw else {
            return Ok(0);
        };
        match decode_ticket(row_key, raw) {
            Ok(mut t) => {
                t.ticket.device_public_key = [0; 32];
                t.sealed_ticket_seed = Vec::new();
                t.sealed_event_seed = None;
                write_ticket(tx, row_key, &t)?;
            }
            Err(_) => {
                tx.execute(
                    "UPDATE tickets SET device_public_key = zeroblob(32), sealed_ticket_seed = X'',
                        sealed_event_seed = NULL WHERE ticket_id = ?1",
                    [&id.0[..]],
                )?;
            }
        }
        Ok(1)
    }
}

fn put_meta(
    tx: &rusqlite::Transaction<'_>,
    row_key: &RowKey,
    k: &str,
    v: &[u8],
) -> Result<(), StoreError> {
    let mac = row_key.tag("meta", &[Field::Text(k), Field::Blob(v)]);
    tx.execute(
        "INSERT OR REPLACE INTO meta (key, value, mac) VALUES (?1, ?2, ?3)",
        params![k, v, mac],
    )?;
    Ok(())
}

fn release_fields(event: i64, version: u32, sealed: &[u8]) -> [Field<'_>; 3] {
    [
        Field::Int(event),
        Field::Int(i64::from(version)),
        Field::Blob(sealed),
    ]
}

fn write_release(
    tx: &rusqlite::Transaction<'_>,
    row_key: &RowKey,
    event: EventId,
    r: &StoredRelease,
) -> Result<(), StoreError> {
    let id = event.0 as i64;
    let mac = row_key.tag("release_secrets", &release_fields(id, r.version, &r.sealed));
    tx.prepare_cached(
        "INSERT OR REPLACE INTO release_secrets (event_id, version, sealed, mac) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![id, r.version, r.sealed, mac])?;
    Ok(())
}

/// The verification rows whose tag verifies: (kind, time).
fn tagged_verifications(
    c: &Connection,
    row_key: &RowKey,
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut st =
        c.prepare_cached("SELECT kind, verified_at_ms, mac FROM verifications ORDER BY kind")?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Option<Vec<u8>>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, at, mac) = row?;
        if row_key.verifies(
            "verifications",
            &[Field::Text(&kind), Field::Int(at)],
            mac.as_deref(),
        ) {
            out.push((kind, at));
        }
    }
    Ok(out)
}

/// Records `v` at `at_ms` unless a tagged row already holds it (its first time stays);
/// an untagged row for the kind is replaced.
fn put_verified(
    tx: &rusqlite::Transaction<'_>,
    row_key: &RowKey,
    v: Verification,
    at_ms: i64,
) -> Result<(), StoreError> {
    let kind = verification_name(v);
    if tagged_verifications(tx, row_key)?
        .iter()
        .any(|(k, _)| k == kind)
    {
        return Ok(());
    }
    let mac = row_key.tag("verifications", &[Field::Text(kind), Field::Int(at_ms)]);
    tx.execute(
        "INSERT OR REPLACE INTO verifications (kind, verified_at_ms, mac) VALUES (?1, ?2, ?3)",
        params![kind, at_ms, mac],
    )?;
    Ok(())
}

fn decode_event(row_key: &RowKey, id: i64, json: &str, mac: Option<&[u8]>) -> Option<EventPolicy> {
    if !row_key.verifies("events", &[Field::Int(id), Field::Text(json)], mac) {
        return None;
    }
    serde_json::from_str::<EventPolicy>(json)
        .ok()
        .filter(|p| p.event_id.0 as i64 == id && p.validate().is_ok())
}

/// Writes events and ticket rows inside the caller's transaction.
fn write_events_and_tickets(
    tx: &rusqlite::Transaction<'_>,
    row_key: &RowKey,
    events: &[EventPolicy],
    tickets: &[StoredTicket],
) -> Result<(), StoreError> {
    let mut put_event = tx.prepare_cached(
        "INSERT INTO events (event_id, policy, mac) VALUES (?1, ?2, ?3)
         ON CONFLICT (event_id) DO UPDATE SET policy = excluded.policy, mac = excluded.mac",
    )?;
    for e in events {
        let json = serde_json::to_string(e).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let id = e.event_id.0 as i64;
        let mac = row_key.tag("events", &[Field::Int(id), Field::Text(&json)]);
        put_event.execute(params![id, json, mac])?;
    }
    for (i, t) in tickets.iter().enumerate() {
        write_ticket(tx, row_key, t)?;
        #[cfg(feature = "crash-probe")]
        crash_probe::ticket_row_written(i + 1);
        #[cfg(not(feature = "crash-probe"))]
        let _ = i;
    }
    Ok(())
}

/// Crash-test probe (feature `crash-probe`, enabled only by the `tessera-tests` crate): a
/// process may register a function that is called inside the write transaction of a sync
/// or an install, after each ticket row is written and before the commit, with the number
/// of ticket rows written so far; without one it does nothing. The crash test's child
/// process uses it to tell its parent that it is inside the transaction, so that the
/// parent's SIGKILL lands there.
#[cfg(feature = "crash-probe")]
pub mod crash_probe {
    use std::sync::OnceLock;

    static PROBE: OnceLock<fn(usize)> = OnceLock::new();

    /// Registers the probe (once per process; later calls are ignored).
    pub fn set(probe: fn(usize)) {
        let _ = PROBE.set(probe);
    }

    pub(super) fn ticket_row_written(n: usize) {
        if let Some(probe) = PROBE.get() {
            probe(n);
        }
    }
}

/// Inserts or replaces one ticket row with its tag.
fn write_ticket(
    tx: &rusqlite::Transaction<'_>,
    row_key: &RowKey,
    t: &StoredTicket,
) -> Result<(), StoreError> {
    let k = &t.ticket;
    let credential = k.credential.as_ref().map(|c| c.to_bytes());
    let raw: RawTicket = (
        k.id.0.to_vec(),
        k.event_id.0 as i64,
        k.seat.clone(),
        k.holder_name.clone(),
        k.device_public_key.to_vec(),
        credential,
        k.revoked,
        k.version,
        t.sealed_ticket_seed.clone(),
        t.sealed_event_seed.clone(),
        None,
    );
    let mac = row_key.tag("tickets", &ticket_fields(&raw));
    tx.prepare_cached(
        "INSERT OR REPLACE INTO tickets (ticket_id, event_id, seat, holder_name, device_public_key,
            credential, revoked, version, sealed_ticket_seed, sealed_event_seed, mac)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        raw.0, raw.1, raw.2, raw.3, raw.4, raw.5, raw.6, raw.7, raw.8, raw.9, mac
    ])?;
    Ok(())
}

/// The tagged columns of a ticket row, in schema order.
fn ticket_fields(r: &RawTicket) -> [Field<'_>; 10] {
    [
        Field::Blob(&r.0),
        Field::Int(r.1),
        Field::Text(&r.2),
        r.3.as_deref().into(),
        Field::Blob(&r.4),
        r.5.as_deref().into(),
        Field::Int(i64::from(r.6)),
        Field::Int(i64::from(r.7)),
        Field::Blob(&r.8),
        r.9.as_deref().into(),
    ]
}

fn verification_name(v: Verification) -> &'static str {
    match v {
        Verification::Email => "email",
        Verification::Phone => "phone",
        Verification::Presence => "presence",
    }
}

const SELECT_TICKET: &str =
    "SELECT ticket_id, event_id, seat, holder_name, device_public_key, credential,
    revoked, version, sealed_ticket_seed, sealed_event_seed, mac FROM tickets";

type RawTicket = (
    Vec<u8>,
    i64,
    String,
    Option<String>,
    Vec<u8>,
    Option<Vec<u8>>,
    bool,
    u32,
    Vec<u8>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
);

fn raw_ticket(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawTicket> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
    ))
}

fn decode_ticket(
    row_key: &RowKey,
    raw: RawTicket,
) -> Result<StoredTicket, (Option<TicketId>, String)> {
    let tagged = row_key.verifies("tickets", &ticket_fields(&raw), raw.10.as_deref());
    let (id, event, seat, holder_name, pk, cred, revoked, version, seed, event_seed, _) = raw;
    let id: [u8; 16] = id.try_into().map_err(|_| (None, "ticket id".to_owned()))?;
    let id = TicketId(id);
    let bad = |what: &str| (Some(id), format!("ticket {id} {what}"));
    if !tagged {
        return Err(bad("row tag"));
    }
    let device_public_key: [u8; 32] = pk.try_into().map_err(|_| bad("device key"))?;
    let credential = cred
        .map(|c| SignedCredential::from_bytes(&c))
        .transpose()
        .map_err(|_| bad("credential"))?;
    if credential
        .as_ref()
        .is_some_and(|c| c.credential.ticket != id)
    {
        return Err(bad("credential"));
    }
    let ticket = Ticket {
        id,
        event_id: EventId(event as u64),
        seat,
        holder_name,
        device_public_key,
        credential,
        revoked,
        version,
    };
    Ok(StoredTicket {
        ticket,
        sealed_ticket_seed: seed,
        sealed_event_seed: event_seed,
    })
}
