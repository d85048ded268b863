//! Writes the rotating-code test vectors `tests/vectors/t1.json`, `tests/vectors/s1.json`
//! and `tests/vectors/c1.json` (docs/PROTOCOL.md §11), and the release-object vectors
//! `tests/vectors/release.json` (§14), from fixed inputs, through the public
//! `tessera_core::code` API.
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
use tessera_core::code::release_object::{DOMAIN as RELEASE_DOMAIN, ReleaseObject};
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

/// One positive release-object case (docs/PROTOCOL.md §14).
struct ReleaseCase {
    name: &'static str,
    key_label: &'static str,
    key_id: u32,
    event: u64,
    version: u32,
    opens_at: i64,
    secret_len: usize,
}

/// Writes a release object body as text, whatever it holds (the digit groups of §7.7.2):
/// how the negative cases put edited bodies on the wire.
fn release_text(body: &[u8]) -> String {
    let digits: &[usize] = &[0, 3, 5, 8, 10, 13, 15, 17];
    let mut s = String::from("R1:");
    for chunk in body.chunks(7) {
        let v = chunk.iter().fold(0u64, |v, b| (v << 8) | u64::from(*b));
        s.push_str(&format!("{v:0width$}", width = digits[chunk.len()]));
    }
    s
}

fn release_key(label: &str) -> Res<(Vec<u8>, Ed25519KeyPair)> {
    let seed = fixed_bytes(label, 32);
    let kp = Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|e| e.to_string())?;
    Ok((seed, kp))
}

fn release_vector(c: &ReleaseCase) -> Res<(Value, ReleaseObject)> {
    let (seed, key) = release_key(c.key_label)?;
    let secret = fixed_bytes(&format!("{} release secret", c.name), c.secret_len);
    let obj = ReleaseObject::sign(
        &key,
        c.key_id,
        EventId(c.event),
        c.version,
        c.opens_at,
        &secret,
    )?;
    obj.verify(&public_key(&key))?;
    let text = obj.encode();
    if ReleaseObject::parse(&text)? != obj {
        return Err(format!("{}: does not parse back", c.name).into());
    }
    let body = obj.to_bytes();
    Ok((
        json!({
            "name": c.name,
            "key_id": c.key_id,
            "issuer_seed_hex": hex::encode(&seed),
            "issuer_public_key_hex": hex::encode(public_key(&key)),
            "event_id": c.event,
            "version": c.version,
            "opens_at": c.opens_at,
            "secret_hex": hex::encode(&secret),
            "signed_message_hex": hex::encode(&obj.signed_message()[..]),
            "signature_hex": hex::encode(obj.signature),
            "body_len": body.len(),
            "body_hex": hex::encode(&body[..]),
            "text": text,
        }),
        obj,
    ))
}

/// A refused release object: its text (or bytes that are not UTF-8), the keys pinned when
/// it is judged, and the refusal (§14.3).
fn refused(name: &str, text: &str, pins: &Value, expect: &str) -> Value {
    json!({"name": name, "text": text, "pins": pins, "expect": expect})
}

