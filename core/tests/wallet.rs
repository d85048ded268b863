//! The wallet on a real SQLite file with real cryptography: reveal windows, trusted time,
//! frames, persistence and concurrency.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use tessera_core::code::Code;
use tessera_core::code::totp::hotp;
use tessera_core::{CodeFormat, PresenceGate, RevealState, Verification, Wallet, WalletError};

fn install(fx: &Fixture, w: &Wallet, format: CodeFormat, n: u32) -> tessera_core::EventPolicy {
    let p = policy(1, format);
    let tickets = (0..n)
        .map(|i| ticket(i, &p, w.device_public_key(), &fx.issuer))
        .collect();
    w.install(std::slice::from_ref(&p), tickets).unwrap();
    p
}

#[test]
fn reveal_opens_exactly_at_the_window_one_second_either_side() {
    let fx = Fixture::new();
    let w = fx.wallet();
    install(&fx, &w, CodeFormat::T1, 1);
    let id = ticket_id(0);
    fx.clock.advance((OPENS * 1000 - NOW_MS - 1000) as u64);
    assert_eq!(
        w.reveal_state(&id).unwrap(),
        RevealState::Locked { opens_at: OPENS }
    );
    assert_eq!(w.frame(&id), Err(WalletError::Locked { opens_at: OPENS }));
    fx.clock.advance(1000);
    assert_eq!(
        w.reveal_state(&id).unwrap(),
        RevealState::Ready { until: UNTIL }
    );
    assert!(w.frame(&id).is_ok());
    fx.clock.advance(1000);
    assert_eq!(
        w.reveal_state(&id).unwrap(),
        RevealState::Ready { until: UNTIL }
    );
    // …and it closes at valid_until, one second either side.
    fx.clock.advance(((UNTIL - OPENS) * 1000 - 2000) as u64);
    assert!(w.frame(&id).is_ok());
    fx.clock.advance(1000);
    assert_eq!(w.reveal_state(&id).unwrap(), RevealState::Expired);
    assert_eq!(w.frame(&id), Err(WalletError::Expired));
}

#[test]
fn a_wall_clock_set_forward_does_not_reveal() {
    let fx = Fixture::new();
    let w = fx.wallet();
    install(&fx, &w, CodeFormat::T1, 1);
    let id = ticket_id(0);
    fx.clock.set_wall(UNTIL * 1000 - 60_000); // into the window, by hand
    assert_eq!(w.frame(&id), Err(WalletError::Locked { opens_at: OPENS }));
    assert!(w.clock_manipulated());
    // A reboot loses the monotonic anchor; the forward clock still proves nothing.
    fx.clock.reboot();
    let w = Wallet::open(fx.config()).unwrap();
    assert_eq!(
        w.reveal_state(&id).unwrap(),
        RevealState::Locked { opens_at: OPENS }
    );
    // Never synced at all: locked too.
    let fresh = Fixture::new();
    fresh.clock.set_wall(UNTIL * 1000 - 60_000);
    let w2 = Wallet::open(fresh.config()).unwrap();
    install(&fresh, &w2, CodeFormat::T1, 1);
    assert_eq!(
        w2.reveal_state(&id).unwrap(),
        RevealState::Locked { opens_at: OPENS }
    );
}

#[test]
fn after_a_reboot_no_code_is_drawn_for_a_wall_clock_running_ahead() {
    let fx = Fixture::new();
    let w = fx.wallet();
    install(&fx, &w, CodeFormat::S1, 1);
    fx.open_window();
    let before = w.frame(&ticket_id(0)).unwrap();
    drop(w);
    // A reboot (the monotonic clock restarts), then the wall clock set an hour ahead:
    // a reseller's way to pre-make screenshots for later.
    fx.clock.reboot();
    let real_now = OPENS * 1000 + 1000;
    fx.clock.set_wall(real_now + 3_600_000);
    let w = Wallet::open(fx.config()).unwrap();
    // The window is known to be open (the high-water mark), but not which step is now.
    assert_eq!(
        w.reveal_state(&ticket_id(0)).unwrap(),
        RevealState::NeedsSync
    );
    assert_eq!(w.frame(&ticket_id(0)), Err(WalletError::NeedsSync));
    assert_eq!(
        w.prepare_next_frame(&ticket_id(0)),
        Err(WalletError::NeedsSync)
    );
    // A signed issuer time (the real one, an hour behind the wall) proves the step again.
    anchor(&w, &fx.issuer, real_now);
    let f = w.frame(&ticket_id(0)).unwrap();
    assert_eq!(f.step, u64::try_from(real_now / 15_000).unwrap());
    assert!(f.step >= before.step && f.step <= before.step + 1);
    let next = w.prepare_next_frame(&ticket_id(0)).unwrap();
    assert_eq!(next.step, f.step + 1, "only the next step is drawn ahead");
    assert!(
        w.clock_manipulated(),
        "a wall clock an hour ahead is reported"
    );
}

