//! Terminal drawing and the words the CLI shows for states, verdicts and durations.
//!
//! ANSI escapes (redrawing a line, clearing the screen, colour) are used only when
//! stdout is a terminal: piped into a file or a CI log, the output stays plain lines.
//! Text that comes from a ticket, a bundle or the issuer (seats, names, gate ids, error
//! messages) never carries its own: it goes through [`escape`] (or [`json_line`]) first,
//! so control, bidi and invisible characters show as `\u{…}`.

use std::borrow::Cow;
use std::io::IsTerminal;
use std::time::Duration;

use serde_json::Value;
use tessera_core::RevealState;
use tessera_core::qr::QrMatrix;
pub use tessera_core::text::escape;
use tessera_gate::{Anomaly, Verdict};

use crate::out::{out, outln};

/// Where the demo draws: a live terminal, plain lines, or plain lines without QR codes.
#[derive(Debug, Clone, Copy)]
pub struct Screen {
    ansi: bool,
    draw_qr: bool,
}

impl Screen {
    /// A screen on stdout: ANSI only on a terminal, and no QR codes when `headless`.
    pub fn for_stdout(headless: bool) -> Self {
        Self {
            ansi: !headless && std::io::stdout().is_terminal(),
            draw_qr: !headless,
        }
    }

    /// Whether stdout is a terminal that takes ANSI escapes (colours, redraws).
    pub fn is_ansi(&self) -> bool {
        self.ansi
    }

    /// Whether lines can be redrawn in place.
    pub fn is_live(&self) -> bool {
        self.ansi
    }

    /// Whether QR codes are drawn.
    pub fn draws_qr(&self) -> bool {
        self.draw_qr
    }

    /// Clears the terminal and moves to its top (a live screen only). Clearing, rather
    /// than moving up over the previous block, stays right when long lines wrapped or
    /// the block is taller than the terminal.
    pub fn clear(&self) {
        if self.ansi {
            out!("\x1b[H\x1b[2J");
            flush();
        }
    }

    /// Redraws the current line with `text` (a live screen only; plain output prints
    /// status lines with [`Screen::line`] at its own pace).
    pub fn status(&self, text: &str) {
        if self.ansi {
            out!("\r\x1b[2K{text}");
            flush();
        }
    }

    /// Ends a status line so the next output starts below it.
    pub fn end_status(&self) {
        if self.ansi {
            outln!();
        }
    }

    /// Prints one line.
    pub fn line(&self, text: &str) {
        outln!("{text}");
    }

    /// `text` in green on a live screen.
    pub fn good(&self, text: &str) -> String {
        self.paint("32", text)
    }

    /// `text` in red on a live screen.
    pub fn bad(&self, text: &str) -> String {
        self.paint("31", text)
    }

    /// `text` in bold on a live screen.
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    fn paint(&self, sgr: &str, text: &str) -> String {
        if self.ansi {
            format!("\x1b[{sgr}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// A verdict as one line: a tick or a cross, and what the door person is told.
    pub fn verdict(&self, v: &Verdict) -> String {
        match v {
            Verdict::Admit {
                seat, holder_name, ..
            } => {
                let mut s = self.good("✔ ADMIT");
                if let Some(seat) = seat.as_deref().filter(|s| !s.is_empty()) {
                    s.push_str(&format!(" · {}", escape(seat)));
                }
                if let Some(name) = holder_name {
                    s.push_str(&format!(" · check ID: {}", escape(name)));
                }
                s
            }
            Verdict::Reject { reason } => format!(
                "{} ({}): {}",
                self.bad("✘ REJECT"),
                reason.as_str(),
                reason.door_text()
            ),
        }
    }
}

/// Characters and lines a QR code takes in a terminal (quiet zone included) and the
/// terminal it is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cells {
    /// Columns.
    pub cols: usize,
    /// Rows (lines).
    pub rows: usize,
}

impl std::fmt::Display for Cells {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}×{}", self.cols, self.rows)
    }
}

