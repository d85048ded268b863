//! Sync tests: applying answers (good, broken, hostile) and the HTTP client against a
//! raw loopback server. Every refused answer must leave the store exactly as it was.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::{TrustedTime, WallClock};
use crate::ids::{EventId, TicketId};
use crate::policy::{CodeFormat, EventPolicy, Verification};
use crate::store::{StoredRelease, StoredTicket};
use crate::sync::api::{
    EnrollResponse, ProfileUpdate, SyncRequest, SyncResponse, TimeResponse, TransferResponse,
};
use crate::sync::apply::{LATEST_SERVER_TIME_MS, MOVED_DEVICE_KEY};
use crate::sync::client::{ClientOptions, IssuerClient};
use crate::sync::error::SyncError;
use crate::sync::request::{self, SignedHeaders};
use crate::sync::session::WalletSync;
use crate::sync::testkit::*;
use crate::ticket::{RevealState, TicketSummary};
use crate::wallet::Wallet;
use crate::{WalletError, code::Code};

/// Everything a sync may write, read back raw.
#[derive(Debug, PartialEq)]
struct Snapshot {
    summaries: Vec<TicketSummary>,
    rows: Vec<StoredTicket>,
    events: Vec<EventPolicy>,
    verified: Vec<Verification>,
    releases: Vec<Option<StoredRelease>>,
    meta: Vec<Option<Vec<u8>>>,
    time: TrustedTime,
}

fn snapshot(w: &Wallet) -> Snapshot {
    let s = w.store();
    Snapshot {
        summaries: w.tickets().unwrap(),
        rows: s.tickets().unwrap().0,
        events: s.events().unwrap().0,
        verified: s.verified().unwrap(),
        releases: (1..=3).map(|e| s.release(EventId(e)).unwrap()).collect(),
        meta: ["time_anchor", "high_water_ms", "sync_issuer_keys"]
            .iter()
            .map(|k| s.meta(k).unwrap())
            .collect(),
        time: w.trusted_time(),
    }
}

#[test]
fn a_valid_sync_installs_everything_and_anchors_time() {
    let (fx, w, mut issuer) = Fx::with_issuer(3);
    issuer.server_time_ms = NOW_MS + 5_000;
    let report = sync_in_process(&w, &issuer).unwrap();
    assert_eq!(report.tickets, 6);
    assert_eq!(report.events, 2);
    assert_eq!(report.releases, 1);
    assert_eq!(report.verified, vec![Verification::Email]);
    let t = w.trusted_time();
    assert!(t.anchored);
    assert_eq!(t.now_ms, NOW_MS + 5_000);
    assert_eq!(w.pinned_issuer_keys().unwrap().len(), 1);
    assert_eq!(w.tickets().unwrap().len(), 6);
    assert_eq!(
        w.reveal_state(&ticket_id(0)).unwrap(),
        RevealState::Locked { opens_at: OPENS }
    );
    fx.open_window();
    for id in [ticket_id(0), ticket_id(1000)] {
        let f = w.frame(&id).unwrap();
        assert_eq!(f.ticket_id, id);
    }
    // The S1 frame carries the credential the issuer signed, bound to this device.
    let Code::S1(code) = Code::parse(&w.frame(&ticket_id(1000)).unwrap().payload).unwrap() else {
        panic!("not S1")
    };
    assert!(code.verify_device());
    assert!(
        code.signed
            .verify(&crate::code::s1::public_key(&issuer_key(42)))
    );
    assert_eq!(
        code.signed.credential.device_public_key,
        w.device_public_key()
    );
}

#[test]
fn a_compact_event_draws_c1_codes_and_the_full_s1_code_on_request() {
    let (fx, w, mut issuer) = Fx::with_issuer(1);
    // The strict-JIT signed event (2) made compact.
    for e in &mut issuer.events {
        if e.event_id == EventId(2) {
            e.format = CodeFormat::C1;
        }
    }
    sync_in_process(&w, &issuer).unwrap();
    fx.open_window();
    let id = ticket_id(1000);
    let f = w.frame(&id).unwrap();
    assert_eq!(f.format, CodeFormat::C1);
    let Code::C1(code) = Code::parse(&f.payload).unwrap() else {
        panic!("not C1: {}", f.payload)
    };
    let cred = w.ticket_record(&id).unwrap().credential.unwrap();
    assert!(code.verify_device(&cred, f.step));
    assert!(code.release_mac.is_some(), "strict JIT: the MAC is in");
    assert_eq!(code.reference, crate::code::c1::reference_of(&cred));
    assert!(
        f.qr_size <= 45,
        "QR version 7 at most: {} modules",
        f.qr_size
    );
    // The full code: S1 of the same credential and step, signed by this device.
    let full = w.full_frame(&id).unwrap();
    let Code::S1(s1) = Code::parse(&full.payload).unwrap() else {
        panic!("not S1: {}", full.payload)
    };
    assert_eq!((s1.step, &s1.signed), (f.step, &cred));
    assert!(s1.verify_device());
    // T1 tickets have no other code: the full frame is the frame.
    assert_eq!(
        w.full_frame(&ticket_id(0)).unwrap(),
        w.frame(&ticket_id(0)).unwrap()
    );
}

/// A broken or hostile variation of a good answer, and what it must be refused with.
struct Case {
    name: &'static str,
    issuer: fn(&mut FakeIssuer),
    response: fn(&mut SyncResponse),
    expect: fn(&SyncError) -> bool,
}

