//! Round-trips `tessera_core::qr` renderings through independent QR code
//! software: the PNG and terminal renderings are decoded with `rqrr`, and the
//! version chosen is cross-checked against `fast_qr`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Cursor;

use tessera_core::qr::{ERROR_CORRECTION, QrMatrix};

/// A payload shaped like docs/PROTOCOL.md §3: `prefix` then unpadded upper-case
/// base32 of a `body_len`-byte body (pseudo-random, so that codewords and mask
/// choice are not degenerate).
fn payload(prefix: &str, body_len: usize, seed: u32) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut s = String::from(prefix);
    let mut state = seed | 1;
    for _ in 0..(8 * body_len).div_ceil(5) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        s.push(char::from(alphabet[(state % 32) as usize]));
    }
    s
}

/// A short T1 payload (40-byte body, 67 characters).
fn t1() -> String {
    payload("T1:", 40, 0x1234_5678)
}

/// A ~400-character S1 payload (248-byte body, 400 characters).
fn s1() -> String {
    payload("S1:", 248, 0x8765_4321)
}

/// Decodes a PNG into (width, height, 8-bit grey pixels).
fn png_to_grey(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let (w, h) = (info.width as usize, info.height as usize);
    buf.truncate(info.buffer_size());
    assert_eq!(buf.len(), w * h);
    assert!(
        buf.iter().all(|&p| p == 0 || p == 255),
        "expanded 1-bit grey must be 0/255"
    );
    (w, h, buf)
}

/// Finds exactly one QR code in a grey image with rqrr and returns its text.
fn rqrr_decode(w: usize, h: usize, pixels: &[u8]) -> String {
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "rqrr should find exactly one code");
    let (_meta, text) = grids[0].decode().unwrap();
    text
}

fn assert_png_roundtrip(text: &str, module_px: u32) {
    let m = QrMatrix::encode(text).unwrap();
    let png = m.to_png(module_px).unwrap();
    let (w, h, pixels) = png_to_grey(&png);
    let side = ((m.size() + 2 * QrMatrix::QUIET_ZONE) * module_px.max(1)) as usize;
    assert_eq!((w, h), (side, side));
    assert_eq!(rqrr_decode(w, h, &pixels), text);
}

#[test]
fn png_short_text_decodes() {
    assert_png_roundtrip(&t1(), 4);
    assert_png_roundtrip("hello, world", 3);
    // Alphanumeric with decimal runs: drawn as one alphanumeric segment,
    // not qrcode's greedy split.
    assert_png_roundtrip(
        "T1:0123456789ABCDEF:4F2KQ7XZ:29581744:123456:ABCDEFGHIJKLMNOP",
        4,
    );
}

#[test]
fn png_long_s1_decodes() {
    let text = s1();
    assert_eq!(text.len(), 400);
    assert_png_roundtrip(&text, 4);
}

#[test]
fn png_non_ascii_decodes() {
    assert_png_roundtrip("Théâtre — row 3, seat 12", 4);
    // UTF-8 whose bytes look like Shift JIS must not be put in kanji mode.
    assert_png_roundtrip("チケット：東京ドーム 3塁側 12列", 4);
    assert_png_roundtrip("Tessera 🎭 entrée", 4);
}

#[test]
fn png_pixels_match_matrix() {
    let m = QrMatrix::encode(&t1()).unwrap();
    let px = 3u32;
    let (w, _h, pixels) = png_to_grey(&m.to_png(px).unwrap());
    let q = QrMatrix::QUIET_ZONE;
    for y in 0..(m.size() + 2 * q) * px {
        for x in 0..(m.size() + 2 * q) * px {
            let (mx, my) = (x / px, y / px);
            let dark = mx >= q && my >= q && m.is_dark(mx - q, my - q);
            let p = pixels[y as usize * w + x as usize];
            assert_eq!(p == 0, dark, "pixel ({x}, {y})");
        }
    }
}

