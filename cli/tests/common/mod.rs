//! What the CLI's test files share: running the built `tessera` as a user would, and
//! reading everything it said.

// Each test file uses its own part of this module.
#![allow(dead_code, clippy::unwrap_used)]

use std::process::{Command, Output};

/// Runs `tessera` with `args` and these environment variables, and none of the
/// `TESSERA_*` (or terminal size) variables of the shell that runs the tests.
pub fn tessera_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tessera"));
    for v in [
        "TESSERA_TOKEN",
        "TESSERA_ISSUER",
        "TESSERA_DB",
        "TESSERA_VAULT",
        "COLUMNS",
        "LINES",
    ] {
        c.env_remove(v);
    }
    c.args(args).envs(env.iter().copied()).output().unwrap()
}

/// Runs `tessera` with `args` (see [`tessera_with`]).
pub fn tessera(args: &[&str]) -> Output {
    tessera_with(args, &[])
}

/// Standard output then standard error, as one text.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Whether a line is part of a drawn QR code (half blocks only, quiet zone included).
pub fn is_qr_line(l: &str) -> bool {
    let blocks = l.chars().all(|c| matches!(c, '█' | '▀' | '▄' | ' '));
    // A quiet-zone line is all full blocks; any other line of a code has half blocks.
    blocks && (l.contains(['▀', '▄']) || l.chars().count() > 20 && !l.contains(' '))
}

/// Decodes a code drawn as text, as a camera would see it on a terminal whose glyphs are
/// light on dark (the colours the CLI sets): each cell is two module rows, a glyph's
/// foreground half is light, the rest dark.
pub fn decode_drawn(lines: &[&str]) -> String {
    let w = lines[0].chars().count();
    let (px, h) = (4, lines.len() * 2);
    let (iw, ih) = (w * px, h * px);
    let mut img = vec![0u8; iw * ih];
    for (row, l) in lines.iter().enumerate() {
        for (x, c) in l.chars().enumerate() {
            let (top, bottom) = match c {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                _ => (false, false),
            };
            for (half, light) in [(0, top), (1, bottom)] {
                let y0 = (row * 2 + half) * px;
                for y in y0..y0 + px {
                    for xx in x * px..(x + 1) * px {
                        img[y * iw + xx] = if light { 255 } else { 0 };
                    }
                }
            }
        }
    }
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(iw, ih, |x, y| img[y * iw + x]);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code expected");
    grids[0].decode().unwrap().1
}
