//! The demo where people run it (issue 13 item 7, issue 12 item 3): the compact C1 code
//! (QR version 5: 45×23 cells and the bar under it) fits a standard 80×24 terminal, drawn
//! whole and read back as the live code; in a smaller one the demo says so, with the size
//! needed, before the code appears and in place of each code, never drawing one cut off.
//! The terminal's size comes from COLUMNS and LINES, as a user or a shell may set them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{decode_drawn, is_qr_line, text};
use std::process::{Command, Output};

/// `tessera demo --frames 1` (drawn, not headless) in a terminal of `cols`×`rows`.
fn demo_in(cols: u32, rows: u32) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["demo", "--frames", "1"])
        .env("COLUMNS", cols.to_string())
        .env("LINES", rows.to_string())
        .output()
        .unwrap()
}

#[test]
fn an_80x24_terminal_gets_the_whole_code_and_a_smaller_one_is_told_the_size_needed() {
    let small = std::thread::spawn(|| demo_in(60, 20));
    let large = demo_in(80, 24);
    let small = small.join().unwrap();

    // 60×20: said before the window opens and instead of the code; the run itself still
    // admits and rejects as expected.
    assert!(small.status.success(), "{}", text(&small));
    let out = String::from_utf8_lossy(&small.stdout);
    let need = "needs a terminal of at least 45×24 characters (columns×rows) and this one is 60×20";
    let note = out
        .lines()
        .position(|l| l.starts_with("note: the QR code ") && l.contains(need))
        .unwrap_or_else(|| panic!("no note before the code:\n{out}"));
    let locked = out.lines().position(|l| l.starts_with("locked ")).unwrap();
    assert!(
        note < locked,
        "the note comes while there is time to resize:\n{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("QR code not drawn: it ") && l.contains(need)),
        "{out}"
    );
    assert!(
        !out.lines().any(is_qr_line),
        "no code drawn cut off:\n{out}"
    );
    assert!(out.contains("everything happened as expected"), "{out}");
    assert!(!out.contains('\x1b'), "no escapes into a pipe");

    // 80×24: no note, and the whole code, last before the bar, reads back as the live
    // code whose tail the frame shows.
    assert!(large.status.success(), "{}", text(&large));
    let out = String::from_utf8_lossy(&large.stdout);
    assert!(!out.contains("needs a terminal"), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    let first = lines.iter().position(|l| is_qr_line(l)).unwrap();
    let drawn: Vec<&str> = lines[first..]
        .iter()
        .take_while(|l| is_qr_line(l))
        .copied()
        .collect();
    assert_eq!(
        (drawn[0].chars().count(), drawn.len()),
        (45, 23),
        "the demo's C1 code"
    );
    let tail = lines[..first]
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix('…'))
        .unwrap();
    let payload = decode_drawn(&drawn);
    assert!(
        payload.starts_with("C1:") && payload.ends_with(tail),
        "{payload}"
    );
}
