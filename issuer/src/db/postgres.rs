//! The PostgreSQL engine: tokio-postgres without TLS (a database on loopback or a private
//! network, docs/ARCHITECTURE.md) behind a deadpool pool.
//!
//! The issuer's database work is synchronous closures (`super::Conn`); here each runs on a
//! blocking thread holding one pooled connection, whose statements it drives with the
//! runtime's handle. Every transaction is `SERIALIZABLE`: PostgreSQL then guarantees the
//! outcome of some serial order of the transactions of every instance, the guarantee one
//! SQLite writer gave, and reports the transactions it had to abort, which run again.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio::runtime::Handle;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Config, NoTls};

use super::{Committed, Conn, DbError, Engine, Row, Value, numbered_params};
use crate::error::{ApiError, IssuerError};

/// Connections one issuer instance keeps open at most.
const POOL_SIZE: usize = 16;
/// How long a request waits for a pooled connection.
const POOL_WAIT: Duration = Duration::from_secs(10);
/// How often a transaction that lost a conflict runs again before the request fails.
const MAX_ATTEMPTS: u32 = 30;
/// Attempts a transaction makes on its own before it queues behind the others that lost a
/// conflict ([`ConflictQueue`]).
const OPTIMISTIC_ATTEMPTS: u32 = 2;
/// The lock transactions that lost conflicts take to run one at a time.
const CONFLICT_LOCK: i64 = 0x0074_6573_7365_7272; // "tesserr"
/// A lock only migrations take, so that instances starting together migrate once.
const MIGRATION_LOCK: i64 = 0x0074_6573_7365_7261; // "tessera"

/// A pool of connections to the issuer's PostgreSQL database.
#[derive(Clone)]
pub(crate) struct PgDb {
    pool: Pool,
    handle: Handle,
}

/// One pooled connection, driven from a blocking thread.
pub(crate) struct PgConn {
    client: Object,
    handle: Handle,
}

impl PgDb {
    /// Connects to `url` and brings the schema to this build's version.
    pub(crate) async fn open(url: &str) -> Result<Self, IssuerError> {
        let config = Config::from_str(url)
            .map_err(|e| IssuerError::Storage(format!("database URL: {e}")))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            // A request that cannot get a connection in time fails (500) rather than
            // hanging with its client.
            .wait_timeout(Some(POOL_WAIT))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| IssuerError::Storage(e.to_string()))?;
        let db = Self {
            pool,
            handle: Handle::current(),
        };
        let client = db.pool.get().await.map_err(pool_error)?;
        migrate(&client).await?;
        Ok(db)
    }

    /// Runs `f` in a transaction on a blocking thread.
    pub(crate) async fn call<T: Send + 'static>(
        &self,
        f: impl FnMut(&Conn<'_>) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<Committed<T>, ApiError> {
        let client = self.pool.get().await.map_err(|_| ApiError::internal())?;
        let conn = PgConn {
            client,
            handle: self.handle.clone(),
        };
        tokio::task::spawn_blocking(move || conn.transaction(f))
            .await
            .map_err(|_| ApiError::internal())?
    }

    /// Runs `f` in a transaction on this (blocking) thread.
    pub(crate) fn blocking<T>(
        &self,
        f: impl FnMut(&Conn<'_>) -> Result<T, ApiError>,
    ) -> Result<Committed<T>, ApiError> {
        let client = self
            .handle
            .block_on(self.pool.get())
            .map_err(|_| ApiError::internal())?;
        let conn = PgConn {
            client,
            handle: self.handle.clone(),
        };
        conn.transaction(f)
    }
}

