//! Writes the rotating-code test vectors `tests/vectors/t1.json`, `tests/vectors/s1.json`
//! and `tests/vectors/c1.json` (docs/PROTOCOL.md §11) from fixed inputs, through the
//! public `tessera_core::code` API.
//!
//! Deterministic: every seed, key and time is fixed, and Ed25519 signatures are deterministic,
//! so running it again gives byte-identical files. Run from anywhere in the workspace:
//!
//! ```text
//! cargo run -p tessera-core --example gen_vectors
//! ```
//!
//! `core/tests/vectors.rs` (Rust) and `tests/vectors/test_vectors.py` (an independent
//! Python implementation) check the files.

use std::error::Error;
use std::path::PathBuf;

use ring::digest::{SHA256, digest};
use ring::signature::Ed25519KeyPair;
use serde_json::{Value, json};
use tessera_core::code::c1::{C1Code, reference_of};
use tessera_core::code::release::release_mac;
use tessera_core::code::s1::{Credential, S1Code, SignedCredential, public_key};
use tessera_core::code::t1::{T1Code, T1Params};
use tessera_core::code::totp::format_code;
use tessera_core::code::{Code, step_at};
use tessera_core::{EventId, TicketId, TotpAlgorithm};

type Res<T> = Result<T, Box<dyn Error>>;

/// RFC 6238 Appendix B seeds: ASCII "1234567890" repeated to the hash's output length.
const RFC_SEED_SHA1: &[u8] = b"12345678901234567890";
const RFC_SEED_SHA256: &[u8] = b"12345678901234567890123456789012";
const RFC_SEED_SHA512: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";
/// RFC 6238 Appendix B times (Unix seconds).
const RFC_TIMES: [i64; 6] = [
    59,
    1_111_111_109,
    1_111_111_111,
    1_234_567_890,
    2_000_000_000,
    20_000_000_000,
];

/// `len` reproducible pseudo-random bytes named by `label` (SHA-256 in counter mode).
fn fixed_bytes(label: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut counter: u8 = 0;
    while out.len() < len {
        let mut m = label.as_bytes().to_vec();
        m.push(counter);
        out.extend_from_slice(digest(&SHA256, &m).as_ref());
        counter = counter.wrapping_add(1);
    }
    out.truncate(len);
    out
}

fn ticket_id(label: &str) -> TicketId {
    let mut b = [0u8; 16];
    b.copy_from_slice(&fixed_bytes(label, 16));
    TicketId(b)
}

fn hex_opt(b: Option<&[u8]>) -> Value {
    b.map_or(Value::Null, |b| Value::String(hex::encode(b)))
}

/// One T1 vector: inputs, the code drawn at `unix_time`, and its payload.
struct T1Case<'a> {
    name: &'a str,
    algorithm: TotpAlgorithm,
    digits: u8,
    period: u8,
    ticket: TicketId,
    event: u64,
    seed: &'a [u8],
    event_seed: Option<&'a [u8]>,
    release_secret: Option<&'a [u8]>,
    unix_time: i64,
}

fn t1_vector(c: &T1Case<'_>) -> Res<Value> {
    let p = T1Params {
        algorithm: c.algorithm,
        digits: c.digits,
        period_secs: c.period,
        ticket: c.ticket,
        event: EventId(c.event),
        ticket_seed: c.seed,
        event_seed: c.event_seed,
        release_secret: c.release_secret,
    };
    let step = step_at(c.unix_time.saturating_mul(1000), c.period);
    let code = T1Code::generate(&p, step);
    let payload = code.encode();
    // The generator must produce what the parser accepts.
    if Code::parse(&payload)? != Code::T1(code.clone()) {
        return Err(format!("{}: payload does not parse back", c.name).into());
    }
    let body = code.to_bytes();
    Ok(json!({
        "name": c.name,
        "algorithm": c.algorithm.name(),
        "digits": c.digits,
        "period": c.period,
        "seed_hex": hex::encode(c.seed),
        "ticket_id_hex": hex::encode(c.ticket.as_bytes()),
        "event_id": c.event,
        "unix_time": c.unix_time,
        "step": step,
        "totp": format_code(code.ticket_code, c.digits),
        "event_seed_hex": hex_opt(c.event_seed),
        "event_totp": code.event_code.map(|v| format_code(v, c.digits)),
        "release_secret_hex": hex_opt(c.release_secret),
        "release_mac_hex": hex_opt(code.release_mac.as_ref().map(|m| &m[..])),
        "flags": body[1],
        "body_len": body.len(),
        "body_hex": hex::encode(&body),
        "payload": payload,
    }))
}

