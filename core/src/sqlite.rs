//! How every Tessera store opens SQLite: the wallet ([`crate::store`]), the gate's scan log
//! and the issuer's database. One set of pragmas, append-only migrations counted in
//! `PRAGMA user_version`, and a typed refusal of a file a newer build wrote.
//!
//! The three stores used to open their files each its own way and had begun to drift;
//! with one opener a change to how a file is opened reaches all of them. What a store
//! wants differently on purpose (the gate's exclusive lock and small pages) is an
//! [`Options`] field, so the difference is visible where the store opens its file.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

/// How long a statement waits for another connection's lock before failing as busy: long
/// enough for a migration or a sync's write in another process, short enough that a stuck
/// writer surfaces as an error instead of a hang.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A store's schema: its migrations in order. Migration `i` (from 0) brings a file from
/// version `i` to `i + 1`, so the version a build writes is the number of migrations.
///
/// Append only: a shipped migration is never edited or removed, or files that already ran
/// it would differ from new ones.
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    migrations: &'static [&'static str],
}

impl Schema {
    /// A schema of `migrations` (SQL batches), oldest first.
    pub const fn new(migrations: &'static [&'static str]) -> Self {
        Self { migrations }
    }

    /// The version this build writes: the number of migrations.
    pub const fn version(&self) -> u32 {
        // A store has a handful of migrations; u32 is what `user_version` holds.
        self.migrations.len() as u32
    }
}

/// Where a store's opening differs from the others on purpose. The default is the wallet's
/// and the issuer's: shared locking, SQLite's page size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// `locking_mode = EXCLUSIVE`: the connection keeps the file locked while it is open,
    /// which skips the shared-memory index and its locks on every transaction (a cheaper
    /// commit, for the gate's commit per scan) and keeps other processes out.
    pub exclusive: bool,
    /// `page_size` of a new file (it does not change an existing one); smaller pages make a
    /// commit of one small row cheaper.
    pub page_size: Option<u32>,
}

/// Why a database could not be opened. Each store turns it into its own error type.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// SQLite failed (unreadable file, disk full, a migration's SQL).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file was written by a newer build; opening it could lose what that build wrote.
    #[error("database schema {found} is newer than this build supports ({supported})")]
    NewerSchema {
        /// The version in the file.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
    },
}

/// An open database at the schema's version.
#[derive(Debug)]
pub struct Opened {
    /// The connection, configured and migrated.
    pub conn: Connection,
    /// The version the file had before this open migrated it (0 for a new file); a store
    /// that must adopt rows written under an older schema needs to know.
    pub found: u32,
}

/// Opens (creating if needed) the database at `path` with the project's pragmas and brings
/// it to `schema`'s version.
pub fn open(path: &Path, schema: Schema, options: Options) -> Result<Opened, OpenError> {
    setup(Connection::open(path)?, schema, options)
}

/// A database that lives only in memory (tests, dry runs), set up like a file.
pub fn open_in_memory(schema: Schema, options: Options) -> Result<Opened, OpenError> {
    setup(Connection::open_in_memory()?, schema, options)
}

fn setup(mut conn: Connection, schema: Schema, options: Options) -> Result<Opened, OpenError> {
    configure(&conn, options)?;
    let found = migrate(&mut conn, schema)?;
    Ok(Opened { conn, found })
}

fn configure(conn: &Connection, options: Options) -> rusqlite::Result<()> {
    // Page size and locking mode first: the page size only applies before the file has
    // content, and exclusive locking set before WAL keeps the WAL index out of shared memory.
    if let Some(size) = options.page_size {
        conn.pragma_update(None, "page_size", size)?;
    }
    if options.exclusive {
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    }
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // The mode in effect comes back as a row; an in-memory database stays "memory".
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))?;
    // NORMAL is durable across application crashes in WAL mode; only an OS crash or a
    // power cut may lose the last commits, never corrupt the file. FULL's fsync per commit
    // is not worth its cost for any of the stores.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(())
}