/// Explicit colours for a QR code on a terminal: white (256-colour 231) drawn on black
/// (16). Core's text draws *light* modules as the foreground, for a dark background;
/// setting both colours makes the code right on light themes too, where the default
/// colours would draw it as a negative that scanners refuse.
const QR_COLOURS: &str = "\x1b[38;5;231;48;5;16m";
/// Back to the terminal's own colours.
const RESET: &str = "\x1b[0m";

/// The QR code as terminal lines (half blocks, two module rows per line, quiet zone
/// included). With `ansi`, each line sets its own white-on-black colours and resets them
/// at its end, so the code reads right whatever the terminal's theme; without, the plain
/// text for a dark background (files and logs).
pub fn qr_lines(qr: &QrMatrix, ansi: bool) -> Vec<String> {
    qr.to_terminal()
        .lines()
        .map(|l| {
            if ansi {
                format!("{QR_COLOURS}{l}{RESET}")
            } else {
                l.to_owned()
            }
        })
        .collect()
}

/// How many columns and lines [`qr_lines`] takes.
pub fn qr_cells(qr: &QrMatrix) -> Cells {
    let text = qr.to_terminal();
    Cells {
        cols: text.lines().map(|l| l.chars().count()).max().unwrap_or(0),
        rows: text.lines().count(),
    }
}

/// The terminal's size: `COLUMNS` and `LINES` when set (as curses does: a user's or a
/// test's override), else what `stty size` says of the controlling terminal when stdout
/// is one. `None` when neither tells (output piped into a file: nothing to fit).
pub fn terminal_size() -> Option<Cells> {
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| *n > 0)
    };
    let (cols, rows) = (env("COLUMNS"), env("LINES"));
    let tty = if cols.is_none() || rows.is_none() {
        stty_size()
    } else {
        None
    };
    Some(Cells {
        cols: cols.or(tty.map(|t| t.cols))?,
        rows: rows.or(tty.map(|t| t.rows))?,
    })
}

/// `stty size` run on the controlling terminal (no `unsafe` ioctl, no extra crate): "rows
/// cols". Only when stdout is that terminal.
fn stty_size() -> Option<Cells> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let tty = std::fs::File::open("/dev/tty").ok()?;
    let out = std::process::Command::new("stty")
        .arg("size")
        .stdin(tty)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    parse_stty_size(&String::from_utf8_lossy(&out.stdout))
}

/// "24 80" (rows, then columns) as [`Cells`].
fn parse_stty_size(text: &str) -> Option<Cells> {
    let mut it = text.split_whitespace().map(str::parse::<usize>);
    match (it.next(), it.next(), it.next()) {
        (Some(Ok(rows)), Some(Ok(cols)), None) if rows > 0 && cols > 0 => {
            Some(Cells { cols, rows })
        }
        _ => None,
    }
}

/// `None` when a block of `need` fits the terminal (or its size is unknown); else what
/// to tell the user, exactly how big the terminal must be (a predicate: "the QR code …").
pub fn too_small(need: Cells, have: Option<Cells>) -> Option<String> {
    let have = have?;
    if have.cols >= need.cols && have.rows >= need.rows {
        return None;
    }
    Some(format!(
        "needs a terminal of at least {need} characters (columns×rows) and this one is \
         {have}: enlarge the window or make the font smaller (Ctrl+- in most terminals)"
    ))
}

/// `v` as one line of JSON that is safe in a terminal ([`json_safe`]).
pub fn json_line(v: &Value) -> String {
    json_safe(&v.to_string()).into_owned()
}