fn keep_issuer(_: &mut FakeIssuer) {}
fn keep_response(_: &mut SyncResponse) {}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "year 2300",
            issuer: |i| i.server_time_ms = 10_413_792_000_000,
            response: keep_response,
            expect: |e| matches!(e, SyncError::BadServerTime { .. }),
        },
        Case {
            name: "epoch",
            issuer: |i| i.server_time_ms = 0,
            response: keep_response,
            expect: |e| matches!(e, SyncError::BadServerTime { .. }),
        },
        Case {
            name: "a day added to the signed time",
            issuer: keep_issuer,
            response: |r| r.server_time_ms += 86_400_000,
            expect: |e| *e == SyncError::UnsignedTime,
        },
        Case {
            name: "time signed by a key the answer adds but the wallet never pinned",
            issuer: |i| {
                i.keys.push((8, issuer_key(8)));
                i.listed.push(8);
                i.time_key = 8;
            },
            response: keep_response,
            expect: |e| *e == SyncError::UnsignedTime,
        },
        Case {
            name: "time proof of another key id",
            issuer: keep_issuer,
            response: |r| r.time_proof.key_id = 2,
            expect: |e| *e == SyncError::UnsignedTime,
        },
        Case {
            name: "credential signed by an unlisted key",
            issuer: |i| {
                i.keys.push((7, issuer_key(7)));
                i.sign_with = 7;
            },
            response: keep_response,
            expect: |e| *e == SyncError::BadSignature,
        },
        Case {
            name: "pinned key missing",
            issuer: |i| {
                i.keys.push((7, issuer_key(7)));
                i.sign_with = 7;
                i.listed = vec![7];
            },
            response: keep_response,
            expect: |e| *e == SyncError::BadSignature,
        },
        Case {
            name: "pinned key id with other bytes",
            issuer: |i| {
                i.keys = vec![(1, issuer_key(7))];
            },
            response: keep_response,
            expect: |e| *e == SyncError::BadSignature,
        },
        Case {
            name: "flipped credential signature",
            issuer: keep_issuer,
            response: |r| {
                let t = r
                    .tickets
                    .iter_mut()
                    .find(|t| t.credential.is_some())
                    .unwrap();
                let c = t.credential.as_mut().unwrap();
                let last = if c.ends_with('0') { "1" } else { "0" };
                c.replace_range(c.len() - 1.., last);
            },
            expect: |e| *e == SyncError::BadSignature,
        },
        Case {
            name: "seeds sealed to another key",
            issuer: |i| i.seal_to_stranger = true,
            response: keep_response,
            expect: |e| matches!(e, SyncError::SealedToAnotherKey { .. }),
        },
        Case {
            name: "release sealed for another version",
            issuer: keep_issuer,
            response: |r| r.releases[0].version = 2,
            expect: |e| matches!(e, SyncError::SealedToAnotherKey { .. }),
        },
        Case {
            name: "seed sealed for another ticket version",
            issuer: keep_issuer,
            response: |r| r.tickets[0].version = 2,
            expect: |e| matches!(e, SyncError::SealedToAnotherKey { .. }),
        },
        Case {
            name: "seeds swapped between tickets",
            issuer: keep_issuer,
            response: |r| {
                let a = r.tickets[0].sealed_ticket_seed.clone();
                r.tickets[0].sealed_ticket_seed = r.tickets[2].sealed_ticket_seed.clone();
                r.tickets[2].sealed_ticket_seed = a;
            },
            expect: |e| matches!(e, SyncError::SealedToAnotherKey { .. }),
        },
        Case {
            name: "ticket bound to another device",
            issuer: keep_issuer,
            response: |r| r.tickets[0].device_public_key = hex::encode([3u8; 32]),
            expect: |e| matches!(e, SyncError::WrongDevice { .. }),
        },
        Case {
            name: "duplicate ticket",
            issuer: keep_issuer,
            response: |r| {
                let t = r.tickets[0].clone();
                r.tickets.push(t);
            },
            expect: |e| matches!(e, SyncError::MalformedResponse(_)),
        },
        Case {
            name: "unknown event",
            issuer: keep_issuer,
            response: |r| r.tickets[0].event_id = EventId(99),
            expect: |e| matches!(e, SyncError::MalformedResponse(_)),
        },
        Case {
            name: "seed not hex",
            issuer: keep_issuer,
            response: |r| r.tickets[0].sealed_ticket_seed = "zz".into(),
            expect: |e| matches!(e, SyncError::MalformedResponse(_)),
        },
        Case {
            name: "seed too long",
            issuer: |i| i.tickets[0].seed = vec![1; 300],
            response: keep_response,
            expect: |e| matches!(e, SyncError::MalformedResponse(_)),
        },
        Case {
            name: "S1 ticket without credential",
            issuer: keep_issuer,
            response: |r| {
                let t = r
                    .tickets
                    .iter_mut()
                    .find(|t| t.credential.is_some())
                    .unwrap();
                t.credential = None;
            },
            expect: |e| matches!(e, SyncError::MalformedResponse(_)),
        },
        Case {
            name: "credential disagrees with the policy",
            issuer: keep_issuer,
            response: |r| {
                let e = r
                    .events
                    .iter_mut()
                    .find(|e| e.format == CodeFormat::S1)
                    .unwrap();
                e.reveal_opens_at -= 3600;
            },
            expect: |e| matches!(e, SyncError::MalformedResponse(_)),
        },
        Case {
            name: "invalid policy",
            issuer: keep_issuer,
            response: |r| r.events[0].period_secs = 3,
            expect: |e| matches!(e, SyncError::InvalidPolicy(_)),
        },
        Case {
            name: "seat too long",
            issuer: keep_issuer,
            response: |r| r.tickets[0].seat = "x".repeat(65),
            expect: |e| matches!(e, SyncError::MalformedResponse(_)),
        },
        Case {
            name: "held and moved at once",
            issuer: keep_issuer,
            response: |r| r.moved.push(r.tickets[0].ticket_id),
            expect: |e| matches!(e, SyncError::MalformedResponse(_)),
        },
        Case {
            name: "too many issuer keys",
            issuer: |i| {
                i.keys = (1..=65).map(|k| (k, issuer_key(k as u8))).collect();
                i.listed = (1..=65).collect();
            },
            response: keep_response,
            expect: |e| matches!(e, SyncError::MalformedResponse(_)),
        },
    ]
}

