//! Release objects applied to a wallet (`Wallet::apply_release`, docs/PROTOCOL.md §14) and
//! fetched from a server (`WalletSync::fetch_release`): a strict just-in-time ticket synced
//! before its window, with no release secret, unlocks from a signed object alone; every
//! object that is not the pinned issuer's, of a held strict event, at a version not older
//! than the held one, is refused and changes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::WalletError;
use crate::clock::WallClock;
use crate::code::Code;
use crate::code::release::verify_release_mac;
use crate::code::release_object::ReleaseObject;
use crate::ids::EventId;
use crate::store::StoredRelease;
use crate::sync::release::ReleaseApplied;
use crate::sync::testkit::*;
use crate::ticket::RevealState;
use crate::wallet::Wallet;

/// The strict-JIT S1 event of the FAKE issuer, and its key.
const STRICT: EventId = EventId(2);
const SECRET: [u8; 32] = [0x77; 32];

/// A wallet synced before the window with no release secret, the window then open: its
/// strict tickets read `NeedsSync`.
fn waiting() -> (Fx, std::sync::Arc<Wallet>) {
    let (fx, w, mut issuer) = Fx::with_issuer(2);
    issuer.releases.clear();
    sync_in_process(&w, &issuer).unwrap();
    fx.open_window();
    assert_eq!(w.frame(&ticket_id(1000)), Err(WalletError::NeedsSync));
    (fx, w)
}

/// A release object of `event` by the FAKE issuer's key (id 1, seed 42).
fn object(event: EventId, version: u32, secret: &[u8]) -> ReleaseObject {
    ReleaseObject::sign(&issuer_key(42), 1, event, version, OPENS, secret).unwrap()
}

fn text(event: EventId, version: u32, secret: &[u8]) -> String {
    object(event, version, secret).encode()
}

/// What a refused object must leave as it was.
fn held(w: &Wallet) -> (Option<StoredRelease>, Vec<RevealState>) {
    let states = w.tickets().unwrap().into_iter().map(|t| t.state).collect();
    (w.store().release(STRICT).unwrap(), states)
}

#[test]
fn a_release_object_unlocks_strict_tickets_offline() {
    let (_fx, w) = waiting();
    let applied = w.apply_release(&text(STRICT, 1, &SECRET)).unwrap();
    assert_eq!(
        applied,
        ReleaseApplied {
            event_id: STRICT,
            version: 1,
            opens_at: OPENS,
            updated: true,
            tickets: 2,
        }
    );
    for id in [ticket_id(1000), ticket_id(1001)] {
        assert!(matches!(
            w.reveal_state(&id).unwrap(),
            RevealState::Ready { .. }
        ));
        let f = w.frame(&id).unwrap();
        let Code::S1(code) = Code::parse(&f.payload).unwrap() else {
            panic!("not S1")
        };
        // The code's MAC is made with the object's secret: what a gate holding it checks.
        let mac = code.release_mac.expect("strict: a MAC");
        let ctx = code.signed.release_context();
        assert!(verify_release_mac(&SECRET, &ctx, f.step, &mac));
        assert!(!verify_release_mac(&[9; 32], &ctx, f.step, &mac));
    }
    // Stored where a sync stores it: sealed, version 1.
    assert_eq!(w.store().release(STRICT).unwrap().unwrap().version, 1);
    // The same object again (a second scan) changes nothing and is no error.
    let again = w.apply_release(&text(STRICT, 1, &SECRET)).unwrap();
    assert!(!again.updated);
    // A pasted line ending is ignored.
    assert!(
        !w.apply_release(&format!(" {}\r\n", text(STRICT, 1, &SECRET)))
            .unwrap()
            .updated
    );
}

#[test]
fn objects_not_signed_by_a_pinned_key_are_refused() {
    let (_fx, w) = waiting();
    let before = held(&w);
    // Another issuer under the pinned id, another key id, a keyless forgery, an edit.
    let other = ReleaseObject::sign(&issuer_key(43), 1, STRICT, 1, OPENS, &SECRET).unwrap();
    let unknown_id = ReleaseObject::sign(&issuer_key(42), 2, STRICT, 1, OPENS, &SECRET).unwrap();
    let mut forged = object(STRICT, 1, &SECRET);
    forged.signature = [0; 64];
    forged.signature[0] = 1;
    let mut edited = object(STRICT, 1, &SECRET);
    edited.secret[0] ^= 1;
    let mut later = object(STRICT, 1, &SECRET);
    later.version = 2;
    for bad in [other, unknown_id, forged, edited, later] {
        assert_eq!(
            w.apply_release(&bad.encode()),
            Err(WalletError::BadSignature),
            "{bad:?}"
        );
    }
    // Tampered and truncated texts.
    let good = text(STRICT, 1, &SECRET);
    let mut digits = good.clone().into_bytes();
    let last = digits.len() - 1;
    digits[last] = if digits[last] == b'0' { b'1' } else { b'0' };
    let tampered = String::from_utf8(digits).unwrap();
    assert_eq!(w.apply_release(&tampered), Err(WalletError::BadSignature));
    for bad in [
        &good[..good.len() - 1],
        "",
        "R1:",
        "C1:123",
        &format!("{good}0"),
    ] {
        assert!(
            matches!(w.apply_release(bad), Err(WalletError::Invalid { .. })),
            "{bad}"
        );
    }
    assert_eq!(held(&w), before);
    assert_eq!(w.frame(&ticket_id(1000)), Err(WalletError::NeedsSync));
}

