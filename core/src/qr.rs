//! QR rendering of a frame's payload text: the module matrix, and SVG, PNG and
//! terminal renderings of it.
//!
//! The matrix is the product on the hot path (a rotating code redraws it every
//! step); the renderings are for apps that do not draw the matrix themselves,
//! for the CLI demo and for tests. See `docs/QR.md`.

use std::fmt::Write as _;
use std::io::Write as _;

use qrcode::bits::Bits;
use qrcode::canvas::{Canvas, Module};
use qrcode::ec::construct_codewords;
use qrcode::optimize::{Optimizer, Parser, Segment, total_encoded_len};
use qrcode::types::Mode;
use qrcode::{Color, EcLevel, Version};

/// Error-correction level used for every code Tessera draws.
///
/// Level M (about 15 % of codewords recoverable). The code is shown on a
/// phone screen, where the damage to survive is glare, a scratch or a crack
/// rather than torn paper, and a new frame follows every step anyway. Q or H
/// would make a 400-character S1 code version 15 or 17 instead of 12 (77 or
/// 85 modules a side instead of 65), so smaller modules on the same screen
/// and slower reads at the gate; L saves only one version. One fixed level
/// also keeps a payload's on-screen size stable from frame to frame.
pub const ERROR_CORRECTION: EcLevel = EcLevel::M;

/// Modules per side of the largest QR code (version 40).
pub const MAX_MODULES_PER_SIDE: u32 = 177;

/// Why a payload could not be drawn as a QR code.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum QrError {
    /// The payload does not fit in the largest QR code (version 40) at
    /// [`ERROR_CORRECTION`]; the payload format, not the renderer, must change.
    #[error("payload of {len} bytes is too long for a QR code")]
    TooLong {
        /// Length of the rejected payload in bytes (UTF-8).
        len: usize,
    },
    /// The PNG could not be written: `module_px` makes the image larger than
    /// the renderer's limit, or the encoder failed; carries the reason.
    #[error("PNG encoding failed: {0}")]
    Png(String),
}

/// The modules of one QR code, without the quiet zone.
///
/// Kept as plain booleans so an app can draw it with its own toolkit (Compose,
/// SwiftUI, a canvas) at the exact pixel size it needs, instead of scaling a
/// bitmap and blurring module edges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrMatrix {
    size: u32,
    modules: Vec<bool>,
}

impl QrMatrix {
    /// Light margin, in modules, that every rendering adds around the code.
    ///
    /// Four modules is what ISO/IEC 18004 requires for (non-micro) QR codes;
    /// with less, scanners misread the finder patterns next to dark UI.
    pub const QUIET_ZONE: u32 = 4;

    /// Draws `text` as the smallest QR code that holds it at
    /// [`ERROR_CORRECTION`].
    ///
    /// Payloads made of upper-case letters, digits and `:` (T1 and S1 codes)
    /// are packed in alphanumeric mode, 5.5 bits per character; any other text
    /// also works (numeric, alphanumeric and byte segments; non-ASCII as UTF-8
    /// bytes without an ECI header), only at a larger size.
    pub fn encode(text: &str) -> Result<QrMatrix, QrError> {
        let too_long = || QrError::TooLong { len: text.len() };
        let bits = segment(text.as_bytes()).ok_or_else(too_long)?;
        let (size, modules) = draw(bits).ok_or_else(too_long)?;
        Ok(QrMatrix { size, modules })
    }

    /// A matrix from `size` and its modules row by row as bytes (non-zero = dark), as a
    /// [`crate::Frame`] carries them; missing modules are light. A size beyond the
    /// largest QR code (version 40, 177 modules) is cut to it: a frame built or edited
    /// by app code can draw a wrong picture, never exhaust memory.
    pub fn from_module_bytes(size: u32, modules: &[u8]) -> QrMatrix {
        let size = size.min(MAX_MODULES_PER_SIDE);
        let count = size as usize * size as usize;
        let mut dark: Vec<bool> = modules.iter().take(count).map(|&b| b != 0).collect();
        dark.resize(count, false);
        QrMatrix {
            size,
            modules: dark,
        }
    }

    /// Number of modules per side, without the quiet zone (21 for version 1,
    /// plus 4 per version); apps use it to pick a module size in pixels.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Whether the module in column `x`, row `y` is dark; `false` outside the
    /// code, so callers can iterate over the quiet zone without bounds checks.
    pub fn is_dark(&self, x: u32, y: u32) -> bool {
        if x >= self.size || y >= self.size {
            return false;
        }
        let index = y as usize * self.size as usize + x as usize;
        self.modules.get(index).copied().unwrap_or(false)
    }

    /// All modules, row by row (`size * size` entries, `true` = dark), for
    /// drawing code that wants one pass over a flat buffer.
    pub fn modules(&self) -> &[bool] {
        &self.modules
    }

    /// Module `(x, y)` in quiet-zone coordinates: the quiet zone and anything
    /// beyond it are light.
    fn is_dark_padded(&self, x: u32, y: u32) -> bool {
        match (
            x.checked_sub(Self::QUIET_ZONE),
            y.checked_sub(Self::QUIET_ZONE),
        ) {
            (Some(x), Some(y)) => self.is_dark(x, y),
            _ => false,
        }
    }

