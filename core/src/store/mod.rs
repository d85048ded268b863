//! SQLite storage: one file, WAL, versioned migrations, every multi-row change in one transaction.
//!
//! The store knows rows, not policy: sealed columns arrive sealed and leave sealed.

mod migrations;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};

use crate::code::SignedCredential;
use crate::ids::{EventId, TicketId};
use crate::policy::{EventPolicy, Verification};
use crate::ticket::Ticket;

pub use migrations::SCHEMA_VERSION;

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
    /// A row does not decode; names the row, not its content.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sqlite(e.to_string())
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
pub struct Store {
    conn: Mutex<Connection>,
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
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL is durable across application crashes in WAL mode; only an OS crash may
        // lose the last commit, never corrupt the file.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrations::migrate(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions
        // roll back on drop), so a poisoned lock is still safe to use.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads a `meta` value.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Writes several `meta` values in one transaction.
    pub fn set_meta(&self, entries: &[(&str, &[u8])]) -> Result<(), StoreError> {
        let mut c = self.conn();
        let tx = c.transaction()?;
        for (k, v) in entries {
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                params![k, v],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Inserts or replaces events and tickets together: all land or none do.
    pub fn put(&self, events: &[EventPolicy], tickets: &[StoredTicket]) -> Result<(), StoreError> {
        let mut c = self.conn();
        let tx = c.transaction()?;
        write_events_and_tickets(&tx, events, tickets)?;
        tx.commit()?;
        Ok(())
    }

    /// Marks a ticket revoked (or not).
    pub fn set_revoked(&self, id: &TicketId, revoked: bool) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "UPDATE tickets SET revoked = ?2 WHERE ticket_id = ?1",
            params![&id.0[..], revoked],
        )?;
        Ok(n == 1)
    }

    /// All event policies; an undecodable policy is reported as damaged, not dropped silently.
    pub fn events(&self) -> Result<(Vec<EventPolicy>, Vec<DamagedRow>), StoreError> {
        let c = self.conn();
        let mut st = c.prepare_cached("SELECT event_id, policy FROM events ORDER BY event_id")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        for row in rows {
            let (id, json) = row?;
            match serde_json::from_str::<EventPolicy>(&json) {
                Ok(p) if p.event_id.0 as i64 == id && p.validate().is_ok() => ok.push(p),
                _ => bad.push(DamagedRow {
                    ticket: None,
                    reason: format!("event {id} policy"),
                }),
            }
        }
        Ok((ok, bad))
    }

    /// One event's policy.
    pub fn event(&self, id: EventId) -> Result<Option<EventPolicy>, StoreError> {
        let json: Option<String> = self
            .conn()
            .query_row(
                "SELECT policy FROM events WHERE event_id = ?1",
                [id.0 as i64],
                |r| r.get(0),
            )
            .optional()?;
        json.map(|j| {
            serde_json::from_str::<EventPolicy>(&j)
                .ok()
                .filter(|p| p.event_id == id && p.validate().is_ok())
                .ok_or_else(|| StoreError::Corrupt(format!("event {id} policy")))
        })
        .transpose()
    }

    /// All tickets, decodable ones and damaged ones apart.
    pub fn tickets(&self) -> Result<(Vec<StoredTicket>, Vec<DamagedRow>), StoreError> {
        let c = self.conn();
        let mut st = c.prepare_cached(&format!("{SELECT_TICKET} ORDER BY event_id, ticket_id"))?;
        let rows = st.query_map([], raw_ticket)?;
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        for row in rows {
            match decode_ticket(row?) {
                Ok(t) => ok.push(t),
                Err((ticket, reason)) => bad.push(DamagedRow { ticket, reason }),
            }
        }
        Ok((ok, bad))
    }

    /// One ticket.
    pub fn ticket(&self, id: &TicketId) -> Result<Option<StoredTicket>, StoreError> {
        let c = self.conn();
        let mut st = c.prepare_cached(&format!("{SELECT_TICKET} WHERE ticket_id = ?1"))?;
        let raw = st.query_row([&id.0[..]], raw_ticket).optional()?;
        raw.map(|r| decode_ticket(r).map_err(|(_, why)| StoreError::Corrupt(why)))
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
        self.conn().execute(
            "INSERT OR REPLACE INTO release_secrets (event_id, version, sealed) VALUES (?1, ?2, ?3)",
            params![event.0 as i64, release.version, release.sealed],
        )?;
        Ok(())
    }

