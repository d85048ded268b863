//! The issuer under test: a real reference issuer on a random loopback port over a temp
//! dir, on a manual clock the test moves, with the HTTP calls the tests make of it (admin
//! and staff calls, and devices that sign requests as a wallet does).
//!
//! One harness for two kinds of tests: the end-to-end tests (`tessera_tests`, which add
//! wallets to it) and the issuer's own integration tests, which include this file with
//! `#[path]` as their `common` module. A dev-dependency of the issuer on `tessera-tests`
//! would build core with the wallet's HTTP client into the issuer's tests, which
//! `scripts/test-all.sh` refuses (docs/DECISIONS.md 40); so this file names only crates
//! both have (no `crate::` paths, nothing of `sync-client`).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;

use reqwest::StatusCode;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tessera_core::clock::{SystemWallClock, WallClock};
use tessera_core::sync::api::{
    EmailConfirm, EmailRequest, EnrollRequest, ErrorBody, OrderRequest, OrderResponse,
    OutboxMessage, PhoneConfirm, PhoneRequest, SyncRequest, SyncResponse, TokenRequest,
    TokenResponse,
};
use tessera_core::sync::request::{
    HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, signing_message,
};
use tessera_core::sync::transport::{Ephemeral, TransportContext, TransportKey};
use tessera_core::{EventId, EventPolicy, ManualClock, TicketId};
use tessera_issuer::{Issuer, IssuerConfig, RunningIssuer};

#[path = "postgres.rs"]
pub mod postgres;

use postgres::TestDatabase;

/// 2027-01-15 08:00:00 UTC: "now" when a test starts.
pub const START_MS: i64 = 1_800_000_000_000;

/// Installs ring as rustls' process-wide provider: reqwest is built without one
/// (docs/DESIGN.md §2). Plain HTTP only, but reqwest wants a provider; a second install
/// just fails.
pub fn install_ring() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A running issuer, the clock it reads and an HTTP client for it.
pub struct Harness {
    /// The issuer in this process; `None` once shut down or handed to its owner (the
    /// end-to-end `Env`), or when the issuer runs elsewhere ([`Harness::attach`]).
    pub issuer: Option<RunningIssuer>,
    /// The client every call goes through.
    pub http: reqwest::Client,
    /// The issuer's base URL.
    pub url: String,
    /// The issuer's admin token.
    pub admin: String,
    /// The clock the issuer reads (unless started on real time) and the wallets share.
    pub clock: ManualClock,
    /// Holds the issuer's data dir ([`Harness::data_dir`]) and the wallets' files.
    pub dir: tempfile::TempDir,
    /// Whether the issuer reads [`Harness::clock`] (a restart keeps it so).
    manual: bool,
    /// The issuer's public key, when it was started here (kept when [`Harness::issuer`] is
    /// taken).
    key: Option<[u8; 32]>,
    /// The issuer's PostgreSQL database, when `TESSERA_TEST_POSTGRES_URL` names a server
    /// ([`postgres::fresh_database`]); a restart keeps it. Last, so it is dropped after the
    /// issuer.
    database: Option<TestDatabase>,
}

/// An answer, read whole.
pub struct Reply {
    /// Its status.
    pub status: StatusCode,
    /// Its `Retry-After` header.
    pub retry_after: Option<String>,
    /// Its body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON; panics with status and body when it is not `T`.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} {e}: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `ErrorBody` code, asserting the status too.
    pub fn error(&self, status: u16) -> String {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        self.json::<ErrorBody>().error.as_str().to_owned()
    }

    /// The body as JSON, asserting 200.
    pub fn ok<T: DeserializeOwned>(&self) -> T {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        self.json()
    }

    /// The body as JSON, asserting a 2xx status.
    pub fn success<T: DeserializeOwned>(&self, what: &str) -> T {
        assert!(
            self.status.is_success(),
            "{what}: {} {}",
            self.status,
            String::from_utf8_lossy(&self.body)
        );
        self.json()
    }

    async fn read(resp: reqwest::Response) -> Self {
        Self {
            status: resp.status(),
            retry_after: resp
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned()),
            body: resp.bytes().await.unwrap().to_vec(),
        }
    }
}