#[test]
fn broken_and_hostile_answers_are_refused_and_change_nothing() {
    let fx = Fx::new();
    let w = fx.wallet();
    // A first good sync, so there is something to preserve (and pinned keys).
    let mut first = FakeIssuer::new(w.device_public_key(), 2);
    first.verified = vec![Verification::Email, Verification::Phone];
    sync_in_process(&w, &first).unwrap();
    let before = snapshot(&w);
    for case in cases() {
        let mut issuer = FakeIssuer::new(w.device_public_key(), 2);
        issuer.verified = vec![];
        issuer.moved = vec![ticket_id(77)];
        (case.issuer)(&mut issuer);
        let (mut r, key, nonce) = issuer.exchange(&w);
        (case.response)(&mut r);
        let err = w.apply_sync(&r, &key, &nonce).unwrap_err();
        assert!((case.expect)(&err), "{}: {err:?}", case.name);
        assert_eq!(snapshot(&w), before, "{}: store changed", case.name);
    }
}

#[test]
fn a_fresh_wallet_refuses_a_credential_that_does_not_verify() {
    let fx = Fx::new();
    let w = fx.wallet();
    let before = snapshot(&w);
    let issuer = FakeIssuer::new(w.device_public_key(), 1);
    let (mut r, key, nonce) = issuer.exchange(&w);
    r.issuer_keys[0].public_key = hex::encode(crate::code::s1::public_key(&issuer_key(8)));
    assert_eq!(w.apply_sync(&r, &key, &nonce), Err(SyncError::BadSignature));
    assert_eq!(snapshot(&w), before);
    assert!(w.pinned_issuer_keys().unwrap().is_empty());
}

#[test]
fn issuer_keys_are_pinned_on_first_use_and_may_be_joined_by_new_ones() {
    let fx = Fx::new();
    let w = fx.wallet();
    let mut issuer = synced(&w, 1);
    issuer.keys.push((2, issuer_key(2)));
    issuer.listed = vec![1, 2];
    issuer.sign_with = 2;
    sync_in_process(&w, &issuer).unwrap();
    // Still only the first key is pinned: a later answer cannot drop it.
    let pinned = w.pinned_issuer_keys().unwrap();
    assert_eq!(pinned.len(), 1);
    assert_eq!(pinned[0].key_id, 1);
    issuer.listed = vec![2];
    assert_eq!(sync_in_process(&w, &issuer), Err(SyncError::BadSignature));
}

#[test]
fn a_locked_wallet_refuses_the_sync_and_changes_nothing() {
    let fx = Fx::new();
    let w = fx.wallet();
    let before = snapshot(&w);
    w.lock();
    let issuer = FakeIssuer::new(w.device_public_key(), 2);
    assert_eq!(
        sync_in_process(&w, &issuer),
        Err(SyncError::Wallet(WalletError::WalletLocked))
    );
    w.unlock().unwrap();
    assert_eq!(snapshot(&w), before);
}

#[test]
fn a_failing_store_write_rolls_the_whole_sync_back() {
    let fx = Fx::new();
    let w = fx.wallet();
    synced(&w, 1);
    let before = snapshot(&w);
    let event = policy(3, CodeFormat::T1);
    let row = StoredTicket {
        ticket: fake_ticket(5, &event, w.device_public_key()).ticket,
        sealed_ticket_seed: vec![1; 40],
        sealed_event_seed: None,
    };
    // The release names an event that exists nowhere: the foreign key fails last.
    let bad_release = (
        EventId(99),
        StoredRelease {
            version: 1,
            sealed: vec![2; 40],
        },
    );
    let err = w.store().apply_sync(
        &[event],
        &[row],
        &[bad_release],
        &[(Verification::Phone, NOW_MS)],
        &[ticket_id(0)],
        &[("time_anchor", b"garbage")],
    );
    assert!(err.is_err());
    assert_eq!(snapshot(&w), before);
}

#[test]
fn moved_tickets_stay_listed_as_bound_elsewhere() {
    let fx = Fx::new();
    let w = fx.wallet();
    let mut issuer = synced(&w, 2);
    issuer.tickets.retain(|t| t.ticket.id != ticket_id(1));
    issuer.moved = vec![ticket_id(1), ticket_id(555)];
    let report = sync_in_process(&w, &issuer).unwrap();
    assert_eq!(report.moved, 2);
    fx.open_window();
    assert_eq!(w.tickets().unwrap().len(), 4);
    assert_eq!(
        w.reveal_state(&ticket_id(1)).unwrap(),
        RevealState::BoundElsewhere
    );
    assert_eq!(w.frame(&ticket_id(1)), Err(WalletError::BoundElsewhere));
    let row = w.store().ticket(&ticket_id(1)).unwrap().unwrap();
    assert_eq!(row.ticket.device_public_key, MOVED_DEVICE_KEY);
    assert!(row.sealed_ticket_seed.is_empty() && row.sealed_event_seed.is_none());
    assert!(w.frame(&ticket_id(0)).is_ok());
    // Bound here again later: the next sync restores it.
    synced_now(&w, 2);
    assert!(w.frame(&ticket_id(1)).is_ok());
}