fn t1_vectors() -> Res<Value> {
    let mut out = Vec::new();
    // RFC 6238 Appendix B: 8 digits, 30 s, T0 = 0; three hashes × six times.
    let rfc_ticket = ticket_id("tessera/vectors/t1/rfc6238/ticket");
    for (algorithm, seed) in [
        (TotpAlgorithm::Sha1, RFC_SEED_SHA1),
        (TotpAlgorithm::Sha256, RFC_SEED_SHA256),
        (TotpAlgorithm::Sha512, RFC_SEED_SHA512),
    ] {
        for t in RFC_TIMES {
            let name = format!("rfc6238-{}-{t}", algorithm.name());
            out.push(t1_vector(&T1Case {
                name: &name,
                algorithm,
                digits: 8,
                period: 30,
                ticket: rfc_ticket,
                event: 6238,
                seed,
                event_seed: None,
                release_secret: None,
                unix_time: t,
            })?);
        }
    }

    // Tessera-style codes: short periods, per-event seeds, strict just-in-time.
    let seed20 = fixed_bytes("tessera/vectors/t1/ticket-seed/20", 20);
    let seed32 = fixed_bytes("tessera/vectors/t1/ticket-seed/32", 32);
    let seed64 = fixed_bytes("tessera/vectors/t1/ticket-seed/64", 64);
    let event_seed = fixed_bytes("tessera/vectors/t1/event-seed", 20);
    let event_seed32 = fixed_bytes("tessera/vectors/t1/event-seed/32", 32);
    let release = fixed_bytes("tessera/vectors/t1/release-secret", 32);
    let ticket_a = ticket_id("tessera/vectors/t1/ticket/a");
    let ticket_b = ticket_id("tessera/vectors/t1/ticket/b");
    let ticket_c = ticket_id("tessera/vectors/t1/ticket/c");
    let base = |name, algorithm, digits, seed, unix_time| T1Case {
        name,
        algorithm,
        digits,
        period: 15,
        ticket: ticket_a,
        event: 1001,
        seed,
        event_seed: None,
        release_secret: None,
        unix_time,
    };
    let cases = [
        base(
            "tessera-sha1-6d-15s",
            TotpAlgorithm::Sha1,
            6,
            &seed20[..],
            1_800_000_007,
        ),
        base(
            "tessera-sha1-8d-15s-default",
            TotpAlgorithm::Sha1,
            8,
            &seed20[..],
            1_800_000_007,
        ),
        // First and last second of one step: same code.
        base(
            "tessera-sha1-8d-15s-step-start",
            TotpAlgorithm::Sha1,
            8,
            &seed20[..],
            1_800_000_015,
        ),
        base(
            "tessera-sha1-8d-15s-step-end",
            TotpAlgorithm::Sha1,
            8,
            &seed20[..],
            1_800_000_029,
        ),
        T1Case {
            event_seed: Some(&event_seed[..]),
            ticket: ticket_b,
            event: 1002,
            ..base(
                "tessera-sha256-8d-15s-event-seed",
                TotpAlgorithm::Sha256,
                8,
                &seed32[..],
                1_800_003_600,
            )
        },
        T1Case {
            release_secret: Some(&release[..]),
            ticket: ticket_b,
            event: 1003,
            ..base(
                "tessera-sha1-6d-15s-release",
                TotpAlgorithm::Sha1,
                6,
                &seed20[..],
                1_800_003_601,
            )
        },
        T1Case {
            event_seed: Some(&event_seed32[..]),
            release_secret: Some(&release[..]),
            ticket: ticket_c,
            event: u64::MAX,
            ..base(
                "tessera-sha512-9d-15s-event-seed-release",
                TotpAlgorithm::Sha512,
                9,
                &seed64[..],
                1_800_007_199,
            )
        },
        T1Case {
            period: 5,
            release_secret: Some(&release[..]),
            ..base(
                "tessera-sha256-7d-5s-release",
                TotpAlgorithm::Sha256,
                7,
                &seed32[..],
                1_800_000_004,
            )
        },
        T1Case {
            period: 60,
            event_seed: Some(&event_seed[..]),
            ..base(
                "tessera-sha1-8d-60s-event-seed",
                TotpAlgorithm::Sha1,
                8,
                &seed20[..],
                1_800_000_060,
            )
        },
    ];
    for c in &cases {
        out.push(t1_vector(c)?);
    }
    Ok(json!({
        "format": "T1",
        "spec": "docs/PROTOCOL.md",
        "generator": "cargo run -p tessera-core --example gen_vectors",
        "vectors": out,
    }))
}

