//! The exported API called from Rust, as a foreign language would: a watch that gets
//! its frames at the step boundaries (real time, 5 s period), stops when asked; typed
//! errors; the gate surface; foreign callbacks that fail.
//!
//! Tickets are installed directly through core (no issuer here: the journeys against a
//! real issuer are the Python and Kotlin tests and tests/); the key vault is the FAKE
//! memory vault.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tessera_core::{EventId, EventPolicy, Ticket, TicketId, TicketSecrets};
use tessera_ffi::errors::CallbackError;
use tessera_ffi::foreign::{ClockSource, memory_key_vault};
use tessera_ffi::{
    Frame, FrameListener, GateError, GateVerifier, LogLevel, Logger, PresenceGate, RejectReason,
    RevealState, Verdict, Wallet, WalletError,
};
use zeroize::Zeroizing;

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn open(dir: &tempfile::TempDir, presence: Option<Arc<dyn PresenceGate>>) -> Arc<Wallet> {
    Wallet::open(
        dir.path().join("w.db").to_string_lossy().into_owned(),
        "http://127.0.0.1:9".into(),
        memory_key_vault().unwrap(),
        presence,
        None,
        None,
    )
    .unwrap()
}

/// Installs one T1 ticket of an event whose window opens at `opens_at` (Unix s).
fn install(w: &Wallet, opens_at: i64, period_secs: u8, requires_presence: bool) -> String {
    let mut p = EventPolicy::new(EventId(7), "Concert", opens_at, opens_at + 3600);
    p.period_secs = period_secs;
    if requires_presence {
        p.requires = vec![tessera_core::Verification::Presence];
    }
    let id = TicketId::random().unwrap();
    let t = Ticket {
        id,
        event_id: EventId(7),
        seat: "A-1".into(),
        holder_name: None,
        device_public_key: w.core().device_public_key(),
        credential: None,
        revoked: false,
        version: 1,
    };
    let s = TicketSecrets {
        ticket_seed: Zeroizing::new(vec![7; 32]),
        event_seed: None,
    };
    w.core().install(&[p], vec![(t, s)]).unwrap();
    // Trusted time from "the issuer": this machine's clock, signed over the wallet's
    // nonce as a sync brings it.
    let issuer = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[42; 32]).unwrap();
    let pk = hex::encode(tessera_core::code::s1::public_key(&issuer));
    w.pin_issuer_keys(HashMap::from([(1, pk.clone())])).unwrap();
    // Pinning the same keys again is harmless; other keys are refused once pinned.
    w.pin_issuer_keys(HashMap::from([(1, pk)])).unwrap();
    assert!(matches!(
        w.pin_issuer_keys(HashMap::from([(1, "11".repeat(32))])),
        Err(WalletError::Invalid { .. })
    ));
    let nonce = w.core().new_time_nonce().unwrap();
    let now = now_ms();
    let proof = tessera_core::sync::signed_time::sign_time(&issuer, 1, &nonce, now);
    w.core().accept_signed_time(&nonce, now, &proof).unwrap();
    id.to_string()
}

#[derive(Default)]
struct Seen {
    frames: Vec<(i64, Frame)>,
    states: Vec<RevealState>,
}

#[derive(Default)]
struct Listener {
    seen: Mutex<Seen>,
    cond: Condvar,
}

impl Listener {
    fn wait(&self, timeout: Duration, done: impl Fn(&Seen) -> bool) {
        let g = self.seen.lock().unwrap();
        let (g, t) = self
            .cond
            .wait_timeout_while(g, timeout, |s| !done(s))
            .unwrap();
        assert!(
            !t.timed_out(),
            "states {:?}, {} frames",
            g.states,
            g.frames.len()
        );
    }
}

impl FrameListener for Listener {
    fn on_frame(&self, frame: Frame) -> Result<(), CallbackError> {
        self.seen.lock().unwrap().frames.push((now_ms(), frame));
        self.cond.notify_all();
        Ok(())
    }
    fn on_state(&self, state: RevealState) -> Result<(), CallbackError> {
        self.seen.lock().unwrap().states.push(state);
        self.cond.notify_all();
        Ok(())
    }
}

