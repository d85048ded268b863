//! Malicious or broken replies from a real issuer, through a tampering proxy: oversized,
//! a flipped credential signature, a seed sealed to another key, absurd server times,
//! truncated JSON. Each gives a typed error and the wallet's store is unchanged.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use axum::http::{StatusCode, Uri};
use tessera_core::CodeFormat;
use tessera_core::sync::error::SyncError;
use tessera_tests::proxy::Tamper;
use tessera_tests::{Env, WalletRow, wallet_rows};

/// How the proxy spoils the next sync answer.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Spoil {
    None,
    Oversized,
    FlipCredentialSignature,
    SeedFromAnotherSync,
    ServerTime(i64),
    Truncated,
}

/// Whether an error is the one a spoiled answer must give.
type Expect = fn(&SyncError) -> bool;

/// The proxy's attack: the next sync answer spoiled as `spoil` says.
struct Spoiler {
    spoil: Mutex<Spoil>,
    /// A sealed seed captured from an earlier answer (sealed to an earlier ephemeral key).
    old_seed: Mutex<Option<String>>,
}

impl Tamper for Spoiler {
    fn rewrite(&self, uri: &Uri, status: StatusCode, text: &mut Vec<u8>) {
        if uri.path() != "/v1/attendee/sync" || !status.is_success() {
            return;
        }
        let mut json: serde_json::Value = serde_json::from_slice(text).unwrap();
        let seed = json["tickets"][0]["sealed_ticket_seed"]
            .as_str()
            .map(str::to_owned);
        let spoil = *self.spoil.lock().unwrap();
        match spoil {
            Spoil::None => {}
            Spoil::Oversized => json["padding"] = serde_json::Value::String("x".repeat(17 << 20)),
            Spoil::FlipCredentialSignature => {
                let c = json["tickets"][0]["credential"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                let last = if c.ends_with('0') { "1" } else { "0" };
                json["tickets"][0]["credential"] = format!("{}{last}", &c[..c.len() - 1]).into();
            }
            Spoil::SeedFromAnotherSync => {
                json["tickets"][0]["sealed_ticket_seed"] =
                    self.old_seed.lock().unwrap().clone().unwrap().into();
            }
            Spoil::ServerTime(t) => json["server_time_ms"] = t.into(),
            Spoil::Truncated => {}
        }
        if spoil == Spoil::None {
            *self.old_seed.lock().unwrap() = seed;
        }
        *text = serde_json::to_vec(&json).unwrap();
        if spoil == Spoil::Truncated {
            text.truncate(text.len() / 2);
        }
    }
}

/// Every row of every table of a wallet file, in a stable order.
fn file_snapshot(path: &std::path::Path) -> Vec<WalletRow> {
    let out = wallet_rows(path);
    assert!(out.len() > 5, "the snapshot sees the rows");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_replies_give_typed_errors_and_change_nothing() {
    let env = Env::start().await;
    env.event(50, 0, |p| p.format = CodeFormat::S1).await;
    env.order(50, "erin@example.com", None, None, &["C-3", "C-4"])
        .await;
    let proxy = Arc::new(Spoiler {
        spoil: Mutex::new(Spoil::None),
        old_seed: Mutex::new(None),
    });
    let proxy_url = tessera_tests::proxy::start(env.issuer.url(), proxy.clone()).await;
    let s = env.session_through("erin", &proxy_url);
    env.enroll_and_verify_email(&s, "erin@example.com").await;
    s.sync().await.unwrap();
    let before = s.tickets().unwrap();
    assert_eq!(before.len(), 2);
    let time_before = s.wallet().trusted_time();
    let db = env.dir.path().join("erin.db");
    let file_before = file_snapshot(&db);

    let cases: [(Spoil, Expect); 6] = [
        (Spoil::Oversized, |e| {
            matches!(e, SyncError::ResponseTooLarge { .. })
        }),
        (Spoil::FlipCredentialSignature, |e| {
            *e == SyncError::BadSignature
        }),
        (Spoil::SeedFromAnotherSync, |e| {
            matches!(e, SyncError::SealedToAnotherKey { .. })
        }),
        (Spoil::ServerTime(0), |e| {
            matches!(e, SyncError::BadServerTime { .. })
        }),
        (Spoil::ServerTime(i64::MAX), |e| {
            matches!(e, SyncError::BadServerTime { .. })
        }),
        (Spoil::Truncated, |e| {
            matches!(e, SyncError::MalformedResponse(_))
        }),
    ];
    for (spoil, expected) in cases {
        *proxy.spoil.lock().unwrap() = spoil;
        let err = s
            .sync()
            .await
            .expect_err("a spoiled answer must be refused");
        assert!(expected(&err), "{spoil:?} gave {err:?}");
        assert_eq!(s.tickets().unwrap(), before, "{spoil:?} changed the store");
        // Every row of every table, sealed seeds, release secrets, time and pins included.
        assert_eq!(
            file_snapshot(&db),
            file_before,
            "{spoil:?} changed the file"
        );
        assert_eq!(
            s.wallet().trusted_time().proven_ms,
            time_before.proven_ms,
            "{spoil:?} moved trusted time"
        );
    }
    // And the honest answer still goes through afterwards.
    *proxy.spoil.lock().unwrap() = Spoil::None;
    assert_eq!(s.sync().await.unwrap().tickets, 2);
}
