//! Shared test harness: a real issuer on a loopback port over a temp dir, a fake clock
//! (an atomic the test moves), and devices that sign requests like the wallet does.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use reqwest::StatusCode;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tessera_core::sync::api::{
    EmailConfirm, EmailRequest, EnrollRequest, ErrorBody, OrderRequest, OrderResponse,
    OutboxMessage, SyncRequest, SyncResponse, TokenRequest, TokenResponse,
};
use tessera_core::sync::request::{
    HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, signing_message,
};
use tessera_core::sync::transport::{Ephemeral, TransportKey};
use tessera_core::{EventId, EventPolicy, TicketId};
use tessera_issuer::{Issuer, IssuerConfig, RunningIssuer};

/// A fixed start time for the fake clock: 2027-01-15T08:00:00Z.
pub const T0_MS: i64 = 1_800_000_000_000;

pub struct Harness {
    pub issuer: Option<RunningIssuer>,
    pub http: reqwest::Client,
    pub url: String,
    pub admin: String,
    pub clock: Arc<AtomicI64>,
    pub dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: StatusCode,
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
}

impl Reply {
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

    pub fn ok<T: DeserializeOwned>(&self) -> T {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        self.json()
    }
}

fn config(dir: PathBuf, clock: &Arc<AtomicI64>) -> IssuerConfig {
    let c = clock.clone();
    let mut cfg = IssuerConfig::new(dir);
    cfg.clock = Arc::new(move || c.load(Ordering::SeqCst));
    cfg
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts with a configuration changed by `f` (clock and data dir stay the harness's).
    pub async fn start_with(f: impl FnOnce(&mut IssuerConfig)) -> Self {
        // Plain HTTP only, but reqwest wants a provider; a second install just fails.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(AtomicI64::new(T0_MS));
        let mut cfg = config(dir.path().to_owned(), &clock);
        f(&mut cfg);
        let issuer = Issuer::start(cfg).await.unwrap();
        Self {
            url: issuer.url(),
            admin: issuer.admin_token(),
            issuer: Some(issuer),
            http: reqwest::Client::new(),
            clock,
            dir,
        }
    }

    /// Stops the issuer and starts a new one on the same data directory.
    pub async fn restart(&mut self) {
        self.issuer.take().unwrap().shutdown().await;
        let issuer = Issuer::start(config(self.dir.path().to_owned(), &self.clock))
            .await
            .unwrap();
        self.url = issuer.url();
        self.admin = issuer.admin_token();
        self.issuer = Some(issuer);
    }

    /// The issuer key as a gate pins it.
    #[allow(dead_code)]
    pub fn gate_pins(&self) -> tessera_gate::PinnedKeys {
        std::collections::BTreeMap::from([(
            tessera_issuer::ISSUER_KEY_ID,
            tessera_gate::PublicKey(self.issuer_key()),
        )])
    }

    pub fn issuer_key(&self) -> [u8; 32] {
        self.issuer.as_ref().unwrap().issuer_public_key()
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.load(Ordering::SeqCst)
    }

    pub fn now_s(&self) -> i64 {
        self.now_ms() / 1000
    }

    pub fn advance_ms(&self, ms: i64) {
        self.clock.fetch_add(ms, Ordering::SeqCst);
    }

    async fn reply(resp: reqwest::Response) -> Reply {
        Reply {
            status: resp.status(),
            retry_after: resp
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned()),
            body: resp.bytes().await.unwrap().to_vec(),
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut r = self.http.get(format!("{}{path}", self.url));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        Self::reply(r.send().await.unwrap()).await
    }

    pub async fn post_raw(&self, path: &str, token: Option<&str>, body: Vec<u8>) -> Reply {
        let mut r = self
            .http
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        Self::reply(r.send().await.unwrap()).await
    }

    pub async fn post<T: Serialize>(&self, path: &str, token: &str, body: &T) -> Reply {
        self.post_raw(path, Some(token), serde_json::to_vec(body).unwrap())
            .await
    }

    /// An unscoped box-office token.
    #[allow(dead_code)]
    pub async fn mint_box_office(&self) -> String {
        self.mint_with(&TokenRequest::box_office(None)).await
    }

    /// A gate token for `gate_id` at `event`.
    #[allow(dead_code)]
    pub async fn mint_gate(&self, event: u64, gate_id: &str) -> String {
        self.mint_with(&TokenRequest::gate(EventId(event), gate_id))
            .await
    }

    pub async fn mint_with(&self, req: &TokenRequest) -> String {
        self.post("/v1/admin/tokens", &self.admin, req)
            .await
            .ok::<TokenResponse>()
            .token
    }

    /// An event whose window opened an hour ago and closes in a day, customised by `f`.
    pub async fn event(&self, id: u64, f: impl FnOnce(&mut EventPolicy)) -> EventPolicy {
        let mut p = EventPolicy::new(
            EventId(id),
            format!("Event {id}"),
            self.now_s() - 3600,
            self.now_s() + 86_400,
        );
        f(&mut p);
        let back: EventPolicy = self.post("/v1/admin/events", &self.admin, &p).await.ok();
        assert_eq!(back, p);
        p
    }

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

    pub async fn outbox(&self) -> Vec<OutboxMessage> {
        self.get("/v1/dev/outbox", Some(&self.admin)).await.ok()
    }

    /// The last message sent to `to`.
    pub async fn last_message(&self, to: &str) -> OutboxMessage {
        self.outbox()
            .await
            .into_iter()
            .rev()
            .find(|m| m.to == to)
            .unwrap_or_else(|| panic!("no message to {to}"))
    }
}

/// The text after `key=` up to the next whitespace.
pub fn param(body: &str, key: &str) -> String {
    let start = body.find(&format!("{key}=")).unwrap() + key.len() + 1;
    body[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect()
}

/// The first run of six digits in a text.
pub fn six_digits(body: &str) -> String {
    let b = body.as_bytes();
    (0..b.len() - 5)
        .map(|i| &body[i..i + 6])
        .find(|w| w.bytes().all(|c| c.is_ascii_digit()))
        .unwrap()
        .to_owned()
}

pub struct Device {
    pub kp: Ed25519KeyPair,
    pub pk: [u8; 32],
}

impl Device {
    pub fn new() -> Self {
        let mut seed = [0u8; 32];
        SystemRandom::new().fill(&mut seed).unwrap();
        let kp = Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
        let mut pk = [0u8; 32];
        pk.copy_from_slice(kp.public_key().as_ref());
        Self { kp, pk }
    }

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
        let resp = h
            .http
            .post(format!("{}{path}", h.url))
            .header("content-type", "application/json")
            .header(HEADER_DEVICE, hex::encode(self.pk))
            .header(HEADER_TIMESTAMP, ts.to_string())
            .header(HEADER_NONCE, nonce)
            .header(HEADER_SIGNATURE, hex::encode(sig.as_ref()))
            .body(body)
            .send()
            .await
            .unwrap();
        Harness::reply(resp).await
    }

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

/// The bundle in a signed document the issuer served for its gates, checked against the
/// issuer's key.
#[allow(dead_code)]
pub fn open_bundle(h: &Harness, text: &str) -> tessera_gate::GateBundle {
    tessera_gate::signed_bundle::open(text, &h.gate_pins()).unwrap()
}