#[test]
fn a_watch_opens_with_the_window_and_delivers_one_frame_per_step() {
    let dir = tempfile::tempdir().unwrap();
    let w = open(&dir, None);
    let opens_at = now_ms() / 1000 + 2;
    let id = install(&w, opens_at, 5, false);
    assert!(
        matches!(w.frame(id.clone()), Err(WalletError::Locked { opens_at: o }) if o == opens_at)
    );

    let l = Arc::new(Listener::default());
    let handle = w.watch(id.clone(), l.clone()).unwrap();
    l.wait(Duration::from_secs(1), |s| !s.states.is_empty());
    assert_eq!(
        l.seen.lock().unwrap().states[0],
        RevealState::Locked { opens_at }
    );

    // The window opens with no call from us: Ready, then a frame per step.
    l.wait(Duration::from_secs(14), |s| s.frames.len() >= 2);
    let seen = l.seen.lock().unwrap();
    assert!(matches!(
        seen.states.last(),
        Some(RevealState::Ready { .. })
    ));
    assert!(
        seen.frames[0].0 >= opens_at * 1000 - 50,
        "no frame before the window"
    );
    let (got_at, second) = &seen.frames[1];
    assert_eq!(second.step, seen.frames[0].1.step + 1);
    assert!(
        (second.starts_at_ms - 50..=second.starts_at_ms + 1000).contains(got_at),
        "delivered at {got_at}, step starts at {}",
        second.starts_at_ms
    );
    assert_eq!(
        second.qr_modules.len(),
        (second.qr_size * second.qr_size) as usize
    );
    let last_step = seen.frames.last().unwrap().1.step;
    let boundary = seen.frames.last().unwrap().1.ends_at_ms;
    drop(seen);

    // Stopped while the watch sleeps until the boundary (not while it still works on
    // the frame just delivered). stop() returns before that boundary (else a frame for
    // the next step could be legitimate); then we wait past it for longer than a frame
    // may be late (1 s above): nothing arrives.
    std::thread::sleep(Duration::from_millis(1_000));
    handle.stop();
    let stopped = now_ms();
    assert!(!handle.is_active());
    assert!(
        stopped < boundary - 100,
        "stop() returned at {stopped}, too close to the boundary {boundary}"
    );
    let n = l.seen.lock().unwrap().frames.len();
    std::thread::sleep(Duration::from_millis(
        u64::try_from(boundary - now_ms()).unwrap_or(0) + 2_000,
    ));
    let seen = l.seen.lock().unwrap();
    assert_eq!(seen.frames.len(), n, "a frame arrived after stop()");
    assert!(
        seen.frames
            .iter()
            .all(|(at, f)| *at <= stopped && f.step <= last_step)
    );
}

struct Nod(bool);
impl PresenceGate for Nod {
    fn confirm(&self, _reason: String) -> Result<bool, CallbackError> {
        if self.0 {
            Ok(true)
        } else {
            Err(CallbackError::Failed {
                reason: "the prompt crashed".into(),
            })
        }
    }
}

#[test]
fn wallet_calls_wake_a_waiting_watch_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let w = open(&dir, Some(Arc::new(Nod(true))));
    let id = install(&w, now_ms() / 1000 - 60, 60, true);
    let l = Arc::new(Listener::default());
    let _handle = w.watch(id.clone(), l.clone()).unwrap();
    l.wait(Duration::from_secs(1), |s| !s.states.is_empty());
    let started = Instant::now();
    w.confirm_presence(id).unwrap();
    l.wait(Duration::from_secs(1), |s| !s.frames.is_empty());
    assert!(started.elapsed() < Duration::from_millis(500));
    assert!(matches!(
        l.seen.lock().unwrap().states.last(),
        Some(RevealState::Ready { .. })
    ));
}

#[test]
fn errors_are_typed_and_readable() {
    let dir = tempfile::tempdir().unwrap();
    let w = open(&dir, Some(Arc::new(Nod(false))));
    let e = w.frame("xyz".into()).unwrap_err();
    assert_eq!(e.to_string(), "invalid input: a ticket id is 32 hex digits");
    let e = w.ticket("00".repeat(16)).unwrap_err();
    assert!(matches!(e, WalletError::NotFound { .. }), "{e:?}");

    let id = install(&w, now_ms() / 1000 - 60, 15, true);
    let e = w.frame(id.clone()).unwrap_err();
    assert_eq!(e.to_string(), "verification needed: presence");
    // A presence prompt that throws counts as "no".
    assert_eq!(
        w.confirm_presence(id).unwrap_err(),
        WalletError::PresenceDenied
    );

    let e = Wallet::open(
        dir.path().join("x.db").to_string_lossy().into_owned(),
        "http://tickets.example.com".into(),
        memory_key_vault().unwrap(),
        None,
        None,
        None,
    )
    .unwrap_err();
    assert!(matches!(e, WalletError::InsecureUrl { .. }), "{e:?}");
}

