//! The SQLite engine: one file in the data directory, WAL, versioned migrations
//! (`PRAGMA user_version`), opened through [`tessera_core::sqlite`].
//!
//! A `rusqlite::Connection` is not `Sync`, so it sits behind a mutex: one transaction at a
//! time, `BEGIN IMMEDIATE` so that another process sharing the file waits rather than
//! failing halfway.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;
use rusqlite::types::{Value as SqlValue, ValueRef};
use tessera_core::sqlite::{self, OpenError, Options, Schema};

use super::{Committed, Conn, DbError, Engine, Row, Value};
use crate::error::{ApiError, IssuerError};

/// Migrations in order: `MIGRATION_n` brings the file to version `n` (`PRAGMA
/// user_version`). The missing ones run in one transaction with the version bump.
pub(super) const MIGRATIONS: &[&str] = &[
    MIGRATION_1,
    MIGRATION_2,
    MIGRATION_3,
    MIGRATION_4,
    MIGRATION_5,
    MIGRATION_6,
    MIGRATION_7,
    MIGRATION_8,
];

/// The issuer's schema (version 8), opened through [`tessera_core::sqlite`].
const SCHEMA: Schema = Schema::new(MIGRATIONS);

const MIGRATION_1: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE issuer_keys (key_id INTEGER PRIMARY KEY, seed BLOB NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE tokens (
    token_hash BLOB PRIMARY KEY, role TEXT NOT NULL, created_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL);
CREATE TABLE devices (
    public_key BLOB PRIMARY KEY, platform TEXT NOT NULL, enrolled_ms INTEGER NOT NULL,
    account_id INTEGER REFERENCES accounts(id)
) WITHOUT ROWID;
CREATE TABLE nonces (
    device BLOB NOT NULL, nonce BLOB NOT NULL, expires_ms INTEGER NOT NULL,
    PRIMARY KEY (device, nonce)
) WITHOUT ROWID;
CREATE INDEX nonces_by_expiry ON nonces (expires_ms);
CREATE TABLE events (
    event_id INTEGER PRIMARY KEY, policy TEXT NOT NULL, event_seed BLOB NOT NULL,
    release_secret BLOB NOT NULL, release_version INTEGER NOT NULL, updated_ms INTEGER NOT NULL
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id),
    event_id INTEGER NOT NULL REFERENCES events(event_id), phone TEXT, created_ms INTEGER NOT NULL
);
CREATE INDEX orders_by_account ON orders (account_id);
CREATE TABLE tickets (
    id BLOB PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id),
    event_id INTEGER NOT NULL REFERENCES events(event_id), account_id INTEGER REFERENCES accounts(id),
    seat TEXT NOT NULL, holder_name TEXT, seed BLOB NOT NULL, device BLOB,
    version INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX tickets_by_account ON tickets (account_id);
CREATE INDEX tickets_by_device ON tickets (device);
CREATE INDEX tickets_by_event ON tickets (event_id);
CREATE TABLE bindings (
    id INTEGER PRIMARY KEY, ticket_id BLOB NOT NULL, device BLOB NOT NULL, version INTEGER NOT NULL,
    credential BLOB, bound_ms INTEGER NOT NULL, ended_ms INTEGER, end_reason TEXT
);
CREATE INDEX bindings_by_device ON bindings (device);
CREATE INDEX bindings_by_ticket ON bindings (ticket_id);
CREATE TABLE email_tokens (
    token_hash BLOB PRIMARY KEY, device BLOB NOT NULL, email TEXT NOT NULL,
    expires_ms INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE message_requests (device BLOB NOT NULL, channel TEXT NOT NULL, at_ms INTEGER NOT NULL);
CREATE INDEX message_requests_by_device ON message_requests (device, channel, at_ms);
CREATE TABLE sms_codes (
    device BLOB PRIMARY KEY, account_id INTEGER NOT NULL, phone TEXT NOT NULL,
    code_mac BLOB NOT NULL, expires_ms INTEGER NOT NULL, wrong_attempts INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE phone_verified (
    device BLOB NOT NULL, account_id INTEGER NOT NULL, phone TEXT NOT NULL, at_ms INTEGER NOT NULL,
    PRIMARY KEY (device, account_id)
) WITHOUT ROWID;
CREATE TABLE transfers (
    id TEXT PRIMARY KEY, ticket_id BLOB NOT NULL, from_account INTEGER NOT NULL,
    to_email TEXT NOT NULL, created_ms INTEGER NOT NULL, accepted_ms INTEGER
);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL,
    subject TEXT NOT NULL, detail TEXT NOT NULL
);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY, channel TEXT NOT NULL, recipient TEXT NOT NULL, body TEXT NOT NULL,
    sent_ms INTEGER NOT NULL
);
CREATE TABLE scans_counted (gate_id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (gate_id, seq)) WITHOUT ROWID;
";