/// One S1 vector: issuer and device keys, the credential, and the frame at `unix_time`.
struct S1Case<'a> {
    name: &'a str,
    issuer_label: &'a str,
    device_label: &'a str,
    key_id: u32,
    ticket: TicketId,
    event: u64,
    reveal_opens_at: i64,
    valid_until: i64,
    period: u8,
    strict_jit: bool,
    reentry: bool,
    personalised: bool,
    seat: &'a str,
    release_secret: Option<&'a [u8]>,
    unix_time: i64,
}

fn s1_vector(c: &S1Case<'_>) -> Res<Value> {
    let (issuer_seed, device_seed, issuer, device, signed) = keys_and_credential(c)?;
    let step = step_at(c.unix_time.saturating_mul(1000), c.period);
    let code = S1Code::generate(&signed, &device, step, c.release_secret);
    if !code.verify_device() {
        return Err(format!("{}: device signature does not verify", c.name).into());
    }
    let payload = code.encode();
    if Code::parse(&payload)? != Code::S1(Box::new(code.clone())) {
        return Err(format!("{}: payload does not parse back", c.name).into());
    }
    let digest = signed.digest();
    let device_message = S1Code::device_message(&digest, step, code.release_mac.as_ref());
    let mac = c
        .release_secret
        .map(|r| release_mac(r, &signed.release_context(), step).to_vec());
    let body = code.to_bytes();
    Ok(json!({
        "name": c.name,
        "issuer_seed_hex": hex::encode(&issuer_seed),
        "issuer_public_key_hex": hex::encode(public_key(&issuer)),
        "key_id": c.key_id,
        "device_seed_hex": hex::encode(&device_seed),
        "device_public_key_hex": hex::encode(public_key(&device)),
        "ticket_id_hex": hex::encode(c.ticket.as_bytes()),
        "event_id": c.event,
        "reveal_opens_at": c.reveal_opens_at,
        "valid_until": c.valid_until,
        "period": c.period,
        "strict_jit": c.strict_jit,
        "reentry": c.reentry,
        "personalised": c.personalised,
        "seat": c.seat,
        "credential_hex": hex::encode(&signed.bytes),
        "issuer_sig_hex": hex::encode(signed.issuer_sig),
        "credential_sha256_hex": hex::encode(digest),
        "unix_time": c.unix_time,
        "step": step,
        "release_secret_hex": hex_opt(c.release_secret),
        "release_mac_hex": hex_opt(mac.as_deref()),
        "device_message_hex": hex::encode(&device_message),
        "device_sig_hex": hex::encode(code.device_sig),
        "body_len": body.len(),
        "body_hex": hex::encode(&body),
        "payload": payload,
    }))
}

