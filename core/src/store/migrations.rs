//! Versioned schema migrations. Append only: a shipped migration is never edited.
//!
//! `PRAGMA user_version` holds the number of migrations applied; each runs in its own
//! transaction together with the version bump, so a crash leaves the old or new schema.

use rusqlite::Connection;

use super::StoreError;

const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT;
     CREATE TABLE events (event_id INTEGER PRIMARY KEY, policy TEXT NOT NULL) STRICT;
     CREATE TABLE tickets (
        ticket_id BLOB PRIMARY KEY CHECK (length(ticket_id) = 16),
        event_id INTEGER NOT NULL REFERENCES events(event_id),
        seat TEXT NOT NULL,
        holder_name TEXT,
        device_public_key BLOB NOT NULL,
        credential BLOB,
        revoked INTEGER NOT NULL DEFAULT 0,
        version INTEGER NOT NULL,
        sealed_ticket_seed BLOB NOT NULL,
        sealed_event_seed BLOB
     ) STRICT;
     CREATE TABLE release_secrets (
        event_id INTEGER PRIMARY KEY REFERENCES events(event_id),
        version INTEGER NOT NULL,
        sealed BLOB NOT NULL
     ) STRICT;
     CREATE TABLE verifications (kind TEXT PRIMARY KEY, verified_at_ms INTEGER NOT NULL) STRICT;",
    // 2: a tag on every row (`row_mac.rs`); rows from schema 1 have none until adopted
    // or rewritten by a sync.
    "ALTER TABLE meta ADD COLUMN mac BLOB;
     ALTER TABLE events ADD COLUMN mac BLOB;
     ALTER TABLE tickets ADD COLUMN mac BLOB;
     ALTER TABLE release_secrets ADD COLUMN mac BLOB;
     ALTER TABLE verifications ADD COLUMN mac BLOB;",
];

/// Schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the database to [`SCHEMA_VERSION`]; returns the version it found (0 for a new file).
pub fn migrate(conn: &mut Connection) -> Result<u32, StoreError> {
    let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as u32 + 1)?;
        tx.commit()?;
    }
    Ok(current)
}
