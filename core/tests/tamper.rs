//! Database rows edited or swapped behind the wallet's back: every flipped byte of every
//! sealed blob gives `Tampered`, a blob moved to another row gives `Tampered`, a damaged
//! row is reported without hiding the others, and nothing panics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use rusqlite::{Connection, params};
use tessera_core::{CodeFormat, TicketId, Wallet, WalletError};

/// A wallet with a strict-JIT T1 event (ticket seed, event seed, release secret) and an
/// S1 event (device seed), inside the window.
fn setup(fx: &Fixture) -> Wallet {
    let w = fx.wallet();
    let mut t1 = policy(1, CodeFormat::T1);
    t1.strict_jit = true;
    let s1 = policy(2, CodeFormat::S1);
    let pk = w.device_public_key();
    w.install(
        &[t1.clone(), s1.clone()],
        vec![
            ticket(0, &t1, pk, &fx.issuer),
            ticket(1, &t1, pk, &fx.issuer),
            ticket(2, &s1, pk, &fx.issuer),
        ],
    )
    .unwrap();
    w.set_release_secret(t1.event_id, 1, b"release").unwrap();
    fx.open_window();
    for n in 0..3 {
        w.frame(&ticket_id(n)).unwrap();
    }
    w
}

/// Drops every frame drawn ahead so the next call reads the database again.
fn fresh(w: &Wallet) {
    w.lock();
    w.unlock().unwrap();
}

fn is_tampered(r: Result<tessera_core::Frame, WalletError>) -> bool {
    matches!(r, Err(WalletError::Tampered { .. }))
}

struct Blob {
    sql_get: &'static str,
    sql_set: &'static str,
    key: Vec<u8>,
    victim: TicketId,
}

#[test]
fn every_flipped_byte_of_every_sealed_blob_is_tampered() {
    let fx = Fixture::new();
    let w = setup(&fx);
    let db = Connection::open(fx.db()).unwrap();
    let t0 = ticket_id(0).0.to_vec();
    let blobs = [
        Blob {
            sql_get: "SELECT sealed_ticket_seed FROM tickets WHERE ticket_id = ?1",
            sql_set: "UPDATE tickets SET sealed_ticket_seed = ?2 WHERE ticket_id = ?1",
            key: t0.clone(),
            victim: ticket_id(0),
        },
        Blob {
            sql_get: "SELECT sealed_event_seed FROM tickets WHERE ticket_id = ?1",
            sql_set: "UPDATE tickets SET sealed_event_seed = ?2 WHERE ticket_id = ?1",
            key: t0,
            victim: ticket_id(0),
        },
        Blob {
            sql_get: "SELECT sealed FROM release_secrets WHERE event_id = CAST(?1 AS INTEGER)",
            sql_set: "UPDATE release_secrets SET sealed = ?2 WHERE event_id = CAST(?1 AS INTEGER)",
            key: b"1".to_vec(),
            victim: ticket_id(0),
        },
        Blob {
            sql_get: "SELECT value FROM meta WHERE key = CAST(?1 AS TEXT)",
            sql_set: "UPDATE meta SET value = ?2 WHERE key = CAST(?1 AS TEXT)",
            key: b"device_seed".to_vec(),
            victim: ticket_id(2),
        },
    ];
    let mut checked = 0;
    for b in &blobs {
        let original: Vec<u8> = db
            .query_row(b.sql_get, params![b.key], |r| r.get(0))
            .unwrap();
        assert!(original.len() > 28, "{} is not a sealed blob", b.sql_get);
        for i in 0..original.len() {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut m = original.clone();
                m[i] ^= mask;
                db.execute(b.sql_set, params![b.key, m]).unwrap();
                fresh(&w);
                assert!(
                    is_tampered(w.frame(&b.victim)),
                    "{} byte {i} mask {mask:#x}",
                    b.sql_get
                );
                checked += 1;
            }
        }
        // Truncated and emptied blobs too.
        for cut in [0, 1, 13, original.len() - 1] {
            db.execute(b.sql_set, params![b.key, &original[..cut]])
                .unwrap();
            fresh(&w);
            assert!(
                is_tampered(w.frame(&b.victim)),
                "{} cut to {cut}",
                b.sql_get
            );
        }
        db.execute(b.sql_set, params![b.key, original]).unwrap();
        fresh(&w);
        assert!(
            w.frame(&b.victim).is_ok(),
            "restoring {} restores the ticket",
            b.sql_get
        );
    }
    assert!(checked > 4 * 3 * 40);
    // Reopening with a tampered device seed is refused up front.
    db.execute(
        "UPDATE meta SET value = zeroblob(61) WHERE key = 'device_seed'",
        [],
    )
    .unwrap();
    drop(w);
    assert!(matches!(
        Wallet::open(fx.config()),
        Err(WalletError::Tampered { .. })
    ));
}