/// Valid JSON text made safe for a terminal without changing its meaning: every refused
/// character (DEL, C1 controls, bidi and invisible format characters, line separators;
/// `tessera_core::text`) is written as a `\uXXXX` escape. JSON allows no raw control
/// inside a string and no other character outside one than TAB, LF and CR between
/// tokens, which are kept; so every character escaped stood inside a string, where the
/// escape means the same character.
pub fn json_safe(json: &str) -> Cow<'_, str> {
    let escaped = |c: char| tessera_core::text::is_refused(c) && !matches!(c, '\t' | '\n' | '\r');
    if !json.chars().any(escaped) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if escaped(c) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Pushes a partial line (a status redraw) to the terminal now.
fn flush() {
    crate::out::flush();
}

/// A bar of `width` cells, full when `left_ms` equals `total_ms`, empty at zero.
pub fn bar(left_ms: i64, total_ms: i64, width: usize) -> String {
    let fraction = if total_ms > 0 {
        (left_ms as f64 / total_ms as f64).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let full = ((fraction * width as f64).round() as usize).min(width);
    format!("{}{}", "█".repeat(full), "░".repeat(width - full))
}

/// Milliseconds as seconds with one decimal, rounded up so a countdown never shows 0.0
/// while time is left.
pub fn secs_left(ms: i64) -> String {
    let tenths = (ms.max(0) + 99) / 100;
    format!("{}.{} s", tenths / 10, tenths % 10)
}

/// A measured duration, in the unit that reads best.
pub fn duration(d: Duration) -> String {
    let us = d.as_micros();
    if us < 1_000 {
        format!("{:.2} ms", us as f64 / 1000.0)
    } else if us < 1_000_000 {
        format!("{:.1} ms", us as f64 / 1000.0)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// An age in whole seconds as people read it: `42 s`, `7 min`, `3 h 5 min`.
pub fn duration_secs(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// Unix seconds as `YYYY-MM-DD hh:mm:ss UTC`.
pub fn utc(unix_s: i64) -> String {
    let days = unix_s.div_euclid(86_400);
    let secs = unix_s.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm), so the
/// CLI needs no date crate for one line of output.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A reveal state in words.
pub fn state(s: &RevealState) -> String {
    match s {
        RevealState::Locked { opens_at } => format!("locked until {}", utc(*opens_at)),
        RevealState::NeedsVerification { missing } => {
            let names: Vec<String> = missing
                .iter()
                .map(|v| format!("{v:?}").to_lowercase())
                .collect();
            format!("needs verification: {}", names.join(", "))
        }
        RevealState::NeedsSync => "window open: sync to unlock the code".into(),
        RevealState::Ready { until } => format!("ready (valid until {})", utc(*until)),
        RevealState::Expired => "expired".into(),
        RevealState::Revoked => "revoked".into(),
        RevealState::BoundElsewhere => "moved to another device".into(),
        RevealState::Tampered => "stored data damaged: sync to restore".into(),
    }
}

/// An anomaly flag in words.
pub fn anomaly(a: &Anomaly) -> String {
    match a {
        Anomaly::SeenAtOtherGate {
            other_gate,
            apart_ms,
        } => format!(
            "seen at gate {} {} before",
            escape(other_gate),
            secs_left(*apart_ms)
        ),
        Anomaly::FailureBurst {
            failures,
            within_secs,
        } => format!("{failures} refused scans of this ticket within {within_secs} s"),
        Anomaly::DeviceClockSkew { offset_steps } => {
            format!("phone clock off by {offset_steps} step(s)")
        }
        Anomaly::GateClockSkew { direction } => {
            format!(
                "gate clock suspect ({})",
                if *direction > 0 { "slow" } else { "fast" }
            )
        }
        Anomaly::LogNotPersisted => "scan not yet written to the scan log".into(),
        Anomaly::BundleStale { age_secs } => format!(
            "gate bundle is {} old: fetch it again (tessera gate bundle)",
            duration_secs(*age_secs)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_bars() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_800_000_000), "2027-01-15 08:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(bar(5_000, 5_000, 4), "████");
        assert_eq!(bar(2_500, 5_000, 4), "██░░");
        assert_eq!(bar(-1, 5_000, 4), "░░░░");
        assert_eq!(secs_left(1), "0.1 s");
        assert_eq!(secs_left(4_200), "4.2 s");
    }

    #[test]
    fn an_s1_sized_code_is_drawn_in_explicit_colours_and_measured_against_the_terminal() {
        // 170 base32 characters: version 12 like the demo's S1 code, 65 modules + quiet zone.
        let qr = QrMatrix::encode(&format!("S1:{}", "A".repeat(230))).unwrap();
        let need = qr_cells(&qr);
        let plain = qr_lines(&qr, false);
        assert_eq!(plain.len(), need.rows);
        assert_eq!(need.rows, need.cols.div_ceil(2), "two module rows per line");
        assert!(plain.iter().all(|l| l.chars().count() == need.cols));
        assert!(
            plain.iter().all(|l| !l.contains('\x1b')),
            "no escapes in files"
        );
        // On a terminal every line carries its own white-on-black and resets it, so the
        // code is dark-on-light on a light theme too.
        let ansi = qr_lines(&qr, true);
        for (a, p) in ansi.iter().zip(&plain) {
            assert_eq!(a, &format!("\x1b[38;5;231;48;5;16m{p}\x1b[0m"));
        }
        // The quiet zone's first line is all light: full blocks in the foreground.
        assert!(plain[0].chars().all(|c| c == '█'), "{}", plain[0]);

        let fits = Cells {
            cols: need.cols,
            rows: need.rows + 1,
        };
        assert_eq!(too_small(fits, Some(fits)), None);
        assert_eq!(too_small(fits, None), None, "unknown size: draw");
        let small = Cells { cols: 80, rows: 24 };
        let m = too_small(fits, Some(small)).unwrap();
        assert!(
            m.contains(&format!("at least {}×{} ", need.cols, need.rows + 1))
                && m.contains("this one is 80×24"),
            "{m}"
        );
        let narrow = Cells {
            cols: need.cols - 1,
            rows: 100,
        };
        assert!(too_small(fits, Some(narrow)).is_some());
        assert_eq!(parse_stty_size("24 80\n"), Some(small));
        assert_eq!(parse_stty_size(""), None);
        assert_eq!(parse_stty_size("0 0"), None);
    }

    #[test]
    fn ticket_text_reaches_the_terminal_escaped() {
        let screen = Screen::for_stdout(true);
        let v = Verdict::Admit {
            ticket: tessera_core::TicketId([0; 16]),
            seat: Some("\u{1b}[2JRow 4".into()),
            holder_name: Some("\u{202e}ecalevoL adA".into()),
        };
        assert_eq!(
            screen.verdict(&v),
            "✔ ADMIT · \\u{1b}[2JRow 4 · check ID: \\u{202e}ecalevoL adA"
        );
        let a = Anomaly::SeenAtOtherGate {
            other_gate: "gate\u{1b}]0;x\u{7}".into(),
            apart_ms: 1000,
        };
        assert_eq!(
            anomaly(&a),
            "seen at gate gate\\u{1b}]0;x\\u{7} 1.0 s before"
        );
        let hostile = "\u{0}\u{1b}\u{7f}\u{9b}\u{202e}\u{2028}\u{feff}\u{e0041}👩\u{200d}👧\"";
        let line = json_line(&serde_json::json!({ "seat": hostile }));
        assert!(!line.chars().any(tessera_core::text::is_refused), "{line}");
        assert!(
            line.contains("\\u202e") && line.contains("\\udb40\\udc41"),
            "{line}"
        );
        let back: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["seat"], hostile);
        // Pretty JSON keeps its line breaks, and stays the same value.
        let pretty = serde_json::to_string_pretty(&serde_json::json!({ "a": [hostile] })).unwrap();
        let safe = json_safe(&pretty);
        assert!(safe.contains('\n'));
        let back: Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["a"][0], hostile);
    }
}