fn s1_vectors() -> Res<Value> {
    let release = fixed_bytes("tessera/vectors/s1/release-secret", 32);
    let base = S1Case {
        name: "",
        issuer_label: "tessera/vectors/s1/issuer/1",
        device_label: "tessera/vectors/s1/device/1",
        key_id: 1,
        ticket: ticket_id("tessera/vectors/s1/ticket/a"),
        event: 2001,
        reveal_opens_at: 1_800_000_000,
        valid_until: 1_800_021_600,
        period: 15,
        strict_jit: false,
        reentry: false,
        personalised: false,
        seat: "",
        release_secret: None,
        unix_time: 1_800_000_007,
    };
    let cases = [
        S1Case {
            name: "s1-plain-empty-seat",
            ..base
        },
        S1Case {
            name: "s1-plain-ascii-seat-next-step",
            seat: "GA",
            unix_time: 1_800_000_015,
            ..base
        },
        S1Case {
            name: "s1-strict-jit-personalised-utf8-seat",
            key_id: 7,
            ticket: ticket_id("tessera/vectors/s1/ticket/b"),
            event: 2002,
            strict_jit: true,
            personalised: true,
            seat: "Block C · Row 4 · Seat 12",
            release_secret: Some(&release[..]),
            unix_time: 1_800_003_601,
            ..base
        },
        S1Case {
            name: "s1-reentry-60s-max-seat",
            issuer_label: "tessera/vectors/s1/issuer/2",
            device_label: "tessera/vectors/s1/device/2",
            key_id: u32::MAX,
            ticket: ticket_id("tessera/vectors/s1/ticket/c"),
            event: u64::MAX,
            period: 60,
            reentry: true,
            seat: "Tribune Nord, Porte 12, Rang 34, Siege 56 ---- 64 bytes exactly!",
            unix_time: 1_800_010_000,
            ..base
        },
        S1Case {
            name: "s1-all-flags-5s-release",
            ticket: ticket_id("tessera/vectors/s1/ticket/d"),
            event: 2004,
            period: 5,
            strict_jit: true,
            reentry: true,
            personalised: true,
            seat: "Floor",
            release_secret: Some(&release[..]),
            unix_time: 1_800_000_004,
            ..base
        },
    ];
    let mut out = Vec::new();
    for c in &cases {
        out.push(s1_vector(c)?);
    }
    Ok(json!({
        "format": "S1",
        "spec": "docs/PROTOCOL.md",
        "generator": "cargo run -p tessera-core --example gen_vectors",
        "vectors": out,
    }))
}

/// A case's issuer seed, device seed, issuer and device key pairs, and signed credential.
type Keyed = (
    Vec<u8>,
    Vec<u8>,
    Ed25519KeyPair,
    Ed25519KeyPair,
    SignedCredential,
);

/// The issuer and device keys of a case and its signed credential (S1 and C1 alike).
fn keys_and_credential(c: &S1Case<'_>) -> Res<Keyed> {
    let issuer_seed = fixed_bytes(c.issuer_label, 32);
    let device_seed = fixed_bytes(c.device_label, 32);
    let issuer = Ed25519KeyPair::from_seed_unchecked(&issuer_seed).map_err(|e| e.to_string())?;
    let device = Ed25519KeyPair::from_seed_unchecked(&device_seed).map_err(|e| e.to_string())?;
    let signed = Credential {
        key_id: c.key_id,
        ticket: c.ticket,
        event: EventId(c.event),
        reveal_opens_at: c.reveal_opens_at,
        valid_until: c.valid_until,
        period_secs: c.period,
        strict_jit: c.strict_jit,
        reentry: c.reentry,
        personalised: c.personalised,
        device_public_key: public_key(&device),
        seat: c.seat.to_owned(),
    }
    .sign(&issuer)?;
    if !signed.verify(&public_key(&issuer)) {
        return Err(format!("{}: issuer signature does not verify", c.name).into());
    }
    Ok((issuer_seed, device_seed, issuer, device, signed))
}

