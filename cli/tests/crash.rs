//! The real `tessera` binary killed (SIGKILL) where a crash used to lose something:
//!
//! - while `tessera wallet` creates a new wallet with the dev-file vault: afterwards the
//!   wallet must open (the old code left an empty wallet beside a key file naming another
//!   wallet id, and every later open was refused);
//! - right after `tessera gate scan` printed a verdict: the verdict must be in the scan
//!   log (the old code printed, then wrote; refusals were lost).
//!
//! The wallet-creation test with a keystore-like vault (one entry per wallet id) is
//! `tests/tests/crash_create.rs`.

// Helpers outside #[test] functions fail loudly too: this whole file is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::hash::{BuildHasher, RandomState};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tessera_core::code::s1::public_key;
use tessera_core::code::{Credential, S1Code, step_at};
use tessera_core::device::keypair;
use tessera_core::{EventId, TicketId};
use tessera_gate::{GateBundle, PublicKey, ScanLog};

// ---------------------------------------------------------------- wallet creation

/// Kills at least this many `tessera wallet` processes…
const MIN_KILLS: u32 = 100;
/// …and more, until this many landed between the key file and the wallet's rows…
const WANTED_IN_WINDOW: u32 = 3;
/// …but never more than this many, nor for longer than the time budget. The window is a
/// few hundred microseconds wide: one CI run saw 300 kills (4.5 s) miss it, so the time
/// budget, not the count, is what normally ends a long search.
const MAX_KILLS: u32 = 3000;
const TIME_BUDGET: Duration = Duration::from_secs(30);
/// A kill lands at most this long after the process starts (uniformly random below), or
/// at most 1.25 times an uninterrupted creation where that takes longer (a loaded machine).
const MAX_KILL_DELAY: Duration = Duration::from_millis(20);

/// Where a creation was when its process died, read from the files it left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Left {
    /// No wallet id committed yet.
    Nothing,
    /// The wallet id, no key file for it yet.
    IdOnly,
    /// The wallet id and the key file naming it, but no wallet rows: the window in which
    /// the old code lost the wallet for good.
    IdAndKey,
    /// A complete wallet.
    Complete,
}

fn meta(db: &Path, key: &str) -> Option<Vec<u8>> {
    if !db.exists() {
        return None;
    }
    let c = rusqlite::Connection::open(db).unwrap();
    // No table yet (killed before the schema) reads as no value.
    c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .ok()
}

/// The wallet id a dev-file vault's key file was written for (its second line).
fn key_file_id(key: &Path) -> Option<String> {
    let text = std::fs::read_to_string(key).ok()?;
    text.lines().nth(1).map(str::to_owned)
}

fn left_behind(db: &Path, key: &Path) -> Left {
    match (meta(db, "wallet_id"), meta(db, "wrapped_kek")) {
        (_, Some(_)) => Left::Complete,
        (None, None) => Left::Nothing,
        (Some(id), None) => {
            if key_file_id(key).as_deref() == Some(String::from_utf8(id).unwrap().as_str()) {
                Left::IdAndKey
            } else {
                Left::IdOnly
            }
        }
    }
}

/// `tessera wallet --db DB --vault dev-file:KEY list`: opens (so creates) the wallet offline.
fn wallet_list(db: &Path, key: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tessera"));
    c.arg("wallet")
        .arg("--db")
        .arg(db)
        .arg("--vault")
        .arg(format!("dev-file:{}", key.display()))
        .arg("list");
    c
}

/// A random duration in `0..=max` (std's randomly keyed hasher is random enough here).
fn random_delay(rand: &RandomState, n: u32, max: Duration) -> Duration {
    let max_us = u64::try_from(max.as_micros()).unwrap();
    Duration::from_micros(rand.hash_one(n) % (max_us + 1))
}

#[test]
fn a_wallet_killed_while_tessera_creates_it_opens_afterwards() {
    let root = tempfile::tempdir().unwrap();
    // Creations left alone (the fastest of three), to spread the kills over the time a
    // creation takes on this machine.
    let mut calm_time = Duration::MAX;
    for n in 0..3 {
        let (db, key) = (
            root.path().join(format!("calm{n}.db")),
            root.path().join(format!("calm{n}.key")),
        );
        let t = Instant::now();
        let o = wallet_list(&db, &key).output().unwrap();
        assert!(o.status.success(), "{o:?}");
        calm_time = calm_time.min(t.elapsed());
    }
    let max_delay = MAX_KILL_DELAY.max(calm_time.mul_f64(1.25));

    let rand = RandomState::new();
    let started = Instant::now();
    let (mut kills, mut interrupted, mut round) = (0u32, 0u32, 0u32);
    let mut seen: BTreeMap<Left, u32> = BTreeMap::new();
    while kills < MIN_KILLS
        || (seen.get(&Left::IdAndKey).copied().unwrap_or(0) < WANTED_IN_WINDOW
            && kills < MAX_KILLS
            && started.elapsed() < TIME_BUDGET)
    {
        round += 1;
        let (db, key) = (
            root.path().join(format!("w{round}.db")),
            root.path().join(format!("w{round}.key")),
        );
        // The first creation killed, then its resumption killed too.
        for _ in 0..2 {
            let mut child = wallet_list(&db, &key)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(random_delay(&rand, kills, max_delay));
            child.kill().unwrap(); // SIGKILL; a no-op on a child that already exited
            if !child.wait().unwrap().success() {
                interrupted += 1;
            }
            kills += 1;
            *seen.entry(left_behind(&db, &key)).or_default() += 1;
        }

        let o = wallet_list(&db, &key).output().unwrap();
        assert!(
            o.status.success(),
            "round {round}: the wallet does not open: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("no tickets"),
            "round {round}: {o:?}"
        );
        let id = String::from_utf8(meta(&db, "wallet_id").unwrap()).unwrap();
        assert_eq!(
            key_file_id(&key),
            Some(id),
            "round {round}: key file of another wallet"
        );
    }
    eprintln!(
        "{kills} kills at 0-{} ms in {round} rounds ({interrupted} interrupted a running \
         process), {:.1} s; state left by each kill: {seen:?}",
        max_delay.as_millis(),
        started.elapsed().as_secs_f64()
    );
    // Not a requirement on timing, only that the test did what it says.
    assert!(
        seen.get(&Left::IdAndKey).copied().unwrap_or(0) > 0,
        "no kill landed between the key file and the wallet's rows: {seen:?}"
    );
}

