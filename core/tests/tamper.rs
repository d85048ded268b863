//! Database rows edited or swapped behind the wallet's back: every flipped byte of every
//! sealed blob gives `Tampered`, a blob moved to another row gives `Tampered`, a damaged
//! row is reported without hiding the others, and nothing panics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};
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
}

#[test]
fn a_version_bumped_without_resealing_is_tampered() {
    let fx = Fixture::new();
    let w = setup(&fx);
    let db = Connection::open(fx.db()).unwrap();
    // An untouched ticket: it draws, then only its version changes.
    fresh(&w);
    assert!(w.frame(&ticket_id(1)).is_ok());
    db.execute(
        "UPDATE tickets SET version = version + 1 WHERE ticket_id = ?1",
        params![&ticket_id(1).0[..]],
    )
    .unwrap();
    fresh(&w);
    assert!(is_tampered(w.frame(&ticket_id(1))));
    assert!(
        w.frame(&ticket_id(0)).is_ok(),
        "the other tickets are untouched"
    );
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
        .map(|s| s.ticket_id)
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

/// Ticket ids whose codes depend on `rowid` of `table`: the ticket itself, an event's
/// tickets, the tickets of events that require a verification kind, or all (meta).
fn dependents(db: &Connection, table: &str, rowid: i64) -> Vec<TicketId> {
    let sql = match table {
        "tickets" => "SELECT ticket_id FROM tickets WHERE rowid = ?1",
        "events" | "release_secrets" => &format!(
            "SELECT ticket_id FROM tickets WHERE event_id = (SELECT event_id FROM {table} WHERE rowid = ?1)"
        ),
        // Only event 1 requires a verification (email) in `setup_for_edits`.
        "verifications" => "SELECT ticket_id FROM tickets WHERE event_id = 1 AND ?1 = ?1",
        _ => "SELECT ticket_id FROM tickets WHERE ?1 = ?1",
    };
    let mut st = db.prepare(sql).unwrap();
    st.query_map([rowid], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(|b| TicketId(b.unwrap().try_into().unwrap()))
        .collect()
}

/// Edits an attacker might make to one value: small and large integer changes, a flipped
/// byte, text appended, NULL filled in, and for JSON the fields a reveal reads.
fn edits_of(v: &Value) -> Vec<Value> {
    match v {
        Value::Null => vec![
            Value::Blob(vec![0]),
            Value::Integer(1),
            Value::Text("x".into()),
        ],
        Value::Integer(n) => vec![
            Value::Integer(n.wrapping_add(1)),
            Value::Integer(n.wrapping_sub(1)),
            Value::Integer(n.wrapping_add(86_400_000)),
        ],
        Value::Real(f) => vec![Value::Real(f + 1.0)],
        Value::Text(s) => {
            let mut out = vec![Value::Text(format!("{s}x"))];
            if s.contains("reveal_opens_at") {
                out.push(Value::Text(earlier_policy(s)));
            }
            out
        }
        Value::Blob(b) => {
            let mut out = Vec::new();
            if b.is_empty() {
                out.push(Value::Blob(vec![0]));
            } else {
                let mut first = b.clone();
                first[0] ^= 0x01;
                let mut last = b.clone();
                *last.last_mut().unwrap() ^= 0x80;
                out.push(Value::Blob(first));
                out.push(Value::Blob(last));
            }
            if b.len() == 8 {
                // A big-endian time (high-water mark) one day later.
                let t = i64::from_be_bytes(b.clone().try_into().unwrap());
                out.push(Value::Blob((t + 86_400_000).to_be_bytes().to_vec()));
            }
            if let Ok(s) = std::str::from_utf8(b)
                && s.contains("server_unix_ms")
            {
                let mut j: serde_json::Value = serde_json::from_str(s).unwrap();
                let t = j["server_unix_ms"].as_i64().unwrap();
                j["server_unix_ms"] = (t + 86_400_000).into();
                out.push(Value::Blob(j.to_string().into_bytes()));
            }
            out
        }
    }
}

/// A policy JSON whose window opened a day earlier and that asks for nothing.
fn earlier_policy(s: &str) -> String {
    let mut j: serde_json::Value = serde_json::from_str(s).unwrap();
    let t = j["reveal_opens_at"].as_i64().unwrap();
    j["reveal_opens_at"] = (t - 86_400).into();
    j["requires"] = serde_json::json!([]);
    j["strict_jit"] = false.into();
    j.to_string()
}

/// `setup` plus an email requirement on event 1 (so `verifications` has a row that matters).
fn setup_for_edits(fx: &Fixture) -> Wallet {
    let w = fx.wallet();
    let mut t1 = policy(1, CodeFormat::T1);
    t1.strict_jit = true;
    t1.requires = vec![tessera_core::Verification::Email];
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
    w.set_verified(tessera_core::Verification::Email).unwrap();
    w
}

#[test]
fn every_column_of_every_table_edited_gives_tampered_or_a_refusal() {
    let fx = Fixture::new();
    let w = setup_for_edits(&fx);
    fx.open_window();
    for n in 0..3 {
        w.frame(&ticket_id(n)).unwrap();
    }
    drop(w);
    let db = Connection::open(fx.db()).unwrap();
    let mut edits = 0;
    for table in [
        "meta",
        "events",
        "tickets",
        "release_secrets",
        "verifications",
    ] {
        let cols: Vec<String> = db
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        // Rows are named by primary key: a wallet that rewrites a row (INSERT OR REPLACE)
        // gives it a new rowid.
        let pk = match table {
            "meta" => "key",
            "tickets" => "ticket_id",
            "verifications" => "kind",
            _ => "event_id",
        };
        let keys: Vec<Value> = db
            .prepare(&format!("SELECT {pk} FROM {table}"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(!keys.is_empty(), "{table} has rows");
        for key in keys {
            let rowid: i64 = db
                .query_row(
                    &format!("SELECT rowid FROM {table} WHERE {pk} = ?1"),
                    [&key],
                    |r| r.get(0),
                )
                .unwrap();
            let victims = dependents(&db, table, rowid);
            for col in &cols {
                let get = format!("SELECT {col} FROM {table} WHERE {pk} = ?1");
                let set = format!("UPDATE {table} SET {col} = ?2 WHERE {pk} = ?1");
                // OR REPLACE: an open may have re-created a renamed key (high-water mark).
                let restore = format!("UPDATE OR REPLACE {table} SET {col} = ?2 WHERE {pk} = ?1");
                let original: Value = db.query_row(&get, [&key], |r| r.get(0)).unwrap();
                for edited in edits_of(&original) {
                    // STRICT types, CHECKs, keys and foreign keys refuse some edits outright.
                    if db.execute(&set, params![key, edited]).is_err() {
                        continue;
                    }
                    edits += 1;
                    let what = format!("{table}.{col} (key {key:?}) = {edited:?}");
                    // After an edit of the key column the row answers to the edited key.
                    let now_key = if col == pk { &edited } else { &key };
                    match Wallet::open(fx.config()) {
                        Err(e) => assert!(
                            matches!(e, WalletError::Tampered { .. } | WalletError::KeyMissing),
                            "{what}: open failed with {e:?}"
                        ),
                        Ok(w) => {
                            let drew: Vec<_> =
                                victims.iter().filter(|v| w.frame(v).is_ok()).collect();
                            // Listing never panics and never fails as a whole.
                            w.tickets().unwrap();
                            // A meta row the wallet no longer reads (a renamed key, a
                            // dropped high-water mark) changes no code; it is reported,
                            // or the wallet rewrote it from what it proves.
                            let now: Option<Value> = db
                                .query_row(&get, [now_key], |r| r.get(0))
                                .optional()
                                .unwrap();
                            let reported = table == "meta"
                                && (!w.damaged_rows().unwrap().is_empty()
                                    || now.as_ref() != Some(&edited));
                            assert!(
                                drew.is_empty() || reported,
                                "{what}: {drew:?} still drew a code"
                            );
                        }
                    }
                    db.execute(&restore, params![now_key, original]).unwrap();
                }
            }
        }
    }
    assert!(edits > 60, "{edits} edits");
    let w = Wallet::open(fx.config()).unwrap();
    for n in 0..3 {
        assert!(w.frame(&ticket_id(n)).is_ok(), "restored ticket {n} draws");
    }
}

#[test]
fn the_edits_a_reseller_made_open_no_window_early() {
    let fx = Fixture::new();
    let w = setup_for_edits(&fx);
    // Locked: the window opens in an hour. Email not verified, release secret withheld.
    let db = Connection::open(fx.db()).unwrap();
    db.execute("DELETE FROM verifications", []).unwrap();
    db.execute("DELETE FROM release_secrets", []).unwrap();
    drop(w);
    let locked = |why: &str| {
        let w = Wallet::open(fx.config());
        if let Ok(w) = w {
            for n in 0..3 {
                assert!(
                    w.frame(&ticket_id(n)).is_err(),
                    "{why}: ticket {n} drew a code"
                );
            }
        }
    };
    locked("untouched");
    // 1. The high-water mark moved into the window: trusted time never goes below it.
    db.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'high_water_ms'",
        [(OPENS * 1000 + 60_000).to_be_bytes().to_vec()],
    )
    .unwrap();
    locked("high-water mark in the window");
    // ...and after a reboot, when it is all that is left of proven time.
    fx.clock.reboot();
    locked("high-water mark in the window, after a reboot");
    // 2. Every policy opened a day early, asking for nothing, not strict.
    let policies: Vec<(i64, String)> = db
        .prepare("SELECT event_id, policy FROM events")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (id, p) in &policies {
        db.execute(
            "UPDATE events SET policy = ?2 WHERE event_id = ?1",
            params![id, earlier_policy(p)],
        )
        .unwrap();
    }
    locked("policies opened early");
    // 3. A verification row inserted by hand.
    db.execute(
        "INSERT INTO verifications (kind, verified_at_ms) VALUES ('email', ?1)",
        [NOW_MS],
    )
    .unwrap();
    locked("email marked verified by hand");
}