fn config(
    data_dir: PathBuf,
    clock: Option<&ManualClock>,
    database: Option<&TestDatabase>,
) -> IssuerConfig {
    let mut cfg = IssuerConfig::new(data_dir);
    if let Some(c) = clock {
        let c = c.clone();
        cfg.clock = Arc::new(move || c.now_unix_ms());
    }
    use_database(&mut cfg, database.map(TestDatabase::url));
    cfg
}

/// Puts the issuer of `cfg` on the PostgreSQL database `url`; `None` leaves it on SQLite in
/// its data directory.
pub fn use_database(cfg: &mut IssuerConfig, url: Option<&str>) {
    cfg.database = url.map(str::to_owned);
}

impl Harness {
    /// Starts an issuer on the manual clock, at [`START_MS`].
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts with a configuration changed by `f` (clock and data dir stay the harness's).
    pub async fn start_with(f: impl FnOnce(&mut IssuerConfig)) -> Self {
        Self::launch(true, f).await
    }

    /// Starts an issuer on the system clock, for tests whose wallets run in other
    /// processes; [`Harness::clock`] starts at the real time then.
    pub async fn start_real_time() -> Self {
        Self::launch(false, |_| {}).await
    }

    async fn launch(manual: bool, f: impl FnOnce(&mut IssuerConfig)) -> Self {
        install_ring();
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(if manual {
            START_MS
        } else {
            SystemWallClock.now_unix_ms()
        });
        let database = postgres::fresh_database().await;
        let mut cfg = config(
            dir.path().join("issuer"),
            manual.then_some(&clock),
            database.as_ref(),
        );
        f(&mut cfg);
        let issuer = Issuer::start(cfg).await.unwrap();
        Self {
            url: issuer.url(),
            admin: issuer.admin_token(),
            key: Some(issuer.issuer_public_key()),
            issuer: Some(issuer),
            http: reqwest::Client::new(),
            clock,
            dir,
            manual,
            database,
        }
    }

    /// A harness for an issuer that runs elsewhere (its binary), at `url` with the admin
    /// token `admin`; its clock is the system's, which [`Harness::clock`] starts at.
    pub fn attach(url: String, admin: String) -> Self {
        install_ring();
        Self {
            issuer: None,
            http: reqwest::Client::new(),
            url,
            admin,
            clock: ManualClock::new(SystemWallClock.now_unix_ms()),
            dir: tempfile::tempdir().unwrap(),
            manual: false,
            key: None,
            database: None,
        }
    }

    /// The issuer's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("issuer")
    }

    /// Makes this harness (of an issuer running elsewhere, [`Harness::attach`]) read and
    /// own `database`, the one that issuer runs on: [`Harness::stored_count`] reads it and
    /// dropping the harness drops it.
    pub fn owning_database(mut self, database: TestDatabase) -> Self {
        self.database = Some(database);
        self
    }

    /// The URL of the issuer's PostgreSQL database, when the tests run on PostgreSQL
    /// (`TESSERA_TEST_POSTGRES_URL`); `None` on SQLite.
    pub fn database_url(&self) -> Option<&str> {
        self.database.as_ref().map(TestDatabase::url)
    }

    /// Stops the issuer and starts a new one on the same data directory (and clock), with
    /// the default configuration.
    pub async fn restart(&mut self) {
        self.issuer.take().unwrap().shutdown().await;
        let cfg = config(
            self.data_dir(),
            self.manual.then_some(&self.clock),
            self.database.as_ref(),
        );
        let issuer = Issuer::start(cfg).await.unwrap();
        self.url = issuer.url();
        self.admin = issuer.admin_token();
        self.key = Some(issuer.issuer_public_key());
        self.issuer = Some(issuer);
    }

    /// `SELECT COUNT(*) FROM table` in the issuer's database, read beside the issuer.
    pub fn stored_count(&self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        match self.database_url() {
            Some(url) => psql(url, &sql).trim().parse().unwrap(),
            None => rusqlite::Connection::open(self.data_dir().join("issuer.sqlite"))
                .unwrap()
                .query_row(&sql, [], |r| r.get(0))
                .unwrap(),
        }
    }

