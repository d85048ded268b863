//! Renders payload strings with the project's QR renderer, for the decode test
//! (`tests/qr_decode/`, docs/QR.md "Decode sizes"). Two modes, both reading standard input:
//!
//! ```text
//! cargo run -q -p tessera-core --example qr_png -- png DIR MODULE_PX   < label<TAB>payload lines
//! cargo run -q -p tessera-core --example qr_png -- s1                  < S1 vector JSON, one per line
//! ```
//!
//! `png` writes `DIR/<label>.png` = `QrMatrix::encode(payload).to_png(MODULE_PX)` for each
//! line and prints one JSON line per payload: label, characters, modules a side (without
//! the quiet zone), QR version, the PNG's path, and which format `Code::parse` reads the
//! payload as (`null` when it does not parse: any text can still be rendered).
//!
//! `s1` reads objects shaped like the vectors of `tests/vectors/s1.json` (seeds, credential
//! fields, `unix_time`, `release_secret_hex`) and prints each one's S1 payload, drawn with
//! `S1Code::generate` after checking the issuer signature, the device signature, the
//! release MAC and that the payload parses back. The decode test uses it for the longest S1
//! frame (strict-JIT MAC and a 64-byte seat), which no vector holds.

use std::error::Error;
use std::io::{BufRead, Write};
use std::path::PathBuf;

use ring::signature::Ed25519KeyPair;
use serde_json::{Value, json};
use tessera_core::code::s1::{Credential, S1Code, public_key};
use tessera_core::code::{Code, step_at};
use tessera_core::qr::QrMatrix;
use tessera_core::{EventId, TicketId};

type Res<T> = Result<T, Box<dyn Error>>;

const USAGE: &str = "usage: qr_png png DIR MODULE_PX < label<TAB>payload lines\n       qr_png s1 < S1 vector JSON lines";

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["png", dir, module_px] => png(PathBuf::from(dir), module_px.parse()?),
        ["s1"] => s1(),
        _ => Err(USAGE.into()),
    }
}

/// A label becomes a file name: keep it to a safe alphabet.
fn check_label(label: &str) -> Res<()> {
    let ok = !label.is_empty()
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!("label {label:?}: use letters, digits, '.', '_' or '-'").into())
    }
}

fn png(dir: PathBuf, module_px: u32) -> Res<()> {
    std::fs::create_dir_all(&dir)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        let (label, payload) = line
            .split_once('\t')
            .ok_or_else(|| format!("no tab in line {line:?}"))?;
        check_label(label)?;
        let matrix = QrMatrix::encode(payload)?;
        let path = dir.join(format!("{label}.png"));
        std::fs::write(&path, matrix.to_png(module_px)?)?;
        // "T1(T1Code { .. })" -> "T1": the variant's name, whatever formats `Code` has.
        let parsed = Code::parse(payload).ok().map(|code| {
            let debug = format!("{code:?}");
            debug.split('(').next().unwrap_or_default().to_owned()
        });
        let size = matrix.size();
        let row = json!({
            "label": label,
            "chars": payload.chars().count(),
            "bytes": payload.len(),
            "modules": size,
            "version": (size - 17) / 4,
            "quiet_zone": QrMatrix::QUIET_ZONE,
            "module_px": module_px,
            "png": path.display().to_string(),
            "parses_as": parsed,
        });
        writeln!(out, "{row}")?;
    }
    Ok(())
}

fn field<'a>(v: &'a Value, key: &str) -> Res<&'a Value> {
    v.get(key).ok_or_else(|| format!("missing {key}").into())
}

fn int(v: &Value, key: &str) -> Res<i64> {
    field(v, key)?
        .as_i64()
        .ok_or_else(|| format!("{key}: not an integer").into())
}

fn uint(v: &Value, key: &str) -> Res<u64> {
    field(v, key)?
        .as_u64()
        .ok_or_else(|| format!("{key}: not an unsigned integer").into())
}

fn flag(v: &Value, key: &str) -> Res<bool> {
    field(v, key)?
        .as_bool()
        .ok_or_else(|| format!("{key}: not a boolean").into())
}

fn text<'a>(v: &'a Value, key: &str) -> Res<&'a str> {
    field(v, key)?
        .as_str()
        .ok_or_else(|| format!("{key}: not a string").into())
}

fn bytes(v: &Value, key: &str) -> Res<Vec<u8>> {
    Ok(hex::decode(text(v, key)?)?)
}

fn s1_payload(v: &Value) -> Res<String> {
    let issuer = Ed25519KeyPair::from_seed_unchecked(&bytes(v, "issuer_seed_hex")?)
        .map_err(|e| e.to_string())?;
    let device = Ed25519KeyPair::from_seed_unchecked(&bytes(v, "device_seed_hex")?)
        .map_err(|e| e.to_string())?;
    let ticket: [u8; 16] = bytes(v, "ticket_id_hex")?
        .try_into()
        .map_err(|_| "ticket_id_hex: not 16 bytes")?;
    let period = u8::try_from(uint(v, "period")?)?;
    let credential = Credential {
        key_id: u32::try_from(uint(v, "key_id")?)?,
        ticket: TicketId(ticket),
        event: EventId(uint(v, "event_id")?),
        reveal_opens_at: int(v, "reveal_opens_at")?,
        valid_until: int(v, "valid_until")?,
        period_secs: period,
        strict_jit: flag(v, "strict_jit")?,
        reentry: flag(v, "reentry")?,
        personalised: flag(v, "personalised")?,
        device_public_key: public_key(&device),
        seat: text(v, "seat")?.to_owned(),
    };
    let signed = credential.sign(&issuer)?;
    if !signed.verify(&public_key(&issuer)) {
        return Err("issuer signature does not verify".into());
    }
    let release_secret = match field(v, "release_secret_hex")? {
        Value::Null => None,
        _ => Some(bytes(v, "release_secret_hex")?),
    };
    if credential.strict_jit != release_secret.is_some() {
        return Err("a strict-JIT credential needs a release secret, and only it".into());
    }
    let step = step_at(int(v, "unix_time")?.saturating_mul(1000), period);
    let code = S1Code::generate(&signed, &device, step, release_secret.as_deref());
    if !code.verify_device() {
        return Err("device signature does not verify".into());
    }
    let payload = code.encode();
    if Code::parse(&payload)? != Code::S1(Box::new(code)) {
        return Err("payload does not parse back".into());
    }
    Ok(payload)
}

fn s1() -> Res<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&line)?;
        writeln!(out, "{}", s1_payload(&v)?)?;
    }
    Ok(())
}