/// `Idempotency-Key`s (`crate::idempotency`): the first answer to a creating call, kept
/// 24 h under a hash of the caller and the key, sealed under a key only the caller's
/// `Idempotency-Key` gives (a kept token answer is a bearer token).
const MIGRATION_2: &str = "
CREATE TABLE idempotency_keys (
    key_hash BLOB PRIMARY KEY, request_hash BLOB NOT NULL, response BLOB NOT NULL,
    created_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_ms);
";

/// Email changes (`POST /v1/attendee/profile` with an address): the link mailed to the
/// new address is an `email_tokens` row naming the account it would rename; a sign-in
/// link leaves it NULL.
const MIGRATION_3: &str = "
ALTER TABLE email_tokens ADD COLUMN change_account INTEGER REFERENCES accounts(id);
";

/// Abuse limits (`crate::limits`): one row per counted event (an SMS code sent, a wrong
/// code tried, a device enrolled) under its kind and subject (phone number, account id,
/// source address); kept in the database so instances sharing it share the limits.
const MIGRATION_4: &str = "
CREATE TABLE rate_events (kind TEXT NOT NULL, subject TEXT NOT NULL, at_ms INTEGER NOT NULL);
CREATE INDEX rate_events_by_subject ON rate_events (kind, subject, at_ms);
";

/// Staff token scopes (`crate::staff_tokens`): a public id to list and revoke a token by,
/// the event and gate id it is limited to, and when it was revoked. Gate tokens minted
/// before scopes existed reach every event's bundle and upload under any gate id: they are
/// revoked here, and the admin mints scoped ones (docs/DECISIONS.md).
const MIGRATION_5: &str = "
ALTER TABLE tokens ADD COLUMN id TEXT;
ALTER TABLE tokens ADD COLUMN event_id INTEGER;
ALTER TABLE tokens ADD COLUMN gate_id TEXT;
ALTER TABLE tokens ADD COLUMN revoked_ms INTEGER;
UPDATE tokens SET id = lower(hex(randomblob(8)));
UPDATE tokens SET revoked_ms = created_ms WHERE role = 'gate';
CREATE UNIQUE INDEX tokens_by_id ON tokens (id);
";