/// One C1 vector (docs/PROTOCOL.md §7.7): the same inputs as an S1 vector; the code
/// carries the credential's reference and the step's low 16 bits, and the gate's bundle
/// the signed credential.
fn c1_vector(c: &S1Case<'_>) -> Res<Value> {
    let (issuer_seed, device_seed, issuer, device, signed) = keys_and_credential(c)?;
    let step = step_at(c.unix_time.saturating_mul(1000), c.period);
    let code = C1Code::generate(&signed, &device, step, c.release_secret);
    if !code.verify_device(&signed, step) || u64::from(code.step_low) != step % 65_536 {
        return Err(format!("{}: device signature does not verify", c.name).into());
    }
    let payload = code.encode();
    if Code::parse(&payload)? != Code::C1(code.clone()) {
        return Err(format!("{}: payload does not parse back", c.name).into());
    }
    let digest = signed.digest();
    let reference = reference_of(&signed);
    if reference.to_be_bytes() != digest[..4] {
        return Err(format!("{}: reference is not the digest's first 4 bytes", c.name).into());
    }
    let device_message = C1Code::device_message(&digest, step, code.release_mac.as_ref());
    let mac = c
        .release_secret
        .map(|r| release_mac(r, &signed.release_context(), step).to_vec());
    if mac.as_deref() != code.release_mac.as_ref().map(|m| &m[..]) {
        return Err(format!("{}: release MAC", c.name).into());
    }
    let body = code.to_bytes();
    Ok(json!({
        "name": c.name,
        "issuer_seed_hex": hex::encode(&issuer_seed),
        "issuer_public_key_hex": hex::encode(public_key(&issuer)),
        "key_id": c.key_id,
        "device_seed_hex": hex::encode(&device_seed),
        "device_public_key_hex": hex::encode(public_key(&device)),
        "ticket_id_hex": hex::encode(c.ticket.as_bytes()),
        "event_id": c.event,
        "reveal_opens_at": c.reveal_opens_at,
        "valid_until": c.valid_until,
        "period": c.period,
        "strict_jit": c.strict_jit,
        "reentry": c.reentry,
        "personalised": c.personalised,
        "seat": c.seat,
        "credential_hex": hex::encode(&signed.bytes),
        "issuer_sig_hex": hex::encode(signed.issuer_sig),
        "signed_credential_hex": hex::encode(signed.to_bytes()),
        "credential_sha256_hex": hex::encode(digest),
        "reference": reference,
        "reference_hex": hex::encode(reference.to_be_bytes()),
        "unix_time": c.unix_time,
        "step": step,
        "step_low": code.step_low,
        "release_secret_hex": hex_opt(c.release_secret),
        "release_mac_hex": hex_opt(mac.as_deref()),
        "flags": body[0],
        "device_message_hex": hex::encode(&device_message),
        "device_sig_hex": hex::encode(code.device_sig),
        "body_len": body.len(),
        "body_hex": hex::encode(&body),
        "digits": &payload[3..],
        "payload": payload,
    }))
}

