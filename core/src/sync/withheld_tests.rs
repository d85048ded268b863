//! Tickets whose secrets the issuer withheld because the device lacks a verification the
//! event requires (issue 10 item 3, docs/DECISIONS.md): the wallet stores them without
//! seeds and shows `NeedsVerification`; once verified it says `NeedsSync` until a sync
//! brings the secrets. An answer that withholds secrets without a missing verification,
//! or withholds only some of them, is refused whole.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::WalletError;
use crate::policy::Verification;
use crate::sync::api::SyncResponse;
use crate::sync::error::SyncError;
use crate::sync::testkit::*;
use crate::ticket::RevealState;
use crate::wallet::Wallet;

/// Two events requiring email and phone; the device has verified `verified`.
fn issuer(device: [u8; 32], verified: &[Verification]) -> FakeIssuer {
    let mut f = FakeIssuer::new(device, 2);
    for e in &mut f.events {
        e.requires = vec![Verification::Email, Verification::Phone];
    }
    f.verified = verified.to_vec();
    f
}

/// The answer with every ticket's secrets withheld, as the issuer sends it.
fn withhold(r: &mut SyncResponse) {
    for t in &mut r.tickets {
        t.credential = None;
        t.sealed_ticket_seed = String::new();
        t.sealed_event_seed = None;
    }
    r.releases.clear();
}

fn states(w: &Wallet) -> Vec<RevealState> {
    w.tickets().unwrap().into_iter().map(|t| t.state).collect()
}

#[test]
fn withheld_tickets_need_verification_then_a_sync() {
    let fx = Fx::new();
    let w = fx.wallet();
    let f = issuer(w.device_public_key(), &[Verification::Email]);
    let (mut r, key, nonce) = f.exchange(&w);
    withhold(&mut r);
    let report = w.apply_sync(&r, &key, &nonce).unwrap();
    assert_eq!(report.tickets, 4);
    fx.open_window();
    let missing = RevealState::NeedsVerification {
        missing: vec![Verification::Phone],
    };
    assert!(states(&w).iter().all(|s| *s == missing), "{:?}", states(&w));
    for t in w.tickets().unwrap() {
        assert!(w.ticket_record(&t.ticket_id).unwrap().credential.is_none());
        assert!(matches!(
            w.frame(&t.ticket_id),
            Err(WalletError::NeedsVerification { .. })
        ));
    }
    // Verified since (the confirmation's answer), but no secret yet: a sync is due.
    w.set_verified(Verification::Phone).unwrap();
    assert!(states(&w).iter().all(|s| *s == RevealState::NeedsSync));
    for t in w.tickets().unwrap() {
        assert!(matches!(w.frame(&t.ticket_id), Err(WalletError::NeedsSync)));
    }
    // The sync with both verifications brings everything.
    let mut f = issuer(
        w.device_public_key(),
        &[Verification::Email, Verification::Phone],
    );
    f.server_time_ms = OPENS * 1000 + 1000;
    let (r, key, nonce) = f.exchange(&w);
    w.apply_sync(&r, &key, &nonce).unwrap();
    for t in w.tickets().unwrap() {
        assert!(
            matches!(t.state, RevealState::Ready { .. }),
            "{:?}",
            t.state
        );
        w.frame(&t.ticket_id).unwrap();
    }
}

#[test]
fn secrets_withheld_without_a_missing_verification_or_in_part_are_refused() {
    let fx = Fx::new();
    let w = fx.wallet();
    let pk = w.device_public_key();
    // Every verification is there: nothing may be withheld.
    let f = issuer(pk, &[Verification::Email, Verification::Phone]);
    let (mut r, key, nonce) = f.exchange(&w);
    withhold(&mut r);
    assert!(matches!(
        w.apply_sync(&r, &key, &nonce),
        Err(SyncError::MalformedResponse(_))
    ));
    assert!(w.tickets().unwrap().is_empty());
    // Withheld, yet carrying a credential or an event seed.
    let f = issuer(pk, &[Verification::Email]);
    for case in 0..2 {
        let (full, _, _) = f.exchange(&w);
        let (mut r, key, nonce) = f.exchange(&w);
        withhold(&mut r);
        let s1 = r
            .tickets
            .iter()
            .position(|t| {
                full.tickets
                    .iter()
                    .any(|u| u.ticket_id == t.ticket_id && u.credential.is_some())
            })
            .unwrap();
        if case == 0 {
            r.tickets[s1].credential = full.tickets[s1].credential.clone();
        } else {
            r.tickets[0].sealed_event_seed = Some("00".repeat(40));
        }
        assert!(
            matches!(
                w.apply_sync(&r, &key, &nonce),
                Err(SyncError::MalformedResponse(_))
            ),
            "case {case}"
        );
        assert!(w.tickets().unwrap().is_empty());
    }
}
