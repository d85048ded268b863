//! The attendee journey against a real issuer, each protection on: locked before the
//! window, verification demanded then satisfied, frames after, the gate admits, a replay
//! is rejected.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use tessera_core::clock::WallClock;
use tessera_core::sync::api::{HolderChange, ProfileUpdate, TokenRequest};
use tessera_core::sync::error::SyncError;
use tessera_core::{
    CodeFormat, MemoryKeyVault, PresenceGate, RevealState, Verification, WalletError,
};
use tessera_gate::{RejectReason, ScanLog, Verdict, Verifier};
use tessera_tests::{Env, six_digits};

struct Nod;
impl PresenceGate for Nod {
    fn confirm(&self, _reason: &str) -> bool {
        true
    }
}

async fn gate_for(env: &Env, event: u64, gate: &str) -> Verifier {
    let token = env.mint_gate(event, gate).await;
    let json = env
        .admin_get(&format!("/v1/gate/events/{event}/bundle"), &token)
        .await;
    let bundle = env.open_bundle(&json);
    let log = ScanLog::open(env.dir.path().join(format!("{gate}-{event}.db"))).unwrap();
    Verifier::new(bundle, gate, log).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protection_on_s1_strict_jit() {
    let env = Env::start().await;
    let event = env
        .event(10, 3600, |p| {
            p.format = CodeFormat::S1;
            p.strict_jit = true;
            p.requires = vec![
                Verification::Email,
                Verification::Phone,
                Verification::Presence,
            ];
            p.personalised = true;
            p.change_block = true;
            p.period_secs = 10;
        })
        .await;
    let tickets = env
        .order(
            10,
            "alice@example.com",
            Some("+33612345678"),
            Some("Alice Martin"),
            &["A-1"],
        )
        .await;
    let id = tickets[0];

    let mut cfg = env.wallet_config("alice", Arc::new(MemoryKeyVault::new().unwrap()));
    cfg.presence = Some(Arc::new(Nod));
    let s = env.session(cfg);
    s.enroll("test").await.unwrap();
    // Before the email is confirmed, a sync brings nothing.
    assert_eq!(s.sync().await.unwrap().tickets, 0);
    assert!(s.tickets().unwrap().is_empty());
    env.enroll_and_verify_email(&s, "alice@example.com").await;
    s.sync().await.unwrap();

    // 1. Just-in-time: locked, with the opening time, never a barcode.
    assert_eq!(
        s.wallet().reveal_state(&id).unwrap(),
        RevealState::Locked {
            opens_at: event.reveal_opens_at
        }
    );
    assert!(matches!(
        s.frame(&id),
        Err(SyncError::Wallet(WalletError::Locked { .. }))
    ));
    // 6. Change block: the holder cannot rename; the box office can, and it is audited.
    let rename = ProfileUpdate {
        holder_name: Some("Mallory".into()),
        email: None,
    };
    assert!(matches!(
        s.update_profile(&rename).await,
        Err(SyncError::ChangeBlocked { .. })
    ));
    let bo = env.mint_with(&TokenRequest::box_office(None)).await;
    let change = HolderChange {
        holder_name: Some("Alice B. Martin".into()),
        email: None,
        reason: "ID shows middle name".into(),
    };
    let _: serde_json::Value = env
        .admin_post(&format!("/v1/boxoffice/tickets/{id}/holder"), &bo, &change)
        .await;
    let audit = env
        .admin_get("/v1/admin/audit", &env.issuer.admin_token())
        .await;
    assert!(
        audit.contains("ID shows middle name"),
        "override not audited: {audit}"
    );

    // Into the window: verification is demanded, then satisfied one by one.
    env.clock.advance(3600 * 1000 + 1000);
    s.sync().await.unwrap();
    assert_eq!(
        s.wallet().reveal_state(&id).unwrap(),
        RevealState::NeedsVerification {
            missing: vec![Verification::Phone, Verification::Presence]
        }
    );
    // 3. SMS verification.
    s.request_phone("+33612345678").await.unwrap();
    let code = six_digits(&env.last_message("+33612345678").await.body);
    s.confirm_phone(&code).await.unwrap();
    assert_eq!(
        s.wallet().reveal_state(&id).unwrap(),
        RevealState::NeedsVerification {
            missing: vec![Verification::Presence]
        }
    );
    s.wallet().confirm_presence(&id).unwrap();
    // Strict JIT: the release secret comes with a sync inside the window.
    assert_eq!(
        s.wallet().reveal_state(&id).unwrap(),
        RevealState::NeedsSync
    );
    s.sync().await.unwrap();
    assert!(matches!(
        s.wallet().reveal_state(&id).unwrap(),
        RevealState::Ready { .. }
    ));

    // 2. Dynamic barcode, and the gate.
    let mut gate = gate_for(&env, 10, "gate-a").await;
    let f = s.frame(&id).unwrap();
    let now = env.clock.now_unix_ms();
    match gate.verify(&f.payload, now).verdict {
        // 5. Personalisation: the (overridden) name is shown for the ID check.
        Verdict::Admit {
            ticket,
            holder_name,
            ..
        } => {
            assert_eq!(ticket, id);
            assert_eq!(holder_name.as_deref(), Some("Alice B. Martin"));
        }
        other => panic!("not admitted: {other:?}"),
    }
    assert_eq!(
        gate.verify(&f.payload, now).verdict,
        Verdict::Reject {
            reason: RejectReason::Replay
        }
    );
    env.clock.advance(10_000);
    let g = s.frame(&id).unwrap();
    assert_ne!(g.payload, f.payload, "the code rotates");
    assert_eq!(
        gate.verify(&g.payload, env.clock.now_unix_ms()).verdict,
        Verdict::Reject {
            reason: RejectReason::AlreadyAdmitted
        }
    );
    // A screenshot exactly two steps old is stale, even at a gate that never saw the ticket.
    env.clock.advance(10_000);
    assert_eq!(s.frame(&id).unwrap().step, f.step + 2, "two steps on");
    let mut other_gate = gate_for(&env, 10, "gate-b").await;
    assert_eq!(
        other_gate
            .verify(&f.payload, env.clock.now_unix_ms())
            .verdict,
        Verdict::Reject {
            reason: RejectReason::Stale
        }
    );
}

/// A real wallet's code at a real issuer's gate whose clock is `delta` steps from the
/// code's step, at the first and the last millisecond of that gate step: exactly ±1 step
/// admits, ±2 steps is `Stale`. For both formats, each gate fresh (no earlier admission).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_admit_one_step_either_side_and_are_stale_two_steps_away() {
    let env = Env::start().await;
    for (event, format) in [(60, CodeFormat::S1), (61, CodeFormat::T1)] {
        env.event(event, -120, |p| {
            p.format = format;
            p.period_secs = 10;
        })
        .await;
        env.order(event, "gus@example.com", None, None, &["F-9"])
            .await;
    }
    let s = env.session(env.wallet_config("gus", Arc::new(MemoryKeyVault::new().unwrap())));
    env.enroll_and_verify_email(&s, "gus@example.com").await;
    assert_eq!(s.sync().await.unwrap().tickets, 2);
    for ticket in s.tickets().unwrap() {
        let event = ticket.event.event_id.0;
        let token = env.mint_gate(event, &format!("boundary-{event}")).await;
        let format = ticket.event.format;
        let f = s.frame(&ticket.ticket_id).unwrap();
        let period_ms = 10_000;
        assert_eq!(f.ends_at_ms - f.starts_at_ms, period_ms);
        let bundle = env
            .admin_get(&format!("/v1/gate/events/{event}/bundle"), &token)
            .await;
        for delta in -2i64..=2 {
            let first_ms = f.starts_at_ms + delta * period_ms;
            for now in [first_ms, first_ms + period_ms - 1] {
                let mut gate = Verifier::new(
                    env.open_bundle(&bundle),
                    "boundary",
                    ScanLog::open_in_memory().unwrap(),
                )
                .unwrap();
                let verdict = gate.verify(&f.payload, now).verdict;
                let at = format!(
                    "{format:?} code of step {}, gate {delta:+} steps at {now}",
                    f.step
                );
                if delta.abs() <= 1 {
                    match verdict {
                        Verdict::Admit { ticket: t, .. } => assert_eq!(t, ticket.ticket_id, "{at}"),
                        other => panic!("{at}: not admitted: {other:?}"),
                    }
                } else {
                    assert_eq!(
                        verdict.reason(),
                        Some(RejectReason::Stale),
                        "{at}: {verdict:?}"
                    );
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t1_journey_with_email_only_and_offline_frames() {
    let env = Env::start().await;
    env.event(20, 60, |p| {
        p.requires = vec![Verification::Email];
        p.period_secs = 15;
    })
    .await;
    let id = env.order(20, "bob@example.com", None, None, &["GA"]).await[0];
    let s = env.session(env.wallet_config("bob", Arc::new(MemoryKeyVault::new().unwrap())));
    env.enroll_and_verify_email(&s, "bob@example.com").await;
    s.sync().await.unwrap();
    assert!(matches!(
        s.frame(&id),
        Err(SyncError::Wallet(WalletError::Locked { .. }))
    ));
    env.clock.advance(61_000);
    let f = s.frame(&id).unwrap();
    assert!(f.payload.starts_with("T1:"));
    let mut gate = gate_for(&env, 20, "gate-a").await;
    assert!(matches!(
        gate.verify(&f.payload, env.clock.now_unix_ms()).verdict,
        Verdict::Admit { .. }
    ));
    assert_eq!(
        gate.verify(&f.payload, env.clock.now_unix_ms()).verdict,
        Verdict::Reject {
            reason: RejectReason::Replay
        }
    );

    // Offline-first: the issuer goes away; what was synced still works and frames rotate.
    let clock = env.clock.clone();
    env.issuer.shutdown().await;
    clock.advance(15_000);
    let g = s.frame(&id).unwrap();
    assert_eq!(g.step, f.step + 1);
    assert!(matches!(
        s.sync().await,
        Err(SyncError::Network(_) | SyncError::Timeout)
    ));
    assert_eq!(s.tickets().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebind_to_a_new_phone_moves_tickets_and_old_codes_fail() {
    let env = Env::start().await;
    env.event(30, 0, |p| p.format = CodeFormat::S1).await;
    let id = env
        .order(30, "carol@example.com", None, None, &["B-7"])
        .await[0];
    let old = env.session(env.wallet_config("old", Arc::new(MemoryKeyVault::new().unwrap())));
    env.enroll_and_verify_email(&old, "carol@example.com").await;
    old.sync().await.unwrap();
    env.clock.advance(1000);
    let old_frame = old.frame(&id).unwrap();

    let new = env.session(env.wallet_config("new", Arc::new(MemoryKeyVault::new().unwrap())));
    env.enroll_and_verify_email(&new, "carol@example.com").await;
    new.rebind().await.unwrap();
    new.sync().await.unwrap();
    old.sync().await.unwrap();
    assert_eq!(
        old.wallet().reveal_state(&id).unwrap(),
        RevealState::BoundElsewhere
    );
    let new_frame = new.frame(&id).unwrap();

    let mut gate = gate_for(&env, 30, "gate-a").await;
    let now = env.clock.now_unix_ms();
    assert!(
        matches!(
            gate.verify(&old_frame.payload, now).verdict,
            Verdict::Reject { .. }
        ),
        "old phone's code"
    );
    assert!(matches!(
        gate.verify(&new_frame.payload, now).verdict,
        Verdict::Admit { .. }
    ));
}
