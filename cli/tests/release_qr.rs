//! `tessera issuer release-qr` against a real `tessera issuer serve` (issue 14 item 3): once
//! a strict just-in-time event's window is open, the release object as a QR code a phone
//! camera reads back, as text and as a PNG, signed by the issuer's key; before the window
//! a refusal that points at `--before-window`, which takes the admin token and warns.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

use common::{decode_drawn, is_qr_line, tessera_with, text};
use tessera_core::EventId;
use tessera_core::code::release_object::ReleaseObject;

/// `tessera issuer serve --dev` on a free port, killed when dropped.
struct Served {
    child: Child,
    url: String,
    admin: String,
    key: [u8; 32],
    _dir: tempfile::TempDir,
}

impl Served {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["issuer", "serve", "--dev", "--port", "0", "--data-dir"])
            .arg(dir.path().join("data"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut next = || lines.next().unwrap().unwrap();
        let url = next().rsplit(' ').next().unwrap().to_owned();
        let admin = next().strip_prefix("admin token: ").unwrap().to_owned();
        let key_line = next();
        let key_hex = key_line.strip_prefix("issuer key 1: ").unwrap();
        let mut key = [0u8; 32];
        hex::decode_to_slice(key_hex, &mut key).unwrap();
        // Keep reading: a closed pipe would end the issuer at its next line of output.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            url,
            admin,
            key,
            _dir: dir,
        }
    }

    /// `tessera issuer release-qr --event N` with `extra` flags, in a 100×40 terminal.
    fn release_qr(&self, event: u64, extra: &[&str]) -> Output {
        let event = event.to_string();
        let mut args = vec![
            "issuer",
            "release-qr",
            "--issuer",
            &self.url,
            "--event",
            &event,
        ];
        args.extend_from_slice(extra);
        tessera_with(&args, &[("COLUMNS", "100"), ("LINES", "40")])
    }

    /// The release object in `text`, checked with this issuer's key.
    fn verified(&self, text: &str, event: u64) -> ReleaseObject {
        let o = ReleaseObject::parse(text).unwrap();
        o.verify_with(&HashMap::from([(1, self.key)])).unwrap();
        assert_eq!(o.event, EventId(event));
        o
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", text(o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn refused(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(2), "{}", text(o));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The line of `out` that is a release object's text.
fn object_line(out: &str) -> &str {
    out.lines()
        .find(|l| l.starts_with("R1:"))
        .unwrap_or_else(|| panic!("no release object in:\n{out}"))
}

fn create_event(s: &Served, id: &str, extra: &[&str]) {
    let mut args = vec![
        "issuer", "event", "create", "--issuer", &s.url, "--token", &s.admin, "--id", id, "--name",
        "Doors", "--format", "s1",
    ];
    args.extend_from_slice(extra);
    ok(&tessera_with(&args, &[]));
}

#[test]
fn an_open_strict_event_prints_its_release_object_as_a_readable_qr_code() {
    let s = Served::start();
    create_event(&s, "22", &["--strict-jit"]);
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("door.png");
    let o = s.release_qr(22, &["--png", png.to_str().unwrap()]);
    let out = ok(&o);
    // Open: no warning.
    assert!(o.stderr.is_empty(), "{}", text(&o));
    assert!(
        out.starts_with("release object of event 22: version 1, window opens "),
        "{out}"
    );
    let line = object_line(&out);
    let obj = s.verified(line, 22);
    assert_eq!(obj.version, 1);
    // The code drawn in the terminal reads back as that text, as a camera would see it.
    let drawn: Vec<&str> = out.lines().filter(|l| is_qr_line(l)).collect();
    assert_eq!(
        drawn.len(),
        (49 + 8) / 2 + 1,
        "QR version 8 with its quiet zone"
    );
    assert_eq!(decode_drawn(&drawn), line);
    // And the PNG to print.
    assert_eq!(decode_png(&png), line);
    // --text: the text alone, for scripts; the same object (signatures are deterministic).
    let only = ok(&s.release_qr(22, &["--text"]));
    assert_eq!(only, format!("{line}\n"));
}

#[test]
fn before_the_window_it_takes_the_admin_token_and_a_warning() {
    let s = Served::start();
    create_event(&s, "21", &["--strict-jit", "--opens-in", "1h"]);
    create_event(&s, "23", &[]);
    // Not published yet: refused, pointing at the flag; nothing printed to stdout.
    let o = s.release_qr(21, &[]);
    let err = refused(&o);
    assert!(err.contains("--before-window"), "{err}");
    assert!(o.stdout.is_empty());
    // The flag without a token, or with a box-office token: refused.
    assert!(refused(&s.release_qr(21, &["--before-window"])).contains("no token"));
    let bo = ok(&tessera_with(
        &[
            "issuer",
            "token",
            "create",
            "--issuer",
            &s.url,
            "--token",
            &s.admin,
            "--role",
            "box_office",
            "--json",
        ],
        &[],
    ));
    let bo: serde_json::Value = serde_json::from_str(&bo).unwrap();
    let err = refused(&s.release_qr(
        21,
        &["--before-window", "--token", bo["token"].as_str().unwrap()],
    ));
    assert!(err.contains("403"), "{err}");
    // With the admin token: printed, with the warning on stderr.
    let o = s.release_qr(21, &["--before-window", "--token", &s.admin]);
    let out = ok(&o);
    let warning = String::from_utf8_lossy(&o.stderr);
    assert!(
        warning.starts_with("warning: event 21's window opens at ")
            && warning.contains("Keep the printout covered until the doors open."),
        "{warning}"
    );
    let obj = s.verified(object_line(&out), 21);
    assert!(obj.opens_at > 0);
    // An event that is not strict just-in-time has no release object, early or not.
    assert!(refused(&s.release_qr(23, &[])).contains("--before-window"));
    let err = refused(&s.release_qr(23, &["--before-window", "--token", &s.admin]));
    assert!(err.contains("404"), "{err}");
}

fn decode_png(path: &std::path::Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    buf.truncate(info.buffer_size());
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code expected");
    grids[0].decode().unwrap().1
}
