//! When a watcher wakes (DECISIONS 42): `Wallet::next_change_in` on a real wallet and the
//! FAKE manual clock, checked by moving the clock to the moment it names and looking.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use tessera_core::{CodeFormat, RevealState, Wallet};

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap()
}

fn install_one(fx: &Fixture, w: &Wallet, valid_until: i64) {
    let mut p = policy(1, CodeFormat::T1);
    p.valid_until = valid_until;
    let t = ticket(0, &p, w.device_public_key(), &fx.issuer);
    w.install(std::slice::from_ref(&p), vec![t]).unwrap();
}

#[test]
fn a_locked_ticket_sleeps_exactly_until_its_window_opens() {
    let fx = Fixture::new();
    let w = fx.wallet();
    install_one(&fx, &w, UNTIL);
    let id = ticket_id(0);
    let shown = w.ticket(&id).unwrap();
    assert_eq!(shown.state, RevealState::Locked { opens_at: OPENS });
    let sleep = ms(w.next_change_in(&shown, None).unwrap());
    assert_eq!(sleep, (OPENS * 1000 - NOW_MS) as u64);
    fx.clock.advance(sleep - 1);
    assert_eq!(w.ticket(&id).unwrap().state, shown.state);
    fx.clock.advance(1);
    assert_eq!(
        w.ticket(&id).unwrap().state,
        RevealState::Ready { until: UNTIL }
    );
}

#[test]
fn a_ready_ticket_sleeps_until_its_frame_ends_and_then_shows_the_next_step() {
    let fx = Fixture::new();
    let w = fx.wallet();
    install_one(&fx, &w, UNTIL);
    let id = ticket_id(0);
    fx.open_window();
    fx.clock.advance(4_000); // somewhere inside a step
    let shown = w.ticket(&id).unwrap();
    let frame = w.frame(&id).unwrap();
    let sleep = ms(w.next_change_in(&shown, Some(&frame)).unwrap());
    assert_eq!(
        sleep as i64,
        frame.ends_at_ms - w.trusted_time().now_ms,
        "{sleep}"
    );
    assert!(sleep > 0 && sleep <= 15_000, "{sleep}");
    fx.clock.advance(sleep - 1);
    assert_eq!(w.frame(&id).unwrap().step, frame.step);
    fx.clock.advance(1);
    assert_eq!(w.frame(&id).unwrap().step, frame.step + 1);
}

#[test]
fn a_last_step_that_outlasts_the_ticket_wakes_the_watcher_at_expiry() {
    let fx = Fixture::new();
    let w = fx.wallet();
    // Seven seconds into a 15-second step.
    let until = UNTIL + 7;
    install_one(&fx, &w, until);
    let id = ticket_id(0);
    fx.clock.advance((until * 1000 - NOW_MS) as u64 - 3_000);
    let shown = w.ticket(&id).unwrap();
    assert_eq!(shown.state, RevealState::Ready { until });
    let frame = w.frame(&id).unwrap();
    assert!(frame.ends_at_ms > until * 1000);
    let sleep = ms(w.next_change_in(&shown, Some(&frame)).unwrap());
    assert_eq!(sleep, 3_000);
    fx.clock.advance(sleep);
    let gone = w.ticket(&id).unwrap();
    assert_eq!(gone.state, RevealState::Expired);
    assert_eq!(w.next_change_in(&gone, None), None);
}

#[test]
fn after_a_reboot_a_locked_ticket_sleeps_until_expiry_not_until_the_opening() {
    let fx = Fixture::new();
    let w = fx.wallet();
    install_one(&fx, &w, UNTIL);
    let id = ticket_id(0);
    fx.clock.reboot();
    let shown = w.ticket(&id).unwrap();
    assert!(!w.trusted_time().anchored);
    assert_eq!(shown.state, RevealState::Locked { opens_at: OPENS });
    // Proven time stands still until a sync, so the window cannot open on its own; the
    // wall clock still brings the expiry.
    let sleep = ms(w.next_change_in(&shown, None).unwrap());
    assert_eq!(sleep, (UNTIL * 1000 - NOW_MS) as u64);
    fx.clock.advance(sleep - 1);
    assert_eq!(w.ticket(&id).unwrap().state, shown.state);
    fx.clock.advance(1);
    assert_eq!(w.ticket(&id).unwrap().state, RevealState::Expired);
}

#[test]
fn a_moment_already_past_is_no_sleep_at_all() {
    let fx = Fixture::new();
    let w = fx.wallet();
    install_one(&fx, &w, UNTIL);
    let id = ticket_id(0);
    let shown = w.ticket(&id).unwrap();
    // The watcher looked, then was slow: the window opened meanwhile.
    fx.open_window();
    assert_eq!(w.next_change_in(&shown, None), Some(Duration::ZERO));
}