#[test]
fn verifications_mirror_the_issuer() {
    let (_fx, w, mut issuer) = Fx::with_issuer(1);
    issuer.verified = vec![
        Verification::Phone,
        Verification::Email,
        Verification::Presence,
    ];
    sync_in_process(&w, &issuer).unwrap();
    assert_eq!(
        w.store().verified().unwrap(),
        vec![Verification::Email, Verification::Phone]
    );
    issuer.verified = vec![Verification::Phone];
    sync_in_process(&w, &issuer).unwrap();
    assert_eq!(w.store().verified().unwrap(), vec![Verification::Phone]);
}

#[test]
fn strict_jit_tickets_need_the_release_from_a_sync_inside_the_window() {
    let (fx, w, mut issuer) = Fx::with_issuer(1);
    issuer.releases.clear();
    sync_in_process(&w, &issuer).unwrap();
    fx.open_window();
    assert_eq!(w.frame(&ticket_id(1000)), Err(WalletError::NeedsSync));
    synced_now(&w, 1);
    assert!(w.frame(&ticket_id(1000)).is_ok());
}

#[test]
fn wipe_erases_rows_and_the_vault_key() {
    let fx = Fx::new();
    let w = fx.wallet();
    synced(&w, 2);
    let old_device = w.device_public_key();
    w.wipe().unwrap();
    assert!(w.tickets().unwrap().is_empty());
    assert_eq!(w.store().ticket_count().unwrap(), 0);
    assert!(w.store().meta("wrapped_kek").unwrap().is_none());
    assert_eq!(
        fx.vault.deleted.lock().unwrap().as_slice(),
        [w.wallet_id().to_owned()]
    );
    assert!(w.sign_with_device_key(b"x").is_err());
    drop(w);
    let fresh = Wallet::open(fx.config()).unwrap();
    assert_ne!(fresh.device_public_key(), old_device);
    assert!(fresh.tickets().unwrap().is_empty());
}

// ---------- over HTTP ----------

fn fast() -> ClientOptions {
    ClientOptions {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        max_retries: 2,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        retry_budget: Duration::from_secs(10),
        ..ClientOptions::default()
    }
}

/// `w`'s session with the server at `url`, on [`fast`] options.
fn session(w: &Arc<Wallet>, url: &str) -> WalletSync {
    session_with(w, url, fast())
}

/// `w`'s session with the server at `url`, on `options`.
fn session_with(w: &Arc<Wallet>, url: &str, options: ClientOptions) -> WalletSync {
    WalletSync::new(w.clone(), IssuerClient::new(url, options).unwrap())
}

fn signed_headers(req: &Req) -> SignedHeaders {
    let h = |k: &str| req.headers.get(k).cloned().unwrap_or_default();
    SignedHeaders {
        device: h(request::HEADER_DEVICE),
        timestamp: h(request::HEADER_TIMESTAMP),
        nonce: h(request::HEADER_NONCE),
        signature: h(request::HEADER_SIGNATURE),
    }
}

/// What the FAKE issuer saw: nonces and ephemeral keys of every signed request.
#[derive(Default)]
struct Seen {
    nonces: Vec<String>,
    ephemeral: Vec<String>,
}

/// A FAKE issuer over HTTP: checks every signature like the real one, then answers
/// `/v1/time`, `/v1/devices` and sync; `fail_first` sync attempts get a 500 first.
fn issuer_handler(
    issuer: Arc<Mutex<FakeIssuer>>,
    clock: crate::clock::ManualClock,
    seen: Arc<Mutex<Seen>>,
    fail_first: usize,
) -> impl Fn(&Req) -> Reply + Send + Sync + 'static {
    let failures = Arc::new(Mutex::new(0usize));
    move |req| {
        let now = clock.now_unix_ms();
        if req.method == "GET" && req.path.starts_with("/v1/time") {
            return Reply::json(200, &issuer.lock().unwrap().time_answer(&req.path, now));
        }
        let Ok(v) = request::verify(&signed_headers(req), &req.method, &req.path, &req.body, now)
        else {
            return Reply::error(401, "bad_signature");
        };
        {
            let mut s = seen.lock().unwrap();
            let nonce = hex::encode(v.nonce);
            if s.nonces.contains(&nonce) {
                return Reply::error(401, "replayed_request");
            }
            s.nonces.push(nonce);
        }
        match req.path.as_str() {
            "/v1/devices" => Reply::json(
                200,
                &EnrollResponse {
                    device_id: hex::encode(v.device),
                    server_time_ms: now,
                },
            ),
            "/v1/attendee/sync" => {
                let body: SyncRequest = serde_json::from_slice(&req.body).unwrap();
                seen.lock()
                    .unwrap()
                    .ephemeral
                    .push(body.ephemeral_public_key.clone());
                let mut f = failures.lock().unwrap();
                if *f < fail_first {
                    *f += 1;
                    return Reply::error(500, "internal");
                }
                let mut wallet_pub = [0u8; 32];
                hex::decode_to_slice(&body.ephemeral_public_key, &mut wallet_pub).unwrap();
                let nonce = crate::sync::signed_time::parse_nonce(&body.time_nonce).unwrap();
                let mut i = issuer.lock().unwrap();
                i.server_time_ms = now;
                Reply::json(200, &i.respond(&wallet_pub, &nonce))
            }
            p if p.ends_with("/transfer") => Reply::json(
                200,
                &TransferResponse {
                    transfer_id: "tr-1".into(),
                },
            ),
            _ => Reply::error(404, "not_found"),
        }
    }
}

