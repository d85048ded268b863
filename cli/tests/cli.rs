//! The `tessera` binary, run as a user would: help texts, the headless demo and its files,
//! `gate scan` on what the demo recorded, and the wallet's argument checks.

// Helpers outside #[test] functions fail loudly too: this whole file is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{tessera, text};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

#[test]
fn every_subcommand_has_help_that_says_what_it_does() {
    let cases: &[(&[&str], &str)] = &[
        (&["--help"], "Exit codes"),
        (&["demo", "--help"], "rejects a replay"),
        (&["issuer", "--help"], "reference issuer"),
        (&["issuer", "serve", "--help"], "until Ctrl-C"),
        (&["wallet", "--help"], "dev-file:PATH"),
        (&["wallet", "enroll", "--help"], "Registers this device"),
        (&["wallet", "verify-email", "--help"], "confirmation link"),
        (&["wallet", "verify-phone", "--help"], "6-digit code"),
        (&["wallet", "sync", "--help"], "release secrets"),
        (&["wallet", "list", "--help"], "Lists the tickets"),
        (&["wallet", "show", "--help"], "Shows one ticket"),
        (&["wallet", "qr", "--help"], "rotating QR code"),
        (&["gate", "--help"], "offline"),
        (&["gate", "bundle", "--help"], "gate token"),
        (&["gate", "scan", "--help"], "1  rejected"),
    ];
    for (args, phrase) in cases {
        let o = tessera(args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains(phrase),
            "{args:?} help lacks {phrase:?}:\n{}",
            text(&o)
        );
    }
    // A usage error is exit code 2, like every error.
    assert_eq!(tessera(&["demo", "--frames", "0"]).status.code(), Some(2));
    assert_eq!(tessera(&["demo", "--headless"]).status.code(), Some(2));
}

/// Decodes a PNG written by the demo back to its text, as a camera would.
fn decode_png(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    buf.truncate(info.buffer_size());
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "{}: one QR code expected", path.display());
    grids[0].decode().unwrap().1
}

fn scan(out: &Path, log: &Path, payload: &str, at_ms: i64) -> (Option<i32>, Value) {
    let at = at_ms.to_string();
    let o = tessera(&[
        "gate",
        "scan",
        "--bundle",
        out.join("bundle.json").to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
        "--json",
        "--at-ms",
        &at,
        payload,
    ]);
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("gate scan output is not JSON ({e}): {}", text(&o)));
    (o.status.code(), v)
}