// ---------------------------------------------------------------- gate scan

const EVENT: EventId = EventId(5);
const PERIOD: u8 = 15;
const FROM: i64 = 1_800_000_000;
const UNTIL: i64 = 1_800_100_000;
const AT_MS: i64 = 1_800_000_007_000;
/// Kills right after a printed refusal (and, besides, after printed admissions).
const REFUSALS: usize = 30;

fn ticket(n: u8) -> TicketId {
    TicketId([n; 16])
}

/// Spawns `tessera gate scan`, reads the verdict's first line the moment it is printed
/// and kills the process right then. Returns that line.
fn scan_and_kill(dir: &Path, payload: &str, json: bool) -> String {
    let at = AT_MS.to_string();
    let mut c = Command::new(env!("CARGO_BIN_EXE_tessera"));
    c.args(["gate", "scan", "--at-ms", &at])
        .arg("--bundle")
        .arg(dir.join("bundle.json"))
        .arg("--log")
        .arg(dir.join("scans.sqlite"));
    if json {
        c.arg("--json");
    }
    let mut child = c
        .arg(payload)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    child.kill().unwrap(); // SIGKILL, the instant the verdict is on screen
    child.wait().unwrap();
    line
}

#[test]
fn gate_scan_killed_right_after_printing_a_verdict_keeps_its_row() {
    let issuer = keypair(&[1; 32]).unwrap();
    let device = keypair(&[2; 32]).unwrap();
    let step = step_at(AT_MS, PERIOD);
    let credential = |t: TicketId, event: EventId| Credential {
        key_id: 1,
        ticket: t,
        event,
        reveal_opens_at: FROM,
        valid_until: UNTIL,
        period_secs: PERIOD,
        strict_jit: false,
        reentry: false,
        personalised: false,
        device_public_key: public_key(&device),
        seat: "A1".into(),
    };
    let code = |c: &Credential, signer: &_, step: u64| {
        S1Code::generate(&c.sign(signer).unwrap(), &device, step, None).encode()
    };
    let mut bundle = GateBundle::new_s1(EVENT, PERIOD, FROM, UNTIL);
    bundle.issuer_keys.insert(1, PublicKey(public_key(&issuer)));
    let dir = tempfile::tempdir().unwrap();
    // Signed by the issuer, as `tessera gate bundle` stores it.
    let signed = tessera_gate::signed_bundle::sign(&bundle, 1, &issuer).unwrap();
    std::fs::write(dir.path().join("bundle.json"), signed).unwrap();

    // Ticket 1 goes in; every later scan of the same code is a replay.
    let admitted = code(&credential(ticket(1), EVENT), &issuer, step);
    assert!(scan_and_kill(dir.path(), &admitted, true).contains("\"admit\""));
    let other_issuer = keypair(&[9; 32]).unwrap();
    let refusals = [
        ("replay", admitted.clone()),
        (
            "stale",
            code(&credential(ticket(2), EVENT), &issuer, step - 2),
        ),
        ("malformed", "S1:NOT-A-CODE".to_owned()),
        (
            "bad_signature",
            code(&credential(ticket(3), EVENT), &other_issuer, step),
        ),
        (
            "wrong_event",
            code(&credential(ticket(4), EventId(6)), &issuer, step),
        ),
    ];

    let mut rows = 1;
    let mut kills = 0;
    for i in 0..REFUSALS {
        let (reason, payload) = &refusals[i % refusals.len()];
        // Every sixth kill follows an admission of a fresh ticket instead.
        let cases = [
            (*reason, payload.clone()),
            (
                "admit",
                code(&credential(ticket(100 + i as u8), EVENT), &issuer, step),
            ),
        ];
        for (want, payload) in cases.iter().take(if i % 5 == 4 { 2 } else { 1 }) {
            let json = kills % 2 == 0;
            let line = scan_and_kill(dir.path(), payload, json);
            kills += 1;
            let printed = if json {
                let v: Value = serde_json::from_str(&line).unwrap();
                v["reason"].as_str().unwrap_or("admit").to_owned()
            } else if line.contains("ADMIT") {
                "admit".to_owned()
            } else {
                let (_, rest) = line.split_once("REJECT (").unwrap();
                rest.split(')').next().unwrap().to_owned()
            };
            assert_eq!(printed, *want, "kill {kills}: {line}");
            rows += 1;
            let log = ScanLog::open(dir.path().join("scans.sqlite")).unwrap();
            let recs = log.records().unwrap();
            assert_eq!(
                recs.len(),
                rows,
                "kill {kills}: verdict {printed:?} printed, but not in the scan log"
            );
            let last = recs.iter().max_by_key(|r| r.seq).unwrap();
            assert_eq!(last.outcome.as_str(), printed, "kill {kills}");
        }
    }
    eprintln!("{kills} gate scans killed right after printing; every verdict has its row");
}