    /// Modules per side including the quiet zone on both sides.
    fn padded_size(&self) -> u32 {
        self.size + 2 * Self::QUIET_ZONE
    }

    /// Renders the code as a standalone SVG document, quiet zone included, for
    /// web views and for print at any resolution.
    ///
    /// The view box is in modules and `module_px` only sets the nominal
    /// `width`/`height`, so the image stays sharp when scaled; a `module_px`
    /// of 0 is treated as 1. Dark modules are one `<path>` (horizontal runs
    /// merged) on a white background, with `crispEdges` so that renderers do not
    /// anti-alias module borders into grey.
    pub fn to_svg(&self, module_px: u32) -> String {
        let total = self.padded_size();
        let px = u64::from(total) * u64::from(module_px.max(1));
        let mut svg = String::with_capacity(256 + self.modules.len() * 4);
        // Writing into a String cannot fail, so the fmt::Results are ignored.
        let _ = write!(
            svg,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" \
             viewBox=\"0 0 {total} {total}\" width=\"{px}\" height=\"{px}\" \
             shape-rendering=\"crispEdges\">\
             <rect width=\"{total}\" height=\"{total}\" fill=\"#ffffff\"/>\
             <path fill=\"#000000\" d=\""
        );
        for y in 0..self.size {
            let mut x = 0;
            while x < self.size {
                if !self.is_dark(x, y) {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < self.size && self.is_dark(x, y) {
                    x += 1;
                }
                let run = x - start;
                let _ = write!(
                    svg,
                    "M{} {}h{run}v1h-{run}z",
                    start + Self::QUIET_ZONE,
                    y + Self::QUIET_ZONE
                );
            }
        }
        svg.push_str("\"/></svg>");
        svg
    }

    /// Renders the code as a PNG, quiet zone included, for platforms and share
    /// sheets that want a bitmap.
    ///
    /// Each module is `module_px` × `module_px` pixels (0 is treated as 1);
    /// the image is 1-bit greyscale, the smallest lossless form of a
    /// black-and-white code. Fails if a side would exceed 16 384 px: no screen
    /// or printer needs more, and a mistaken huge `module_px` should fail fast
    /// rather than write gigabytes.
    pub fn to_png(&self, module_px: u32) -> Result<Vec<u8>, QrError> {
        let module_px = module_px.max(1);
        let side = self
            .padded_size()
            .checked_mul(module_px)
            .filter(|&side| side <= MAX_PNG_SIDE)
            .ok_or_else(|| {
                QrError::Png(format!(
                    "{module_px} px per module exceeds the {MAX_PNG_SIDE} px image limit"
                ))
            })?;
        let side_px = side as usize;
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, side, side);
            encoder.set_color(png::ColorType::Grayscale);
            encoder.set_depth(png::BitDepth::One);
            // An app may re-encode every step: `Fast` is ~7× quicker than the
            // default for a file still under 3 KB (S1 at 4 px per module).
            encoder.set_compression(png::Compression::Fast);
            let mut writer = encoder.write_header().map_err(png_error)?;
            // Stream one pixel row at a time: memory stays O(width) however
            // large `module_px` is.
            let mut stream = writer.stream_writer().map_err(png_error)?;
            let mut row = vec![0u8; side_px.div_ceil(8)];
            for my in 0..self.padded_size() {
                row.fill(0);
                for px in 0..side_px {
                    // In 1-bit greyscale a set bit is white: set it for light modules.
                    let mx = (px / module_px as usize) as u32;
                    if !self.is_dark_padded(mx, my)
                        && let Some(byte) = row.get_mut(px / 8)
                    {
                        *byte |= 0x80 >> (px % 8);
                    }
                }
                for _ in 0..module_px {
                    stream
                        .write_all(&row)
                        .map_err(|e| QrError::Png(e.to_string()))?;
                }
            }
            stream.finish().map_err(png_error)?;
            writer.finish().map_err(png_error)?;
        }
        Ok(out)
    }

    /// Renders the code as text for a terminal (CLI demo, logs of a kiosk),
    /// quiet zone included, two module rows per line with the half blocks
    /// `▀ ▄ █` and space; lines are joined by `\n` with no trailing newline.
    ///
    /// The image is inverted on purpose: a character cell draws light (the
    /// foreground) where a *light* module is, and leaves the background for dark
    /// modules. On the usual dark-background terminal that yields a correct
    /// dark-on-light code; drawing the dark modules as blocks would yield a
    /// negative that most scanners reject. Below the last module row (the
    /// height is odd) the cell is left unlit.
    pub fn to_terminal(&self) -> String {
        let total = self.padded_size();
        let lines = total.div_ceil(2);
        // Each block character is 3 bytes in UTF-8, plus one '\n' per line.
        let mut out = String::with_capacity((lines * (total * 3 + 1)) as usize);
        for line in 0..lines {
            if line > 0 {
                out.push('\n');
            }
            let top_y = line * 2;
            let bottom_y = top_y + 1;
            for x in 0..total {
                let top_lit = !self.is_dark_padded(x, top_y);
                let bottom_lit = bottom_y < total && !self.is_dark_padded(x, bottom_y);
                out.push(match (top_lit, bottom_lit) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
        }
        out
    }
}

/// Splits `data` into mode segments and packs them into the smallest version
/// that holds them; `None` if even version 40 is too small.
///
/// `qrcode`'s own segmentation (`encode_auto`) merges segments greedily and
/// can cut a digit run out of alphanumeric text at a loss: 61 characters with
/// a few decimal numbers came out as version 4 where one alphanumeric segment
/// fits version 3. So when the whole text is alphanumeric, a single segment
/// competes with the greedy result and the shorter bit stream wins. (For
/// base32 T1/S1 payloads the two agree; this guards other text.)
fn segment(data: &[u8]) -> Option<Bits> {
    // Our text is UTF-8, but qrcode's parser takes byte pairs that look like
    // Shift JIS (most of kana and CJK in UTF-8 do) for kanji mode, which
    // scanners then decode as Shift JIS: garbage. Those bytes go in byte mode.
    let parsed: Vec<Segment> = Parser::new(data)
        .map(|s| match s.mode {
            Mode::Kanji => Segment {
                mode: Mode::Byte,
                ..s
            },
            _ => s,
        })
        .collect();
    let all_alphanumeric = parsed
        .iter()
        .all(|s| matches!(s.mode, Mode::Numeric | Mode::Alphanumeric));
    // Character-count fields widen at versions 10 and 27, so bit lengths are
    // computed once per version range, at its largest version.
    for (first, last) in [(1, 9), (10, 26), (27, 40)] {
        let range = Version::Normal(last);
        let mut segments: Vec<Segment> = Optimizer::new(parsed.iter().copied(), range).collect();
        let mut len = total_encoded_len(&segments, range);
        if all_alphanumeric {
            let single = Segment {
                mode: Mode::Alphanumeric,
                begin: 0,
                end: data.len(),
            };
            if single.encoded_len(range) < len {
                len = single.encoded_len(range);
                segments.clear();
                segments.push(single);
            }
        }
        for version in first..=last {
            let mut bits = Bits::new(Version::Normal(version));
            if bits.max_len(ERROR_CORRECTION).ok()? >= len {
                bits.push_segments(data, segments.into_iter()).ok()?;
                bits.push_terminator(ERROR_CORRECTION).ok()?;
                return Some(bits);
            }
        }
    }
    None
}

// Flags of a laid-out module before masking: its colour, and whether the
// mask applies (data and error-correction modules) or not (function patterns).
const DARK: u8 = 1;
const MASKABLE: u8 = 2;

/// The eight data-mask patterns of ISO/IEC 18004 (§7.8.2), by pattern number;
/// each repeats every 6 columns and 12 rows, so one tile holds all of it.
const MASK_TILES: [[[bool; 6]; 12]; 8] = mask_tiles();

const fn mask_tiles() -> [[[bool; 6]; 12]; 8] {
    let mut tiles = [[[false; 6]; 12]; 8];
    let mut k = 0;
    while k < 8 {
        let mut y = 0;
        while y < 12 {
            let mut x = 0;
            while x < 6 {
                tiles[k][y][x] = match k {
                    0 => (x + y) % 2 == 0,
                    1 => y % 2 == 0,
                    2 => x % 3 == 0,
                    3 => (x + y) % 3 == 0,
                    4 => (y / 2 + x / 3) % 2 == 0,
                    5 => (x * y) % 2 + (x * y) % 3 == 0,
                    6 => ((x * y) % 2 + (x * y) % 3) % 2 == 0,
                    _ => ((x + y) % 2 + (x * y) % 3) % 2 == 0,
                };
                x += 1;
            }
            y += 1;
        }
        k += 1;
    }
    tiles
}

/// Lays out `bits` with error correction and the mask of lowest penalty;
/// returns the side and the row-major dark modules.
///
/// This is `QrCode::with_bits` with the masking done here. qrcode 0.14 tries
/// each mask on a cloned canvas and scores it with boxed closures and
/// bounds-wrapping lookups: 2 ms for a version-12 S1 code, against a 1 ms
/// budget for a whole frame. Here the unmasked layout is read once, each
/// mask is an XOR with a periodic tile plus the 15 format bits, and it is
/// scored on a flat grid; the best grid is the result.
fn draw(bits: Bits) -> Option<(u32, Vec<bool>)> {
    let (n, cells) = layout(bits)?;
    let mut best = vec![false; n * n];
    let mut trial = vec![false; n * n];
    let mut scratch = Vec::with_capacity(n * n);
    let mut best_score = u32::MAX;
    for mask in 0..MASK_TILES.len() {
        apply_mask(&cells, n, mask, &mut trial);
        let score = penalty(&trial, n, &mut scratch).iter().sum();
        if score < best_score {
            best_score = score;
            std::mem::swap(&mut best, &mut trial);
        }
    }
    Some((u32::try_from(n).ok()?, best))
}

/// Places function patterns, data and error-correction codewords (qrcode's
/// canvas); returns the side and the unmasked modules as `DARK | MASKABLE`
/// flags, row-major.
fn layout(bits: Bits) -> Option<(usize, Vec<u8>)> {
    let version = bits.version();
    let width = version.width();
    let n = usize::try_from(width).ok()?;
    let (data, ec) = construct_codewords(&bits.into_bytes(), version, ERROR_CORRECTION).ok()?;
    let mut canvas = Canvas::new(version, ERROR_CORRECTION);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&data, &ec);
    let mut cells = Vec::with_capacity(n * n);
    for y in 0..width {
        for x in 0..width {
            cells.push(match canvas.get(x, y) {
                // Function patterns, including the reserved format area.
                Module::Masked(c) => u8::from(c == Color::Dark),
                Module::Unmasked(c) => MASKABLE | u8::from(c == Color::Dark),
                Module::Empty => MASKABLE,
            });
        }
    }
    Some((n, cells))
}