struct BrokenClock;
impl ClockSource for BrokenClock {
    fn wall_clock_ms(&self) -> Result<i64, CallbackError> {
        Err(CallbackError::Failed { reason: "x".into() })
    }
    fn elapsed_realtime_ms(&self) -> Result<i64, CallbackError> {
        Err(CallbackError::Failed { reason: "x".into() })
    }
    fn boot_id(&self) -> Result<String, CallbackError> {
        Err(CallbackError::Failed { reason: "x".into() })
    }
}

#[derive(Default)]
struct Lines(Mutex<Vec<String>>);
impl Logger for Lines {
    fn log(&self, _level: LogLevel, message: String) -> Result<(), CallbackError> {
        self.0.lock().unwrap().push(message);
        Err(CallbackError::Failed {
            reason: "a logger that throws".into(),
        })
    }
}

#[test]
fn a_failing_clock_never_opens_a_window_early_and_a_failing_logger_is_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let lines = Arc::new(Lines::default());
    let w = Wallet::open(
        dir.path().join("w.db").to_string_lossy().into_owned(),
        "http://127.0.0.1:9".into(),
        memory_key_vault().unwrap(),
        None,
        Some(Arc::new(BrokenClock)),
        Some(lines.clone()),
    )
    .unwrap();
    let opens_at = now_ms() / 1000 + 3600;
    let id = install(&w, opens_at, 15, false);
    assert_eq!(
        w.reveal_state(id).unwrap(),
        RevealState::Locked { opens_at }
    );
    assert!(!lines.0.lock().unwrap().is_empty());
}

#[test]
fn the_gate_surface_reports_typed_errors_and_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db").to_string_lossy().into_owned();
    let e = GateVerifier::new("{".into(), "north".into(), path.clone()).unwrap_err();
    assert!(matches!(e, GateError::UntrustedBundle { .. }), "{e:?}");

    // A bundle signed by the issuer, as the issuer serves it.
    let issuer = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[42; 32]).unwrap();
    let pk: [u8; 32] = ring::signature::KeyPair::public_key(&issuer)
        .as_ref()
        .try_into()
        .unwrap();
    let mut b = tessera_gate::GateBundle::new_s1(EventId(7), 15, 0, i64::MAX / 1000);
    b.issuer_keys.insert(1, tessera_gate::PublicKey(pk));
    b.seq = 3;
    b.issued_at_ms = now_ms() - 5000;
    let bundle = tessera_gate::signed_bundle::sign(&b, 1, &issuer).unwrap();
    // Pinned to another key it is refused; to the issuer's, or on first use, it opens.
    let other = dir.path().join("o.db").to_string_lossy().into_owned();
    let e = GateVerifier::with_issuer_key(bundle.clone(), "11".repeat(32), "north".into(), other)
        .unwrap_err();
    assert!(matches!(e, GateError::UntrustedBundle { .. }), "{e:?}");
    let pinned = dir.path().join("p.db").to_string_lossy().into_owned();
    GateVerifier::with_issuer_key(bundle.clone(), hex::encode(pk), "north".into(), pinned).unwrap();
    let g = GateVerifier::new(bundle.clone(), "north".into(), path).unwrap();
    assert_eq!(g.bundle_seq(), 3);
    // An update of the bundle applies; an older bundle than the one in use does not.
    let mut update = b.clone();
    update.seq = 5;
    update.since_seq = Some(3);
    update.issued_at_ms = now_ms();
    g.refresh_bundle(tessera_gate::signed_bundle::sign(&update, 1, &issuer).unwrap())
        .unwrap();
    assert_eq!(g.bundle_seq(), 5);
    let e = g.refresh_bundle(bundle).unwrap_err();
    assert_eq!(e, GateError::BundleRolledBack { have: 5, got: 3 });
    let r = g.verify("T1:NOT-A-CODE".into(), now_ms());
    assert!(
        (0..60_000).contains(&r.bundle_age_ms),
        "{}",
        r.bundle_age_ms
    );
    assert_eq!(
        r.verdict,
        Verdict::Reject {
            reason: RejectReason::Malformed
        }
    );
    assert_eq!(RejectReason::Stale.code(), "stale");
    assert!(RejectReason::Replay.door_text().contains("already scanned"));
    assert_eq!(g.export_scans().unwrap().lines().count(), 1);
    assert_eq!(g.merge(String::new()).unwrap().imported, 0);
    assert!(matches!(
        g.merge("not json".into()),
        Err(GateError::Export { .. })
    ));
}