#[test]
fn t1_frames_carry_the_rfc6238_code_of_the_ticket_seed() {
    let fx = Fixture::new();
    let w = fx.wallet();
    let p = install(&fx, &w, CodeFormat::T1, 3);
    fx.open_window();
    let f = w.frame(&ticket_id(2)).unwrap();
    let period_ms = i64::from(p.period_secs) * 1000;
    let now = NOW_MS + (OPENS * 1000 - NOW_MS) + 1000;
    assert_eq!(f.step as i64, now / period_ms);
    assert_eq!(f.starts_at_ms, f.step as i64 * period_ms);
    assert_eq!(f.ends_at_ms - f.starts_at_ms, period_ms);
    let Code::T1(code) = Code::parse(&f.payload).unwrap() else {
        panic!("not T1")
    };
    assert_eq!(code.ticket, ticket_id(2));
    assert_eq!(
        code.ticket_code,
        hotp(
            p.totp_algorithm,
            b"seed-of-ticket-00000002",
            f.step,
            p.totp_digits
        )
    );
    assert_eq!(
        code.event_code,
        Some(hotp(p.totp_algorithm, b"event-seed", f.step, p.totp_digits))
    );
    assert_eq!(code.release_mac, None);
    assert!(f.qr_size >= 21);
    assert_eq!(
        f.qr(),
        tessera_core::qr::QrMatrix::encode(&f.payload).unwrap()
    );
    // The next step gives the next code.
    fx.clock.advance(period_ms as u64);
    let g = w.frame(&ticket_id(2)).unwrap();
    assert_eq!(g.step, f.step + 1);
    assert_ne!(g.payload, f.payload);
}

#[test]
fn s1_frames_verify_with_issuer_and_device_keys_only() {
    let fx = Fixture::new();
    let w = fx.wallet();
    install(&fx, &w, CodeFormat::S1, 2);
    fx.open_window();
    let f = w.frame(&ticket_id(1)).unwrap();
    let Code::S1(code) = Code::parse(&f.payload).unwrap() else {
        panic!("not S1")
    };
    assert!(code.signed.verify(&fx.issuer_public_key()));
    assert!(code.verify_device());
    assert_eq!(
        code.signed.credential.device_public_key,
        w.device_public_key()
    );
    assert_eq!(code.step, f.step);
}

#[test]
fn a_ticket_bound_to_another_device_is_refused() {
    let fx = Fixture::new();
    let w = fx.wallet();
    let p = policy(1, CodeFormat::S1);
    w.install(
        std::slice::from_ref(&p),
        vec![ticket(0, &p, [9; 32], &fx.issuer)],
    )
    .unwrap();
    fx.open_window();
    assert_eq!(w.frame(&ticket_id(0)), Err(WalletError::BoundElsewhere));
}

