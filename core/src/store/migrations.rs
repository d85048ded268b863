//! Versioned schema migrations. Append only: a shipped migration is never edited.
//!
//! `PRAGMA user_version` holds the number of migrations applied; [`crate::sqlite::migrate`]
//! runs the missing ones in one transaction together with the version bump, so a crash
//! leaves the old or new schema.

use crate::sqlite::Schema;

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

/// The wallet's schema, opened through [`crate::sqlite`].
pub const SCHEMA: Schema = Schema::new(MIGRATIONS);

/// Schema version this build writes.
pub const SCHEMA_VERSION: u32 = SCHEMA.version();
