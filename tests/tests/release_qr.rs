//! The doors-open surge served without the issuer (issue 14 item 3), end to end: a strict
//! just-in-time event, a wallet enrolled and synced before the window, no network at the
//! door; the release object the issuer publishes at the opening (the text of the venue's
//! QR code) is applied offline and the real gate admits the code drawn from it. Before the
//! window the issuer's answer is the same as for an unknown event, byte for byte; an
//! edited object and another issuer's are refused and the wallet is left exactly as it was.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;

use tessera_core::clock::WallClock;
use tessera_core::sync::client::ClientOptions;
use tessera_core::sync::error::SyncError;
use tessera_core::sync::session::WalletSync;
use tessera_core::{
    CodeFormat, EventId, KeyVault, MemoryKeyVault, RevealState, Wallet, WalletError,
};
use tessera_gate::{RejectReason, ScanLog, Verdict, Verifier};
use tessera_tests::{Env, Harness, wallet_rows};

/// Status, headers but `date` (it moves with the request's second, not with the event),
/// body.
type Answer = (u16, BTreeMap<String, String>, Vec<u8>);

async fn get(h: &Harness, path: &str) -> Answer {
    let r = h.http.get(format!("{}{path}", h.url)).send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r
        .headers()
        .iter()
        .filter(|(k, _)| k.as_str() != "date")
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    (status, headers, r.bytes().await.unwrap().to_vec())
}

async fn gate_for(env: &Env, event: u64) -> Verifier {
    let token = env.mint_gate(event, &format!("door-{event}")).await;
    let doc = env
        .admin_get(&format!("/v1/gate/events/{event}/bundle"), &token)
        .await;
    let bundle = env.open_bundle(&doc);
    assert!(
        bundle.release_secrets.contains_key(&EventId(event)),
        "the gate holds the release secret from the lead on"
    );
    let log = ScanLog::open(env.dir.path().join(format!("gate-{event}.db"))).unwrap();
    Verifier::new(bundle, &format!("door-{event}"), log).unwrap()
}

