//! The issuer database behind one interface, on one of two engines: an SQLite file in the
//! data directory (the default: embedded, nothing to run) or a PostgreSQL server chosen by
//! a `postgres://` URL, which several issuer instances can share (docs/ARCHITECTURE.md).
//!
//! Every piece of database work is a closure over a [`Conn`], run by [`Db::call`] on a
//! blocking thread inside one transaction that is serializable on both engines: SQLite's
//! `BEGIN IMMEDIATE` (one writer), PostgreSQL's `SERIALIZABLE` isolation, where a closure
//! that lost a conflict with another instance is rolled back and run again. So a check and
//! the write it guards (a seat, a nonce, a rate limit) are atomic across instances too.
//! The closure's statements are committed whatever it returns, as they were when each
//! statement committed on its own (a wrong SMS code is counted, then refused); a nested
//! [`Conn::transaction`] is a savepoint, undone unless committed.
//!
//! Queries are written once: `?1`-style parameters (rewritten to `$1` for PostgreSQL),
//! SQL both engines accept, and the value types of [`Value`].

mod postgres;
mod sqlite;
mod value;

use std::cell::{Cell, RefCell};
use std::path::Path;
use std::sync::Arc;

pub(crate) use value::{Params, Row, ToValue, Value, params};

use crate::error::{ApiError, IssuerError};
use crate::metrics::{Counted, Metrics};

/// Why a statement failed. Handlers see an internal error; the detail goes to startup
/// errors and tests.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    /// The engine refused or failed the statement.
    #[error("{0}")]
    Engine(String),
    /// Another transaction conflicted (PostgreSQL serialization failure or deadlock): the
    /// whole closure runs again.
    #[error("serialization conflict")]
    Conflict,
    /// A query that must return a row returned none.
    #[error("no row")]
    NoRow,
    /// A column held another type than the one read.
    #[error("unexpected column type")]
    Type,
    /// An integer out of the range of the type read or written.
    #[error("integer out of range")]
    Range,
}

/// `query_row(…).optional()`: no row is `None`, not an error.
pub(crate) trait OptionalExtension<T> {
    /// `Ok(None)` for [`DbError::NoRow`].
    fn optional(self) -> Result<Option<T>, DbError>;
}

impl<T> OptionalExtension<T> for Result<T, DbError> {
    fn optional(self) -> Result<Option<T>, DbError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(DbError::NoRow) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Which engine a connection talks to.
enum Engine<'a> {
    Sqlite(&'a rusqlite::Connection),
    Postgres(&'a postgres::PgConn),
}

/// A connection inside the transaction [`Db::call`] opened.
pub(crate) struct Conn<'a> {
    engine: Engine<'a>,
    /// Open savepoints, to name the next one.
    depth: Cell<u32>,
    /// A statement hit a serialization conflict: the transaction must be run again.
    conflicted: Cell<bool>,
    /// Counts to apply once the transaction has committed.
    counted: RefCell<Vec<Counted>>,
}

impl<'a> Conn<'a> {
    fn new(engine: Engine<'a>) -> Self {
        Self {
            engine,
            depth: Cell::new(0),
            conflicted: Cell::new(false),
            counted: RefCell::new(Vec::new()),
        }
    }

    /// Counts `c` in the metrics if, and once, this transaction commits.
    pub(crate) fn count(&self, c: Counted) {
        self.counted.borrow_mut().push(c);
    }

    /// The counts made, for the engine to return with a committed transaction.
    fn take_counted(&self) -> Vec<Counted> {
        self.counted.take()
    }

    /// Runs a statement; the number of rows it changed.
    pub(crate) fn execute(&self, sql: &str, params: impl Params) -> Result<usize, DbError> {
        let values = params.values()?;
        let r = match &self.engine {
            Engine::Sqlite(c) => sqlite::execute(c, sql, &values),
            Engine::Postgres(c) => c.execute(sql, &values),
        };
        self.note(r)
    }

    /// Runs a query and maps every row.
    pub(crate) fn query_map<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnMut(&Row) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        let values = params.values()?;
        let rows = match &self.engine {
            Engine::Sqlite(c) => sqlite::query(c, sql, &values),
            Engine::Postgres(c) => c.query(sql, &values),
        };
        self.note(rows)?.iter().map(f).collect()
    }

    /// Runs a query and maps its first row; [`DbError::NoRow`] when there is none.
    pub(crate) fn query_row<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(&Row) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let values = params.values()?;
        let rows = match &self.engine {
            Engine::Sqlite(c) => sqlite::query(c, sql, &values),
            Engine::Postgres(c) => c.query(sql, &values),
        };
        self.note(rows)?.first().map_or(Err(DbError::NoRow), f)
    }

    /// Runs statements without parameters (migrations).
    fn batch(&self, sql: &str) -> Result<(), DbError> {
        let r = match &self.engine {
            Engine::Sqlite(c) => c
                .execute_batch(sql)
                .map_err(|e| DbError::Engine(e.to_string())),
            Engine::Postgres(c) => c.batch(sql),
        };
        self.note(r)
    }

    /// A nested transaction (a savepoint): undone when dropped, kept by
    /// [`Tx::commit`].
    pub(crate) fn transaction(&self) -> Result<Tx<'_, 'a>, DbError> {
        let n = self.depth.get() + 1;
        self.batch(&format!("SAVEPOINT sp{n}"))?;
        self.depth.set(n);
        Ok(Tx {
            conn: self,
            n,
            done: false,
        })
    }

    /// Remembers a conflict, so that [`Db::call`] runs the closure again.
    fn note<T>(&self, r: Result<T, DbError>) -> Result<T, DbError> {
        if matches!(r, Err(DbError::Conflict)) {
            self.conflicted.set(true);
        }
        r
    }
}