#[test]
fn a_wallet_without_pinned_keys_trusts_no_object() {
    let fx = Fx::new();
    let w = fx.wallet();
    assert_eq!(
        w.apply_release(&text(STRICT, 1, &SECRET)),
        Err(WalletError::BadSignature)
    );
}

#[test]
fn an_event_without_a_ticket_here_or_not_strict_is_refused() {
    let (_fx, w) = waiting();
    let before = held(&w);
    assert!(matches!(
        w.apply_release(&text(EventId(99), 1, &SECRET)),
        Err(WalletError::NotFound { .. })
    ));
    // Event 1 is T1 without strict just-in-time: it has no release secret to take.
    assert!(matches!(
        w.apply_release(&text(EventId(1), 1, &SECRET)),
        Err(WalletError::Invalid { .. })
    ));
    assert!(w.store().release(EventId(1)).unwrap().is_none());
    assert_eq!(held(&w), before);
    // Tickets moved to another device are not this wallet's to unlock.
    let ids: Vec<_> = w
        .tickets()
        .unwrap()
        .into_iter()
        .filter(|t| t.event.event_id == STRICT)
        .map(|t| t.ticket_id)
        .collect();
    w.mark_moved(&ids).unwrap();
    assert!(matches!(
        w.apply_release(&text(STRICT, 1, &SECRET)),
        Err(WalletError::NotFound { .. })
    ));
    assert!(w.store().release(STRICT).unwrap().is_none());
}

#[test]
fn versions_only_move_forward() {
    let (_fx, w) = waiting();
    assert!(w.apply_release(&text(STRICT, 2, &SECRET)).unwrap().updated);
    let before = held(&w);
    // A version 1 printed long ago is not taken back.
    assert!(matches!(
        w.apply_release(&text(STRICT, 1, &[0x11; 32])),
        Err(WalletError::Conflict { .. })
    ));
    // Another secret under the version held: refused, the held one stays.
    assert!(matches!(
        w.apply_release(&text(STRICT, 2, &[0x22; 32])),
        Err(WalletError::Conflict { .. })
    ));
    assert_eq!(held(&w), before);
    // A newer version replaces it, and codes follow it.
    let applied = w.apply_release(&text(STRICT, 3, &[0x33; 32])).unwrap();
    assert!(applied.updated && applied.version == 3);
    let f = w.frame(&ticket_id(1000)).unwrap();
    let Code::S1(code) = Code::parse(&f.payload).unwrap() else {
        panic!("not S1")
    };
    let ctx = code.signed.release_context();
    assert!(verify_release_mac(
        &[0x33; 32],
        &ctx,
        f.step,
        &code.release_mac.unwrap()
    ));
}

#[test]
fn a_sync_wins_over_an_older_object_and_a_damaged_row_is_replaced() {
    let (fx, w) = waiting();
    // A sync brings version 5; a venue's version 4 is older.
    let mut issuer = FakeIssuer::new(w.device_public_key(), 2);
    issuer.releases = vec![(STRICT, 5, SECRET.to_vec())];
    issuer.server_time_ms = fx.clock.now_unix_ms();
    sync_in_process(&w, &issuer).unwrap();
    assert!(matches!(
        w.apply_release(&text(STRICT, 4, &SECRET)),
        Err(WalletError::Conflict { .. })
    ));
    assert_eq!(w.store().release(STRICT).unwrap().unwrap().version, 5);
    // A row whose tag fails (edited on disk) is no version to keep: replaced, as a sync would.
    let path = fx.dir.path().join("wallet.db");
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute("UPDATE release_secrets SET version = 9", [])
        .unwrap();
    assert_eq!(
        w.frame(&ticket_id(1000)).err().map(|e| e.kind()),
        Some("Tampered")
    );
    assert!(w.apply_release(&text(STRICT, 4, &SECRET)).unwrap().updated);
    assert!(w.frame(&ticket_id(1000)).is_ok());
}

#[test]
fn a_locked_wallet_stores_nothing() {
    let (_fx, w) = waiting();
    w.lock();
    assert_eq!(
        w.apply_release(&text(STRICT, 1, &SECRET)),
        Err(WalletError::WalletLocked)
    );
    assert!(w.store().release(STRICT).unwrap().is_none());
    w.unlock().unwrap();
    assert!(w.apply_release(&text(STRICT, 1, &SECRET)).unwrap().updated);
}