/// Writes into `out` the symbol of `cells` under data mask `mask` (0–7),
/// with the format information that names it.
fn apply_mask(cells: &[u8], n: usize, mask: usize, out: &mut [bool]) {
    let Some(tiles) = MASK_TILES.get(mask) else {
        return;
    };
    for (y, (out_row, row)) in out
        .chunks_exact_mut(n)
        .zip(cells.chunks_exact(n))
        .enumerate()
    {
        let tile_row = &tiles[y % 12];
        for ((o, &c), &m) in out_row.iter_mut().zip(row).zip(tile_row.iter().cycle()) {
            *o = (c & DARK != 0) ^ ((c & MASKABLE != 0) & m);
        }
    }
    let format = format_bits(mask);
    for i in 0..15 {
        let dark = format >> i & 1 == 1;
        for (x, y) in format_positions(n, i) {
            if let Some(o) = out.get_mut(y * n + x) {
                *o = dark;
            }
        }
    }
}

/// The 15-bit format information (ISO/IEC 18004 §7.9): error-correction
/// level and mask number, BCH(15,5)-protected and XOR-ed with 0x5412.
fn format_bits(mask: usize) -> u16 {
    let level: u16 = match ERROR_CORRECTION {
        EcLevel::L => 0b01,
        EcLevel::M => 0b00,
        EcLevel::Q => 0b11,
        EcLevel::H => 0b10,
    };
    let data = level << 3 | (mask as u16 & 0b111);
    let mut rem = data;
    for _ in 0..10 {
        rem = (rem << 1) ^ ((rem >> 9) * 0x537);
    }
    (data << 10 | (rem & 0x3FF)) ^ 0x5412
}

