//! Crash during sync: a child process syncing 300+ tickets is killed with SIGKILL, many
//! times, while the issuer's data changes between rounds (holders renamed, a ticket
//! revoked, tickets sold, the event renamed), so every sync rewrites real content.
//!
//! In half the rounds the child stops inside the sync's write transaction after a
//! different number of ticket rows (`store::crash_probe`; it prints `in-tx n`) and is
//! killed there: the reopened file must hold exactly the rows it held before, every row of
//! every table. In the other rounds the kill lands at a time spread over a sync (the
//! request, the sealing, the transaction, after it): the file must hold exactly the old
//! rows or the new state, the one a complete sync brings. Either way SQLite's integrity
//! check passes and no row is damaged. A sync that wrote its rows one by one fails this.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tessera_core::sync::api::{HolderChange, TokenRequest};
use tessera_core::{CodeFormat, Wallet, WalletConfig};
use tessera_tests::{Env, FileKeyVault, WalletRow, wallet_rows};

const TICKETS: usize = 300;
const ROUNDS: usize = 20;

type Rows = Vec<WalletRow>;

/// The rows without what two complete syncs of the same issuer state write differently:
/// sealed blobs (fresh nonces), row tags over them, and the time rows (each sync's own
/// signed time).
fn content(rows: &Rows) -> Vec<String> {
    let time_row = |cols: &[(String, rusqlite::types::Value)]| {
        cols.iter().any(|(n, v)| {
            n == "key"
                && matches!(v, rusqlite::types::Value::Text(k) if k.contains("anchor") || k.contains("high_water"))
        })
    };
    rows.iter()
        .filter(|(t, cols)| !(t == "meta" && time_row(cols)))
        .map(|(t, cols)| {
            let kept: Vec<String> = cols
                .iter()
                .filter(|(n, _)| n != "mac" && !n.starts_with("sealed"))
                .map(|(n, v)| format!("{n}={v:?}"))
                .collect();
            format!("{t}: {}", kept.join(", "))
        })
        .collect()
}

/// Panics, listing a few differing rows (shortened), unless `got` equals `want`.
fn assert_same<T: PartialEq + std::fmt::Debug>(got: &[T], want: &[T], what: &str) {
    if got == want {
        return;
    }
    let short = |r: &T| format!("{r:?}").chars().take(160).collect::<String>();
    let extra: Vec<String> = got
        .iter()
        .filter(|r| !want.contains(r))
        .map(short)
        .collect();
    let missing: Vec<String> = want
        .iter()
        .filter(|r| !got.contains(r))
        .map(short)
        .collect();
    panic!(
        "{what}: {} rows not expected, {} expected rows absent; first of each: {:?} / {:?}",
        extra.len(),
        missing.len(),
        extra.first(),
        missing.first()
    );
}

/// Reads the child's lines until one starts with `prefix`; panics on anything else.
fn wait_for(out: &mut impl BufRead, prefix: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the child ended before printing {prefix:?}"
        );
        if line.starts_with(prefix) {
            return line.trim().to_owned();
        }
        assert!(line.starts_with("synced"), "child said {line:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_syncs_leaves_the_old_or_the_new_state_exactly() {
    let env = Env::start_real_time().await;
    let mut policy = env
        .event(40, 0, |p| {
            p.format = CodeFormat::S1;
            p.strict_jit = true;
        })
        .await;
    let seats: Vec<String> = (0..TICKETS)
        .map(|i| format!("R{} S{}", i / 30, i % 30))
        .collect();
    let seat_refs: Vec<&str> = seats.iter().map(String::as_str).collect();
    let mut ids = env
        .order(40, "dave@example.com", None, Some("Dave"), &seat_refs)
        .await;
    let box_office = env.mint_with(&TokenRequest::box_office(None)).await;
    let admin = env.issuer.admin_token();

    let db = env.dir.path().join("dave.db");
    let vault = env.dir.path().join("dave.vault");
    let config = || WalletConfig::new(&db, Arc::new(FileKeyVault::new(&vault)));
    {
        let s = env.session(config());
        env.enroll_and_verify_email(&s, "dave@example.com").await;
        assert_eq!(s.sync().await.unwrap().tickets as usize, TICKETS);
    }

    let (mut killed_in_tx, mut old_kept, mut new_kept) = (0, 0, 0);
    for round in 0..ROUNDS {
        let before = wallet_rows(&db);

        // The issuer's data moves on: every part of a sync's write changes.
        policy.name = format!("Event 40, round {round}");
        let _: serde_json::Value = env.admin_post("/v1/admin/events", &admin, &policy).await;
        for j in 0..10 {
            let id = ids[(round * 10 + j * 31) % ids.len()];
            let change = HolderChange {
                holder_name: Some(format!("Dave {round}.{j}")),
                email: None,
                reason: "crash test".into(),
            };
            let _: serde_json::Value = env
                .admin_post(
                    &format!("/v1/boxoffice/tickets/{id}/holder"),
                    &box_office,
                    &change,
                )
                .await;
        }
        let _: serde_json::Value = env
            .admin_post(
                &format!("/v1/admin/tickets/{}/revoke", ids[round * 7]),
                &admin,
                &serde_json::json!({}),
            )
            .await;
        let seats = [format!("N{round} A"), format!("N{round} B")];
        let seats: Vec<&str> = seats.iter().map(String::as_str).collect();
        ids.extend(
            env.order(40, "dave@example.com", None, Some("Dave"), &seats)
                .await,
        );

        // Even rounds: paused inside the write transaction after `pause` ticket rows.
        let pause = (round % 2 == 0).then(|| 1 + (round * 37) % (TICKETS - 1));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sync_child"));
        cmd.args([db.as_os_str(), vault.as_os_str(), env.issuer.url().as_ref()]);
        if let Some(n) = pause {
            cmd.arg(n.to_string());
        }
        let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        wait_for(&mut out, "ready");
        match pause {
            Some(n) => assert_eq!(wait_for(&mut out, "in-tx"), format!("in-tx {n}")),
            // Spread over a sync's duration (the request, sealing, the transaction) and beyond.
            None => tokio::time::sleep(Duration::from_millis(5 + (round as u64 * 37) % 300)).await,
        }
        child.kill().unwrap(); // SIGKILL on Unix
        assert!(!child.wait().unwrap().success());

        let after_kill = wallet_rows(&db);
        let w = Wallet::open(config()).unwrap();
        assert!(
            w.integrity_check().unwrap(),
            "round {round}: integrity check failed"
        );
        assert!(
            w.damaged_rows().unwrap().is_empty(),
            "round {round}: damaged rows"
        );
        drop(w);

        // The new state: what a complete sync of this round's issuer data writes.
        env.session(config()).sync().await.unwrap();
        let new = content(&wallet_rows(&db));
        assert!(
            content(&before) != new,
            "round {round}: the issuer's changes reach the wallet"
        );

        if pause.is_some() {
            let what = format!("round {round}: a kill inside the transaction changed the file");
            assert_same(&after_kill, &before, &what);
            killed_in_tx += 1;
        } else if after_kill == before {
            old_kept += 1;
        } else {
            let what = format!("round {round}: neither the old nor the new state");
            assert_same(&content(&after_kill), &new, &what);
            new_kept += 1;
        }
    }
    assert_eq!(killed_in_tx, ROUNDS / 2);
    println!(
        "{killed_in_tx} kills inside the write transaction; other kills: {old_kept} kept the old state, {new_kept} the new"
    );
}