/// A savepoint of [`Conn::transaction`]; dereferences to the connection.
pub(crate) struct Tx<'c, 'a> {
    conn: &'c Conn<'a>,
    n: u32,
    done: bool,
}

impl<'a> std::ops::Deref for Tx<'_, 'a> {
    type Target = Conn<'a>;
    fn deref(&self) -> &Conn<'a> {
        self.conn
    }
}

impl Tx<'_, '_> {
    /// Keeps what the savepoint did (it still commits with the outer transaction).
    pub(crate) fn commit(mut self) -> Result<(), DbError> {
        self.done = true;
        self.conn.depth.set(self.n - 1);
        self.conn.batch(&format!("RELEASE SAVEPOINT sp{}", self.n))
    }
}

impl Drop for Tx<'_, '_> {
    fn drop(&mut self) {
        if !self.done {
            self.conn.depth.set(self.n - 1);
            // A failure here leaves the outer transaction to fail: nothing to add.
            let _ = self.conn.batch(&format!(
                "ROLLBACK TO SAVEPOINT sp{n}; RELEASE SAVEPOINT sp{n}",
                n = self.n
            ));
        }
    }
}

/// What a committed transaction gives back: the closure's answer and the counts it made.
type Committed<T> = (Result<T, ApiError>, Vec<Counted>);

/// The engine the data lives in.
#[derive(Clone)]
enum Store {
    Sqlite(sqlite::SqliteDb),
    Postgres(postgres::PgDb),
}

/// Where the issuer's data lives, and the metrics its transactions count in.
#[derive(Clone)]
pub(crate) struct Db {
    store: Store,
    metrics: Arc<Metrics>,
}

impl Db {
    /// Opens the database: `url` a `postgres://` URL, or `None` for the SQLite file at
    /// `path`; creates or migrates its schema.
    pub(crate) async fn open(
        url: Option<&str>,
        path: &Path,
        metrics: Arc<Metrics>,
    ) -> Result<Self, IssuerError> {
        let store = match url {
            None => Store::Sqlite(sqlite::SqliteDb::open(path)?),
            Some(url) => Store::Postgres(postgres::PgDb::open(url).await?),
        };
        Ok(Self { store, metrics })
    }

    /// Runs `f` in one transaction on a blocking thread (see the module docs); again, on
    /// PostgreSQL, when it lost a serialization conflict.
    pub(crate) async fn call<T: Send + 'static>(
        &self,
        f: impl FnMut(&Conn<'_>) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let (out, counted) = match &self.store {
            Store::Sqlite(db) => {
                let db = db.clone();
                tokio::task::spawn_blocking(move || db.transaction(f))
                    .await
                    .map_err(|_| ApiError::internal())??
            }
            Store::Postgres(db) => db.call(f).await?,
        };
        self.apply(counted);
        out
    }

    /// [`call`](Self::call) from a thread that may block (not an async task).
    pub(crate) fn blocking<T>(
        &self,
        f: impl FnMut(&Conn<'_>) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let (out, counted) = match &self.store {
            Store::Sqlite(db) => db.transaction(f)?,
            Store::Postgres(db) => db.blocking(f)?,
        };
        self.apply(counted);
        out
    }

    fn apply(&self, counted: Vec<Counted>) {
        for c in counted {
            self.metrics.apply(c);
        }
    }
}

impl From<DbError> for ApiError {
    fn from(_: DbError) -> Self {
        Self::internal()
    }
}

impl From<DbError> for IssuerError {
    fn from(e: DbError) -> Self {
        Self::Storage(e.to_string())
    }
}

/// Rewrites `?N` parameters to PostgreSQL's `$N`. The issuer's SQL holds no `?` inside a
/// string literal.
fn numbered_params(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut next = 1u32;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '?' {
            out.push(c);
            continue;
        }
        out.push('$');
        if chars.peek().is_some_and(char::is_ascii_digit) {
            while let Some(d) = chars.next_if(char::is_ascii_digit) {
                out.push(d);
            }
        } else {
            out.push_str(&next.to_string());
            next += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_numbered_for_postgres() {
        assert_eq!(
            numbered_params("SELECT a FROM t WHERE b = ?1 AND c IN (?2, ?12) AND d = ?"),
            "SELECT a FROM t WHERE b = $1 AND c IN ($2, $12) AND d = $1"
        );
    }
}