/// Where bit `i` (0 = least significant) of the format information goes:
/// once around the top-left finder, once split between the other two.
fn format_positions(n: usize, i: usize) -> [(usize, usize); 2] {
    let first = match i {
        0..=5 => (8, i),
        6 => (8, 7),
        7 => (8, 8),
        8 => (7, 8),
        _ => (14 - i, 8),
    };
    let second = if i < 8 {
        (n - 1 - i, 8)
    } else {
        (8, n - 15 + i)
    };
    [first, second]
}

/// Largest QR code side (version 40), in modules.
const MAX_SIDE: usize = MAX_MODULES_PER_SIDE as usize;

/// Mask penalty of ISO/IEC 18004:2015 §7.8.3.1 for an `n`×`n` row-major grid,
/// as `[N1 runs, N2 blocks, N3 finder-like, N4 balance]`. `scratch` holds the
/// transposed grid (reused across masks).
fn penalty(grid: &[bool], n: usize, scratch: &mut Vec<bool>) -> [u32; 4] {
    // Columns: scan the rows top to bottom, one lane per column.
    let (col_runs, col_finders) = lanes_penalty(grid.chunks_exact(n), n);
    // Rows: the same on the transposed grid.
    scratch.clear();
    for x in 0..n {
        scratch.extend(grid.iter().skip(x).step_by(n));
    }
    let (row_runs, row_finders) = lanes_penalty(scratch.chunks_exact(n), n);
    let mut blocks = 0;
    for (upper, lower) in grid.chunks_exact(n).zip(grid.chunks_exact(n).skip(1)) {
        for (u, l) in upper.windows(2).zip(lower.windows(2)) {
            if let ([a, b], [c, d]) = (u, l) {
                blocks += 3 * u32::from((a == b) & (b == c) & (c == d));
            }
        }
    }
    let total = grid.len().max(1);
    let dark = grid.iter().filter(|&&d| d).count();
    // Each full 5 % step away from half dark costs 10.
    let steps = (20 * dark).abs_diff(10 * total) / total;
    let balance = u32::try_from(steps * 10).unwrap_or(u32::MAX);
    [
        col_runs + row_runs,
        blocks,
        col_finders + row_finders,
        balance,
    ]
}