impl PgConn {
    /// Runs `f` in a `SERIALIZABLE` transaction, again after a serialization conflict.
    fn transaction<T>(
        &self,
        mut f: impl FnMut(&Conn<'_>) -> Result<T, ApiError>,
    ) -> Result<Committed<T>, ApiError> {
        for attempt in 1..=MAX_ATTEMPTS {
            // Held for this attempt only: the back-off below sleeps outside it.
            let queue = if attempt > OPTIMISTIC_ATTEMPTS {
                Some(ConflictQueue::join(self)?)
            } else {
                None
            };
            self.batch("BEGIN ISOLATION LEVEL SERIALIZABLE")?;
            let conn = Conn::new(Engine::Postgres(self));
            let out = match catch_unwind(AssertUnwindSafe(|| f(&conn))) {
                Ok(out) => out,
                Err(panic) => {
                    // The connection goes back to the pool: it must not stay inside
                    // this transaction (the queue's guard unlocks as the panic unwinds).
                    let _ = self.batch("ROLLBACK");
                    resume_unwind(panic)
                }
            };
            let conflicted = conn.conflicted.get();
            if !conflicted {
                // A transaction a statement aborted commits as a rollback: no error here,
                // the closure has reported it.
                match self.batch("COMMIT") {
                    Ok(()) => return Ok((out, conn.take_counted())),
                    Err(DbError::Conflict) => {}
                    Err(e) => return Err(e.into()),
                }
            } else {
                self.batch("ROLLBACK")?;
            }
            drop(queue);
            // Back off a little, longer each time, so the conflicting transactions do
            // not meet again at once.
            let jitter = u64::from(rand_byte()) % (4 * u64::from(attempt));
            std::thread::sleep(Duration::from_millis(u64::from(attempt) + jitter));
        }
        Err(ApiError::internal())
    }

    pub(super) fn execute(&self, sql: &str, values: &[Value]) -> Result<usize, DbError> {
        self.handle.block_on(async {
            let st = self.client.prepare_cached(&numbered_params(sql)).await?;
            let n = self.client.execute(&st, &refs(values)).await?;
            usize::try_from(n).map_err(|_| DbError::Range)
        })
    }

    pub(super) fn query(&self, sql: &str, values: &[Value]) -> Result<Vec<Row>, DbError> {
        self.handle.block_on(async {
            let st = self.client.prepare_cached(&numbered_params(sql)).await?;
            let rows = self.client.query(&st, &refs(values)).await?;
            rows.iter()
                .map(|r| {
                    let values = (0..r.len())
                        .map(|i| r.try_get::<_, Value>(i))
                        .collect::<Result<_, _>>()?;
                    Ok(Row { values })
                })
                .collect()
        })
    }

    pub(super) fn batch(&self, sql: &str) -> Result<(), DbError> {
        Ok(self.handle.block_on(self.client.batch_execute(sql))?)
    }
}

/// Transactions that keep losing serialization conflicts (a hot row or range: a global
/// rate limit under a burst of enrolments, one event's sequence number under a burst of
/// sales) run again one at a time, each under a session lock taken before its snapshot:
/// optimistic while conflicts are rare, serialized like one SQLite writer when they are
/// not, so a burst slows down instead of failing. Unlocked when dropped, also while a
/// panic unwinds, so no pooled connection keeps it.
struct ConflictQueue<'a>(&'a PgConn);

impl<'a> ConflictQueue<'a> {
    fn join(conn: &'a PgConn) -> Result<Self, DbError> {
        conn.batch(&format!("SELECT pg_advisory_lock({CONFLICT_LOCK})"))?;
        Ok(Self(conn))
    }
}

impl Drop for ConflictQueue<'_> {
    fn drop(&mut self) {
        // A failure leaves the lock with the session; the connection is then unusable
        // anyway and the pool drops it when the server closes it.
        let _ = self
            .0
            .batch(&format!("SELECT pg_advisory_unlock({CONFLICT_LOCK})"));
    }
}

/// A random byte for the back-off (not a secret).
fn rand_byte() -> u8 {
    crate::secrets::random_bytes(1)
        .ok()
        .and_then(|b| b.first().copied())
        .unwrap_or(0)
}

