//! Harness for the end-to-end tests: a real reference issuer on a random loopback port
//! with a SQLite data dir ([`Harness`], shared with the issuer's own tests), wallets on
//! real SQLite files talking to it over HTTP, and the gate verifier fed from the issuer's
//! bundle. The only fakes are the ones docs/DESIGN.md §9 allows: the key vault
//! ([`FileKeyVault`], [`KeystoreDirVault`], [`tessera_core::MemoryKeyVault`]) and the clock
//! ([`tessera_core::ManualClock`]), shared by the issuer and the wallets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod harness;
pub mod leak;
pub mod proxy;
mod vault;

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use tessera_core::sync::client::{ClientOptions, IssuerClient};
use tessera_core::sync::session::WalletSync;
use tessera_core::{EventPolicy, KeyVault, MemoryKeyVault, Wallet, WalletConfig};
use tessera_issuer::RunningIssuer;

pub use harness::postgres::{
    POSTGRES_URL_VAR, TEST_DATABASE_PREFIX, TestDatabase, create_database, database_url,
    fresh_database,
};
pub use harness::{
    Device, Harness, Reply, START_MS, install_ring, param, signed_post, six_digits, try_unseal,
    unseal, use_database,
};
pub use vault::{FileKeyVault, KeystoreDirVault};

/// The end-to-end tests' world: the issuer under test with its clock and HTTP calls (the
/// shared [`Harness`], reached through `Deref`), and wallets on files in its dir, on its
/// clock. The issuer itself is a field, so a test can read its URL and tokens or shut it
/// down; events open relative to now ([`Env::event`]).
pub struct Env {
    /// The issuer.
    pub issuer: RunningIssuer,
    harness: Harness,
}

impl Deref for Env {
    type Target = Harness;
    fn deref(&self) -> &Harness {
        &self.harness
    }
}

impl Env {
    /// Starts an issuer whose clock is the shared manual clock.
    pub async fn start() -> Self {
        Self::around(Harness::start().await)
    }

    /// Starts an issuer on the system clock, for tests whose wallets run in other processes.
    pub async fn start_real_time() -> Self {
        Self::around(Harness::start_real_time().await)
    }

    fn around(mut harness: Harness) -> Self {
        let issuer = harness.issuer.take().unwrap();
        Self { issuer, harness }
    }

    /// Creates an event whose window opens in `opens_in_s` seconds and lasts six hours.
    pub async fn event(
        &self,
        id: u64,
        opens_in_s: i64,
        f: impl FnOnce(&mut EventPolicy),
    ) -> EventPolicy {
        self.harness.event_opening_in(id, opens_in_s, f).await
    }

    /// A wallet on its own SQLite file in this env, with `vault`, on the shared clock.
    pub fn wallet_config(&self, name: &str, vault: Arc<dyn KeyVault>) -> WalletConfig {
        let mut c = WalletConfig::new(self.dir.path().join(format!("{name}.db")), vault);
        c.wall_clock = Arc::new(self.clock.clone());
        c.monotonic = Arc::new(self.clock.clone());
        c
    }

    /// Opens a wallet and its session with the issuer.
    pub fn session(&self, config: WalletConfig) -> WalletSync {
        session_at(config, &self.url, ClientOptions::default())
    }

    /// A wallet `name` with a memory vault whose session goes through `url` (a
    /// [`proxy`] in front of the issuer) and never retries, so each answer the proxy
    /// spoils is judged exactly once.
    pub fn session_through(&self, name: &str, url: &str) -> WalletSync {
        let config = self.wallet_config(name, Arc::new(MemoryKeyVault::new().unwrap()));
        let options = ClientOptions {
            max_retries: 0,
            ..ClientOptions::default()
        };
        session_at(config, url, options)
    }

    /// Enrolls `s` and verifies `email` through the dev outbox, as a user tapping the link.
    pub async fn enroll_and_verify_email(&self, s: &WalletSync, email: &str) {
        s.enroll("test").await.unwrap();
        s.request_email(email).await.unwrap();
        let body = self.last_message(email).await.body;
        s.confirm_email(&param(&body, "token")).await.unwrap();
    }
}

fn session_at(config: WalletConfig, url: &str, options: ClientOptions) -> WalletSync {
    let wallet = Arc::new(Wallet::open(config).unwrap());
    WalletSync::new(wallet, IssuerClient::new(url, options).unwrap())
}

/// One row of a wallet file: its table, and each column's name and value.
pub type WalletRow = (String, Vec<(String, rusqlite::types::Value)>);

/// Every row of every table of the wallet file at `path`, raw (sealed columns and row tags
/// included), table by table (by name) and by first column: what a test compares to prove
/// a refused sync or a crash changed nothing.
pub fn wallet_rows(path: &Path) -> Vec<WalletRow> {
    let c = rusqlite::Connection::open(path).unwrap();
    // Every table the file has, so a table a later schema adds is compared too.
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let mut st = c
            .prepare(&format!("SELECT * FROM {table} ORDER BY 1"))
            .unwrap();
        let names: Vec<String> = st.column_names().map(str::to_owned).collect();
        let all = st
            .query_map([], |r| {
                (0..names.len())
                    .map(|i| Ok((names[i].clone(), r.get::<_, rusqlite::types::Value>(i)?)))
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap();
        for row in all {
            out.push((table.clone(), row.unwrap()));
        }
    }
    out
}