/// Brings the database to `schema`'s version and returns the version it found.
///
/// A file already at the version is left alone without taking a write lock. Otherwise all
/// the missing migrations and the version bump run in one immediate transaction: a crash
/// leaves the old schema or the new one, and of two processes opening an old file at once
/// the second waits and then finds it migrated, instead of running the migrations again.
pub fn migrate(conn: &mut Connection, schema: Schema) -> Result<u32, OpenError> {
    if check_version(conn, schema)? == schema.version() {
        return Ok(schema.version());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Read again under the lock: another process may have migrated in between.
    let found = check_version(&tx, schema)?;
    for sql in schema.migrations.iter().skip(found as usize) {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", schema.version())?;
    tx.commit()?;
    Ok(found)
}

/// The file's version, refused when it is newer than `schema`.
fn check_version(conn: &Connection, schema: Schema) -> Result<u32, OpenError> {
    let found: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > schema.version() {
        return Err(OpenError::NewerSchema {
            found,
            supported: schema.version(),
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    const FIRST: &str = "CREATE TABLE t (n INTEGER NOT NULL);
                         INSERT INTO t (n) VALUES (1);";
    const SECOND: &str = "INSERT INTO t (n) VALUES (2);";

    fn rows(conn: &Connection) -> Vec<i64> {
        let mut st = conn.prepare("SELECT n FROM t ORDER BY n").unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn version(conn: &Connection) -> u32 {
        conn.pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn migrations_run_once_and_a_reopen_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let one = Schema::new(&[FIRST]);
        let opened = open(&path, one, Options::default()).unwrap();
        assert_eq!(opened.found, 0);
        assert_eq!((rows(&opened.conn), version(&opened.conn)), (vec![1], 1));
        drop(opened);

        let again = open(&path, one, Options::default()).unwrap();
        assert_eq!(again.found, 1);
        assert_eq!((rows(&again.conn), version(&again.conn)), (vec![1], 1));
        drop(again);

        // A later build appends a migration: only the new one runs.
        let two = Schema::new(&[FIRST, SECOND]);
        let newer = open(&path, two, Options::default()).unwrap();
        assert_eq!(newer.found, 1);
        assert_eq!((rows(&newer.conn), version(&newer.conn)), (vec![1, 2], 2));
        drop(newer);
        let reopened = open(&path, two, Options::default()).unwrap();
        assert_eq!((reopened.found, rows(&reopened.conn)), (2, vec![1, 2]));
    }

    #[test]
    fn a_newer_schema_is_refused_and_the_file_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        drop(open(&path, Schema::new(&[FIRST, SECOND]), Options::default()).unwrap());
        let err = open(&path, Schema::new(&[FIRST]), Options::default()).unwrap_err();
        assert!(
            matches!(
                err,
                OpenError::NewerSchema {
                    found: 2,
                    supported: 1
                }
            ),
            "{err:?}"
        );
        let c = Connection::open(&path).unwrap();
        assert_eq!((rows(&c), version(&c)), (vec![1, 2], 2));
    }

    #[test]
    fn a_failing_migration_leaves_the_old_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        drop(open(&path, Schema::new(&[FIRST]), Options::default()).unwrap());
        let broken = Schema::new(&[FIRST, SECOND, "INSERT INTO missing VALUES (1);"]);
        let err = open(&path, broken, Options::default()).unwrap_err();
        assert!(matches!(err, OpenError::Sqlite(_)), "{err:?}");
        let c = Connection::open(&path).unwrap();
        assert_eq!((rows(&c), version(&c)), (vec![1], 1));
    }

    #[test]
    fn the_pragmas_are_set() {
        let dir = tempfile::tempdir().unwrap();
        let schema = Schema::new(&[FIRST]);
        let shared = open(&dir.path().join("a"), schema, Options::default()).unwrap();
        let exclusive = Options {
            exclusive: true,
            page_size: Some(1024),
        };
        let owned = open(&dir.path().join("b"), schema, exclusive).unwrap();
        for (conn, locking, page) in [
            (&shared.conn, "normal", 4096),
            (&owned.conn, "exclusive", 1024),
        ] {
            let text = |p: &str| {
                conn.pragma_query_value(None, p, |r| r.get::<_, String>(0))
                    .unwrap()
            };
            let int = |p: &str| {
                conn.pragma_query_value(None, p, |r| r.get::<_, i64>(0))
                    .unwrap()
            };
            assert_eq!(text("journal_mode"), "wal");
            assert_eq!(text("locking_mode"), locking);
            assert_eq!(int("page_size"), page);
            // synchronous NORMAL is 1.
            assert_eq!(int("synchronous"), 1);
            assert_eq!(int("foreign_keys"), 1);
            assert_eq!(int("busy_timeout"), 5000);
        }
        let memory = open_in_memory(schema, Options::default()).unwrap();
        assert_eq!((memory.found, rows(&memory.conn)), (0, vec![1]));
    }
}
