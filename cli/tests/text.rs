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
use tessera_core::code::{Credential, S1Code, SignedCredential, step_at};
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
    Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(&args)
        .output()
        .unwrap()
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

#[test]
fn gate_scan_prints_no_control_character_from_a_ticket_raw() {
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
    let step = step_at(AT_MS, PERIOD);
    let code = |signed: &SignedCredential| S1Code::generate(signed, &device, step, None).encode();
    let genuine = code(&credential.sign(&issuer).unwrap());

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
    let forged = code(&credential.sign(&keypair(&[9; 32]).unwrap()).unwrap());
    let o = scan(dir.path(), "forged.sqlite", &forged, false);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let out = no_raw_controls(&o);
    assert!(
        out.contains("bad_signature") && !out.contains("VIP"),
        "{out}"
    );
}