/// Penalties N1 (runs of five or more) and N3 (1:1:3:1:1 finder look-alikes
/// with four light modules on one side, counted once even if light on both)
/// along `n` parallel lines (lanes), fed one cross-section at a time; modules
/// beyond the ends are light, as the quiet zone is.
///
/// Module colours are close to random, so there are no data-dependent
/// branches (bool arithmetic instead of `if`; mispredictions tripled the
/// time), and the lanes are independent, so the compiler vectorises across
/// them.
fn lanes_penalty<'a>(sections: impl Iterator<Item = &'a [bool]>, n: usize) -> (u32, u32) {
    let n = n.min(MAX_SIDE);
    let mut run = [0u16; MAX_SIDE];
    let mut last = [2u16; MAX_SIDE]; // neither light (0) nor dark (1)
    let mut history = [0u16; MAX_SIDE];
    let mut runs = [0u16; MAX_SIDE];
    let mut finders = [0u16; MAX_SIDE];
    let (run, last, history) = (&mut run[..n], &mut last[..n], &mut history[..n]);
    let (runs, finders) = (&mut runs[..n], &mut finders[..n]);
    for section in sections {
        for i in 0..section.len().min(n) {
            let dark = u16::from(section[i]);
            run[i] = run[i] * u16::from(dark == last[i]) + 1;
            last[i] = dark;
            runs[i] += 3 * u16::from(run[i] == 5) + u16::from(run[i] > 5);
            finders[i] += finder_step(&mut history[i], dark);
        }
    }
    // The quiet zone after the lines can complete a look-alike.
    for _ in 0..4 {
        for i in 0..n {
            finders[i] += finder_step(&mut history[i], 0);
        }
    }
    let total = |v: &[u16]| v.iter().map(|&x| u32::from(x)).sum::<u32>();
    (total(runs), 40 * total(finders))
}

/// Pushes one module (1 = dark) into `history` (bit i = the module i places
/// back, 15 kept) and returns 1 if it completes a finder look-alike.
fn finder_step(history: &mut u16, dark: u16) -> u16 {
    // Dark-light-dark-dark-dark-light-dark, the same read either way.
    const CORE: u16 = 0b101_1101;
    const WINDOW: u16 = 0x7FF;
    let h = (*history << 1 | dark) & 0x7FFF;
    *history = h;
    // Four light, then a core ending here.
    let light_before = h & WINDOW == CORE;
    // A core ending four places back, then four light; skipped if that core
    // also had four light before it (already counted when it ended).
    let light_after = (h & WINDOW == CORE << 4) & (h & 0x7800 != 0);
    u16::from(light_before | light_after)
}

/// Largest PNG side [`QrMatrix::to_png`] draws, in pixels.
const MAX_PNG_SIDE: u32 = 16_384;