#[test]
fn headless_demo_admits_rejects_and_writes_files_a_gate_can_reuse() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let started = std::time::Instant::now();
    let o = tessera(&[
        "demo",
        "--headless",
        "--out",
        out.to_str().unwrap(),
        "--frames",
        "3",
    ]);
    assert!(o.status.success(), "demo failed:\n{}", text(&o));
    assert!(started.elapsed().as_secs() < 30, "the demo took too long");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("FAKE"),
        "the demo must say its vault is fake"
    );
    assert!(!stdout.contains('\x1b'), "no ANSI escapes when headless");
    assert!(stdout.contains("everything happened as expected"));

    let lines: Vec<Value> = std::fs::read_to_string(out.join("frames.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of_kind = |k: &str| -> Vec<&Value> { lines.iter().filter(|l| l["kind"] == k).collect() };
    let frames = of_kind("frame");
    assert_eq!(frames.len(), 3);
    let ticket = frames[0]["ticket_id"].as_str().unwrap().to_owned();
    assert_eq!(ticket.len(), 32);
    let mut steps = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f["verdict"], "admit", "{f}");
        assert_eq!(f["format"], "C1");
        assert_eq!(f["ticket_id"], ticket.as_str());
        let payload = f["payload"].as_str().unwrap();
        assert!(payload.starts_with("C1:"), "the demo shows compact codes");
        // Each frame's PNG decodes back to exactly the payload the gate admitted.
        let png = out.join(format!("frame-{}.png", i + 1));
        assert_eq!(decode_png(&png), payload);
        steps.push(f["step"].as_u64().unwrap());
    }
    assert!(
        steps.windows(2).all(|w| w[1] == w[0] + 1),
        "one frame per step: {steps:?}"
    );
    for (kind, reason) in [
        ("replay", "replay"),
        ("forged", "wrong_device"),
        ("other_device", "wrong_device"),
        ("screenshot", "stale"),
    ] {
        let l = of_kind(kind);
        assert_eq!(l.len(), 1, "{kind}");
        assert_eq!(l[0]["verdict"], "reject", "{kind}");
        assert_eq!(l[0]["reason"], reason, "{kind}");
    }
    let forged = of_kind("forged")[0]["payload"].as_str().unwrap().to_owned();
    let first = frames[0]["payload"].as_str().unwrap().to_owned();
    assert_eq!(forged.len(), first.len());
    assert_eq!(
        forged
            .chars()
            .zip(first.chars())
            .filter(|(a, b)| a != b)
            .count(),
        1,
        "the forgery changes exactly one character"
    );

    let issuer: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("issuer.json")).unwrap()).unwrap();
    let key = issuer["issuer_keys"][0]["public_key"].as_str().unwrap();
    assert_eq!(key.len(), 64);
    assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(issuer["issuer_keys"][0]["key_id"], 1);

    // The issuer is gone; the recorded bundle and codes are enough for a gate, judged at
    // the time they were scanned.
    let log = dir.path().join("scans.sqlite");
    let at = frames[0]["scanned_at_ms"].as_i64().unwrap();
    let (code, v) = scan(&out, &log, &first, at);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["verdict"], "admit");
    assert_eq!(v["ticket"], ticket.as_str());
    assert_eq!(v["holder_name"], "Ada Lovelace");
    let (code, v) = scan(&out, &log, &first, at + 10);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["reason"], "replay");
    assert!(v["door_text"].as_str().unwrap().contains("already scanned"));
    let (code, v) = scan(&out, &log, &forged, at + 20);
    assert_eq!(
        (code, &v["reason"]),
        (Some(1), &Value::from("wrong_device"))
    );
    let (code, v) = scan(&out, &log, "not a ticket", at + 30);
    assert_eq!((code, &v["reason"]), (Some(1), &Value::from("malformed")));
    // The scan log kept what the gate saw across processes.
    let (code, v) = scan(&out, &log, &first, at + 40);
    assert_eq!((code, &v["reason"]), (Some(1), &Value::from("replay")));

    let o = tessera(&[
        "gate",
        "scan",
        "--bundle",
        dir.path().join("missing.json").to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
        &first,
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("missing.json"), "{err}");
}

#[test]
fn wallet_works_offline_and_asks_for_the_issuer_when_it_needs_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let vault = format!("dev-file:{}", dir.path().join("key").display());
    let wallet = |cmd: &[&str]| {
        let mut args = vec!["wallet", "--db", db.to_str().unwrap(), "--vault", &vault];
        args.extend_from_slice(cmd);
        tessera(&args)
    };
    let o = wallet(&["list"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("no tickets"));
    assert!(text(&o).contains("UNPROTECTED"), "the fake vault warns");
    let o = wallet(&["sync"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--issuer"), "{}", text(&o));
    // The same file opens again with the key the dev-file vault kept.
    let o = wallet(&["show", &"ab".repeat(16)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("not found: ticket"), "{}", text(&o));
    let o = wallet(&["--issuer", "http://example.com", "sync"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("insecure"), "{}", text(&o));
}

#[test]
fn issuer_serve_prints_its_url_and_admin_token() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["issuer", "serve", "--dev", "--port", "0", "--data-dir"])
        .arg(dir.path().join("data"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(first.contains("listening on http://127.0.0.1:"), "{first}");
    assert!(second.starts_with("admin token: "), "{second}");
}

#[test]
fn issuer_serve_takes_an_enrollment_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "issuer",
            "serve",
            "--dev",
            "--port",
            "0",
            "--enroll-per-address",
            "1",
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.rsplit(' ').next().unwrap().to_owned();
    // Two wallets enroll from 127.0.0.1: the second is one device too many this minute.
    let enroll = |name: &str| {
        let db = dir.path().join(format!("{name}.db"));
        let vault = format!(
            "dev-file:{}",
            dir.path().join(format!("{name}.key")).display()
        );
        tessera(&[
            "wallet",
            "--db",
            db.to_str().unwrap(),
            "--vault",
            &vault,
            "--issuer",
            &url,
            "enroll",
        ])
    };
    let a = enroll("a");
    let b = enroll("b");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(a.status.success(), "{}", text(&a));
    assert_eq!(b.status.code(), Some(2), "{}", text(&b));
    assert!(text(&b).contains("rate limited"), "{}", text(&b));
}