/// Turns the terminal rendering back into pixels as a dark-background terminal
/// shows it: each character cell is two stacked pixels (top and bottom half),
/// lit = white, unlit = black, surrounded by unlit terminal background; then
/// scales by `scale` so the decoder sees more than one pixel per module.
fn terminal_to_grey(text: &str, scale: usize) -> (usize, usize, Vec<u8>) {
    const MARGIN: usize = 3; // unlit cells around the output, like a terminal
    let lines: Vec<Vec<char>> = text.split('\n').map(|l| l.chars().collect()).collect();
    let cols = lines[0].len();
    assert!(lines.iter().all(|l| l.len() == cols));
    let (w0, h0) = (cols + 2 * MARGIN, (lines.len() + 2 * MARGIN) * 2);
    let mut grid = vec![0u8; w0 * h0];
    for (row, line) in lines.iter().enumerate() {
        for (col, &c) in line.iter().enumerate() {
            let (top, bottom) = match c {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                ' ' => (false, false),
                other => panic!("unexpected character {other:?}"),
            };
            let x = col + MARGIN;
            let y = (row + MARGIN) * 2;
            grid[y * w0 + x] = if top { 255 } else { 0 };
            grid[(y + 1) * w0 + x] = if bottom { 255 } else { 0 };
        }
    }
    let (w, h) = (w0 * scale, h0 * scale);
    let mut pixels = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            pixels[y * w + x] = grid[(y / scale) * w0 + x / scale];
        }
    }
    (w, h, pixels)
}

#[test]
fn terminal_rendering_decodes_on_dark_background() {
    for text in [t1(), s1()] {
        let m = QrMatrix::encode(&text).unwrap();
        let (w, h, pixels) = terminal_to_grey(&m.to_terminal(), 4);
        assert_eq!(rqrr_decode(w, h, &pixels), text);
        // At one pixel per half block too.
        let (w, h, pixels) = terminal_to_grey(&m.to_terminal(), 1);
        assert_eq!(rqrr_decode(w, h, &pixels), text);
        // Polarity: on the dark terminal, the code's top-left (dark) module is
        // unlit and the quiet zone around it lit, i.e. a positive image.
        // Module (0, 0) is padded (4, 4): cell column 4, line 2, top half,
        // shifted by the 3-cell margin.
        assert!(m.is_dark(0, 0));
        assert_eq!(pixels[(2 + 3) * 2 * w + (4 + 3)], 0);
        assert_eq!(pixels[(2 + 3) * 2 * w + 3], 255);
        assert_eq!(pixels[3 * 2 * w + 3], 255);
    }
}

fn fast_qr_size(text: &str) -> usize {
    let ecl = match ERROR_CORRECTION {
        qrcode::EcLevel::L => fast_qr::ECL::L,
        qrcode::EcLevel::M => fast_qr::ECL::M,
        qrcode::EcLevel::Q => fast_qr::ECL::Q,
        qrcode::EcLevel::H => fast_qr::ECL::H,
    };
    fast_qr::QRBuilder::new(text).ecl(ecl).build().unwrap().size
}

#[test]
fn fast_qr_picks_the_same_version() {
    let texts = [
        t1(),
        s1(),
        payload("T1:", 52, 7),
        payload("S1:", 217, 7),
        payload("S1:", 289, 7),
        "S1:".to_string(),
        "A".repeat(1000),
    ];
    for text in texts {
        let m = QrMatrix::encode(&text).unwrap();
        assert_eq!(
            m.size() as usize,
            fast_qr_size(&text),
            "text of {} chars",
            text.len()
        );
    }
}

/// Versions of the payload sizes of docs/PROTOCOL.md §3 (T1 bodies 40–52
/// bytes, S1 bodies 217–289 bytes), as quoted in docs/QR.md; prints the table
/// with `cargo test -p tessera-core --test qr_decode sizes -- --nocapture`.
#[test]
fn sizes_for_protocol_payloads() {
    let version = |text: &str| (QrMatrix::encode(text).unwrap().size() - 17) / 4;
    for (prefix, bodies) in [("T1:", 40..=52), ("S1:", 217..=289)] {
        for body in bodies {
            let text = payload(prefix, body, body as u32);
            println!(
                "{prefix} body {body:>3} B, {:>3} chars -> version {:>2}",
                text.len(),
                version(&text)
            );
        }
    }
    // Alphanumeric capacities at level M: v4 90, v11 366, v12 419, v13 483.
    for body in 40..=52 {
        assert_eq!(version(&payload("T1:", body, 1)), 4, "T1 body {body}");
    }
    assert_eq!(version(&payload("S1:", 217, 1)), 11); // 351 chars
    assert_eq!(version(&payload("S1:", 226, 1)), 11); // 365 chars
    assert_eq!(version(&payload("S1:", 227, 1)), 12); // 367 chars
    assert_eq!(version(&s1()), 12); // 400 chars
    assert_eq!(version(&payload("S1:", 260, 1)), 12); // 419 chars
    assert_eq!(version(&payload("S1:", 261, 1)), 13); // 421 chars
    assert_eq!(version(&payload("S1:", 289, 1)), 13); // 466 chars
}