    /// Every byte the issuer stored: the files of its data directory (database, WAL) and,
    /// on PostgreSQL, a dump of its database's rows.
    pub fn stored_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(self.data_dir()).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                all.extend(std::fs::read(&path).unwrap());
            }
        }
        if let Some(url) = self.database_url() {
            let out = std::process::Command::new("pg_dump")
                .args(["--data-only", "--no-owner", url])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "pg_dump: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            all.extend(out.stdout);
        }
        all
    }

    /// The issuer's public key (of an issuer started here).
    pub fn issuer_key(&self) -> [u8; 32] {
        self.key
            .unwrap_or_else(|| panic!("the key of an issuer running elsewhere is not known"))
    }

    /// The issuer key as a gate pins it at set-up.
    pub fn gate_pins(&self) -> tessera_gate::PinnedKeys {
        std::collections::BTreeMap::from([(
            tessera_issuer::ISSUER_KEY_ID,
            tessera_gate::PublicKey(self.issuer_key()),
        )])
    }

    /// The bundle in a signed document the issuer served, checked as a gate checks it.
    pub fn open_bundle(&self, document: &str) -> tessera_gate::GateBundle {
        tessera_gate::signed_bundle::open(document, &self.gate_pins())
            .unwrap_or_else(|e| panic!("the served bundle does not open: {e}"))
    }

    /// Unix ms now.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_unix_ms()
    }

    /// Unix seconds now.
    pub fn now_s(&self) -> i64 {
        self.now_ms() / 1000
    }

    /// Moves the clock `ms` forward.
    pub fn advance_ms(&self, ms: i64) {
        self.clock.advance(u64::try_from(ms).unwrap());
    }

    /// A GET, with a bearer token when given.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut r = self.http.get(format!("{}{path}", self.url));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        Reply::read(r.send().await.unwrap()).await
    }

    /// A POST of raw bytes as JSON, with a bearer token when given.
    pub async fn post_raw(&self, path: &str, token: Option<&str>, body: Vec<u8>) -> Reply {
        let mut r = self
            .http
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        Reply::read(r.send().await.unwrap()).await
    }

    /// A POST of `body` as JSON with a bearer token.
    pub async fn post<T: Serialize>(&self, path: &str, token: &str, body: &T) -> Reply {
        self.post_raw(path, Some(token), serde_json::to_vec(body).unwrap())
            .await
    }

    /// A staff POST whose answer must be a success (any 2xx), read as `R`.
    pub async fn admin_post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        token: &str,
        body: &B,
    ) -> R {
        self.post(path, token, body).await.success(path)
    }

    /// A staff GET whose answer must be a success (any 2xx), as text.
    pub async fn admin_get(&self, path: &str, token: &str) -> String {
        let r = self.get(path, Some(token)).await;
        assert!(r.status.is_success(), "{path}: {}", r.status);
        String::from_utf8(r.body).unwrap()
    }

    /// An unscoped box-office token.
    pub async fn mint_box_office(&self) -> String {
        self.mint_with(&TokenRequest::box_office(None)).await
    }

    /// A gate token for `gate_id` at `event`.
    pub async fn mint_gate(&self, event: u64, gate_id: &str) -> String {
        self.mint_with(&TokenRequest::gate(EventId(event), gate_id))
            .await
    }

    /// A token minted with `req`.
    pub async fn mint_with(&self, req: &TokenRequest) -> String {
        self.post("/v1/admin/tokens", &self.admin, req)
            .await
            .ok::<TokenResponse>()
            .token
    }

    /// An event whose window opened an hour ago and closes in a day, customised by `f`.
    pub async fn event(&self, id: u64, f: impl FnOnce(&mut EventPolicy)) -> EventPolicy {
        let (now, day) = (self.now_s(), 86_400);
        self.create_event(id, now - 3600, now + day, f).await
    }

    /// An event whose window opens in `opens_in_s` seconds and lasts six hours,
    /// customised by `f`.
    pub async fn event_opening_in(
        &self,
        id: u64,
        opens_in_s: i64,
        f: impl FnOnce(&mut EventPolicy),
    ) -> EventPolicy {
        let opens = self.now_s() + opens_in_s;
        self.create_event(id, opens, opens + 6 * 3600, f).await
    }

    async fn create_event(
        &self,
        id: u64,
        opens: i64,
        until: i64,
        f: impl FnOnce(&mut EventPolicy),
    ) -> EventPolicy {
        let mut p = EventPolicy::new(EventId(id), format!("Event {id}"), opens, until);
        f(&mut p);
        let back: EventPolicy = self.post("/v1/admin/events", &self.admin, &p).await.ok();
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
        self.post(
            "/v1/admin/orders",
            &self.admin,
            &OrderRequest {
                event_id: EventId(event),
                email: email.into(),
                phone: phone.map(Into::into),
                holder_name: holder.map(Into::into),
                seats: seats.iter().map(|s| (*s).to_owned()).collect(),
            },
        )
        .await
        .ok::<OrderResponse>()
        .tickets
    }

    /// Everything the dev sender wrote.
    pub async fn outbox(&self) -> Vec<OutboxMessage> {
        self.get("/v1/dev/outbox", Some(&self.admin)).await.ok()
    }

    /// The last message the dev sender wrote to `to`.
    pub async fn last_message(&self, to: &str) -> OutboxMessage {
        self.outbox()
            .await
            .into_iter()
            .rev()
            .find(|m| m.to == to)
            .unwrap_or_else(|| panic!("no message to {to}"))
    }
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