/// The FAKE issuer of `n` tickets per event bound to `w`, over HTTP on the test's clock
/// ([`issuer_handler`]), and what it saw.
async fn fake_issuer_over_http(
    fx: &Fx,
    w: &Wallet,
    n: u32,
    fail_first: usize,
) -> (TestServer, Arc<Mutex<Seen>>) {
    let issuer = Arc::new(Mutex::new(FakeIssuer::new(w.device_public_key(), n)));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let handler = issuer_handler(issuer, fx.clock.clone(), seen.clone(), fail_first);
    (TestServer::start(handler).await, seen)
}

#[tokio::test]
async fn offline_first_frames_keep_coming_with_the_issuer_down() {
    let fx = Fx::new();
    let w = fx.wallet();
    let (server, _) = fake_issuer_over_http(&fx, &w, 2, 0).await;
    let ws = session(&w, &server.url());
    ws.enroll("test").await.unwrap();
    let report = ws.sync().await.unwrap();
    assert_eq!(report.tickets, 4);
    server.stop().await;

    assert!(matches!(ws.sync().await, Err(SyncError::Network(_))));
    fx.open_window();
    let id = ticket_id(0);
    let first = ws.frame(&id).unwrap();
    fx.clock.advance(15_000);
    let second = ws.frame(&id).unwrap();
    assert_eq!(second.step, first.step + 1);
    assert_ne!(second.payload, first.payload);
    assert!(ws.frame(&ticket_id(1001)).is_ok());
    assert_eq!(ws.tickets().unwrap().len(), 4);
    assert!(matches!(
        ws.ticket(&id).unwrap().state,
        RevealState::Ready { .. }
    ));
}

#[tokio::test]
async fn sync_retries_server_errors_with_fresh_nonces_and_keys() {
    let fx = Fx::new();
    let w = fx.wallet();
    let (server, seen) = fake_issuer_over_http(&fx, &w, 1, 2).await;
    let ws = session(&w, &server.url());
    ws.sync().await.unwrap();
    assert_eq!(server.hits(), 3);
    let s = seen.lock().unwrap();
    assert_eq!(s.ephemeral.len(), 3);
    let mut e = s.ephemeral.clone();
    e.dedup();
    assert_eq!(e.len(), 3, "each attempt has its own ephemeral key");
    assert_eq!(s.nonces.len(), 3);
}

#[tokio::test]
async fn persistent_server_errors_are_retried_a_bounded_number_of_times() {
    let fx = Fx::new();
    let w = fx.wallet();
    let server = TestServer::start(|_| Reply::error(500, "internal")).await;
    let ws = session(&w, &server.url());
    let before = snapshot(&w);
    assert!(matches!(
        ws.sync().await,
        Err(SyncError::Server { status: 500, .. })
    ));
    assert_eq!(server.hits(), 3, "one attempt and two retries");
    assert_eq!(snapshot(&w), before);
    // Calls that change state are never repeated.
    let id = ticket_id(0);
    assert!(ws.transfer(&id, "a@b.c").await.is_err());
    assert!(
        ws.update_profile(&ProfileUpdate {
            holder_name: Some("X".into()),
            email: None
        })
        .await
        .is_err()
    );
    assert_eq!(server.hits(), 5);
    // The time budget stops retries too.
    let slow = ClientOptions {
        max_retries: 100,
        initial_backoff: Duration::from_millis(40),
        max_backoff: Duration::from_millis(40),
        retry_budget: Duration::from_millis(100),
        ..fast()
    };
    let c = IssuerClient::new(&server.url(), slow).unwrap();
    let before_hits = server.hits();
    assert!(c.server_time(&[0; 32]).await.is_err());
    let n = server.hits() - before_hits;
    assert!((2..=6).contains(&n), "{n} attempts");
}