fn png_error(e: png::EncodingError) -> QrError {
    QrError::Png(e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use qrcode::QrCode;
    use qrcode::canvas::MaskPattern;

    /// 61 alphanumeric characters with decimal runs (not a real T1 payload,
    /// which is base32): exactly fills version 3-M as one segment.
    const MIXED_61: &str = "T1:0123456789ABCDEF:4F2KQ7XZ:29581744:123456:ABCDEFGHIJKLMNOP";

    fn s1() -> String {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut s = String::from("S1:");
        for i in 0..397usize {
            s.push(char::from(alphabet[(i * 7 + i / 3) % 32]));
        }
        s
    }

    #[test]
    fn size_matches_version() {
        for text in [
            MIXED_61.to_string(),
            s1(),
            "hello".to_string(),
            String::new(),
        ] {
            let m = QrMatrix::encode(&text).unwrap();
            let version = (m.size() - 17) / 4;
            assert_eq!(m.size(), 17 + 4 * version, "size is 17 + 4 × version");
            assert!((1..=40).contains(&version));
            assert_eq!(m.modules().len(), (m.size() * m.size()) as usize);
            // Never larger than what qrcode's own segmentation picks.
            let auto =
                QrCode::with_error_correction_level(text.as_bytes(), ERROR_CORRECTION).unwrap();
            assert!(m.size() as usize <= auto.width(), "{text}");
        }
        assert_eq!(QrMatrix::encode("A").unwrap().size(), 21);
        assert_eq!(QrMatrix::encode(&s1()).unwrap().size(), 65);
    }

    #[test]
    fn alphanumeric_text_stays_one_segment_when_shorter() {
        // 61 alphanumeric characters fill version 3-M exactly (ISO/IEC 18004
        // capacity table); qrcode's greedy split of the digit runs needs v4.
        assert_eq!(MIXED_61.len(), 61);
        let auto =
            QrCode::with_error_correction_level(MIXED_61.as_bytes(), ERROR_CORRECTION).unwrap();
        assert_eq!(auto.width(), 33);
        assert_eq!(QrMatrix::encode(MIXED_61).unwrap().size(), 29);
        // Byte-mode and mixed texts still get qrcode's segmentation.
        let lower = QrMatrix::encode("tessera://ticket/0123456789012345678901234567890").unwrap();
        let auto = QrCode::with_error_correction_level(
            "tessera://ticket/0123456789012345678901234567890".as_bytes(),
            ERROR_CORRECTION,
        )
        .unwrap();
        assert_eq!(lower.size() as usize, auto.width());
    }

    #[test]
    fn capacity_boundaries_at_level_m() {
        // ISO/IEC 18004 alphanumeric capacities at level M: v3 61, v12 419, v40 3391.
        assert_eq!(QrMatrix::encode(&"A".repeat(61)).unwrap().size(), 29);
        assert_eq!(QrMatrix::encode(&"A".repeat(62)).unwrap().size(), 33);
        assert_eq!(QrMatrix::encode(&"A".repeat(419)).unwrap().size(), 65);
        assert_eq!(QrMatrix::encode(&"A".repeat(420)).unwrap().size(), 69);
        assert_eq!(QrMatrix::encode(&"A".repeat(3391)).unwrap().size(), 177);
        assert_eq!(
            QrMatrix::encode(&"A".repeat(3392)),
            Err(QrError::TooLong { len: 3392 })
        );
    }

    #[test]
    fn finder_pattern_in_corners() {
        let m = QrMatrix::encode(MIXED_61).unwrap();
        let n = m.size();
        for (ox, oy) in [(0, 0), (n - 7, 0), (0, n - 7)] {
            // Outer ring dark, ring inside it light, 3×3 centre dark.
            assert!(m.is_dark(ox, oy) && m.is_dark(ox + 6, oy + 6));
            assert!(!m.is_dark(ox + 1, oy + 1) && !m.is_dark(ox + 5, oy + 1));
            assert!(m.is_dark(ox + 3, oy + 3));
        }
        // Separator next to the top-left finder is light.
        assert!(!m.is_dark(7, 0) && !m.is_dark(0, 7));
    }

    #[test]
    fn is_dark_false_outside() {
        let m = QrMatrix::encode("A").unwrap();
        let n = m.size();
        assert!(m.is_dark(0, 0));
        assert!(m.is_dark(n - 1, 0));
        assert!(!m.is_dark(n, 0));
        assert!(!m.is_dark(0, n));
        assert!(!m.is_dark(u32::MAX, u32::MAX));
        assert_eq!(m.modules()[0], m.is_dark(0, 0));
        let (x, y) = (5u32, 9u32);
        assert_eq!(m.modules()[(y * n + x) as usize], m.is_dark(x, y));
    }

    #[test]
    fn huge_input_is_too_long() {
        let text = "A".repeat(10_000);
        assert_eq!(
            QrMatrix::encode(&text),
            Err(QrError::TooLong { len: 10_000 })
        );
        let bytes = "é".repeat(2_000); // 4 000 UTF-8 bytes, byte mode
        assert_eq!(
            QrMatrix::encode(&bytes),
            Err(QrError::TooLong { len: 4_000 })
        );
    }

    #[test]
    fn non_ascii_text_encodes() {
        let m = QrMatrix::encode("Tessera — Théâtre 🎭 row 3").unwrap();
        assert!(m.size() >= 21);
        assert!(QrMatrix::encode("").is_ok());
    }

    #[test]
    fn utf8_is_never_put_in_kanji_mode() {
        // "チケット" in UTF-8 parses as Shift JIS kanji pairs in qrcode; a
        // scanner would then show Shift JIS characters, not the text.
        let text = "チケット：東京ドーム 3塁側 12列";
        let in_qrcode: Vec<Segment> = Parser::new(text.as_bytes()).collect();
        assert!(in_qrcode.iter().any(|s| s.mode == Mode::Kanji));
        let bits = segment(text.as_bytes()).unwrap();
        // Byte mode is the only mode that fits the data bytes of a segment
        // in 8 bits each: decode the mode indicator and count.
        let bytes = bits.into_bytes();
        assert_eq!(bytes[0] >> 4, 0b0100, "one byte-mode segment first");
        assert_eq!(
            usize::from(bytes[0] & 0x0F) << 4 | usize::from(bytes[1] >> 4),
            text.len()
        );
    }

    #[test]
    fn svg_shape() {
        let m = QrMatrix::encode(MIXED_61).unwrap();
        let total = m.size() + 2 * QrMatrix::QUIET_ZONE;
        let svg = m.to_svg(10);
        assert!(svg.starts_with("<svg "));
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains(&format!("viewBox=\"0 0 {total} {total}\"")));
        assert!(svg.contains(&format!("width=\"{}\"", total * 10)));
        assert!(svg.contains("shape-rendering=\"crispEdges\""));
        assert_eq!(svg.matches("<path").count(), 1);
        // The top-left finder's first row is one 7-module run at the quiet zone offset.
        assert!(svg.contains("d=\"M4 4h7v1h-7z"));
        // Dark area in the path equals the number of dark modules.
        let dark = m.modules().iter().filter(|&&d| d).count() as u32;
        let area: u32 = svg
            .split('h')
            .skip(1)
            .filter_map(|s| s.split('v').next()?.parse::<u32>().ok())
            .sum();
        assert_eq!(area, dark);
        // module_px 0 is treated as 1.
        assert!(m.to_svg(0).contains(&format!("width=\"{total}\"")));
    }

    #[test]
    fn terminal_shape() {
        let m = QrMatrix::encode(MIXED_61).unwrap();
        let total = (m.size() + 2 * QrMatrix::QUIET_ZONE) as usize;
        let text = m.to_terminal();
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(lines.len(), total.div_ceil(2));
        assert!(!text.ends_with('\n'));
        for line in &lines {
            assert_eq!(line.chars().count(), total);
            assert!(line.chars().all(|c| matches!(c, '▀' | '▄' | '█' | ' ')));
        }
        // Quiet zone is lit: first two lines are full blocks.
        assert!(lines[0].chars().all(|c| c == '█'));
        assert!(lines[1].chars().all(|c| c == '█'));
        // Odd height: the last line's lower half is outside the image, unlit.
        assert!(lines[lines.len() - 1].chars().all(|c| c == '▀'));
        // Inverted: line 2 holds module rows 0 and 1; the finder's left column
        // is dark in both, so that cell is unlit, next to the lit quiet zone.
        let line2: Vec<char> = lines[2].chars().collect();
        assert_eq!(line2[3], '█'); // quiet zone column
        assert_eq!(line2[4], ' '); // finder: dark rows 0 and 1
    }

    #[test]
    fn penalty_matches_qrcode_reference_values() {
        // The canvas of qrcode's own penalty tests (version 1-Q, checkerboard
        // mask), whose N1 = 88 + 92, N2 = 90 and N3 = 0 + 40 are known. qrcode
        // leaves out the 18 matches (9 per direction) that the three real finder
        // patterns always produce; they are the same for every mask, so
        // counting them, as the standard's rule does, changes no choice.
        let mut c = Canvas::new(Version::Normal(1), EcLevel::Q);
        c.draw_all_functional_patterns();
        c.draw_data(
            b"\x20\x5b\x0b\x78\xd1\x72\xdc\x4d\x43\x40\xec\x11\x00",
            b"\xa8\x48\x16\x52\xd9\x36\x9c\x00\x2e\x0f\xb4\x7a\x10",
        );
        c.apply_mask(MaskPattern::Checkerboard);
        let grid: Vec<bool> = c
            .into_colors()
            .into_iter()
            .map(|m| m == Color::Dark)
            .collect();
        let dark = grid.iter().filter(|&&d| d).count();
        let [n1, n2, n3, n4] = penalty(&grid, 21, &mut Vec::new());
        assert_eq!((n1, n2, n3), (88 + 92, 90, 40 + 18 * 40));
        // N4 by hand: 10 points per full 5 % away from 50 % dark.
        let percent = dark as f64 * 100.0 / 441.0;
        assert_eq!(n4, ((percent - 50.0).abs() / 5.0).floor() as u32 * 10);
    }

    #[test]
    fn lanes_penalty_counts_runs_and_finder_lookalikes() {
        let line = |s: &str| s.chars().map(|c| c == '#').collect::<Vec<bool>>();
        let l = line("#####.......");
        assert_eq!(lanes_penalty(l.chunks(1), 1), (3 + 5, 0));
        // Finder look-alike with the quiet zone (outside = light) on its left.
        let l = line("#.###.#.#.#.");
        assert_eq!(lanes_penalty(l.chunks(1), 1), (0, 40));
        // Same core but dark modules on both sides within four: no penalty.
        let l = line("##.#.###.#.#");
        assert_eq!(lanes_penalty(l.chunks(1), 1), (0, 0));
        // Light on both sides counts once; the end of the line is quiet zone.
        let l = line("....#.###.#....");
        assert_eq!(lanes_penalty(l.chunks(1), 1), (0, 40));
        let l = line("#.#.###.#");
        assert_eq!(lanes_penalty(l.chunks(1), 1), (0, 40));
    }

    /// qrcode's own masking (`Canvas::apply_mask`), in pattern-number order.
    const QRCODE_MASKS: [MaskPattern; 8] = [
        MaskPattern::Checkerboard,
        MaskPattern::HorizontalLines,
        MaskPattern::VerticalLines,
        MaskPattern::DiagonalLines,
        MaskPattern::LargeCheckerboard,
        MaskPattern::Fields,
        MaskPattern::Diamonds,
        MaskPattern::Meadow,
    ];

    fn bits_for_version(version: i16) -> Bits {
        let mut bits = Bits::new(Version::Normal(version));
        let text: String = s1()
            .chars()
            .cycle()
            .take(usize::from(version.unsigned_abs()) * 15)
            .collect();
        bits.push_alphanumeric_data(text.as_bytes()).unwrap();
        bits.push_terminator(ERROR_CORRECTION).unwrap();
        bits
    }

    #[test]
    fn masking_matches_qrcode_for_every_mask() {
        // Every version: version information from 7, alignment patterns from 2.
        for version in 1..=40 {
            let v = Version::Normal(version);
            let (data, ec) =
                construct_codewords(&bits_for_version(version).into_bytes(), v, ERROR_CORRECTION)
                    .unwrap();
            let (n, cells) = layout(bits_for_version(version)).unwrap();
            let mut mine = vec![false; n * n];
            for (mask, pattern) in QRCODE_MASKS.into_iter().enumerate() {
                let mut c = Canvas::new(v, ERROR_CORRECTION);
                c.draw_all_functional_patterns();
                c.draw_data(&data, &ec);
                c.apply_mask(pattern);
                let theirs: Vec<bool> = c
                    .into_colors()
                    .into_iter()
                    .map(|m| m == Color::Dark)
                    .collect();
                apply_mask(&cells, n, mask, &mut mine);
                assert!(mine == theirs, "version {version}, mask {mask}");
            }
        }
    }

    #[test]
    fn format_bits_match_the_standard_table() {
        // ISO/IEC 18004 Table C.1, level M (indicator 00), masks 0–7.
        let table = [
            0x5412, 0x5125, 0x5E7C, 0x5B4B, 0x45F9, 0x40CE, 0x4F97, 0x4AA0,
        ];
        for (mask, &expected) in table.iter().enumerate() {
            assert_eq!(format_bits(mask), expected, "mask {mask}");
        }
    }

    /// The penalty rules written the plain way, one line at a time with
    /// branches, to check the lane-parallel version against.
    fn naive_penalty(grid: &[bool], n: usize) -> [u32; 4] {
        let at = |x: usize, y: usize| grid[y * n + x];
        let lines: Vec<Vec<bool>> = (0..n)
            .map(|y| (0..n).map(|x| at(x, y)).collect())
            .chain((0..n).map(|x| (0..n).map(|y| at(x, y)).collect()))
            .collect();
        let (mut runs, mut finders) = (0, 0);
        for line in &lines {
            let mut k = 0;
            while k < n {
                let start = k;
                while k < n && line[k] == line[start] {
                    k += 1;
                }
                if k - start >= 5 {
                    runs += 3 + (k - start - 5) as u32;
                }
            }
            let light = |k: isize| k < 0 || k >= n as isize || !line[k as usize];
            let core = [true, false, true, true, true, false, true];
            for j in 0..=(n - 7) {
                if (0..7).all(|i| line[j + i] == core[i]) {
                    let j = j as isize;
                    if (j - 4..j).all(light) || (j + 7..j + 11).all(light) {
                        finders += 40;
                    }
                }
            }
        }
        let mut blocks = 0;
        for y in 1..n {
            for x in 1..n {
                let d = at(x, y);
                if at(x - 1, y) == d && at(x, y - 1) == d && at(x - 1, y - 1) == d {
                    blocks += 3;
                }
            }
        }
        let dark = grid.iter().filter(|&&d| d).count() as f64;
        let percent = dark * 100.0 / (n * n) as f64;
        let balance = ((percent - 50.0).abs() / 5.0).floor() as u32 * 10;
        [runs, blocks, finders, balance]
    }

    #[test]
    fn penalty_matches_naive_rules() {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for n in [21usize, 25, 65, 177] {
            for bias in [2u64, 3, 5] {
                // Random grids with 1/2, 1/3 and 1/5 dark modules: long runs,
                // blocks, look-alikes and imbalance all occur.
                let grid: Vec<bool> = (0..n * n).map(|_| next() % bias == 0).collect();
                assert_eq!(
                    penalty(&grid, n, &mut Vec::new()),
                    naive_penalty(&grid, n),
                    "n={n}"
                );
            }
            // And real codes.
            let text: String = s1().chars().cycle().take(n * 4).collect();
            if let Ok(m) = QrMatrix::encode(&text) {
                let side = m.size() as usize;
                assert_eq!(
                    penalty(m.modules(), side, &mut Vec::new()),
                    naive_penalty(m.modules(), side)
                );
            }
        }
    }

    #[test]
    fn chosen_mask_has_lowest_penalty() {
        let text = s1();
        let m = QrMatrix::encode(&text).unwrap();
        let n = m.size() as usize;
        let chosen: u32 = penalty(m.modules(), n, &mut Vec::new()).iter().sum();
        let (_, cells) = layout(segment(text.as_bytes()).unwrap()).unwrap();
        let mut grid = vec![false; n * n];
        let mut found = false;
        for mask in 0..8 {
            apply_mask(&cells, n, mask, &mut grid);
            assert!(penalty(&grid, n, &mut Vec::new()).iter().sum::<u32>() >= chosen);
            found |= grid == m.modules();
        }
        assert!(found, "the matrix is one of the eight masked layouts");
    }

    #[test]
    fn png_signature_and_zero_px() {
        let m = QrMatrix::encode(MIXED_61).unwrap();
        let png1 = m.to_png(0).unwrap();
        assert_eq!(&png1[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(png1, m.to_png(1).unwrap());
        assert!(matches!(m.to_png(u32::MAX), Err(QrError::Png(_))));
    }

    #[test]
    fn module_bytes_round_trip_and_hostile_sizes_stay_bounded() {
        let m = QrMatrix::encode("T1:ABC").unwrap();
        let bytes: Vec<u8> = m.modules().iter().map(|&d| u8::from(d)).collect();
        assert_eq!(QrMatrix::from_module_bytes(m.size(), &bytes), m);
        // A size no QR code has, with too few modules: cut to version 40, missing light.
        let huge = QrMatrix::from_module_bytes(u32::MAX, &[1, 1]);
        assert_eq!(huge.size(), MAX_MODULES_PER_SIDE);
        assert_eq!(huge.modules().len(), 177 * 177);
        assert!(huge.is_dark(1, 0) && !huge.is_dark(2, 0));
        assert_eq!(QrMatrix::from_module_bytes(0, &[1]).modules().len(), 0);
    }
}