#[test]
fn before_the_window_the_secret_is_kept_but_nothing_shows() {
    // A sign printed ahead of doors: the object does not prove the time.
    let (fx, w, mut issuer) = Fx::with_issuer(1);
    issuer.releases.clear();
    sync_in_process(&w, &issuer).unwrap();
    assert!(w.apply_release(&text(STRICT, 1, &SECRET)).unwrap().updated);
    assert_eq!(
        w.reveal_state(&ticket_id(1000)).unwrap(),
        RevealState::Locked { opens_at: OPENS }
    );
    assert!(matches!(
        w.frame(&ticket_id(1000)),
        Err(WalletError::Locked { .. })
    ));
    fx.open_window();
    assert!(w.frame(&ticket_id(1000)).is_ok());
}

#[cfg(feature = "sync-client")]
mod over_http {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::sync::client::{ClientOptions, IssuerClient};
    use crate::sync::error::SyncError;
    use crate::sync::session::WalletSync;

    fn raw(status: &str, body: &[u8]) -> Reply {
        let mut r = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        Reply::Raw(r)
    }

    async fn session(
        w: &Arc<Wallet>,
        reply: impl Fn(&Req) -> Reply + Send + Sync + 'static,
    ) -> (WalletSync, TestServer) {
        let server = TestServer::start(reply).await;
        let options = ClientOptions {
            max_retries: 1,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
            ..ClientOptions::default()
        };
        let s = WalletSync::new(
            w.clone(),
            IssuerClient::new(&server.url(), options).unwrap(),
        );
        (s, server)
    }

    #[tokio::test]
    async fn a_fetched_release_unlocks_and_hostile_answers_change_nothing() {
        let (_fx, w) = waiting();
        let before = held(&w);
        let good = text(STRICT, 1, &SECRET);
        let other_issuer = ReleaseObject::sign(&issuer_key(43), 1, STRICT, 1, OPENS, &SECRET)
            .unwrap()
            .encode();
        let other_event = text(EventId(1), 1, &SECRET);
        type Case = (&'static str, Reply, fn(&SyncError) -> bool);
        let cases: Vec<Case> = vec![
            (
                "other issuer",
                raw("200 OK", other_issuer.as_bytes()),
                |e| *e == SyncError::BadSignature,
            ),
            ("other event", raw("200 OK", other_event.as_bytes()), |e| {
                matches!(e, SyncError::MalformedResponse(_))
            }),
            ("garbage", raw("200 OK", b"<html>hello</html>"), |e| {
                matches!(e, SyncError::MalformedResponse(_))
            }),
            ("not UTF-8", raw("200 OK", &[0xff, 0xfe, b'R']), |e| {
                matches!(e, SyncError::MalformedResponse(_))
            }),
            ("huge", Reply::Chunked(1 << 20), |e| {
                matches!(e, SyncError::ResponseTooLarge { limit: 4096 })
            }),
            ("huge, declared", raw("200 OK", &vec![b'1'; 5000]), |e| {
                matches!(e, SyncError::ResponseTooLarge { .. })
            }),
            ("not yet", Reply::error(404, "not_found"), |e| {
                matches!(e, SyncError::NotFound { .. })
            }),
        ];
        for (name, reply, ok) in cases {
            let reply = std::sync::Mutex::new(Some(reply));
            let (s, server) = session(&w, move |_| {
                reply
                    .lock()
                    .unwrap()
                    .take()
                    .unwrap_or(Reply::error(500, "internal"))
            })
            .await;
            let e = s.fetch_release(STRICT).await.unwrap_err();
            assert!(ok(&e), "{name}: {e:?}");
            assert_eq!(held(&w), before, "{name}");
            assert!(server.hits() >= 1);
        }
        // The genuine object, at the path the issuer serves it: unlocked.
        let path = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let seen = path.clone();
        let (s, _server) = session(&w, move |req| {
            *seen.lock().unwrap() = format!("{} {}", req.method, req.path);
            assert!(!req.headers.contains_key("x-tessera-signature"), "unsigned");
            raw("200 OK", good.as_bytes())
        })
        .await;
        let applied = s.fetch_release(STRICT).await.unwrap();
        assert!(applied.updated);
        assert_eq!(*path.lock().unwrap(), "GET /v1/events/2/release");
        assert!(w.frame(&ticket_id(1000)).is_ok());
    }

    #[tokio::test]
    async fn a_fetch_is_retried_after_a_server_error() {
        let (_fx, w) = waiting();
        let good = text(STRICT, 1, &SECRET);
        let n = std::sync::atomic::AtomicUsize::new(0);
        let (s, server) = session(&w, move |_| {
            if n.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                Reply::error(503, "internal")
            } else {
                raw("200 OK", good.as_bytes())
            }
        })
        .await;
        assert!(s.fetch_release(STRICT).await.unwrap().updated);
        assert_eq!(server.hits(), 2);
    }
}