    /// An event's sealed release secret, if synced.
    pub fn release(&self, event: EventId) -> Result<Option<StoredRelease>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT version, sealed FROM release_secrets WHERE event_id = ?1",
                [event.0 as i64],
                |r| {
                    Ok(StoredRelease {
                        version: r.get(0)?,
                        sealed: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    /// Records a completed verification.
    pub fn set_verified(&self, v: Verification, at_ms: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT OR REPLACE INTO verifications (kind, verified_at_ms) VALUES (?1, ?2)",
            params![verification_name(v), at_ms],
        )?;
        Ok(())
    }

    /// Completed verifications.
    pub fn verified(&self) -> Result<Vec<Verification>, StoreError> {
        let c = self.conn();
        let mut st = c.prepare_cached("SELECT kind FROM verifications ORDER BY kind")?;
        let kinds = st.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for k in kinds {
            match k?.as_str() {
                "email" => out.push(Verification::Email),
                "phone" => out.push(Verification::Phone),
                // Presence is never persisted; unknown kinds come from a newer build.
                _ => {}
            }
        }
        Ok(out)
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
        let mut c = self.conn();
        let tx = c.transaction()?;
        write_events_and_tickets(&tx, events, tickets)?;
        {
            let mut put_release = tx.prepare_cached(
                "INSERT OR REPLACE INTO release_secrets (event_id, version, sealed) VALUES (?1, ?2, ?3)",
            )?;
            for (event, r) in releases {
                put_release.execute(params![event.0 as i64, r.version, r.sealed])?;
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
                tx.execute(
                    "INSERT OR IGNORE INTO verifications (kind, verified_at_ms) VALUES (?1, ?2)",
                    params![verification_name(*v), at_ms],
                )?;
            }
            for id in moved {
                Self::mark_moved_in(&tx, id)?;
            }
            for (k, v) in meta {
                tx.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                    params![k, v],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Marks tickets as moved to another device in one transaction; returns how many of
    /// them the store held. The rows stay (the app shows them as bound elsewhere).
    pub fn mark_moved(&self, ids: &[TicketId]) -> Result<usize, StoreError> {
        let mut c = self.conn();
        let tx = c.transaction()?;
        let mut n = 0;
        for id in ids {
            n += Self::mark_moved_in(&tx, id)?;
        }
        tx.commit()?;
        Ok(n)
    }

    /// A moved ticket keeps its public fields; its device key becomes all zeroes (no key
    /// pair has it, so it reveals as bound elsewhere) and its seeds are dropped: this
    /// device is no longer entitled to them.
    fn mark_moved_in(tx: &rusqlite::Transaction<'_>, id: &TicketId) -> Result<usize, StoreError> {
        Ok(tx.execute(
            "UPDATE tickets SET device_public_key = zeroblob(32), sealed_ticket_seed = X'',
                sealed_event_seed = NULL WHERE ticket_id = ?1",
            [&id.0[..]],
        )?)
    }
}

/// Writes events and ticket rows inside the caller's transaction.
fn write_events_and_tickets(
    tx: &rusqlite::Transaction<'_>,
    events: &[EventPolicy],
    tickets: &[StoredTicket],
) -> Result<(), StoreError> {
    let mut put_event = tx.prepare_cached(
        "INSERT INTO events (event_id, policy) VALUES (?1, ?2)
         ON CONFLICT (event_id) DO UPDATE SET policy = excluded.policy",
    )?;
    for e in events {
        let json = serde_json::to_string(e).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        put_event.execute(params![e.event_id.0 as i64, json])?;
    }
    let mut put_ticket = tx.prepare_cached(
        "INSERT OR REPLACE INTO tickets (ticket_id, event_id, seat, holder_name, device_public_key,
            credential, revoked, version, sealed_ticket_seed, sealed_event_seed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for t in tickets {
        let k = &t.ticket;
        put_ticket.execute(params![
            &k.id.0[..],
            k.event_id.0 as i64,
            k.seat,
            k.holder_name,
            &k.device_public_key[..],
            k.credential.as_ref().map(|c| c.to_bytes()),
            k.revoked,
            k.version,
            t.sealed_ticket_seed,
            t.sealed_event_seed,
        ])?;
    }
    Ok(())
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
    revoked, version, sealed_ticket_seed, sealed_event_seed FROM tickets";

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
    ))
}

fn decode_ticket(raw: RawTicket) -> Result<StoredTicket, (Option<TicketId>, String)> {
    let (id, event, seat, holder_name, pk, cred, revoked, version, seed, event_seed) = raw;
    let id: [u8; 16] = id.try_into().map_err(|_| (None, "ticket id".to_owned()))?;
    let id = TicketId(id);
    let bad = |what: &str| (Some(id), format!("ticket {id} {what}"));
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
