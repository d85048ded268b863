//! Crash during wallet creation: a child process creating a new wallet (real SQLite file,
//! the FAKE keystore-like vault with one entry per wallet id) is killed with SIGKILL at
//! random moments, then a second child resuming that creation is killed too; afterwards
//! the wallet must open, pass SQLite's integrity check, and the vault must hold exactly
//! one entry, the wallet's own (no key left behind for an abandoned wallet id).
//!
//! The same test with the CLI's dev-file vault drives the real `tessera` binary:
//! `cli/tests/crash.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ring::rand::{SecureRandom, SystemRandom};
use tessera_core::{Wallet, WalletConfig};
use tessera_tests::KeystoreDirVault;

/// Kills at least this many children…
const MIN_KILLS: u32 = 100;
/// …and more, until this many landed in the window between the wallet id and the wallet's rows…
const WANTED_IN_WINDOW: u32 = 5;
/// …but never more than this many, nor for longer than the time budget.
const MAX_KILLS: u32 = 400;
const TIME_BUDGET: Duration = Duration::from_secs(30);
/// A kill lands at most this long after the child starts (uniformly random below), or
/// at most 1.25 times an uninterrupted creation where that takes longer (a loaded machine).
const MAX_KILL_DELAY: Duration = Duration::from_millis(20);
/// How long the FAKE vault takes after storing an entry (a hardware keystore takes longer).
const VAULT_WRITE_DELAY_MS: &str = "3";

/// Where a creation was when its process died, read from the files it left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Left {
    /// No wallet id committed yet (no file, no schema, or an empty `meta`).
    Nothing,
    /// The wallet id, no key in the vault yet.
    IdOnly,
    /// The wallet id and a vault entry for it, but no wallet rows: the window in which the
    /// old code lost the wallet (its next open drew another id beside the stored key).
    IdAndKey,
    /// A complete wallet.
    Complete,
}

fn left_behind(db: &Path, vault: &KeystoreDirVault) -> Left {
    if !db.exists() {
        return Left::Nothing;
    }
    let c = rusqlite::Connection::open(db).unwrap();
    let keys: Vec<(String, Vec<u8>)> = match c.prepare("SELECT key, value FROM meta") {
        Ok(mut st) => st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap(),
        Err(_) => return Left::Nothing,
    };
    let get = |k: &str| {
        keys.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    match (get("wallet_id"), get("wrapped_kek")) {
        (_, Some(_)) => Left::Complete,
        (None, None) => Left::Nothing,
        (Some(id), None) => {
            let id = String::from_utf8(id).unwrap();
            if vault.entries().unwrap().contains(&id) {
                Left::IdAndKey
            } else {
                Left::IdOnly
            }
        }
    }
}

fn random_delay(rng: &SystemRandom, max: Duration) -> Duration {
    let mut b = [0u8; 8];
    rng.fill(&mut b).unwrap();
    let max_us = u64::try_from(max.as_micros()).unwrap();
    Duration::from_micros(u64::from_be_bytes(b) % (max_us + 1))
}

fn child(db: &Path, vault_dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_create_child"));
    c.arg(db)
        .arg(vault_dir)
        .arg(VAULT_WRITE_DELAY_MS)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// Starts a child creating (or resuming) the wallet, kills it after `delay`; true when
/// the kill interrupted it (false: it had already finished).
fn kill_after(db: &Path, vault_dir: &Path, delay: Duration) -> bool {
    let mut child = child(db, vault_dir).spawn().unwrap();
    std::thread::sleep(delay);
    child.kill().unwrap(); // SIGKILL on Unix; a no-op on a child that already exited
    !child.wait().unwrap().success()
}

#[test]
fn a_wallet_killed_at_any_moment_of_its_creation_opens_afterwards() {
    let root = tempfile::tempdir().unwrap();
    let rng = SystemRandom::new();
    // Creations left alone (the fastest of three), to spread the kills over the time a
    // creation takes on this machine.
    let mut calm_time = Duration::MAX;
    for n in 0..3 {
        let calm = root.path().join(format!("calm{n}"));
        std::fs::create_dir(&calm).unwrap();
        let t = Instant::now();
        let status = child(&calm.join("wallet.db"), &calm.join("vault"))
            .status()
            .unwrap();
        assert!(status.success());
        calm_time = calm_time.min(t.elapsed());
    }
    let max_delay = MAX_KILL_DELAY.max(calm_time.mul_f64(1.25));
    let started = Instant::now();
    let (mut kills, mut interrupted, mut round) = (0u32, 0u32, 0u32);
    let mut seen: BTreeMap<Left, u32> = BTreeMap::new();
    while kills < MIN_KILLS
        || (seen.get(&Left::IdAndKey).copied().unwrap_or(0) < WANTED_IN_WINDOW
            && kills < MAX_KILLS
            && started.elapsed() < TIME_BUDGET)
    {
        round += 1;
        let dir = root.path().join(format!("w{round}"));
        std::fs::create_dir(&dir).unwrap();
        let (db, vault_dir) = (dir.join("wallet.db"), dir.join("vault"));
        let vault = Arc::new(KeystoreDirVault::new(&vault_dir, Duration::ZERO));
        // The first creation killed, then its resumption killed too.
        for _ in 0..2 {
            if kill_after(&db, &vault_dir, random_delay(&rng, max_delay)) {
                interrupted += 1;
            }
            kills += 1;
            *seen.entry(left_behind(&db, &vault)).or_default() += 1;
        }

        let w = Wallet::open(WalletConfig::new(&db, vault.clone()))
            .unwrap_or_else(|e| panic!("round {round}: the wallet does not open: {e}"));
        assert!(w.integrity_check().unwrap(), "round {round}: integrity");
        assert!(
            w.damaged_rows().unwrap().is_empty(),
            "round {round}: damaged rows"
        );
        assert_eq!(
            vault.entries().unwrap(),
            vec![w.wallet_id().to_owned()],
            "round {round}: the vault holds a key for another wallet id than the wallet's"
        );
        let (id, pk) = (w.wallet_id().to_owned(), w.device_public_key());
        drop(w);
        let again = Wallet::open(WalletConfig::new(&db, vault)).unwrap();
        assert_eq!(
            (again.wallet_id(), again.device_public_key()),
            (id.as_str(), pk)
        );
    }
    eprintln!(
        "{kills} kills at 0-{} ms in {round} rounds ({interrupted} interrupted a running \
         child), {:.1} s; state left by each kill: {seen:?}",
        max_delay.as_millis(),
        started.elapsed().as_secs_f64()
    );
    // Not a requirement on timing, only that the test did what it says.
    assert!(
        seen.get(&Left::IdAndKey).copied().unwrap_or(0) > 0,
        "no kill landed between the vault write and the wallet's rows: {seen:?}"
    );
}