/// Gate bundle sequence numbers (`crate::gate`): per event a number that grows with every
/// change a gate must learn, and per ticket the number of its last such change, so a gate
/// can fetch only what changed since its bundle. Kept by triggers, so no code path that
/// revokes, renames, re-seats, re-seeds or re-binds a ticket (or edits its event) can
/// forget to bump it. An event edit marks all its tickets: a policy (personalised, format)
/// decides what every ticket's entry holds.
const MIGRATION_6: &str = "
CREATE TABLE gate_seq (event_id INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
INSERT INTO gate_seq (event_id, seq) SELECT event_id, 1 FROM events;
ALTER TABLE tickets ADD COLUMN gate_seq INTEGER NOT NULL DEFAULT 1;
CREATE INDEX tickets_by_gate_seq ON tickets (event_id, gate_seq);
CREATE TRIGGER events_gate_seq_insert AFTER INSERT ON events BEGIN
    INSERT INTO gate_seq (event_id, seq) VALUES (NEW.event_id, 1)
    ON CONFLICT (event_id) DO UPDATE SET seq = seq + 1;
END;
CREATE TRIGGER events_gate_seq_update AFTER UPDATE ON events BEGIN
    UPDATE gate_seq SET seq = seq + 1 WHERE event_id = NEW.event_id;
    UPDATE tickets SET gate_seq = (SELECT seq FROM gate_seq WHERE event_id = NEW.event_id)
    WHERE event_id = NEW.event_id;
END;
CREATE TRIGGER tickets_gate_seq_insert AFTER INSERT ON tickets BEGIN
    UPDATE gate_seq SET seq = seq + 1 WHERE event_id = NEW.event_id;
    UPDATE tickets SET gate_seq = (SELECT seq FROM gate_seq WHERE event_id = NEW.event_id)
    WHERE id = NEW.id;
END;
CREATE TRIGGER tickets_gate_seq_update
AFTER UPDATE OF event_id, revoked, holder_name, seat, seed, version ON tickets BEGIN
    UPDATE gate_seq SET seq = seq + 1 WHERE event_id = NEW.event_id;
    UPDATE tickets SET gate_seq = (SELECT seq FROM gate_seq WHERE event_id = NEW.event_id)
    WHERE id = NEW.id;
END;
";

/// Credentials re-signed at sync (issue 12, found by an attack on the compact code). A
/// sync signs the binding's credential from the event's current policy; when the bytes
/// change (a policy edit) the replaced credential is kept here, so gates revoke it by
/// digest (a rooted phone that kept it must not pass once the ticket is sold on), and
/// the ticket's gate sequence number moves, so `?since=` carries the new one (a first
/// credential too: it appears at the holder's first sync, after any bundle of the sale).
const MIGRATION_7: &str = "
CREATE TABLE superseded_credentials (ticket_id BLOB NOT NULL, credential BLOB NOT NULL);
CREATE INDEX superseded_credentials_by_ticket ON superseded_credentials (ticket_id);
CREATE TRIGGER bindings_credential_update AFTER UPDATE OF credential ON bindings
WHEN OLD.credential IS NOT NEW.credential BEGIN
    INSERT INTO superseded_credentials (ticket_id, credential)
        SELECT OLD.ticket_id, OLD.credential WHERE OLD.credential IS NOT NULL;
    UPDATE gate_seq SET seq = seq + 1
        WHERE event_id = (SELECT event_id FROM tickets WHERE id = NEW.ticket_id);
    UPDATE tickets SET gate_seq = (SELECT seq FROM gate_seq WHERE event_id = tickets.event_id)
        WHERE id = NEW.ticket_id;
END;
";

/// The merged scan log of every gate moves from its own file (tessera-gate's `ScanLog`,
/// which one process holds exclusively) into the database every instance shares
/// (`crate::gate::merge`, issue 14); a record is counted in the metrics when it is first
/// stored, so `scans_counted` goes.
const MIGRATION_8: &str = "
CREATE TABLE scan_records (
    gate_id TEXT NOT NULL, seq INTEGER NOT NULL, at_ms INTEGER NOT NULL, ticket TEXT,
    step INTEGER, outcome TEXT NOT NULL, reentry INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (gate_id, seq)
) WITHOUT ROWID;
CREATE INDEX scan_records_admissions ON scan_records (outcome, ticket, at_ms, gate_id, seq);
DROP TABLE scans_counted;
";

/// Shared handle to the SQLite database.
#[derive(Clone)]
pub(crate) struct SqliteDb(Arc<Mutex<Connection>>);

impl SqliteDb {
    /// Opens (or creates) the database at `path` and migrates it.
    pub(crate) fn open(path: &Path) -> Result<Self, IssuerError> {
        // Shared locking (the default): instances may share the file (`crate::limits`).
        let opened = sqlite::open(path, SCHEMA, Options::default()).map_err(open_error)?;
        Ok(Self(Arc::new(Mutex::new(opened.conn))))
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on this thread, committed whatever
    /// `f` returns (`super` module docs); an error only when the commit failed.
    pub(crate) fn transaction<T>(
        &self,
        mut f: impl FnMut(&Conn<'_>) -> Result<T, ApiError>,
    ) -> Result<Committed<T>, ApiError> {
        // A panic while holding the lock cannot leave a half-done change: the guard below
        // rolls back. So a poisoned lock is still usable.
        let guard = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        guard
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(DbError::from)?;
        let open = RollbackOnDrop(&guard);
        let conn = Conn::new(Engine::Sqlite(&guard));
        let out = f(&conn);
        open.0.execute_batch("COMMIT").map_err(DbError::from)?;
        std::mem::forget(open);
        Ok((out, conn.take_counted()))
    }
}

/// Rolls back a transaction that did not reach its commit (an error or a panic in it).
struct RollbackOnDrop<'a>(&'a Connection);

impl Drop for RollbackOnDrop<'_> {
    fn drop(&mut self) {
        if !self.0.is_autocommit() {
            let _ = self.0.execute_batch("ROLLBACK");
        }
    }
}

/// Runs one statement.
pub(super) fn execute(c: &Connection, sql: &str, values: &[Value]) -> Result<usize, DbError> {
    let mut st = c.prepare_cached(sql)?;
    Ok(st.execute(rusqlite::params_from_iter(values.iter().map(to_sql)))?)
}

/// Runs one query and reads every row.
pub(super) fn query(c: &Connection, sql: &str, values: &[Value]) -> Result<Vec<Row>, DbError> {
    let mut st = c.prepare_cached(sql)?;
    let n = st.column_count();
    let mut rows = st.query(rusqlite::params_from_iter(values.iter().map(to_sql)))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let values = (0..n)
            .map(|i| r.get_ref(i).map(from_sql))
            .collect::<Result<_, _>>()?;
        out.push(Row { values });
    }
    Ok(out)
}