#[tokio::test]
async fn oversized_answers_are_refused_while_streaming() {
    let fx = Fx::new();
    let w = fx.wallet();
    let before = snapshot(&w);
    // Declared too large: refused before reading.
    let declared = TestServer::start(|_| {
        Reply::Raw(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17000000\r\n\r\n{"
                .to_vec(),
        )
    })
    .await;
    let ws = session(&w, &declared.url());
    assert_eq!(
        ws.sync().await.unwrap_err(),
        SyncError::ResponseTooLarge {
            limit: 16 * 1024 * 1024
        }
    );
    // No length, just too many bytes: refused as the limit is crossed.
    let streamed = TestServer::start(|_| Reply::Chunked(17 * 1024 * 1024)).await;
    let ws = session(&w, &streamed.url());
    assert_eq!(
        ws.sync().await.unwrap_err(),
        SyncError::ResponseTooLarge {
            limit: 16 * 1024 * 1024
        }
    );
    let small = ClientOptions {
        max_response_bytes: 1000,
        ..fast()
    };
    let tiny = TestServer::start(|_| Reply::Chunked(1001)).await;
    let c = IssuerClient::new(&tiny.url(), small).unwrap();
    assert_eq!(
        c.server_time(&[0; 32]).await.unwrap_err(),
        SyncError::ResponseTooLarge { limit: 1000 }
    );
    assert_eq!(tiny.hits(), 1, "a refused answer is not retried");
    assert_eq!(snapshot(&w), before);
}

#[tokio::test]
async fn truncated_or_wrong_json_is_malformed_and_changes_nothing() {
    let fx = Fx::new();
    let w = fx.wallet();
    let before = snapshot(&w);
    let device = w.device_public_key();
    let server = TestServer::start(move |req| {
        let body: SyncRequest = serde_json::from_slice(&req.body).unwrap();
        let mut wallet_pub = [0u8; 32];
        hex::decode_to_slice(&body.ephemeral_public_key, &mut wallet_pub).unwrap();
        let nonce = crate::sync::signed_time::parse_nonce(&body.time_nonce).unwrap();
        let full =
            serde_json::to_vec(&FakeIssuer::new(device, 2).respond(&wallet_pub, &nonce)).unwrap();
        Reply::Json(200, full[..full.len() / 2].to_vec())
    })
    .await;
    let ws = session(&w, &server.url());
    let err = ws.sync().await.unwrap_err();
    assert!(
        matches!(&err, SyncError::MalformedResponse(t) if t.starts_with("truncated")),
        "{err:?}"
    );
    assert_eq!(server.hits(), 1);
    let wrong = TestServer::start(|_| Reply::Json(200, br#"{"tickets": 5}"#.to_vec())).await;
    let ws = session(&w, &wrong.url());
    assert!(matches!(
        ws.sync().await,
        Err(SyncError::MalformedResponse(_))
    ));
    let bad_key = TestServer::start(|_| {
        let mut r = FakeIssuer::new([0; 32], 0).respond(&[1; 32], &[0; 32]);
        r.server_ephemeral_public_key = "abcd".into();
        Reply::json(200, &r)
    })
    .await;
    let ws = session(&w, &bad_key.url());
    assert!(matches!(
        ws.sync().await,
        Err(SyncError::MalformedResponse(_))
    ));
    assert_eq!(snapshot(&w), before);
}

#[tokio::test]
async fn hostile_answers_over_http_are_refused_and_change_nothing() {
    let fx = Fx::new();
    let w = fx.wallet();
    let device = w.device_public_key();
    let mode = Arc::new(Mutex::new(0u8));
    let m = mode.clone();
    let server = TestServer::start(move |req| {
        let body: SyncRequest = serde_json::from_slice(&req.body).unwrap();
        let mut wallet_pub = [0u8; 32];
        hex::decode_to_slice(&body.ephemeral_public_key, &mut wallet_pub).unwrap();
        let mut i = FakeIssuer::new(device, 2);
        match *m.lock().unwrap() {
            0 => {}
            1 => i.seal_to_stranger = true,
            2 => {
                i.keys.push((9, issuer_key(9)));
                i.sign_with = 9;
            }
            _ => i.server_time_ms = LATEST_SERVER_TIME_MS * 2,
        }
        let nonce = crate::sync::signed_time::parse_nonce(&body.time_nonce).unwrap();
        Reply::json(200, &i.respond(&wallet_pub, &nonce))
    })
    .await;
    let ws = session(&w, &server.url());
    ws.sync().await.unwrap();
    let before = snapshot(&w);
    *mode.lock().unwrap() = 1;
    assert!(matches!(
        ws.sync().await,
        Err(SyncError::SealedToAnotherKey { .. })
    ));
    *mode.lock().unwrap() = 2;
    assert_eq!(ws.sync().await, Err(SyncError::BadSignature));
    *mode.lock().unwrap() = 3;
    assert!(matches!(
        ws.sync().await,
        Err(SyncError::BadServerTime { .. })
    ));
    assert_eq!(snapshot(&w), before);
    assert_eq!(server.hits(), 4, "judged answers are never retried");
}

#[tokio::test]
async fn error_codes_arrive_typed() {
    let fx = Fx::new();
    let w = fx.wallet();
    let server = TestServer::start(|req| match req.path.as_str() {
        "/v1/attendee/profile" => Reply::error(409, "change_blocked"),
        "/v1/attendee/phone/request" => Reply::Raw(
            b"HTTP/1.1 429 Too Many\r\nRetry-After: 120\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{\"error\":\"rate_limited\",\"message\":\"slow down....\"}"
                .to_vec(),
        ),
        "/v1/attendee/phone/confirm" => Reply::error(429, "too_many_attempts"),
        "/v1/attendee/email/confirm" => Reply::error(410, "code_expired"),
        "/v1/attendee/rebind" => Reply::error(403, "needs_verification"),
        "/v1/attendee/sync" => Reply::error(401, "unauthorized"),
        p if p.ends_with("/transfer") => Reply::error(409, "not_transferable"),
        p if p.ends_with("/accept") => Reply::error(404, "not_found"),
        _ => Reply::error(409, "conflict"),
    })
    .await;
    let ws = session(&w, &server.url());
    let update = ProfileUpdate {
        holder_name: Some("New Name".into()),
        email: None,
    };
    assert!(matches!(
        ws.update_profile(&update).await,
        Err(SyncError::ChangeBlocked { .. })
    ));
    assert_eq!(
        ws.request_phone("+15550100").await,
        Err(SyncError::RateLimited {
            retry_after_secs: Some(120)
        })
    );
    assert_eq!(
        ws.confirm_phone("123456").await,
        Err(SyncError::TooManyAttempts)
    );
    assert_eq!(ws.confirm_email("tok").await, Err(SyncError::CodeExpired));
    assert!(matches!(
        ws.rebind().await,
        Err(SyncError::NeedsVerification { .. })
    ));
    assert_eq!(
        ws.sync().await,
        Err(SyncError::Unauthorized {
            code: Some(crate::sync::api::ApiErrorCode::Unauthorized)
        })
    );
    assert!(matches!(
        ws.transfer(&ticket_id(0), "x@y.z").await,
        Err(SyncError::NotTransferable { .. })
    ));
    assert!(matches!(
        ws.accept_transfer("abc").await,
        Err(SyncError::NotFound { .. })
    ));
    assert!(matches!(
        ws.request_email("a@b.c").await,
        Err(SyncError::Conflict { .. })
    ));
    assert!(matches!(
        ws.accept_transfer("../admin").await,
        Err(SyncError::Wallet(WalletError::Invalid { .. }))
    ));
}

#[tokio::test]
async fn timeouts_and_refused_connections_are_typed() {
    let fx = Fx::new();
    let w = fx.wallet();
    let hang = TestServer::start(|_| Reply::Hang).await;
    let opts = ClientOptions {
        request_timeout: Duration::from_millis(200),
        max_retries: 1,
        ..fast()
    };
    let ws = session_with(&w, &hang.url(), opts);
    assert_eq!(ws.sync().await, Err(SyncError::Timeout));
    assert_eq!(hang.hits(), 2, "a time-out is retried for sync");
    let gone = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let ws = session(&w, &format!("http://{gone}"));
    assert!(matches!(ws.sync().await, Err(SyncError::Network(_))));
    assert!(matches!(
        ws.enroll("test").await,
        Err(SyncError::Network(_))
    ));
}

#[tokio::test]
async fn a_stale_timestamp_corrects_the_request_clock_and_tries_once_more() {
    let fx = Fx::new();
    let w = fx.wallet();
    let clock = fx.clock.clone();
    let calls = Arc::new(Mutex::new(Vec::<String>::new()));
    let c = calls.clone();
    // The device clock is a day behind; the issuer refuses its first request as stale.
    fx.clock.set_wall(NOW_MS - 86_400_000);
    let server = TestServer::start(move |req| {
        c.lock().unwrap().push(req.path.clone());
        let now = clock.now_unix_ms() + 86_400_000;
        if req.path.starts_with("/v1/time") {
            return Reply::json(
                200,
                &TimeResponse {
                    server_time_ms: now,
                    proof: None,
                },
            );
        }
        match request::verify(&signed_headers(req), &req.method, &req.path, &req.body, now) {
            Ok(v) => Reply::json(
                200,
                &EnrollResponse {
                    device_id: hex::encode(v.device),
                    server_time_ms: now,
                },
            ),
            Err(_) => Reply::error(401, "stale_request"),
        }
    })
    .await;
    let ws = session(&w, &server.url());
    ws.enroll("test").await.unwrap();
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0], "/v1/devices");
    assert!(calls[1].starts_with("/v1/time?nonce="), "{}", calls[1]);
    assert_eq!(calls[2], "/v1/devices");
    // An unsigned clock corrects request timestamps only: it proves no time.
    assert!(!w.trusted_time().anchored);
    assert!((w.request_timestamp_ms() - (fx.clock.now_unix_ms() + 86_400_000)).abs() < 1_000);
}

#[tokio::test]
async fn transfer_ends_the_binding_here_at_once() {
    let fx = Fx::new();
    let w = fx.wallet();
    let (server, _) = fake_issuer_over_http(&fx, &w, 2, 0).await;
    let ws = session(&w, &server.url());
    ws.sync().await.unwrap();
    let r = ws
        .transfer(&ticket_id(0), "friend@example.com")
        .await
        .unwrap();
    assert_eq!(r.transfer_id, "tr-1");
    assert_eq!(
        ws.ticket(&ticket_id(0)).unwrap().state,
        RevealState::BoundElsewhere
    );
    assert_eq!(ws.tickets().unwrap().len(), 4);
}

#[tokio::test]
async fn wipe_through_the_session() {
    let fx = Fx::new();
    let w = fx.wallet();
    synced(&w, 1);
    let ws = session(&w, "http://127.0.0.1:9");
    ws.wipe().await.unwrap();
    assert!(ws.tickets().unwrap().is_empty());
    assert_eq!(fx.vault.deleted.lock().unwrap().len(), 1);
    let _: TicketId = ticket_id(0);
}

#[tokio::test]
async fn https_with_a_root_handed_in_by_the_app() {
    let body = serde_json::to_vec(&TimeResponse {
        server_time_ms: NOW_MS,
        proof: None,
    })
    .unwrap();
    let addr = start_tls_server(body);
    let url = format!("https://{addr}");
    let trusting = ClientOptions {
        extra_roots_der: vec![include_bytes!("testdata/test-ca.der").to_vec()],
        ..fast()
    };
    let c = IssuerClient::new(&url, trusting).unwrap();
    assert_eq!(
        c.server_time(&[0; 32]).await.unwrap().server_time_ms,
        NOW_MS
    );
    // Without the app's root, the webpki roots alone do not trust a private CA.
    let c = IssuerClient::new(
        &url,
        ClientOptions {
            max_retries: 0,
            ..fast()
        },
    )
    .unwrap();
    let err = c.server_time(&[0; 32]).await.unwrap_err();
    assert!(
        matches!(&err, SyncError::Network(t) if t.contains("certificate")),
        "{err:?}"
    );
}

/// The parts of a sync answer that are signed (time, credentials), sealed (seeds,
/// release secrets, and the ids and versions their sealing binds) or pinned (issuer keys).
fn protected_parts(r: &SyncResponse) -> serde_json::Value {
    let v = serde_json::to_value(r).unwrap();
    let tickets: Vec<_> = v["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            serde_json::json!([
                t["ticket_id"],
                t["version"],
                t["credential"],
                t["sealed_ticket_seed"],
                t["sealed_event_seed"]
            ])
        })
        .collect();
    let releases: Vec<_> = v["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| serde_json::json!([r["event_id"], r["version"], r["sealed"]]))
        .collect();
    serde_json::json!([
        v["server_time_ms"],
        v["time_proof"],
        v["issuer_keys"],
        tickets,
        releases
    ])
}

