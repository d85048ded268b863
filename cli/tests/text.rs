//! `tessera gate scan`, the real binary, on a ticket whose seat (signed into a genuine S1
//! credential by a hostile or careless issuer) and holder name (from the bundle) carry
//! ANSI escapes, C1 controls, DEL and bidi overrides: nothing of it reaches the terminal
//! raw, in the plain output or in `--json` (where the value stays exact); a forged
//! credential's seat is not shown at all.

// Helpers outside #[test] functions fail loudly too: this whole file is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use tessera_core::code::s1::public_key;
use tessera_core::code::{Credential, S1Code, step_at};
use tessera_core::device::keypair;
use tessera_core::text::is_refused;
use tessera_core::{EventId, TicketId};
use tessera_gate::{GateBundle, PublicKey};

/// Clears the screen, homes the cursor, sets the window title, rings the bell, then CSI
/// in its one-byte C1 form.
const SEAT: &str = "\u{1b}[2J\u{1b}[H\u{1b}]0;owned\u{7}VIP\u{9b}1m";
/// Reads as "Ada Lovelace" once the override flips it; DEL and an isolate besides.
const HOLDER: &str = "\u{202e}ecalevoL adA\u{2066}\u{7f}";
const EVENT: EventId = EventId(5);
const PERIOD: u8 = 15;
const FROM: i64 = 1_800_000_000;
const UNTIL: i64 = 1_800_100_000;
const AT_MS: i64 = 1_800_000_007_000;
const TICKET: TicketId = TicketId([7; 16]);

fn scan(dir: &Path, log: &str, payload: &str, json: bool) -> Output {
    scan_command(dir, log, payload, json).output().unwrap()
}

fn scan_command(dir: &Path, log: &str, payload: &str, json: bool) -> Command {
    let at = AT_MS.to_string();
    let bundle = dir.join("bundle.json");
    let log = dir.join(log);
    let mut args = vec![
        "gate",
        "scan",
        "--bundle",
        bundle.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
        "--at-ms",
        &at,
    ];
    if json {
        args.push("--json");
    }
    args.push(payload);
    let mut command = Command::new(env!("CARGO_BIN_EXE_tessera"));
    command.args(&args);
    command
}

/// Asserts that no refused character (ESC, C1, DEL, bidi…) is in the output, line breaks
/// aside; returns stdout.
fn no_raw_controls(o: &Output) -> String {
    let mut all = o.stdout.clone();
    all.extend_from_slice(&o.stderr);
    assert!(
        !all.contains(&0x1b),
        "raw ESC in {:?}",
        String::from_utf8_lossy(&all)
    );
    let text = String::from_utf8(all).unwrap();
    if let Some(c) = text.chars().find(|c| *c != '\n' && is_refused(*c)) {
        panic!("raw U+{:04X} in {text:?}", u32::from(c));
    }
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// The ticket's S1 code at [`AT_MS`], its credential signed by the key of seed
/// `[signer; 32]` (1 is the bundle's issuer).
fn draw(credential: &Credential, signer: u8) -> String {
    let device = keypair(&[2; 32]).unwrap();
    let signed = credential.sign(&keypair(&[signer; 32]).unwrap()).unwrap();
    S1Code::generate(&signed, &device, step_at(AT_MS, PERIOD), None).encode()
}

/// A directory with `bundle.json`, signed by the issuer (seed `[1; 32]`), for one ticket
/// whose seat and holder name carry controls; the ticket's credential.
fn gate_with_one_ticket() -> (tempfile::TempDir, Credential) {
    let issuer = keypair(&[1; 32]).unwrap();
    let device = keypair(&[2; 32]).unwrap();
    let credential = Credential {
        key_id: 1,
        ticket: TICKET,
        event: EVENT,
        reveal_opens_at: FROM,
        valid_until: UNTIL,
        period_secs: PERIOD,
        strict_jit: false,
        reentry: true,
        personalised: true,
        device_public_key: public_key(&device),
        seat: SEAT.into(),
    };
    let mut bundle = GateBundle::new_s1(EVENT, PERIOD, FROM, UNTIL);
    bundle.issuer_keys.insert(1, PublicKey(public_key(&issuer)));
    bundle.holder_names.insert(TICKET, HOLDER.into());
    let dir = tempfile::tempdir().unwrap();
    let signed = tessera_gate::signed_bundle::sign(&bundle, 1, &issuer).unwrap();
    std::fs::write(dir.path().join("bundle.json"), signed).unwrap();
    (dir, credential)
}

#[test]
fn gate_scan_prints_no_control_character_from_a_ticket_raw() {
    let (dir, credential) = gate_with_one_ticket();
    let genuine = draw(&credential, 1);

    let o = scan(dir.path(), "plain.sqlite", &genuine, false);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let out = no_raw_controls(&o);
    assert!(
        out.contains("ADMIT · \\u{1b}[2J\\u{1b}[H\\u{1b}]0;owned\\u{7}VIP\\u{9b}1m"),
        "{out}"
    );
    assert!(
        out.contains("check ID: \\u{202e}ecalevoL adA\\u{2066}\\u{7f}"),
        "{out}"
    );

    // JSON for scripts: the exact values, written with escapes only.
    let o = scan(dir.path(), "json.sqlite", &genuine, true);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let v: Value = serde_json::from_str(&no_raw_controls(&o)).unwrap();
    assert_eq!(v["seat"], SEAT);
    assert_eq!(v["holder_name"], HOLDER);

    // Signed by another key: refused, and its seat is not printed at all.
    let forged = draw(&credential, 9);
    let o = scan(dir.path(), "forged.sqlite", &forged, false);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let out = no_raw_controls(&o);
    assert!(
        out.contains("bad_signature") && !out.contains("VIP"),
        "{out}"
    );
}

/// `tessera gate scan --json | head -c0`: stdout's reader is gone before the verdict is
/// printed. Exit code 2 and nothing on stderr, where `println!` panicked ("failed printing
/// to stdout: Broken pipe", exit code 101); the scan was recorded before it was printed.
#[test]
fn gate_scan_into_a_closed_pipe_ends_quietly_and_keeps_the_scan() {
    let (dir, credential) = gate_with_one_ticket();
    let genuine = draw(&credential, 1);
    for json in [false, true] {
        let log = format!("closed-{json}.sqlite");
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = scan_command(dir.path(), &log, &genuine, json)
            .stdout(writer)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{o:?}");
        assert_eq!(String::from_utf8_lossy(&o.stderr), "", "json: {json}");

        // The same code again on the same log: the first scan is in it.
        let again = scan(dir.path(), &log, &genuine, true);
        let v: Value = serde_json::from_slice(&again.stdout).unwrap();
        assert_eq!(v["verdict"], "reject", "{v}");
    }
}