/// A secret of a sync answer (hex) opened with the sync's transport key under the context
/// it must be sealed for; `None` when it does not open there (sealed for another ticket,
/// version or key).
pub fn try_unseal(
    key: &TransportKey,
    column: &str,
    row: &[u8],
    version: u32,
    sealed_hex: &str,
) -> Option<Vec<u8>> {
    let ctx = TransportContext {
        column,
        row,
        version,
    };
    let sealed = hex::decode(sealed_hex).unwrap();
    key.open(&ctx, &sealed).ok().map(|s| s.to_vec())
}

/// [`try_unseal`] for a secret that must open.
pub fn unseal(
    key: &TransportKey,
    column: &str,
    row: &[u8],
    version: u32,
    sealed_hex: &str,
) -> Vec<u8> {
    try_unseal(key, column, row, version, sealed_hex)
        .unwrap_or_else(|| panic!("the {column} does not open for version {version}"))
}

/// A device that signs its requests as a wallet does, without a wallet: for the issuer's
/// own tests of what it accepts.
pub struct Device {
    /// Its key pair.
    pub kp: Ed25519KeyPair,
    /// Its public key.
    pub pk: [u8; 32],
}

impl Default for Device {
    fn default() -> Self {
        Self::new()
    }
}

impl Device {
    /// A device with a fresh random key.
    pub fn new() -> Self {
        let mut seed = [0u8; 32];
        SystemRandom::new().fill(&mut seed).unwrap();
        let kp = Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
        let mut pk = [0u8; 32];
        pk.copy_from_slice(kp.public_key().as_ref());
        Self { kp, pk }
    }

    /// A fresh random request nonce, hex.
    pub fn nonce() -> String {
        let mut n = [0u8; 16];
        SystemRandom::new().fill(&mut n).unwrap();
        hex::encode(n)
    }

    /// Sends a signed POST with explicit timestamp and nonce.
    pub async fn post_with(
        &self,
        h: &Harness,
        path: &str,
        body: Vec<u8>,
        ts: i64,
        nonce: &str,
    ) -> Reply {
        let sig = self
            .kp
            .sign(&signing_message("POST", path, ts, nonce, &body));
        signed_post(h, &self.pk, sig.as_ref(), path, body, ts, nonce).await
    }

    /// Sends a signed POST of `body` as JSON, now, with a fresh nonce.
    pub async fn post<T: Serialize>(&self, h: &Harness, path: &str, body: &T) -> Reply {
        self.post_with(
            h,
            path,
            serde_json::to_vec(body).unwrap(),
            h.now_ms(),
            &Self::nonce(),
        )
        .await
    }