/// Whether a value present in both differs. A flip in a field's *name* makes serde drop
/// an optional field (it reads null), and a hex digit's case flip decodes to the same
/// bytes: neither changes a signed or sealed value.
fn value_changed(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Array(x), Value::Array(y)) => {
            x.len() != y.len() || x.iter().zip(y).any(|(p, q)| value_changed(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() != y.len()
                || x.iter()
                    .any(|(k, v)| y.get(k).is_none_or(|w| value_changed(v, w)))
        }
        // Hex decodes either case to the same bytes.
        (Value::String(x), Value::String(y)) => !x.eq_ignore_ascii_case(y),
        _ => a != b,
    }
}

/// docs/DESIGN.md §7 "malicious or broken server response": bytes of a valid answer flipped at
/// random. A flip inside any signed, sealed or pinned part is never applied; every
/// refusal leaves the store as it was, and nothing panics.
#[test]
fn fuzzed_answers_never_panic_and_refusals_change_nothing() {
    let fx = Fx::new();
    let w = fx.wallet();
    let issuer = synced(&w, 2);
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        // xorshift64: deterministic, so a failure reproduces.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut undecodable, mut protected_flips, mut other_flips) = (0, 0, 0);
    for round in 0..300 {
        let (r, key, nonce) = issuer.exchange(&w);
        let original = protected_parts(&r);
        let mut bytes = serde_json::to_vec(&r).unwrap();
        for _ in 0..1 + next() % 3 {
            let i = (next() % bytes.len() as u64) as usize;
            bytes[i] ^= 1 << (next() % 8);
        }
        let Ok(r) = crate::sync::client::decode::<SyncResponse>(&bytes) else {
            undecodable += 1;
            continue;
        };
        let before = snapshot(&w);
        let result = w.apply_sync(&r, &key, &nonce);
        if value_changed(&protected_parts(&r), &original) {
            protected_flips += 1;
            assert!(
                result.is_err(),
                "round {round}: a flip in a signed or sealed part was applied"
            );
        } else {
            other_flips += 1;
        }
        if result.is_err() {
            assert_eq!(
                snapshot(&w),
                before,
                "round {round}: a refusal changed the store"
            );
        }
    }
    // The rounds exercised all three outcomes, so the assertions above were reached.
    assert!(
        undecodable > 0 && protected_flips > 20 && other_flips > 0,
        "{undecodable} undecodable, {protected_flips} protected, {other_flips} other"
    );
}

