//! A hostile issuer's names and seats: a sync answer (or an `install`) whose seat, holder
//! name or event name holds a control, bidi or invisible character, or whose name is
//! blank, is refused whole and changes nothing, even when the issuer signed the seat into
//! an S1 credential with its genuine key (`crate::text` holds the rule).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use zeroize::Zeroizing;

use crate::WalletError;
use crate::ids::EventId;
use crate::policy::{CodeFormat, EventPolicy};
use crate::sync::error::SyncError;
use crate::sync::testkit::*;
use crate::ticket::{TicketSecrets, TicketSummary};
use crate::wallet::Wallet;

/// What a terminal, a gate screen or an ID check should never be handed.
const HOSTILE: &[&str] = &[
    "\u{1b}[2J\u{1b}[HADMIT",
    "Row 4\u{0}",
    "\u{9b}31mRow 4",
    "\u{202e}4 woR",
    "Row \u{2066}4\u{2069}",
    "Row\u{200f}4",
    "Row 4\u{2028}VIP",
    "Row\u{200b}4",
    "Row 4\u{e0041}",
    "Row\t4",
];

/// Nothing visible.
const BLANK: &[&str] = &[" ", "\u{3000}", "\u{200d}", "\u{3164}"];

/// What the wallet holds, as the app would list it, plus the stored events.
fn state(w: &Wallet) -> (Vec<TicketSummary>, Vec<Option<EventPolicy>>) {
    let events = (1..=2)
        .map(|e| w.store().event(EventId(e)).unwrap())
        .collect();
    (w.tickets().unwrap(), events)
}

/// Applies `issuer`'s answer, expecting a refusal that leaves the wallet as it was.
fn refused(w: &Wallet, issuer: &FakeIssuer, case: &str) -> SyncError {
    let before = state(w);
    let (r, key, nonce) = issuer.exchange(w);
    let Err(err) = w.apply_sync(&r, &key, &nonce) else {
        panic!("{case}: accepted");
    };
    assert_eq!(state(w), before, "{case}: the wallet changed");
    err
}

#[test]
fn hostile_seats_holder_names_and_event_names_in_a_sync_are_refused_and_change_nothing() {
    let fx = Fx::new();
    let w = fx.wallet();
    let pk = w.device_public_key();
    let (r, key, nonce) = FakeIssuer::new(pk, 1).exchange(&w);
    w.apply_sync(&r, &key, &nonce).unwrap();
    for text in HOSTILE.iter().chain(BLANK) {
        // tickets[0] is a T1 ticket (its seat unsigned), tickets[1] an S1 one: the fake
        // issuer signs the hostile seat into its credential with its genuine key.
        for (i, format) in [(0, "T1"), (1, "S1")] {
            let mut issuer = FakeIssuer::new(pk, 1);
            issuer.tickets[i].ticket.seat = (*text).to_owned();
            let err = refused(&w, &issuer, &format!("{format} seat {text:?}"));
            assert!(
                matches!(&err, SyncError::MalformedResponse(m) if m.contains("seat label")),
                "{text:?}: {err:?}"
            );
        }
        let mut issuer = FakeIssuer::new(pk, 1);
        issuer.tickets[1].ticket.holder_name = Some((*text).to_owned());
        let err = refused(&w, &issuer, &format!("holder name {text:?}"));
        assert!(
            matches!(&err, SyncError::MalformedResponse(m) if m.contains("holder name")),
            "{text:?}: {err:?}"
        );
        let mut issuer = FakeIssuer::new(pk, 1);
        issuer.events[0].name = (*text).to_owned();
        let err = refused(&w, &issuer, &format!("event name {text:?}"));
        assert!(
            matches!(&err, SyncError::InvalidPolicy(m) if m.contains("event name")),
            "{text:?}: {err:?}"
        );
    }
    // An empty holder name is no name: refused too.
    let mut issuer = FakeIssuer::new(pk, 1);
    issuer.tickets[0].ticket.holder_name = Some(String::new());
    refused(&w, &issuer, "empty holder name");
    // The same issuer with honest texts still syncs.
    let (r, key, nonce) = FakeIssuer::new(pk, 1).exchange(&w);
    w.apply_sync(&r, &key, &nonce).unwrap();
}

#[test]
fn install_refuses_hostile_seats_holder_names_and_event_names() {
    let fx = Fx::new();
    let w = fx.wallet();
    let p = policy(1, CodeFormat::T1);
    let ticket = |seat: &str, holder: Option<&str>| {
        let mut ft = fake_ticket(1, &p, w.device_public_key());
        ft.ticket.seat = seat.to_owned();
        ft.ticket.holder_name = holder.map(str::to_owned);
        let secrets = TicketSecrets {
            ticket_seed: Zeroizing::new(ft.seed.clone()),
            event_seed: ft.event_seed.clone().map(Zeroizing::new),
        };
        vec![(ft.ticket, secrets)]
    };
    for text in HOSTILE.iter().chain(BLANK) {
        let mut bad_event = p.clone();
        bad_event.name = (*text).to_owned();
        for (case, event, tickets) in [
            ("seat", &p, ticket(text, Some("Ada"))),
            ("holder name", &p, ticket("A1", Some(text))),
            ("event name", &bad_event, ticket("A1", Some("Ada"))),
        ] {
            let Err(err) = w.install(std::slice::from_ref(event), tickets) else {
                panic!("{case} {text:?}: accepted");
            };
            assert!(
                matches!(&err, WalletError::Invalid { reason: m } if m.contains(case)),
                "{case} {text:?}: {err:?}"
            );
            assert!(w.tickets().unwrap().is_empty(), "{case} {text:?}: stored");
        }
    }
    // General admission and a plain name install.
    w.install(std::slice::from_ref(&p), ticket("", Some("Ada Lovelace")))
        .unwrap();
    assert_eq!(w.tickets().unwrap().len(), 1);
}