#[test]
fn strict_jit_waits_for_the_release_secret() {
    let fx = Fixture::new();
    let w = fx.wallet();
    let mut p = policy(1, CodeFormat::T1);
    p.strict_jit = true;
    w.install(
        std::slice::from_ref(&p),
        vec![ticket(0, &p, w.device_public_key(), &fx.issuer)],
    )
    .unwrap();
    fx.open_window();
    assert_eq!(w.frame(&ticket_id(0)), Err(WalletError::NeedsSync));
    w.set_release_secret(p.event_id, 1, b"released-at-doors")
        .unwrap();
    let f = w.frame(&ticket_id(0)).unwrap();
    let Code::T1(code) = Code::parse(&f.payload).unwrap() else {
        panic!()
    };
    let mac = code.release_mac.unwrap();
    assert!(tessera_core::code::release::verify_release_mac(
        b"released-at-doors",
        &tessera_core::code::release::ReleaseContext::T1 {
            event: p.event_id,
            ticket: ticket_id(0)
        },
        f.step,
        &mac
    ));
}

struct Nod(bool);
impl PresenceGate for Nod {
    fn confirm(&self, _reason: &str) -> bool {
        self.0
    }
}

#[test]
fn verifications_are_demanded_then_satisfied() {
    let fx = Fixture::new();
    let mut cfg = fx.config();
    cfg.presence = Some(Arc::new(Nod(true)));
    let w = Wallet::open(cfg).unwrap();
    anchor(&w, &fx.issuer, NOW_MS);
    let mut p = policy(1, CodeFormat::T1);
    p.requires = vec![Verification::Email, Verification::Presence];
    w.install(
        std::slice::from_ref(&p),
        vec![ticket(0, &p, w.device_public_key(), &fx.issuer)],
    )
    .unwrap();
    fx.open_window();
    let id = ticket_id(0);
    assert_eq!(
        w.frame(&id),
        Err(WalletError::NeedsVerification {
            missing: vec![Verification::Email, Verification::Presence],
            detail: String::new(),
        })
    );
    w.set_verified(Verification::Email).unwrap();
    assert_eq!(
        w.frame(&id),
        Err(WalletError::NeedsVerification {
            missing: vec![Verification::Presence],
            detail: String::new(),
        })
    );
    w.confirm_presence(&id).unwrap();
    assert!(w.frame(&id).is_ok());
    // Presence lasts until the wallet is locked.
    w.lock();
    w.unlock().unwrap();
    assert_eq!(
        w.frame(&id),
        Err(WalletError::NeedsVerification {
            missing: vec![Verification::Presence],
            detail: String::new(),
        })
    );

    let mut cfg = fx.config();
    cfg.presence = Some(Arc::new(Nod(false)));
    drop(w);
    let w = Wallet::open(cfg).unwrap();
    assert_eq!(w.confirm_presence(&id), Err(WalletError::PresenceDenied));
}

#[test]
fn close_and_reopen_keeps_every_ticket_and_code() {
    let fx = Fixture::new();
    let w = fx.wallet();
    install(&fx, &w, CodeFormat::S1, 50);
    let before = w.tickets().unwrap();
    let records = |w: &Wallet, list: &[tessera_core::TicketSummary]| {
        list.iter()
            .map(|s| (w.ticket_record(&s.ticket_id).unwrap(), s.event.clone()))
            .collect::<Vec<_>>()
    };
    let before_records = records(&w, &before);
    let device = w.device_public_key();
    fx.open_window();
    let f = w.frame(&ticket_id(7)).unwrap();
    drop(w);
    let w = Wallet::open(fx.config()).unwrap();
    assert_eq!(w.device_public_key(), device);
    let after = w.tickets().unwrap();
    assert_eq!(after.len(), 50);
    assert_eq!(records(&w, &after), before_records);
    // Same process, same monotonic session: the anchor survived; same step, same code.
    assert_eq!(w.frame(&ticket_id(7)).unwrap().payload, f.payload);
    assert!(w.integrity_check().unwrap());
}

#[test]
fn a_missing_key_encryption_key_is_a_clear_error() {
    let fx = Fixture::new();
    drop(fx.wallet());
    fx.vault.forget_all();
    assert_eq!(
        Wallet::open(fx.config()).err(),
        Some(WalletError::KeyMissing)
    );

    // The database copied to another phone: that phone's vault never held the key.
    let fx = Fixture::new();
    let w = fx.wallet();
    install(&fx, &w, CodeFormat::T1, 3);
    drop(w);
    let other_phone = Fixture::new();
    std::fs::copy(fx.db(), other_phone.db()).unwrap();
    assert_eq!(
        Wallet::open(other_phone.config()).err(),
        Some(WalletError::KeyMissing)
    );
    // And nothing was lost on the original.
    assert_eq!(
        Wallet::open(fx.config()).unwrap().tickets().unwrap().len(),
        3
    );
}