fn release_vectors() -> Res<Value> {
    let key_1 = "release-vectors issuer key 1";
    let key_7 = "release-vectors issuer key 7";
    let cases = [
        // The worked example of §14.4: a 32-byte secret, as the reference issuer makes.
        ReleaseCase {
            name: "event-5001-version-1",
            key_label: key_1,
            key_id: 1,
            event: 5001,
            version: 1,
            opens_at: 1_800_000_000,
            secret_len: 32,
        },
        ReleaseCase {
            name: "one-byte-secret",
            key_label: key_1,
            key_id: 1,
            event: 5002,
            version: 2,
            opens_at: 1_800_003_600,
            secret_len: 1,
        },
        ReleaseCase {
            name: "longest-secret-128-bytes",
            key_label: key_1,
            key_id: 1,
            event: 5003,
            version: 1,
            opens_at: 1_800_000_000,
            secret_len: 128,
        },
        ReleaseCase {
            name: "every-field-at-its-maximum",
            key_label: key_7,
            key_id: u32::MAX,
            event: u64::MAX,
            version: u32::MAX,
            opens_at: i64::MAX,
            secret_len: 20,
        },
        ReleaseCase {
            name: "opens-before-1970-key-7",
            key_label: key_7,
            key_id: 7,
            event: 0,
            version: 0,
            opens_at: -1,
            secret_len: 24,
        },
        ReleaseCase {
            name: "secret-26-bytes",
            key_label: key_1,
            key_id: 1,
            event: 5004,
            version: 9,
            opens_at: 1_800_000_015,
            secret_len: 26,
        },
        ReleaseCase {
            name: "secret-35-bytes",
            key_label: key_1,
            key_id: 1,
            event: 5005,
            version: 1,
            opens_at: 1_800_000_000,
            secret_len: 35,
        },
    ];
    let mut vectors = Vec::new();
    let mut objects = Vec::new();
    for c in &cases {
        let (v, o) = release_vector(c)?;
        vectors.push(v);
        objects.push(o);
    }
    let (_, k1) = release_key(key_1)?;
    let (_, k7) = release_key(key_7)?;
    let (other_seed, other) = release_key("release-vectors another issuer's key")?;
    let pk1 = hex::encode(public_key(&k1));
    let pk7 = hex::encode(public_key(&k7));
    let pins = json!({"1": pk1});
    let both = json!({"1": pk1, "7": pk7});
    let base = &objects[0];
    let text = base.encode();
    let digits = &text[3..];
    let body = base.to_bytes().to_vec();
    let edited = |at: usize, xor: u8| {
        let mut b = body.clone();
        b[at] ^= xor;
        release_text(&b)
    };
    let resigned = |message: &[u8], key: &Ed25519KeyPair| {
        let mut b = body.clone();
        let n = b.len();
        b[n - 64..].copy_from_slice(key.sign(message).as_ref());
        release_text(&b)
    };
    let unsigned = &body[..body.len() - 64];
    let first: u64 = digits[..17].parse()?;
    // 2^252 + 27742317777372353535851937790883648493, little-endian: added to S.
    let order_l: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut s_plus_l = body.clone();
    let n = s_plus_l.len();
    let mut carry = 0u16;
    for (i, l) in order_l.iter().enumerate() {
        let sum = u16::from(s_plus_l[n - 32 + i]) + u16::from(*l) + carry;
        s_plus_l[n - 32 + i] = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
    if carry != 0 {
        return Err("S + L overflows 256 bits".into());
    }
    let mut small_r = body.clone();
    // R = the order-4 point y = 0: small order, never an honest signer's R.
    small_r[n - 64..n - 32].copy_from_slice(&[0; 32]);
    let identity = {
        let mut k = [0u8; 32];
        k[0] = 1;
        k
    };
    let mut keyless = body.clone();
    keyless[n - 64..].copy_from_slice(&[0; 64]);
    keyless[n - 64] = 1;
    let mut short_secret = body[..25].to_vec();
    short_secret.push(0);
    short_secret.extend_from_slice(&body[n - 64..]);
    let mut long_secret = body[..25].to_vec();
    long_secret.push(129);
    long_secret.extend_from_slice(&[0x5a; 129 + 64]);
    let mut retired = b"tessera/v1/release\0".to_vec();
    retired.extend_from_slice(unsigned);
    let mut domain = RELEASE_DOMAIN.to_vec();
    domain.extend_from_slice(unsigned);
    let mut key_7_body = body.clone();
    key_7_body[24] = 7;
    let mut key_2_body = body.clone();
    key_2_body[24] = 2;
    let invalid = vec![
        refused("empty-text", "", &pins, "malformed"),
        refused("prefix-only", "R1:", &pins, "malformed"),
        refused(
            "lower-case-prefix",
            &format!("r1:{digits}"),
            &pins,
            "malformed",
        ),
        refused("prefix-R2", &format!("R2:{digits}"), &pins, "malformed"),
        refused("prefix-C1", &format!("C1:{digits}"), &pins, "malformed"),
        refused("leading-space", &format!(" {text}"), &pins, "malformed"),
        refused("trailing-lf", &format!("{text}\n"), &pins, "malformed"),
        refused("trailing-crlf", &format!("{text}\r\n"), &pins, "malformed"),
        refused("trailing-space", &format!("{text} "), &pins, "malformed"),
        refused(
            "one-digit-short",
            &text[..text.len() - 1],
            &pins,
            "malformed",
        ),
        refused(
            "last-group-missing",
            &text[..text.len() - 8],
            &pins,
            "malformed",
        ),
        refused("one-digit-more", &format!("{text}0"), &pins, "malformed"),
        refused(
            "one-group-more",
            &format!("{text}{}", "0".repeat(17)),
            &pins,
            "malformed",
        ),
        refused(
            "a-letter-among-the-digits",
            &format!("R1:{}A{}", &digits[..100], &digits[101..]),
            &pins,
            "malformed",
        ),
        refused(
            "a-plus-sign-among-the-digits",
            &format!("R1:+{}", &digits[1..]),
            &pins,
            "malformed",
        ),
        refused(
            "an-arabic-indic-digit-of-two-bytes",
            &format!("R1:\u{661}{}", &digits[2..]),
            &pins,
            "malformed",
        ),
        refused(
            "a-group-plus-2-pow-56",
            &format!("R1:{:017}{}", first + (1 << 56), &digits[17..]),
            &pins,
            "malformed",
        ),
        refused(
            "a-group-of-17-nines",
            &format!("R1:{}{}", "9".repeat(17), &digits[17..]),
            &pins,
            "malformed",
        ),
        refused(
            "longer-than-any-object",
            &format!("R1:{}", "0".repeat(32 * 17 + 3)),
            &pins,
            "malformed",
        ),
        refused(
            "a-hundred-thousand-digits",
            &format!("R1:{}", "1".repeat(100_000)),
            &pins,
            "malformed",
        ),
        refused("version-0", &edited(0, 0x01), &pins, "malformed"),
        refused("version-2", &edited(0, 0x03), &pins, "malformed"),
        refused(
            "secret-length-0",
            &release_text(&short_secret),
            &pins,
            "malformed",
        ),
        refused(
            "secret-length-129",
            &release_text(&long_secret),
            &pins,
            "malformed",
        ),
        refused(
            "secret-length-says-33",
            &edited(25, 32 ^ 33),
            &pins,
            "malformed",
        ),
        refused(
            "secret-length-says-31",
            &edited(25, 32 ^ 31),
            &pins,
            "malformed",
        ),
        refused(
            "body-of-20-bytes",
            &release_text(&body[..20]),
            &pins,
            "malformed",
        ),
        refused(
            "key-id-not-pinned",
            &objects[4].encode(),
            &pins,
            "unknown_key",
        ),
        refused("no-pinned-keys", &text, &json!({}), "unknown_key"),
        refused(
            "key-id-edited-to-one-not-pinned",
            &release_text(&key_2_body),
            &pins,
            "unknown_key",
        ),
        refused("event-id-edited", &edited(8, 0x01), &pins, "bad_signature"),
        refused(
            "release-version-edited",
            &edited(12, 0x02),
            &pins,
            "bad_signature",
        ),
        refused("opens-at-edited", &edited(20, 0x01), &pins, "bad_signature"),
        refused(
            "key-id-edited-to-another-pinned-key",
            &release_text(&key_7_body),
            &both,
            "bad_signature",
        ),
        refused("secret-edited", &edited(26, 0x80), &pins, "bad_signature"),
        refused(
            "signature-edited",
            &edited(n - 1, 0x01),
            &pins,
            "bad_signature",
        ),
        refused(
            "signature-s-not-reduced",
            &release_text(&s_plus_l),
            &pins,
            "bad_signature",
        ),
        refused(
            "signature-r-small-order",
            &release_text(&small_r),
            &pins,
            "bad_signature",
        ),
        refused(
            "signed-without-the-domain-tag",
            &resigned(unsigned, &k1),
            &pins,
            "bad_signature",
        ),
        refused(
            "signed-under-the-retired-revision-1-release-tag",
            &resigned(&retired, &k1),
            &pins,
            "bad_signature",
        ),
        refused(
            "another-issuers-object-under-key-id-1",
            &resigned(&domain, &other),
            &pins,
            "bad_signature",
        ),
        refused(
            "small-order-pinned-key-keyless-signature",
            &release_text(&keyless),
            &json!({"1": hex::encode(identity)}),
            "bad_signature",
        ),
    ];
    Ok(json!({
        "format": "R1",
        "spec": "docs/PROTOCOL.md §14",
        "generator": "cargo run -p tessera-core --example gen_vectors",
        "domain_hex": hex::encode(RELEASE_DOMAIN),
        "other_issuer_key": {
            "key_id": 1,
            "seed_hex": hex::encode(&other_seed),
            "public_key_hex": hex::encode(public_key(&other)),
        },
        "vectors": vectors,
        "invalid": invalid,
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
        ("release.json", release_vectors()?),
    ] {
        let mut text = serde_json::to_string_pretty(&value)?;
        text.push('\n');
        let path = dir.join(file);
        std::fs::write(&path, text)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