fn c1_vectors() -> Res<Value> {
    let release = fixed_bytes("tessera/vectors/c1/release-secret", 32);
    let s1_release = fixed_bytes("tessera/vectors/s1/release-secret", 32);
    let base = S1Case {
        name: "",
        issuer_label: "tessera/vectors/c1/issuer/1",
        device_label: "tessera/vectors/c1/device/1",
        key_id: 1,
        ticket: ticket_id("tessera/vectors/c1/ticket/a"),
        event: 2101,
        reveal_opens_at: 1_800_000_000,
        valid_until: 1_800_021_600,
        period: 15,
        strict_jit: false,
        reentry: false,
        personalised: false,
        seat: "",
        release_secret: None,
        unix_time: 1_800_000_007,
    };
    let cases = [
        S1Case {
            name: "c1-plain-empty-seat",
            ..base
        },
        S1Case {
            name: "c1-plain-ascii-seat-next-step",
            seat: "GA",
            unix_time: 1_800_000_015,
            ..base
        },
        // The credential, step and release secret of the S1 vector of the same name
        // (PROTOCOL §11.3): the same release MAC, another device signature (§11.6).
        S1Case {
            name: "c1-strict-jit-personalised-utf8-seat",
            issuer_label: "tessera/vectors/s1/issuer/1",
            device_label: "tessera/vectors/s1/device/1",
            key_id: 7,
            ticket: ticket_id("tessera/vectors/s1/ticket/b"),
            event: 2002,
            strict_jit: true,
            personalised: true,
            seat: "Block C · Row 4 · Seat 12",
            release_secret: Some(&s1_release[..]),
            unix_time: 1_800_003_601,
            ..base
        },
        // The longest seat (64 bytes of 1- to 4-byte UTF-8) changes the credential, not
        // the code: every C1 code is 73 or 81 bytes.
        S1Case {
            name: "c1-strict-jit-reentry-60s-longest-utf8-seat",
            issuer_label: "tessera/vectors/c1/issuer/2",
            device_label: "tessera/vectors/c1/device/2",
            key_id: u32::MAX,
            ticket: ticket_id("tessera/vectors/c1/ticket/c"),
            event: u64::MAX,
            period: 60,
            strict_jit: true,
            reentry: true,
            seat: "Tribüne Süd · Reihe 12 · Platz 345 · 東館 · 🎫🎭🎪",
            release_secret: Some(&release[..]),
            unix_time: 1_800_010_000,
            ..base
        },
        S1Case {
            name: "c1-all-flags-5s-release",
            ticket: ticket_id("tessera/vectors/c1/ticket/d"),
            event: 2104,
            period: 5,
            strict_jit: true,
            reentry: true,
            personalised: true,
            seat: "Floor",
            release_secret: Some(&release[..]),
            unix_time: 1_800_000_004,
            ..base
        },
        // The body carries the step's low 16 bits (§7.7.1); the device signs it whole.
        S1Case {
            name: "c1-step-low-bits-ffff",
            ticket: ticket_id("tessera/vectors/c1/ticket/e"),
            event: 2105,
            reveal_opens_at: 1_800_929_000,
            valid_until: 1_800_930_000,
            seat: "A1",
            // Step 120061951 = 0x0727ffff.
            unix_time: 1_800_929_265,
            ..base
        },
        S1Case {
            name: "c1-step-beyond-2pow32-5s",
            ticket: ticket_id("tessera/vectors/c1/ticket/g"),
            event: 2107,
            reveal_opens_at: 21_474_836_000,
            valid_until: 21_474_840_000,
            period: 5,
            seat: "A3",
            // Step 2^32 + 7: low bits 0x0007.
            unix_time: 21_474_836_515,
            ..base
        },
        S1Case {
            name: "c1-step-zero-release",
            ticket: ticket_id("tessera/vectors/c1/ticket/f"),
            event: 2106,
            reveal_opens_at: 0,
            valid_until: 60,
            period: 5,
            strict_jit: true,
            seat: "A2",
            release_secret: Some(&release[..]),
            unix_time: 3,
            ..base
        },
    ];
    let mut out = Vec::new();
    for c in &cases {
        out.push(c1_vector(c)?);
    }
    Ok(json!({
        "format": "C1",
        "spec": "docs/PROTOCOL.md §7.7",
        "generator": "cargo run -p tessera-core --example gen_vectors",
        "vectors": out,
    }))
}

fn main() -> Result<(), Box<dyn Error>> {
    let dir: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "tests", "vectors"]
        .iter()
        .collect();
    std::fs::create_dir_all(&dir)?;
    for (file, value) in [
        ("t1.json", t1_vectors()?),
        ("s1.json", s1_vectors()?),
        ("c1.json", c1_vectors()?),
    ] {
        let mut text = serde_json::to_string_pretty(&value)?;
        text.push('\n');
        let path = dir.join(file);
        std::fs::write(&path, text)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