#[test]
fn a_locked_wallet_draws_nothing_until_unlocked() {
    let fx = Fixture::new();
    let w = fx.wallet();
    install(&fx, &w, CodeFormat::T1, 1);
    fx.open_window();
    w.lock();
    assert_eq!(w.frame(&ticket_id(0)), Err(WalletError::WalletLocked));
    w.unlock().unwrap();
    assert!(w.frame(&ticket_id(0)).is_ok());
    assert_eq!(
        w.frame(&ticket_id(99)),
        Err(WalletError::not_found(&ticket_id(99)))
    );
}

#[test]
fn eight_threads_frame_and_list_at_once() {
    let fx = Fixture::new();
    let w = Arc::new(fx.wallet());
    install(&fx, &w, CodeFormat::S1, 16);
    fx.open_window();
    let handles: Vec<_> = (0..8u32)
        .map(|t| {
            let w = w.clone();
            let clock = fx.clock.clone();
            std::thread::spawn(move || {
                for i in 0..40u32 {
                    let f = w.frame(&ticket_id((t * 2 + i) % 16)).unwrap();
                    assert!(matches!(Code::parse(&f.payload), Ok(Code::S1(_))));
                    assert_eq!(w.tickets().unwrap().len(), 16);
                    if t == 0 && i % 10 == 0 {
                        clock.advance(15_000);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert!(w.integrity_check().unwrap());
}

#[test]
fn install_refuses_a_credential_that_disagrees_with_its_event() {
    let fx = Fixture::new();
    let w = fx.wallet();
    let p = policy(1, CodeFormat::S1);
    let (mut t, s) = ticket(0, &p, w.device_public_key(), &fx.issuer);
    let mut other = p.clone();
    other.period_secs = 30;
    t.credential = Some(t.credential_for(&other, 1).sign(&fx.issuer).unwrap());
    assert!(matches!(
        w.install(std::slice::from_ref(&p), vec![(t, s)]),
        Err(WalletError::Invalid { .. })
    ));
    let (t, s) = ticket(0, &p, w.device_public_key(), &fx.issuer);
    let mut s1_without_credential = t.clone();
    s1_without_credential.credential = None;
    assert!(matches!(
        w.install(std::slice::from_ref(&p), vec![(s1_without_credential, s)]),
        Err(WalletError::Invalid { .. })
    ));
    assert!(
        w.tickets().unwrap().is_empty(),
        "a refused install stores nothing"
    );
}

#[test]
fn the_next_frame_is_prepared_before_its_step_begins() {
    let fx = Fixture::new();
    let w = fx.wallet();
    install(&fx, &w, CodeFormat::S1, 1);
    fx.open_window();
    let id = ticket_id(0);
    let now = w.frame(&id).unwrap();
    let next = w.prepare_next_frame(&id).unwrap();
    assert_eq!(next.step, now.step + 1);
    assert_eq!(next.starts_at_ms, now.ends_at_ms);
    // The boundary call only reads memory: with the sealed device seed now unreadable,
    // the prepared frame is still what it returns.
    rusqlite::Connection::open(fx.db())
        .unwrap()
        .execute(
            "UPDATE meta SET value = x'00' WHERE key = 'device_seed'",
            [],
        )
        .unwrap();
    fx.clock
        .advance((now.ends_at_ms - (OPENS * 1000 + 1000)) as u64);
    assert_eq!(w.frame(&id).unwrap(), next);
    // Not before the window: nothing is prepared for a locked ticket.
    let fx2 = Fixture::new();
    let w2 = fx2.wallet();
    install(&fx2, &w2, CodeFormat::T1, 1);
    assert_eq!(
        w2.prepare_next_frame(&id),
        Err(WalletError::Locked { opens_at: OPENS })
    );
}