/// The wallet on `name`'s file (its key in `vault`) whose issuer is unreachable: a port
/// nobody listens on.
fn offline(env: &Env, name: &str, vault: Arc<dyn KeyVault>) -> WalletSync {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let config = env.wallet_config(name, vault);
    let options = ClientOptions {
        max_retries: 0,
        ..ClientOptions::default()
    };
    let client = tessera_core::sync::client::IssuerClient::new(&url, options).unwrap();
    WalletSync::new(Arc::new(Wallet::open(config).unwrap()), client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wallet_with_no_signal_unlocks_from_the_venue_qr_and_the_gate_admits() {
    let env = Env::start().await;
    let opens_in = 3600;
    // A compact signed event (what `tessera issuer event create` makes) and a T1 one.
    let c1 = env
        .event(31, opens_in, |p| {
            p.format = CodeFormat::C1;
            p.strict_jit = true;
        })
        .await;
    env.event(32, opens_in, |p| {
        p.format = CodeFormat::T1;
        p.strict_jit = true;
    })
    .await;
    let ticket_c1 = env
        .order(31, "amy@example.com", None, None, &["Row 1 Seat 1"])
        .await[0];
    let ticket_t1 = env.order(32, "amy@example.com", None, None, &["GA"]).await[0];

    // Enrolled and synced at home, the day's last network.
    let vault: Arc<dyn KeyVault> = Arc::new(MemoryKeyVault::new().unwrap());
    {
        let home = env.session(env.wallet_config("amy", Arc::clone(&vault)));
        env.enroll_and_verify_email(&home, "amy@example.com").await;
        let report = home.sync().await.unwrap();
        assert_eq!((report.tickets, report.releases), (2, 0));
        assert_eq!(
            home.wallet().reveal_state(&ticket_c1).unwrap(),
            RevealState::Locked {
                opens_at: c1.reveal_opens_at
            }
        );
    }
    // The gates take their bundles within the release lead (2 h before doors).
    let mut gate_c1 = gate_for(&env, 31).await;
    let mut gate_t1 = gate_for(&env, 32).await;

    // Before the window: "not yet", the same bytes as for an event that does not exist.
    let not_yet = get(&env, "/v1/events/31/release").await;
    assert_eq!(not_yet.0, 404);
    assert_eq!(not_yet.1["cache-control"], "no-store");
    assert_eq!(get(&env, "/v1/events/4242/release").await, not_yet);
    assert_eq!(get(&env, "/v1/events/32/release").await, not_yet);

    // Doors open. The venue shows the object the issuer publishes now.
    env.clock.advance(opens_in as u64 * 1000);
    let published = get(&env, "/v1/events/31/release").await;
    assert_eq!(published.0, 200);
    assert_eq!(published.1["cache-control"], "public, max-age=30");
    let sign_c1 = String::from_utf8(published.2).unwrap();
    let sign_t1 = String::from_utf8(get(&env, "/v1/events/32/release").await.2).unwrap();
    assert!(sign_c1.starts_with("R1:") && sign_t1.starts_with("R1:"));

    // At the door: no signal. The wallet's time is anchored (synced at home, the same
    // clock session), so the window is open, but the secret is missing.
    let door = offline(&env, "amy", vault);
    let w = door.wallet().clone();
    assert_eq!(w.reveal_state(&ticket_c1).unwrap(), RevealState::NeedsSync);
    assert_eq!(w.frame(&ticket_t1), Err(WalletError::NeedsSync));
    assert!(matches!(door.sync().await, Err(SyncError::Network(_))));
    assert!(matches!(
        door.fetch_release(EventId(31)).await,
        Err(SyncError::Network(_))
    ));

    // Refused, changing nothing: an edited sign, another issuer's sign for the same event
    // id, the other event's sign where this one's was expected is fine (it is applied to
    // its own event) but garbage is not.
    let path = env.dir.path().join("amy.db");
    let before = wallet_rows(&path);
    let mut edited = sign_c1.clone().into_bytes();
    let i = edited.len() - 20;
    edited[i] = if edited[i] == b'9' {
        b'8'
    } else {
        edited[i] + 1
    };
    let edited = String::from_utf8(edited).unwrap();
    assert_eq!(w.apply_release(&edited), Err(WalletError::BadSignature));
    let other = Harness::start().await;
    other
        .event_opening_in(31, 0, |p| {
            p.format = CodeFormat::C1;
            p.strict_jit = true;
        })
        .await;
    let foreign = String::from_utf8(get(&other, "/v1/events/31/release").await.2).unwrap();
    assert!(foreign.starts_with("R1:"));
    assert_eq!(w.apply_release(&foreign), Err(WalletError::BadSignature));
    assert!(matches!(
        w.apply_release("https://example.com/not-a-release"),
        Err(WalletError::Invalid { .. })
    ));
    assert_eq!(
        wallet_rows(&path),
        before,
        "a refused object changes nothing"
    );
    assert_eq!(w.reveal_state(&ticket_c1).unwrap(), RevealState::NeedsSync);

    // The venue's QR code: applied offline, the code drawn, the real gate admits it.
    let applied = w.apply_release(&sign_c1).unwrap();
    assert!(applied.updated);
    assert_eq!((applied.event_id, applied.tickets), (EventId(31), 1));
    assert!(matches!(
        w.reveal_state(&ticket_c1).unwrap(),
        RevealState::Ready { .. }
    ));
    let f = w.frame(&ticket_c1).unwrap();
    assert!(f.payload.starts_with("C1:"));
    let now = env.clock.now_unix_ms();
    match gate_c1.verify(&f.payload, now).verdict {
        Verdict::Admit { ticket, seat, .. } => {
            assert_eq!(ticket, ticket_c1);
            assert_eq!(seat.as_deref(), Some("Row 1 Seat 1"));
        }
        other => panic!("C1 not admitted: {other:?}"),
    }
    assert!(matches!(
        gate_c1.verify(&f.payload, now).verdict,
        Verdict::Reject {
            reason: RejectReason::Replay,
            ..
        }
    ));
    // The T1 ticket still waits for its own event's sign; scanned, it is admitted too.
    assert_eq!(w.frame(&ticket_t1), Err(WalletError::NeedsSync));
    w.apply_release(&sign_t1).unwrap();
    let f = w.frame(&ticket_t1).unwrap();
    assert!(f.payload.starts_with("T1:"));
    assert!(
        matches!(
            gate_t1.verify(&f.payload, now).verdict,
            Verdict::Admit { ticket, .. } if ticket == ticket_t1
        ),
        "T1 not admitted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_sign_the_gate_refuses_and_a_sign_printed_early_opens_nothing_early() {
    let env = Env::start().await;
    env.event(33, 3600, |p| {
        p.format = CodeFormat::S1;
        p.strict_jit = true;
    })
    .await;
    let ticket = env.order(33, "bea@example.com", None, None, &["B2"]).await[0];
    let s = env.session(env.wallet_config("bea", Arc::new(MemoryKeyVault::new().unwrap())));
    env.enroll_and_verify_email(&s, "bea@example.com").await;
    s.sync().await.unwrap();
    let mut gate = gate_for(&env, 33).await;
    // The admin prints the sign a day ahead (audited); applied then, it changes no state.
    let early = env
        .admin_get("/v1/admin/events/33/release", &env.admin)
        .await;
    let w = s.wallet();
    assert!(w.apply_release(&early).unwrap().updated);
    assert!(matches!(
        w.reveal_state(&ticket).unwrap(),
        RevealState::Locked { .. }
    ));
    assert!(matches!(w.frame(&ticket), Err(WalletError::Locked { .. })));
    // At the opening the wallet shows the code without any other step, and it is the
    // same object the public path serves.
    env.clock.advance(3600 * 1000);
    let f = w.frame(&ticket).unwrap();
    assert_eq!(get(&env, "/v1/events/33/release").await.2, early.as_bytes());
    assert!(matches!(
        gate.verify(&f.payload, env.clock.now_unix_ms()).verdict,
        Verdict::Admit { .. }
    ));
}