fn to_sql(v: &Value) -> SqlValue {
    match v {
        Value::Null => SqlValue::Null,
        Value::Int(i) => SqlValue::Integer(*i),
        Value::Text(s) => SqlValue::Text(s.clone()),
        Value::Blob(b) => SqlValue::Blob(b.clone()),
    }
}

fn from_sql(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        // The issuer stores no REAL: one read as text shows up as a type error.
        ValueRef::Real(f) => Value::Text(f.to_string()),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => Self::NoRow,
            e => Self::Engine(e.to_string()),
        }
    }
}

/// The issuer's own error for a database that does not open; a newer schema keeps its
/// variant.
fn open_error(e: OpenError) -> IssuerError {
    match e {
        OpenError::Sqlite(e) => IssuerError::Storage(e.to_string()),
        OpenError::NewerSchema { found, .. } => IssuerError::NewerSchema(found),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A gate token minted before scopes existed reaches every event: upgrading revokes it,
    /// while a box-office token keeps working.
    #[test]
    fn upgrading_revokes_unscoped_gate_tokens() {
        let mut c = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..4] {
            c.execute_batch(sql).unwrap();
        }
        c.pragma_update(None, "user_version", 4).unwrap();
        c.execute_batch(
            "INSERT INTO tokens (token_hash, role, created_ms) VALUES (x'01', 'gate', 5);
             INSERT INTO tokens (token_hash, role, created_ms) VALUES (x'02', 'box_office', 6);",
        )
        .unwrap();
        assert_eq!(sqlite::migrate(&mut c, SCHEMA).unwrap(), 4);
        let rows: Vec<(String, Option<i64>, String)> = c
            .prepare("SELECT role, revoked_ms, id FROM tokens ORDER BY created_ms")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows[0].0, "gate");
        assert_eq!(rows[0].1, Some(5));
        assert_eq!((rows[1].0.as_str(), rows[1].1), ("box_office", None));
        assert_eq!(rows[0].2.len(), 16);
        assert_ne!(rows[0].2, rows[1].2);
    }

    /// A file a newer issuer wrote is refused with the issuer's own error, untouched.
    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("issuer.sqlite");
        drop(SqliteDb::open(&path).unwrap());
        let c = Connection::open(&path).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
        drop(c);
        assert!(matches!(
            SqliteDb::open(&path),
            Err(IssuerError::NewerSchema(99))
        ));
        let c = Connection::open(&path).unwrap();
        let v: u32 = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, 99);
    }
}