#[test]
fn a_sealed_blob_moved_to_another_ticket_or_column_is_tampered() {
    let fx = Fixture::new();
    let w = setup(&fx);
    let db = Connection::open(fx.db()).unwrap();
    // Ticket 0's seed pasted into ticket 1: the attacker hopes to show ticket 1 with 0's seed.
    db.execute(
        "UPDATE tickets SET sealed_ticket_seed = (SELECT sealed_ticket_seed FROM tickets WHERE ticket_id = ?1)
         WHERE ticket_id = ?2",
        params![&ticket_id(0).0[..], &ticket_id(1).0[..]],
    )
    .unwrap();
    fresh(&w);
    assert!(is_tampered(w.frame(&ticket_id(1))));
    assert!(
        w.frame(&ticket_id(0)).is_ok(),
        "the source ticket is untouched"
    );
    // The event seed moved into the ticket-seed column of its own row.
    db.execute(
        "UPDATE tickets SET sealed_ticket_seed = sealed_event_seed WHERE ticket_id = ?1",
        params![&ticket_id(0).0[..]],
    )
    .unwrap();
    fresh(&w);
    assert!(is_tampered(w.frame(&ticket_id(0))));
    // A row whose version is bumped without resealing.
    db.execute("UPDATE tickets SET version = 2, sealed_ticket_seed = sealed_event_seed WHERE ticket_id = ?1", params![
        &ticket_id(0).0[..]
    ])
    .unwrap();
    db.execute(
        "UPDATE tickets SET version = 2 WHERE ticket_id = ?1",
        params![&ticket_id(1).0[..]],
    )
    .unwrap();
    fresh(&w);
    assert!(is_tampered(w.frame(&ticket_id(1))));
}

#[test]
fn damaged_rows_are_reported_and_the_rest_still_works() {
    let fx = Fixture::new();
    let w = setup(&fx);
    let db = Connection::open(fx.db()).unwrap();
    db.execute(
        "UPDATE tickets SET credential = x'0102' WHERE ticket_id = ?1",
        params![&ticket_id(2).0[..]],
    )
    .unwrap();
    fresh(&w);
    assert!(is_tampered(w.frame(&ticket_id(2))));
    let listed: Vec<_> = w
        .tickets()
        .unwrap()
        .into_iter()
        .map(|s| s.ticket.id)
        .collect();
    assert_eq!(listed, vec![ticket_id(0), ticket_id(1)]);
    let damaged = w.damaged_rows().unwrap();
    assert_eq!(damaged.len(), 1);
    assert_eq!(damaged[0].ticket, Some(ticket_id(2)));
    assert!(w.frame(&ticket_id(0)).is_ok());

    // A garbled event policy hides none of the other event's tickets.
    db.execute(
        "UPDATE events SET policy = '{not json' WHERE event_id = 1",
        [],
    )
    .unwrap();
    assert!(is_tampered(w.frame(&ticket_id(0))));
    assert_eq!(
        w.damaged_rows().unwrap().len(),
        4,
        "one event and its two tickets, plus ticket 2"
    );
    // Nothing was deleted: the rows are all still in the file.
    let n: i64 = db
        .query_row("SELECT count(*) FROM tickets", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 3);
}

#[test]
fn a_tampered_wrapped_key_is_a_missing_key_never_a_panic() {
    let fx = Fixture::new();
    drop(setup(&fx));
    let db = Connection::open(fx.db()).unwrap();
    let original: Vec<u8> = db
        .query_row(
            "SELECT value FROM meta WHERE key = 'wrapped_kek'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    for i in 0..original.len() {
        let mut m = original.clone();
        m[i] ^= 0x40;
        db.execute("UPDATE meta SET value = ?1 WHERE key = 'wrapped_kek'", [&m])
            .unwrap();
        assert_eq!(
            Wallet::open(fx.config()).err(),
            Some(WalletError::KeyMissing),
            "byte {i}"
        );
    }
    db.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'wrapped_kek'",
        [&original],
    )
    .unwrap();
    assert!(Wallet::open(fx.config()).is_ok());
    // Deleting the key row is not mistaken for a new wallet.
    db.execute("DELETE FROM meta WHERE key = 'wrapped_kek'", [])
        .unwrap();
    assert!(matches!(
        Wallet::open(fx.config()),
        Err(WalletError::Tampered { .. })
    ));
}