    /// Enrolls this device.
    pub async fn enroll(&self, h: &Harness) {
        let r = self
            .post(
                h,
                "/v1/devices",
                &EnrollRequest {
                    platform: "test".into(),
                },
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }

    /// Enrolls and confirms `email` on this device.
    pub async fn verify_email(&self, h: &Harness, email: &str) {
        self.enroll(h).await;
        self.post(
            h,
            "/v1/attendee/email/request",
            &EmailRequest {
                email: email.into(),
            },
        )
        .await
        .ok::<serde_json::Value>();
        let token = param(&h.last_message(email).await.body, "token");
        self.post(h, "/v1/attendee/email/confirm", &EmailConfirm { token })
            .await
            .ok::<serde_json::Value>();
    }

    /// A sync, with the transport key to open its secrets.
    pub async fn sync(&self, h: &Harness) -> (SyncResponse, TransportKey) {
        let eph = Ephemeral::generate().unwrap();
        let wallet_pub = eph.public_key();
        let r: SyncResponse = self
            .post(
                h,
                "/v1/attendee/sync",
                &SyncRequest {
                    ephemeral_public_key: hex::encode(wallet_pub),
                    time_nonce: hex::encode([0x5a; 32]),
                },
            )
            .await
            .ok();
        // Every sync answer's clock is signed over the request's nonce.
        let keys = std::collections::HashMap::from([(
            r.issuer_keys[0].key_id,
            <[u8; 32]>::try_from(hex::decode(&r.issuer_keys[0].public_key).unwrap()).unwrap(),
        )]);
        tessera_core::sync::signed_time::verify_time(
            &keys,
            &[0x5a; 32],
            r.server_time_ms,
            &r.time_proof,
        )
        .unwrap();
        let mut issuer_pub = [0u8; 32];
        hex::decode_to_slice(&r.server_ephemeral_public_key, &mut issuer_pub).unwrap();
        let key = eph.agree(&issuer_pub, &issuer_pub, &wallet_pub).unwrap();
        (r, key)
    }
}

/// `d` asks for an SMS code to `phone`.
pub async fn request_code(h: &Harness, d: &Device, phone: &str) -> Reply {
    d.post(
        h,
        "/v1/attendee/phone/request",
        &PhoneRequest {
            phone: phone.into(),
        },
    )
    .await
}

/// `d` confirms the SMS code `code`.
pub async fn confirm_code(h: &Harness, d: &Device, code: &str) -> Reply {
    d.post(
        h,
        "/v1/attendee/phone/confirm",
        &PhoneConfirm { code: code.into() },
    )
    .await
}

/// `d` verifies `phone` through the dev outbox, as a user typing the code.
pub async fn verify_phone(h: &Harness, d: &Device, phone: &str) {
    request_code(h, d, phone).await.ok::<serde_json::Value>();
    let code = six_digits(&h.last_message(phone).await.body);
    confirm_code(h, d, &code).await.ok::<serde_json::Value>();
}

/// A POST of JSON `body` that claims device `pk` and carries `sig`, as made: a device's own
/// signature, or a forgery.
pub async fn signed_post(
    h: &Harness,
    pk: &[u8; 32],
    sig: &[u8],
    path: &str,
    body: Vec<u8>,
    ts: i64,
    nonce: &str,
) -> Reply {
    let resp = h
        .http
        .post(format!("{}{path}", h.url))
        .header("content-type", "application/json")
        .header(HEADER_DEVICE, hex::encode(pk))
        .header(HEADER_TIMESTAMP, ts.to_string())
        .header(HEADER_NONCE, nonce)
        .header(HEADER_SIGNATURE, hex::encode(sig))
        .body(body)
        .send()
        .await
        .unwrap();
    Reply::read(resp).await
}

/// Runs one statement with `psql` (Debian's `postgresql-client`) and returns its output.
pub fn psql(url: &str, sql: &str) -> String {
    let out = std::process::Command::new("psql")
        .args([
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
            url,
        ])
        .output()
        .unwrap_or_else(|e| panic!("psql: {e} (is postgresql-client installed?)"));
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
