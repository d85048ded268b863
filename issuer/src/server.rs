//! Starting and stopping the issuer.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

use crate::clock::{Clock, SystemClock};
use crate::db::Db;
use crate::error::IssuerError;
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::outbox::{DevOutbox, MessageSender};
use crate::secrets::IssuerSecrets;
use crate::state::AppState;

/// Database file of the issuer, inside the data directory.
const DB_FILE: &str = "issuer.sqlite";
/// Where issuers before issue 14 kept the merged gate scan log (tessera-gate's format); it
/// now lives in the database and an old file is adopted at start.
const OLD_SCANS_FILE: &str = "scans.sqlite";
/// How long shutdown waits for open connections before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How to run an issuer.
#[derive(Clone)]
pub struct IssuerConfig {
    /// Directory for the SQLite database; created if missing.
    pub data_dir: PathBuf,
    /// A `postgres://user@host:port/db` URL to keep the issuer's data in PostgreSQL
    /// instead of the data directory's SQLite file. Several instances may share one
    /// PostgreSQL database (docs/ARCHITECTURE.md); the connection is plain TCP, for a
    /// database on loopback or a private network. `None` (the default): SQLite.
    pub database: Option<String>,
    /// Address to listen on; the default `127.0.0.1:0` picks a free loopback port.
    pub bind: SocketAddr,
    /// Where "now" comes from (tests inject one; default: the system clock).
    pub clock: Arc<dyn Clock>,
    /// Where emails and SMS go; `None` uses the [`DevOutbox`] (`GET /v1/dev/outbox`),
    /// which needs [`dev_outbox`](Self::dev_outbox).
    pub sender: Option<Arc<dyn MessageSender>>,
    /// Dev mode: whether `GET /v1/dev/outbox` exists (admins read every code and link
    /// there). Off, that path is `not_found` like any unknown one and `sender` is
    /// required. On by default, for tests and the demo; the issuer binaries turn it on
    /// only with `--dev` ([`crate::DeliveryOptions`]).
    pub dev_outbox: bool,
    /// Abuse limits: SMS codes and wrong codes per phone number and per account,
    /// enrollment per source address and overall ([`Limits::default`]).
    pub limits: Limits,
    /// How long before a strict just-in-time event's window its gate bundles carry the
    /// release secret ([`DEFAULT_RELEASE_SECRET_LEAD`]). Earlier bundles leave it out, so a
    /// gate token stolen the day before cannot unlock codes early.
    pub release_secret_lead: Duration,
}

/// The environment variable the issuer binaries read a PostgreSQL URL from when no
/// `--database` is given (a URL with a password stays out of the process list).
pub const DATABASE_ENV: &str = "TESSERA_DATABASE_URL";

/// Default [`IssuerConfig::release_secret_lead`]: two hours, time for every gate to
/// refresh its bundle before doors open.
pub const DEFAULT_RELEASE_SECRET_LEAD: Duration = Duration::from_secs(2 * 3600);

impl fmt::Debug for IssuerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerConfig")
            .field("data_dir", &self.data_dir)
            .field("postgres", &self.database.is_some())
            .field("bind", &self.bind)
            .field("custom_sender", &self.sender.is_some())
            .field("dev_outbox", &self.dev_outbox)
            .field("limits", &self.limits)
            .field("release_secret_lead", &self.release_secret_lead)
            .finish_non_exhaustive()
    }
}

impl IssuerConfig {
    /// Defaults: loopback, a free port, the system clock, the dev outbox (dev mode on),
    /// the default limits.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            database: None,
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            clock: Arc::new(SystemClock),
            sender: None,
            dev_outbox: true,
            limits: Limits::default(),
            release_secret_lead: DEFAULT_RELEASE_SECRET_LEAD,
        }
    }
}

/// The issuer server.
#[derive(Debug, Clone, Copy)]
pub struct Issuer;

impl Issuer {
    /// Opens (or creates) the data directory and starts serving.
    pub async fn start(config: IssuerConfig) -> Result<RunningIssuer, IssuerError> {
        // Without dev mode there is no outbox to fall back on: codes would go nowhere.
        if config.sender.is_none() && !config.dev_outbox {
            return Err(IssuerError::NoSender);
        }
        create_private_dir(&config.data_dir)?;
        let metrics = Arc::new(Metrics::default());
        let db = Db::open(
            config.database.as_deref(),
            &config.data_dir.join(DB_FILE),
            metrics.clone(),
        )
        .await?;
        let now = config.clock.now_ms();
        let secrets = db
            .call(move |c| Ok(IssuerSecrets::load_or_create(c, now)))
            .await
            .map_err(|e| IssuerError::Storage(e.message))??;
        let old_scans = config.data_dir.join(OLD_SCANS_FILE);
        let adopt_db = db.clone();
        tokio::task::spawn_blocking(move || crate::gate::adopt_scan_file(&adopt_db, &old_scans))
            .await
            .map_err(|e| IssuerError::ScanLog(e.to_string()))??;
        let sender = config
            .sender
            .clone()
            .unwrap_or_else(|| Arc::new(DevOutbox::new(db.clone(), config.clock.clone())));
        let admin_token = secrets.admin_token.clone();
        let public_key = secrets.public;
        let state = Arc::new(AppState {
            db,
            clock: config.clock.clone(),
            sender,
            secrets,
            metrics,
            limits: config.limits,
            release_secret_lead_ms: i64::try_from(config.release_secret_lead.as_millis())
                .unwrap_or(i64::MAX),
            releases: crate::release::ReleaseCache::default(),
        });
        let listener = tokio::net::TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let app = crate::routes::router(state, config.dev_outbox);
        let task = tokio::spawn(async move {
            // Resolves on an explicit shutdown and when the handle is dropped.
            let stop = async move {
                let _ = rx.await;
            };
            // Serving only ends with an accept error the listener already survived; nothing
            // is left to report to, so the task just ends.
            // The peer address is what enrollment is throttled by (`limits::enroll`).
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await;
        });
        Ok(RunningIssuer {
            addr,
            admin_token,
            public_key,
            stop: Some(tx),
            task: Some(task),
        })
    }
}

/// Creates the data directory if missing; new directories are private to the user on
/// Unix, because the database holds the signing key and the admin token.
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// A running issuer. Dropping it stops the server (without waiting); prefer
/// [`shutdown`](Self::shutdown) to wait until it has stopped.
pub struct RunningIssuer {
    addr: SocketAddr,
    admin_token: Zeroizing<String>,
    public_key: [u8; 32],
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for RunningIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The admin token stays out of Debug output.
        f.debug_struct("RunningIssuer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RunningIssuer {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The admin bearer token (stable across restarts of the same data directory).
    pub fn admin_token(&self) -> String {
        self.admin_token.to_string()
    }

    /// The issuer's Ed25519 public key (key id [`crate::ISSUER_KEY_ID`]).
    pub fn issuer_public_key(&self) -> [u8; 32] {
        self.public_key
    }

    /// Stops accepting connections, lets requests in flight finish (up to 10 s), and
    /// returns once the server and its database are closed.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for RunningIssuer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
