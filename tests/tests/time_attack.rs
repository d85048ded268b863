//! A reseller's attack on trusted time, with the real issuer on loopback: a proxy in front
//! of it (or a server of the attacker's own) answers "a day later". The wallet must open
//! no window early, keep no trace of the bad time, and still sync with the real issuer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use axum::http::{StatusCode, Uri};
use tessera_core::clock::WallClock;
use tessera_core::sync::api::TimeResponse;
use tessera_core::sync::error::SyncError;
use tessera_core::sync::session::WalletSync;
use tessera_core::{CodeFormat, RevealState, WalletError};
use tessera_tests::Env;
use tessera_tests::proxy::Tamper;

const DAY_MS: i64 = 86_400_000;

/// What the proxy does to the issuer's clock in its answers.
#[derive(Default)]
struct ClockShift {
    /// Added to `server_time_ms` in `/v1/time` and sync answers (signatures untouched).
    shift_ms: Mutex<i64>,
    /// Answer `/v1/time` itself, a day ahead, signed with the attacker's own key.
    own_key: Mutex<bool>,
}

impl Tamper for ClockShift {
    fn answer(&self, uri: &Uri) -> Option<Vec<u8>> {
        if uri.path() != "/v1/time" || !*self.own_key.lock().unwrap() {
            return None;
        }
        let key = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[66; 32]).unwrap();
        let nonce = uri
            .query()
            .and_then(|q| q.split_once("nonce="))
            .and_then(|(_, n)| tessera_core::sync::signed_time::parse_nonce(n))
            .unwrap();
        let t = tessera_tests::START_MS + DAY_MS;
        let r = TimeResponse {
            server_time_ms: t,
            // Key id 1, like the real issuer's: only the key differs.
            proof: Some(tessera_core::sync::signed_time::sign_time(
                &key, 1, &nonce, t,
            )),
        };
        Some(serde_json::to_vec(&r).unwrap())
    }

    fn rewrite(&self, uri: &Uri, status: StatusCode, text: &mut Vec<u8>) {
        let shift = *self.shift_ms.lock().unwrap();
        let timed = uri.path() == "/v1/time" || uri.path() == "/v1/attendee/sync";
        if timed && status.is_success() && shift != 0 {
            let mut json: serde_json::Value = serde_json::from_slice(text).unwrap();
            let t = json["server_time_ms"].as_i64().unwrap();
            json["server_time_ms"] = (t + shift).into();
            *text = serde_json::to_vec(&json).unwrap();
        }
    }
}

fn assert_locked(s: &WalletSync, opens_at: i64, why: &str) {
    for t in s.tickets().unwrap() {
        assert_eq!(
            t.state,
            RevealState::Locked { opens_at },
            "{why}: ticket {} not locked",
            t.ticket_id
        );
        assert_eq!(
            s.frame(&t.ticket_id).map(|_| ()),
            Err(SyncError::Wallet(WalletError::Locked { opens_at })),
            "{why}: a code was drawn"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_a_day_ahead_from_a_proxy_or_a_fake_server_opens_nothing() {
    let env = Env::start().await;
    // S1, not strict: only the wallet's trusted time keeps it locked before the window.
    let ev = env.event(60, 3600, |p| p.format = CodeFormat::S1).await;
    env.order(60, "mallory@example.com", None, None, &["D-1"])
        .await;
    let proxy = Arc::new(ClockShift::default());
    let proxy_url = tessera_tests::proxy::start(env.issuer.url(), proxy.clone()).await;
    let s = env.session_through("mallory", &proxy_url);
    env.enroll_and_verify_email(&s, "mallory@example.com").await;
    s.sync().await.unwrap();
    assert_locked(&s, ev.reveal_opens_at, "after an honest sync");
    let honest = s.wallet().trusted_time();

    // 1. The proxy adds a day to the real issuer's (signed) clock.
    *proxy.shift_ms.lock().unwrap() = DAY_MS;
    assert_eq!(s.refresh_time().await, Err(SyncError::UnsignedTime));
    assert_eq!(s.sync().await.map(|_| ()), Err(SyncError::UnsignedTime));
    assert_locked(&s, ev.reveal_opens_at, "clock shifted by a proxy");
    assert_eq!(s.wallet().trusted_time().proven_ms, honest.proven_ms);

    // 2. After a reboot, too (only the high-water mark is left then).
    env.clock.reboot();
    assert_eq!(s.refresh_time().await, Err(SyncError::UnsignedTime));
    assert_locked(&s, ev.reveal_opens_at, "after a reboot");

    // 3. A server of the attacker's own signs "a day later" with its own key.
    *proxy.shift_ms.lock().unwrap() = 0;
    *proxy.own_key.lock().unwrap() = true;
    assert_eq!(s.refresh_time().await, Err(SyncError::UnsignedTime));
    assert_locked(&s, ev.reveal_opens_at, "a fake server's own key");
    *proxy.own_key.lock().unwrap() = false;

    // 4. The file keeps no trace: reopened, the wallet is still locked and the real
    //    issuer is still accepted.
    let db = env.dir.path().join("mallory.db");
    let high_water: Vec<u8> = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT value FROM meta WHERE key = 'high_water_ms'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let high_water = i64::from_be_bytes(high_water.try_into().unwrap());
    assert!(
        high_water < env.clock.now_unix_ms() + 60_000,
        "the high-water mark holds a bad time"
    );
    assert_eq!(s.sync().await.unwrap().tickets, 1);
    let t = s.wallet().trusted_time();
    assert!(t.anchored);
    assert!((t.proven_ms - env.clock.now_unix_ms()).abs() < 5_000);

    // 5. The window opens on the issuer's real clock, and then codes come.
    env.clock.advance(3_600_000);
    s.sync().await.unwrap();
    let id = s.tickets().unwrap()[0].ticket_id;
    assert!(s.frame(&id).is_ok());
}