fn refs(values: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.code() {
            // A unique violation inside a serializable transaction is how PostgreSQL
            // reports two instances inserting the same key at once (two uses of one
            // nonce): run again, the loser then sees the winner's row.
            Some(c)
                if *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::T_R_DEADLOCK_DETECTED
                    || *c == SqlState::UNIQUE_VIOLATION =>
            {
                Self::Conflict
            }
            _ => Self::Engine(e.to_string()),
        }
    }
}

fn pool_error(e: deadpool_postgres::PoolError) -> IssuerError {
    IssuerError::Storage(format!("database connection: {e}"))
}

/// Integers go out as the width PostgreSQL inferred for the parameter (BIGINT columns,
/// but an INTEGER or BOOLEAN where an expression asks for one).
impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            Value::Text(s) => s.as_str().to_sql(ty, out),
            Value::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(match *ty {
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Int(i16::from_sql(ty, raw)?.into()),
            Type::BOOL => Value::Int(bool::from_sql(ty, raw)?.into()),
            Type::BYTEA => Value::Blob(Vec::<u8>::from_sql(ty, raw)?),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
                Value::Text(String::from_sql(ty, raw)?)
            }
            _ => return Err(format!("column type {ty} is not one the issuer reads").into()),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Value::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Brings the schema to [`MIGRATIONS`]' version under a session lock, so that instances
/// starting together migrate once; a newer schema is refused untouched.
async fn migrate(client: &Object) -> Result<(), IssuerError> {
    let storage = |e: tokio_postgres::Error| IssuerError::Storage(e.to_string());
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(storage)?;
    let result = migrate_locked(client).await;
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    result?;
    unlocked.map_err(storage)?;
    Ok(())
}

async fn migrate_locked(client: &Object) -> Result<(), IssuerError> {
    let storage = |e: tokio_postgres::Error| IssuerError::Storage(e.to_string());
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS tessera_schema (version BIGINT NOT NULL);
             INSERT INTO tessera_schema (version)
                 SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM tessera_schema);",
        )
        .await
        .map_err(storage)?;
    let found: i64 = client
        .query_one("SELECT version FROM tessera_schema", &[])
        .await
        .map_err(storage)?
        .get(0);
    let supported = MIGRATIONS.len();
    let found_n = usize::try_from(found).map_err(|_| IssuerError::NewerSchema(u32::MAX))?;
    if found_n > supported {
        return Err(IssuerError::NewerSchema(
            u32::try_from(found).unwrap_or(u32::MAX),
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found_n) {
        let version = i64::try_from(i + 1).map_err(|_| IssuerError::NewerSchema(u32::MAX))?;
        client
            .batch_execute(&format!(
                "BEGIN; {sql}; UPDATE tessera_schema SET version = {version}; COMMIT;"
            ))
            .await
            .map_err(|e| IssuerError::Storage(format!("migration {version}: {e}")))?;
    }
    Ok(())
}

/// PostgreSQL migrations, oldest first; `MIGRATIONS[n]` brings the schema to version
/// `n + 1`. The first is SQLite's schema version 8 (`super::sqlite`) spelled for
/// PostgreSQL: BIGINT for INTEGER, BYTEA for BLOB, TEXT compared bytewise (`COLLATE "C"`,
/// SQLite's order), identity columns for SQLite's row ids, PL/pgSQL for the triggers.
pub(super) const MIGRATIONS: &[&str] = &[PG_1];

const PG_1: &str = r#"
CREATE TABLE meta (key TEXT COLLATE "C" PRIMARY KEY, value BYTEA NOT NULL);
CREATE TABLE issuer_keys (key_id BIGINT PRIMARY KEY, seed BYTEA NOT NULL, created_ms BIGINT NOT NULL);
CREATE TABLE tokens (
    token_hash BYTEA PRIMARY KEY, role TEXT COLLATE "C" NOT NULL, created_ms BIGINT NOT NULL,
    id TEXT COLLATE "C", event_id BIGINT, gate_id TEXT COLLATE "C", revoked_ms BIGINT
);
CREATE UNIQUE INDEX tokens_by_id ON tokens (id);
CREATE TABLE accounts (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    email TEXT COLLATE "C" NOT NULL UNIQUE, created_ms BIGINT NOT NULL
);
CREATE TABLE devices (
    public_key BYTEA PRIMARY KEY, platform TEXT COLLATE "C" NOT NULL, enrolled_ms BIGINT NOT NULL,
    account_id BIGINT REFERENCES accounts(id)
);
CREATE TABLE nonces (
    device BYTEA NOT NULL, nonce BYTEA NOT NULL, expires_ms BIGINT NOT NULL,
    PRIMARY KEY (device, nonce)
);
CREATE INDEX nonces_by_expiry ON nonces (expires_ms);
CREATE TABLE events (
    event_id BIGINT PRIMARY KEY, policy TEXT COLLATE "C" NOT NULL, event_seed BYTEA NOT NULL,
    release_secret BYTEA NOT NULL, release_version BIGINT NOT NULL, updated_ms BIGINT NOT NULL
);
CREATE TABLE orders (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    event_id BIGINT NOT NULL REFERENCES events(event_id), phone TEXT COLLATE "C",
    created_ms BIGINT NOT NULL
);
CREATE INDEX orders_by_account ON orders (account_id);
CREATE TABLE tickets (
    id BYTEA PRIMARY KEY, order_id BIGINT NOT NULL REFERENCES orders(id),
    event_id BIGINT NOT NULL REFERENCES events(event_id), account_id BIGINT REFERENCES accounts(id),
    seat TEXT COLLATE "C" NOT NULL, holder_name TEXT COLLATE "C", seed BYTEA NOT NULL, device BYTEA,
    version BIGINT NOT NULL, revoked BIGINT NOT NULL DEFAULT 0, gate_seq BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX tickets_by_account ON tickets (account_id);
CREATE INDEX tickets_by_device ON tickets (device);
CREATE INDEX tickets_by_event ON tickets (event_id);
CREATE INDEX tickets_by_gate_seq ON tickets (event_id, gate_seq);
CREATE TABLE bindings (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, ticket_id BYTEA NOT NULL,
    device BYTEA NOT NULL, version BIGINT NOT NULL, credential BYTEA, bound_ms BIGINT NOT NULL,
    ended_ms BIGINT, end_reason TEXT COLLATE "C"
);
CREATE INDEX bindings_by_device ON bindings (device);
CREATE INDEX bindings_by_ticket ON bindings (ticket_id);
CREATE TABLE email_tokens (
    token_hash BYTEA PRIMARY KEY, device BYTEA NOT NULL, email TEXT COLLATE "C" NOT NULL,
    expires_ms BIGINT NOT NULL, used BIGINT NOT NULL DEFAULT 0,
    change_account BIGINT REFERENCES accounts(id)
);
CREATE TABLE message_requests (
    device BYTEA NOT NULL, channel TEXT COLLATE "C" NOT NULL, at_ms BIGINT NOT NULL
);
CREATE INDEX message_requests_by_device ON message_requests (device, channel, at_ms);
CREATE TABLE sms_codes (
    device BYTEA PRIMARY KEY, account_id BIGINT NOT NULL, phone TEXT COLLATE "C" NOT NULL,
    code_mac BYTEA NOT NULL, expires_ms BIGINT NOT NULL, wrong_attempts BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE phone_verified (
    device BYTEA NOT NULL, account_id BIGINT NOT NULL, phone TEXT COLLATE "C" NOT NULL,
    at_ms BIGINT NOT NULL, PRIMARY KEY (device, account_id)
);
CREATE TABLE transfers (
    id TEXT COLLATE "C" PRIMARY KEY, ticket_id BYTEA NOT NULL, from_account BIGINT NOT NULL,
    to_email TEXT COLLATE "C" NOT NULL, created_ms BIGINT NOT NULL, accepted_ms BIGINT
);
CREATE TABLE audit (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, at_ms BIGINT NOT NULL,
    role TEXT COLLATE "C" NOT NULL, action TEXT COLLATE "C" NOT NULL,
    subject TEXT COLLATE "C" NOT NULL, detail TEXT COLLATE "C" NOT NULL
);
CREATE TABLE outbox (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, channel TEXT COLLATE "C" NOT NULL,
    recipient TEXT COLLATE "C" NOT NULL, body TEXT COLLATE "C" NOT NULL, sent_ms BIGINT NOT NULL
);
CREATE TABLE scan_records (
    gate_id TEXT COLLATE "C" NOT NULL, seq BIGINT NOT NULL, at_ms BIGINT NOT NULL,
    ticket TEXT COLLATE "C", step BIGINT, outcome TEXT COLLATE "C" NOT NULL,
    reentry BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (gate_id, seq)
);
CREATE INDEX scan_records_admissions ON scan_records (outcome, ticket, at_ms, gate_id, seq);
CREATE TABLE idempotency_keys (
    key_hash BYTEA PRIMARY KEY, request_hash BYTEA NOT NULL, response BYTEA NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_ms);
CREATE TABLE rate_events (
    kind TEXT COLLATE "C" NOT NULL, subject TEXT COLLATE "C" NOT NULL, at_ms BIGINT NOT NULL
);
CREATE INDEX rate_events_by_subject ON rate_events (kind, subject, at_ms);
CREATE TABLE gate_seq (event_id BIGINT PRIMARY KEY, seq BIGINT NOT NULL);
CREATE TABLE superseded_credentials (ticket_id BYTEA NOT NULL, credential BYTEA NOT NULL);
CREATE INDEX superseded_credentials_by_ticket ON superseded_credentials (ticket_id);

CREATE FUNCTION events_gate_seq_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO gate_seq (event_id, seq) VALUES (NEW.event_id, 1)
    ON CONFLICT (event_id) DO UPDATE SET seq = gate_seq.seq + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER events_gate_seq_insert AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_gate_seq_insert();

CREATE FUNCTION events_gate_seq_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE gate_seq SET seq = seq + 1 WHERE event_id = NEW.event_id;
    UPDATE tickets SET gate_seq = (SELECT seq FROM gate_seq WHERE event_id = NEW.event_id)
    WHERE event_id = NEW.event_id;
    RETURN NULL;
END $$;
CREATE TRIGGER events_gate_seq_update AFTER UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION events_gate_seq_update();

CREATE FUNCTION tickets_gate_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE gate_seq SET seq = seq + 1 WHERE event_id = NEW.event_id;
    UPDATE tickets SET gate_seq = (SELECT seq FROM gate_seq WHERE event_id = NEW.event_id)
    WHERE id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_gate_seq_insert AFTER INSERT ON tickets
    FOR EACH ROW EXECUTE FUNCTION tickets_gate_seq();
CREATE TRIGGER tickets_gate_seq_update
    AFTER UPDATE OF event_id, revoked, holder_name, seat, seed, version ON tickets
    FOR EACH ROW EXECUTE FUNCTION tickets_gate_seq();

CREATE FUNCTION bindings_credential_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.credential IS NOT NULL THEN
        INSERT INTO superseded_credentials (ticket_id, credential)
        VALUES (OLD.ticket_id, OLD.credential);
    END IF;
    UPDATE gate_seq SET seq = seq + 1
        WHERE event_id = (SELECT event_id FROM tickets WHERE id = NEW.ticket_id);
    UPDATE tickets SET gate_seq = (SELECT seq FROM gate_seq WHERE event_id = tickets.event_id)
        WHERE id = NEW.ticket_id;
    RETURN NULL;
END $$;
CREATE TRIGGER bindings_credential_update AFTER UPDATE OF credential ON bindings
    FOR EACH ROW WHEN (OLD.credential IS DISTINCT FROM NEW.credential)
    EXECUTE FUNCTION bindings_credential_update();
"#;