/// A wallet file from before row tags and signed time, poisoned with a high-water mark a
/// day ahead (what a fake "+1 day" server left behind then): once opened by this version
/// it proves no time, draws nothing, and its next good sync restores everything.
#[test]
fn a_file_poisoned_before_signed_time_recovers_at_the_next_good_sync() {
    let fx = Fx::new();
    {
        let w = fx.wallet();
        synced(&w, 2);
        fx.open_window();
        assert!(w.frame(&ticket_id(0)).is_ok());
    }
    // Back to schema 1: no tags, and a time a day ahead in the clear.
    let path = fx.dir.path().join("wallet.db");
    let c = rusqlite::Connection::open(&path).unwrap();
    for t in [
        "meta",
        "events",
        "tickets",
        "release_secrets",
        "verifications",
    ] {
        c.execute_batch(&format!("ALTER TABLE {t} DROP COLUMN mac"))
            .unwrap();
    }
    let day_ahead = (OPENS * 1000 + 86_400_000).to_be_bytes().to_vec();
    c.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'high_water_ms'",
        [day_ahead],
    )
    .unwrap();
    c.pragma_update(None, "user_version", 1).unwrap();
    drop(c);

    fx.clock.reboot();
    let w = fx.wallet();
    let t = w.trusted_time();
    assert!(!t.anchored);
    assert!(
        t.proven_ms < OPENS * 1000 + 60_000,
        "the poisoned mark was dropped"
    );
    // Until the next sync the untagged tickets are damaged, never drawn.
    assert!(w.frame(&ticket_id(0)).is_err());
    assert!(!w.damaged_rows().unwrap().is_empty());
    // The real issuer's signed clock and rows: everything back, time where it is.
    let real = FakeIssuer {
        server_time_ms: OPENS * 1000 + 1000,
        ..FakeIssuer::new(w.device_public_key(), 2)
    };
    sync_in_process(&w, &real).unwrap();
    assert!(w.damaged_rows().unwrap().is_empty());
    assert_eq!(w.trusted_time().proven_ms, OPENS * 1000 + 1000);
    assert!(w.frame(&ticket_id(0)).is_ok());
    assert!(w.integrity_check().unwrap());
}
