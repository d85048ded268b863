//! Harness for the end-to-end tests: a real reference issuer on a random loopback port
//! with a SQLite data dir, wallets on real SQLite files talking to it over HTTP, and the
//! gate verifier fed from the issuer's bundle. The only fakes are the ones docs/DESIGN.md §9
//! allows: the key vault ([`FileKeyVault`], [`KeystoreDirVault`],
//! [`tessera_core::MemoryKeyVault`]) and the clock ([`tessera_core::ManualClock`]), shared
//! by the issuer and the wallets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod leak;
pub mod proxy;
mod vault;

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tessera_core::clock::{SystemWallClock, WallClock};
use tessera_core::sync::api::{
    OrderRequest, OrderResponse, OutboxMessage, TokenRequest, TokenResponse,
};
use tessera_core::sync::client::{ClientOptions, IssuerClient};
use tessera_core::sync::session::WalletSync;
use tessera_core::{
    EventId, EventPolicy, KeyVault, ManualClock, MemoryKeyVault, TicketId, Wallet, WalletConfig,
};
use tessera_issuer::{Issuer, IssuerConfig, RunningIssuer};

pub use vault::{FileKeyVault, KeystoreDirVault};

/// 2027-01-15 08:00:00 UTC: "now" when a test starts.
pub const START_MS: i64 = 1_800_000_000_000;

/// A running issuer with its admin handle and the shared fake clock.
pub struct Env {
    /// Holds the issuer's data dir and the wallets' files.
    pub dir: tempfile::TempDir,
    /// The clock the issuer and every wallet read.
    pub clock: ManualClock,
    /// The issuer.
    pub issuer: RunningIssuer,
    http: reqwest::Client,
}

/// Installs ring as rustls' process-wide provider: reqwest is built without one
/// (docs/DESIGN.md §2).
pub fn install_ring() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Env {
    /// Starts an issuer whose clock is the shared manual clock.
    pub async fn start() -> Self {
        Self::start_with(true).await
    }

    /// Starts an issuer on the system clock, for tests whose wallets run in other processes.
    pub async fn start_real_time() -> Self {
        Self::start_with(false).await
    }

    async fn start_with(manual: bool) -> Self {
        install_ring();
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(if manual {
            START_MS
        } else {
            SystemWallClock.now_unix_ms()
        });
        let mut cfg = IssuerConfig::new(dir.path().join("issuer"));
        if manual {
            let c = clock.clone();
            cfg.clock = Arc::new(move || c.now_unix_ms());
        }
        let issuer = Issuer::start(cfg).await.unwrap();
        Self {
            dir,
            clock,
            issuer,
            http: reqwest::Client::new(),
        }
    }

    /// Unix seconds now.
    pub fn now_s(&self) -> i64 {
        self.clock.now_unix_ms() / 1000
    }

    /// Admin POST; panics with the body on a non-2xx answer.
    pub async fn admin_post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        token: &str,
        body: &B,
    ) -> R {
        let r = self
            .http
            .post(format!("{}{path}", self.issuer.url()))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Admin GET of raw text.
    pub async fn admin_get(&self, path: &str, token: &str) -> String {
        let r = self
            .http
            .get(format!("{}{path}", self.issuer.url()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.text().await.unwrap()
    }

    /// The issuer key as a gate pins it at set-up.
    pub fn gate_pins(&self) -> tessera_gate::PinnedKeys {
        std::collections::BTreeMap::from([(
            tessera_issuer::ISSUER_KEY_ID,
            tessera_gate::PublicKey(self.issuer.issuer_public_key()),
        )])
    }

    /// The bundle in a signed document the issuer served, checked as a gate checks it.
    pub fn open_bundle(&self, document: &str) -> tessera_gate::GateBundle {
        tessera_gate::signed_bundle::open(document, &self.gate_pins())
            .unwrap_or_else(|e| panic!("the served bundle does not open: {e}"))
    }

    /// A gate token for `gate_id` at event `event`.
    pub async fn mint_gate(&self, event: u64, gate_id: &str) -> String {
        self.mint_with(&TokenRequest::gate(EventId(event), gate_id))
            .await
    }

    /// A token minted with `req`.
    pub async fn mint_with(&self, req: &TokenRequest) -> String {
        let t: TokenResponse = self
            .admin_post("/v1/admin/tokens", &self.issuer.admin_token(), req)
            .await;
        t.token
    }

    /// Creates an event whose window opens in `opens_in_s` seconds and lasts six hours.
    pub async fn event(
        &self,
        id: u64,
        opens_in_s: i64,
        f: impl FnOnce(&mut EventPolicy),
    ) -> EventPolicy {
        let mut p = EventPolicy::new(
            EventId(id),
            format!("Event {id}"),
            self.now_s() + opens_in_s,
            self.now_s() + opens_in_s + 6 * 3600,
        );
        f(&mut p);
        let back: EventPolicy = self
            .admin_post("/v1/admin/events", &self.issuer.admin_token(), &p)
            .await;
        assert_eq!(back, p);
        p
    }

    /// Sells `seats.len()` tickets of `event` to `email`.
    pub async fn order(
        &self,
        event: u64,
        email: &str,
        phone: Option<&str>,
        holder: Option<&str>,
        seats: &[&str],
    ) -> Vec<TicketId> {
        let req = OrderRequest {
            event_id: EventId(event),
            email: email.into(),
            phone: phone.map(Into::into),
            holder_name: holder.map(Into::into),
            seats: seats.iter().map(|s| (*s).to_owned()).collect(),
        };
        let r: OrderResponse = self
            .admin_post("/v1/admin/orders", &self.issuer.admin_token(), &req)
            .await;
        r.tickets
    }

    /// The last message the dev sender wrote to `to`.
    pub async fn last_message(&self, to: &str) -> OutboxMessage {
        let all: Vec<OutboxMessage> = serde_json::from_str(
            &self
                .admin_get("/v1/dev/outbox", &self.issuer.admin_token())
                .await,
        )
        .unwrap();
        all.into_iter()
            .rev()
            .find(|m| m.to == to)
            .unwrap_or_else(|| panic!("no message to {to}"))
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
        session_at(config, &self.issuer.url(), ClientOptions::default())
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
/// included), table by table (by name) and by first column: what a test compares to prove a refused
/// sync or a crash changed nothing.
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

/// The value after `key=` in a message, up to whitespace or `&`.
pub fn param(body: &str, key: &str) -> String {
    let pat = format!("{key}=");
    let start = body
        .find(&pat)
        .unwrap_or_else(|| panic!("no {key} in message"))
        + pat.len();
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// The first run of six digits in a message (the SMS code).
pub fn six_digits(body: &str) -> String {
    let b = body.as_bytes();
    (0..b.len().saturating_sub(5))
        .find(|&i| {
            b[i..i + 6].iter().all(u8::is_ascii_digit)
                && (i + 6 == b.len() || !b[i + 6].is_ascii_digit())
                && (i == 0 || !b[i - 1].is_ascii_digit())
        })
        .map(|i| body[i..i + 6].to_owned())
        .unwrap_or_else(|| panic!("no code in {body:?}"))
}
