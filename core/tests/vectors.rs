//! Checks the rotating-code test vectors in `tests/vectors/` (docs/PROTOCOL.md §11) against the core API, RFC 6238 and the `totp-rs` crate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use ring::digest::{SHA256, digest};
use ring::signature::{ED25519, Ed25519KeyPair, UnparsedPublicKey};
use serde_json::Value;
use tessera_core::code::c1::{C1Code, reference_of};
use tessera_core::code::release::{ReleaseContext, release_mac, verify_release_mac};
use tessera_core::code::s1::{Credential, S1Code, SignedCredential, public_key};
use tessera_core::code::t1::{T1Code, T1Params};
use tessera_core::code::totp::{format_code, hotp};
use tessera_core::code::{Code, step_at};
use tessera_core::{EventId, TicketId, TotpAlgorithm};

fn load(file: &str) -> Vec<Value> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "tests", "vectors", file]
        .iter()
        .collect();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run the gen_vectors example)", path.display()));
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} is not a string"))
}

fn u(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("{k} is not a u64"))
}

fn i(v: &Value, k: &str) -> i64 {
    v[k].as_i64().unwrap_or_else(|| panic!("{k} is not an i64"))
}

fn b(v: &Value, k: &str) -> bool {
    v[k].as_bool()
        .unwrap_or_else(|| panic!("{k} is not a bool"))
}

fn bytes(v: &Value, k: &str) -> Vec<u8> {
    hex::decode(s(v, k)).unwrap()
}

fn opt_bytes(v: &Value, k: &str) -> Option<Vec<u8>> {
    match &v[k] {
        Value::Null => None,
        Value::String(h) => Some(hex::decode(h).unwrap()),
        other => panic!("{k}: {other}"),
    }
}

fn algorithm(name: &str) -> TotpAlgorithm {
    match name {
        "SHA1" => TotpAlgorithm::Sha1,
        "SHA256" => TotpAlgorithm::Sha256,
        "SHA512" => TotpAlgorithm::Sha512,
        other => panic!("unknown algorithm {other}"),
    }
}

fn ticket(v: &Value) -> TicketId {
    s(v, "ticket_id_hex").parse().unwrap()
}

/// RFC 6238 Appendix B, copied from the RFC: (time, SHA1, SHA256, SHA512), 8 digits, 30 s.
const RFC6238_APPENDIX_B: [(i64, &str, &str, &str); 6] = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
];

const RFC_SEED_SHA1: &[u8] = b"12345678901234567890";
const RFC_SEED_SHA256: &[u8] = b"12345678901234567890123456789012";
const RFC_SEED_SHA512: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

#[test]
fn rfc6238_appendix_b_published_values() {
    for (t, sha1, sha256, sha512) in RFC6238_APPENDIX_B {
        for (alg, seed, want) in [
            (TotpAlgorithm::Sha1, RFC_SEED_SHA1, sha1),
            (TotpAlgorithm::Sha256, RFC_SEED_SHA256, sha256),
            (TotpAlgorithm::Sha512, RFC_SEED_SHA512, sha512),
        ] {
            let step = step_at(t * 1000, 30);
            assert_eq!(
                format_code(hotp(alg, seed, step, 8), 8),
                want,
                "{alg:?} at {t}"
            );
        }
    }
}

#[test]
fn t1_vectors_include_all_of_rfc6238_appendix_b() {
    let vectors = load("t1.json");
    for (t, sha1, sha256, sha512) in RFC6238_APPENDIX_B {
        for (alg, seed, want) in [
            ("SHA1", RFC_SEED_SHA1, sha1),
            ("SHA256", RFC_SEED_SHA256, sha256),
            ("SHA512", RFC_SEED_SHA512, sha512),
        ] {
            let found = vectors.iter().any(|v| {
                s(v, "algorithm") == alg
                    && i(v, "unix_time") == t
                    && u(v, "period") == 30
                    && u(v, "digits") == 8
                    && bytes(v, "seed_hex") == seed
                    && s(v, "totp") == want
            });
            assert!(found, "RFC 6238 {alg} at {t} missing from t1.json");
        }
    }
}

#[test]
fn t1_vectors_regenerate_and_parse_back() {
    let vectors = load("t1.json");
    assert!(vectors.len() >= 18 + 5);
    for v in &vectors {
        let name = s(v, "name");
        let alg = algorithm(s(v, "algorithm"));
        let digits = u8::try_from(u(v, "digits")).unwrap();
        let period = u8::try_from(u(v, "period")).unwrap();
        let seed = bytes(v, "seed_hex");
        let event_seed = opt_bytes(v, "event_seed_hex");
        let release = opt_bytes(v, "release_secret_hex");
        let step = step_at(i(v, "unix_time") * 1000, period);
        assert_eq!(step, u(v, "step"), "{name}: step");
        assert_eq!(
            step,
            u64::try_from(i(v, "unix_time")).unwrap() / u64::from(period),
            "{name}: step is floor(unix_time / period)"
        );

        let p = T1Params {
            algorithm: alg,
            digits,
            period_secs: period,
            ticket: ticket(v),
            event: EventId(u(v, "event_id")),
            ticket_seed: &seed,
            event_seed: event_seed.as_deref(),
            release_secret: release.as_deref(),
        };
        let code = T1Code::generate(&p, step);
        assert_eq!(
            format_code(code.ticket_code, digits),
            s(v, "totp"),
            "{name}: totp"
        );
        assert_eq!(
            code.event_code.map(|c| format_code(c, digits)).as_deref(),
            v["event_totp"].as_str(),
            "{name}: event totp"
        );
        assert_eq!(
            code.release_mac.map(|m| m.to_vec()),
            opt_bytes(v, "release_mac_hex"),
            "{name}: release mac"
        );
        assert_eq!(code.to_bytes(), bytes(v, "body_hex"), "{name}: body");
        assert_eq!(code.encode(), s(v, "payload"), "{name}: payload");

        let Ok(Code::T1(parsed)) = Code::parse(s(v, "payload")) else {
            panic!("{name}: payload does not parse as T1");
        };
        assert_eq!(parsed.algorithm, alg, "{name}");
        assert_eq!(parsed.digits, digits, "{name}");
        assert_eq!(parsed.period_secs, period, "{name}");
        assert_eq!(parsed.ticket, ticket(v), "{name}");
        assert_eq!(parsed.event, EventId(u(v, "event_id")), "{name}");
        assert_eq!(parsed.step, step, "{name}");
        assert_eq!(
            format_code(parsed.ticket_code, digits),
            s(v, "totp"),
            "{name}"
        );
        assert_eq!(
            parsed.event_code.map(|c| format_code(c, digits)).as_deref(),
            v["event_totp"].as_str(),
            "{name}"
        );
        assert_eq!(
            parsed.release_mac.map(|m| m.to_vec()),
            opt_bytes(v, "release_mac_hex"),
            "{name}"
        );
        if let (Some(r), Some(m)) = (&release, &parsed.release_mac) {
            // docs/PROTOCOL.md §6, built by hand from the documented message.
            let mut msg = b"tessera/v2/t1/release\0".to_vec();
            msg.extend_from_slice(&u(v, "event_id").to_be_bytes());
            msg.extend_from_slice(parsed.ticket.as_bytes());
            msg.extend_from_slice(&step.to_be_bytes());
            let tag = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, r), &msg);
            assert_eq!(&tag.as_ref()[..8], m, "{name}: documented MAC");
            let ctx = ReleaseContext::T1 {
                event: parsed.event,
                ticket: parsed.ticket,
            };
            assert!(verify_release_mac(r, &ctx, step, m), "{name}");
            assert!(!verify_release_mac(r, &ctx, step + 1, m), "{name}");
            let other_event = ReleaseContext::T1 {
                event: EventId(parsed.event.0 ^ 1),
                ticket: parsed.ticket,
            };
            assert!(!verify_release_mac(r, &other_event, step, m), "{name}");
        }
        assert_eq!(parsed, code, "{name}");
    }
}

#[test]
fn t1_vector_bodies_reject_bad_version_flags_and_trailing_bytes() {
    for v in load("t1.json") {
        let name = s(&v, "name");
        let body = bytes(&v, "body_hex");
        assert!(T1Code::from_bytes(&body).is_ok(), "{name}");
        assert_eq!(body[0], 2, "{name}: body version 2");
        for version in [0, 1, 3, 0xff] {
            let mut m = body.clone();
            m[0] = version;
            assert!(T1Code::from_bytes(&m).is_err(), "{name}: version {version}");
        }
        for bit in 4..8 {
            let mut m = body.clone();
            m[1] |= 1 << bit;
            assert!(T1Code::from_bytes(&m).is_err(), "{name}: flag bit {bit}");
        }
        let mut m = body.clone();
        m[1] |= 0b11;
        assert!(T1Code::from_bytes(&m).is_err(), "{name}: algorithm 3");
        let mut m = body.clone();
        m.push(0);
        assert!(T1Code::from_bytes(&m).is_err(), "{name}: trailing byte");
        assert!(
            T1Code::from_bytes(&body[..body.len() - 1]).is_err(),
            "{name}"
        );
    }
}

/// SplitMix64: a fixed-seed generator so a failure is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn hotp_matches_totp_rs_on_random_inputs() {
    let mut rng = Rng(0x7E55_E7A0_0000_6238);
    for case in 0..200 {
        let (alg, theirs) = match rng.below(3) {
            0 => (TotpAlgorithm::Sha1, totp_rs::Algorithm::SHA1),
            1 => (TotpAlgorithm::Sha256, totp_rs::Algorithm::SHA256),
            _ => (TotpAlgorithm::Sha512, totp_rs::Algorithm::SHA512),
        };
        // Lengths past every HMAC block size (64 / 128 bytes), so long keys get hashed too.
        let len = 1 + usize::try_from(rng.below(160)).unwrap();
        let seed: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let digits = 6 + u8::try_from(rng.below(4)).unwrap();
        let period = 5 + u8::try_from(rng.below(56)).unwrap();
        let time = rng.below(1 << 36);
        let totp = totp_rs::Builder::new()
            .with_algorithm(theirs)
            .with_digits(digits)
            .with_step_duration(u64::from(period))
            .with_secret(seed.clone())
            .build_noncompliant();
        let want = totp.generate(time).to_string();
        let step = step_at(i64::try_from(time).unwrap() * 1000, period);
        let ours = format_code(hotp(alg, &seed, step, digits), digits);
        assert_eq!(
            ours,
            want,
            "case {case}: {alg:?} seed {} digits {digits} period {period} time {time}",
            hex::encode(&seed)
        );
    }
}

fn verify_ed25519(public: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    UnparsedPublicKey::new(&ED25519, public)
        .verify(msg, sig)
        .is_ok()
}

#[test]
fn s1_vectors_regenerate_verify_and_parse_back() {
    let vectors = load("s1.json");
    assert!(vectors.len() >= 4);
    for v in &vectors {
        let name = s(v, "name");
        let issuer = Ed25519KeyPair::from_seed_unchecked(&bytes(v, "issuer_seed_hex")).unwrap();
        let device = Ed25519KeyPair::from_seed_unchecked(&bytes(v, "device_seed_hex")).unwrap();
        let issuer_pk = bytes(v, "issuer_public_key_hex");
        let device_pk = bytes(v, "device_public_key_hex");
        assert_eq!(public_key(&issuer).to_vec(), issuer_pk, "{name}");
        assert_eq!(public_key(&device).to_vec(), device_pk, "{name}");
        let period = u8::try_from(u(v, "period")).unwrap();
        let credential = Credential {
            key_id: u32::try_from(u(v, "key_id")).unwrap(),
            ticket: ticket(v),
            event: EventId(u(v, "event_id")),
            reveal_opens_at: i(v, "reveal_opens_at"),
            valid_until: i(v, "valid_until"),
            period_secs: period,
            strict_jit: b(v, "strict_jit"),
            reentry: b(v, "reentry"),
            personalised: b(v, "personalised"),
            device_public_key: public_key(&device),
            seat: s(v, "seat").to_owned(),
        };
        let cred_bytes = bytes(v, "credential_hex");
        let issuer_sig = bytes(v, "issuer_sig_hex");
        let signed = credential.sign(&issuer).unwrap();
        assert_eq!(signed.bytes, cred_bytes, "{name}: credential bytes");
        assert_eq!(signed.issuer_sig.to_vec(), issuer_sig, "{name}: issuer sig");

        // Level 1, checked with ring directly from the documented message.
        let mut msg = b"tessera/v1/s1/credential\0".to_vec();
        assert_eq!(cred_bytes[0], 2, "{name}: credential version 2");
        msg.extend_from_slice(&cred_bytes);
        assert!(verify_ed25519(&issuer_pk, &msg, &issuer_sig), "{name}");
        assert!(!verify_ed25519(&device_pk, &msg, &issuer_sig), "{name}");
        assert!(
            !verify_ed25519(&issuer_pk, &cred_bytes, &issuer_sig),
            "{name}: the domain string is part of the message"
        );

        // Level 2.
        let unix_time = i(v, "unix_time");
        let step = step_at(unix_time * 1000, period);
        assert_eq!(step, u(v, "step"), "{name}: step");
        let release = opt_bytes(v, "release_secret_hex");
        let cred_digest = digest(&SHA256, &cred_bytes);
        let mac = release.as_ref().map(|r| {
            let ctx = ReleaseContext::S1 {
                event: EventId(u(v, "event_id")),
                ticket: ticket(v),
                credential_digest: cred_digest.as_ref().try_into().unwrap(),
            };
            let m = release_mac(r, &ctx, step);
            // docs/PROTOCOL.md §6, built by hand from the documented message.
            let mut msg = b"tessera/v2/s1/release\0".to_vec();
            msg.extend_from_slice(&u(v, "event_id").to_be_bytes());
            msg.extend_from_slice(ticket(v).as_bytes());
            msg.extend_from_slice(&step.to_be_bytes());
            msg.extend_from_slice(cred_digest.as_ref());
            let tag = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, r), &msg);
            assert_eq!(&tag.as_ref()[..8], m, "{name}: documented MAC");
            m
        });
        assert_eq!(
            mac.map(|m| m.to_vec()),
            opt_bytes(v, "release_mac_hex"),
            "{name}: release mac"
        );
        let mut dmsg = b"tessera/v1/s1/step\0".to_vec();
        dmsg.extend_from_slice(digest(&SHA256, &cred_bytes).as_ref());
        dmsg.extend_from_slice(&step.to_be_bytes());
        match &mac {
            Some(m) => {
                dmsg.push(1);
                dmsg.extend_from_slice(m);
            }
            None => dmsg.push(0),
        }
        assert_eq!(
            dmsg,
            bytes(v, "device_message_hex"),
            "{name}: device message"
        );
        let device_sig = bytes(v, "device_sig_hex");
        assert!(verify_ed25519(&device_pk, &dmsg, &device_sig), "{name}");
        for k in 0..dmsg.len() {
            let mut m = dmsg.clone();
            m[k] ^= 0x01;
            assert!(
                !verify_ed25519(&device_pk, &m, &device_sig),
                "{name}: device sig accepts message with byte {k} flipped"
            );
        }
        for k in 0..device_sig.len() {
            let mut sig = device_sig.clone();
            sig[k] ^= 0x80;
            assert!(
                !verify_ed25519(&device_pk, &dmsg, &sig),
                "{name}: device sig with byte {k} flipped verifies"
            );
        }

        let code = S1Code::generate(&signed, &device, step, release.as_deref());
        assert_eq!(code.device_sig.to_vec(), device_sig, "{name}: device sig");
        assert_eq!(code.to_bytes(), bytes(v, "body_hex"), "{name}: body");
        assert_eq!(code.encode(), s(v, "payload"), "{name}: payload");

        let Ok(Code::S1(parsed)) = Code::parse(s(v, "payload")) else {
            panic!("{name}: payload does not parse as S1");
        };
        assert_eq!(parsed.signed.credential, credential, "{name}: fields");
        assert_eq!(parsed.signed.bytes, cred_bytes, "{name}");
        assert_eq!(parsed.signed.issuer_sig.to_vec(), issuer_sig, "{name}");
        assert_eq!(parsed.step, step, "{name}");
        assert_eq!(parsed.release_mac, mac, "{name}");
        assert_eq!(parsed.device_sig.to_vec(), device_sig, "{name}");
        assert!(parsed.signed.verify(&issuer_pk), "{name}");
        assert!(parsed.verify_device(), "{name}");
        assert_eq!(*parsed, code, "{name}");
    }
}

/// Any single flipped bit of an S1 body is caught: by the parser, the issuer or the device signature.
#[test]
fn s1_every_flipped_bit_is_rejected() {
    for v in load("s1.json") {
        let name = s(&v, "name");
        let issuer_pk = bytes(&v, "issuer_public_key_hex");
        let body = bytes(&v, "body_hex");
        let accepted = |b: &[u8]| match S1Code::from_bytes(b) {
            Ok(c) => c.signed.verify(&issuer_pk) && c.verify_device(),
            Err(_) => false,
        };
        assert!(accepted(&body), "{name}");
        for k in 0..body.len() {
            for bit in 0..8 {
                let mut m = body.clone();
                m[k] ^= 1 << bit;
                assert!(
                    !accepted(&m),
                    "{name}: byte {k} bit {bit} flipped is accepted"
                );
            }
        }
        let mut longer = body.clone();
        longer.push(0);
        assert!(
            S1Code::from_bytes(&longer).is_err(),
            "{name}: trailing byte"
        );
    }
}

/// The text rules of docs/PROTOCOL.md §3 and §9: canonical upper-case unpadded base32 only.
#[test]
fn payload_text_must_be_canonical_base32() {
    let vectors = load("t1.json");
    let v = vectors.iter().find(|v| u(v, "body_len") == 44).unwrap();
    let payload = s(v, "payload");
    assert!(Code::parse(payload).is_ok());
    let text = &payload[3..];
    // 44 bytes are 71 characters; the last one carries 3 unused bits, which must be zero.
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let last = alphabet.find(&text[text.len() - 1..]).unwrap();
    let unused_bit_set = &alphabet[(last | 1)..=(last | 1)];
    assert_ne!(unused_bit_set, &text[text.len() - 1..]);
    for bad in [
        format!("T1:{}", text.to_lowercase()),
        format!("t1:{text}"),
        format!("T1:{text}="),
        format!("T1:{text}AA"),
        format!("T1:{}{unused_bit_set}", &text[..text.len() - 1]),
        format!("T1:{text} "),
        format!(" T1:{text}"),
        format!("S1:{text}"),
        format!("T1:{}", "A".repeat(1640)),
    ] {
        assert!(Code::parse(&bad).is_err(), "{bad}");
    }
}

/// docs/PROTOCOL.md §7.7.2, written out here rather than taken from the core: groups of 7
/// bytes, each a big-endian number in a fixed number of decimal digits.
const C1_GROUP_DIGITS: [usize; 8] = [0, 3, 5, 8, 10, 13, 15, 17];

fn c1_digits(body: &[u8]) -> String {
    body.chunks(7)
        .map(|g| {
            let v = g.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b));
            format!("{v:0w$}", w = C1_GROUP_DIGITS[g.len()])
        })
        .collect()
}

/// The digit positions of each group of a body of `len` bytes: (start, digits, bytes).
fn c1_groups(len: usize) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    let (mut at, mut left) = (0, len);
    while left > 0 {
        let n = left.min(7);
        out.push((at, C1_GROUP_DIGITS[n], n));
        at += C1_GROUP_DIGITS[n];
        left -= n;
    }
    out
}

#[test]
fn c1_vectors_regenerate_verify_and_parse_back() {
    let vectors = load("c1.json");
    assert!(vectors.len() >= 6);
    let (mut with_mac, mut without, mut longest_seat) = (0, 0, 0);
    for v in &vectors {
        let name = s(v, "name");
        let issuer = Ed25519KeyPair::from_seed_unchecked(&bytes(v, "issuer_seed_hex")).unwrap();
        let device = Ed25519KeyPair::from_seed_unchecked(&bytes(v, "device_seed_hex")).unwrap();
        let issuer_pk = bytes(v, "issuer_public_key_hex");
        let device_pk = bytes(v, "device_public_key_hex");
        assert_eq!(public_key(&issuer).to_vec(), issuer_pk, "{name}");
        assert_eq!(public_key(&device).to_vec(), device_pk, "{name}");
        let period = u8::try_from(u(v, "period")).unwrap();
        let credential = Credential {
            key_id: u32::try_from(u(v, "key_id")).unwrap(),
            ticket: ticket(v),
            event: EventId(u(v, "event_id")),
            reveal_opens_at: i(v, "reveal_opens_at"),
            valid_until: i(v, "valid_until"),
            period_secs: period,
            strict_jit: b(v, "strict_jit"),
            reentry: b(v, "reentry"),
            personalised: b(v, "personalised"),
            device_public_key: public_key(&device),
            seat: s(v, "seat").to_owned(),
        };
        if s(v, "seat").len() == 64 && s(v, "seat").chars().any(|c| c.len_utf8() == 4) {
            longest_seat += 1;
        }
        let signed = credential.sign(&issuer).unwrap();
        let cred_bytes = bytes(v, "credential_hex");
        assert_eq!(signed.bytes, cred_bytes, "{name}: credential bytes");
        assert_eq!(
            signed.issuer_sig.to_vec(),
            bytes(v, "issuer_sig_hex"),
            "{name}"
        );
        // The bundle's `credentials` entry: credential ‖ issuer signature (§10.2).
        let mut entry = cred_bytes.clone();
        entry.extend_from_slice(&signed.issuer_sig);
        assert_eq!(entry, bytes(v, "signed_credential_hex"), "{name}");
        let from_bundle = SignedCredential::from_bytes(&entry).unwrap();
        assert_eq!(from_bundle, signed, "{name}");
        let mut msg = b"tessera/v1/s1/credential\0".to_vec();
        msg.extend_from_slice(&cred_bytes);
        assert!(
            verify_ed25519(&issuer_pk, &msg, &signed.issuer_sig),
            "{name}"
        );

        // The reference: the first 4 bytes of SHA-256(credential), big-endian (§7.7.1).
        let cred_digest = digest(&SHA256, &cred_bytes);
        assert_eq!(
            hex::encode(cred_digest.as_ref()),
            s(v, "credential_sha256_hex")
        );
        let reference = u32::from_be_bytes(cred_digest.as_ref()[..4].try_into().unwrap());
        assert_eq!(u64::from(reference), u(v, "reference"), "{name}: reference");
        assert_eq!(hex::encode(reference.to_be_bytes()), s(v, "reference_hex"));
        assert_eq!(reference_of(&signed), reference, "{name}");

        let step = step_at(i(v, "unix_time") * 1000, period);
        assert_eq!(step, u(v, "step"), "{name}: step");
        assert_eq!(
            u(v, "step_low"),
            step % 65_536,
            "{name}: step's low 16 bits"
        );
        let release = opt_bytes(v, "release_secret_hex");
        let mac = release.as_ref().map(|r| {
            // §6, the S1 message (the whole step), built by hand.
            let mut msg = b"tessera/v2/s1/release\0".to_vec();
            msg.extend_from_slice(&u(v, "event_id").to_be_bytes());
            msg.extend_from_slice(ticket(v).as_bytes());
            msg.extend_from_slice(&step.to_be_bytes());
            msg.extend_from_slice(cred_digest.as_ref());
            let tag = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, r), &msg);
            let mut m = [0u8; 8];
            m.copy_from_slice(&tag.as_ref()[..8]);
            assert_eq!(m, release_mac(r, &signed.release_context(), step), "{name}");
            m
        });
        assert_eq!(
            mac.map(|m| m.to_vec()),
            opt_bytes(v, "release_mac_hex"),
            "{name}: release mac"
        );
        assert_eq!(mac.is_some(), b(v, "strict_jit"), "{name}: MAC iff strict");
        let flags: u8 = if mac.is_some() { 0x81 } else { 0x01 };
        assert_eq!(u(v, "flags"), u64::from(flags), "{name}: flags");

        // The device message (§7.7.1, the whole step), by hand.
        let mut dmsg = b"tessera/v3/c1/step\0".to_vec();
        dmsg.extend_from_slice(cred_digest.as_ref());
        dmsg.extend_from_slice(&step.to_be_bytes());
        dmsg.push(flags);
        if let Some(m) = &mac {
            dmsg.extend_from_slice(m);
        }
        assert_eq!(
            dmsg,
            bytes(v, "device_message_hex"),
            "{name}: device message"
        );
        assert_eq!(
            C1Code::device_message(
                signed.digest().as_ref().try_into().unwrap(),
                step,
                mac.as_ref()
            ),
            dmsg,
            "{name}"
        );
        let device_sig = bytes(v, "device_sig_hex");
        assert!(verify_ed25519(&device_pk, &dmsg, &device_sig), "{name}");
        assert!(!verify_ed25519(&issuer_pk, &dmsg, &device_sig), "{name}");
        // Not an S1 step signature: the tag separates the formats (§7.7, §8).
        let mut s1_msg = b"tessera/v1/s1/step\0".to_vec();
        s1_msg.extend_from_slice(&dmsg[19..]);
        s1_msg[19 + 32 + 8] = u8::from(mac.is_some());
        assert!(!verify_ed25519(&device_pk, &s1_msg, &device_sig), "{name}");
        let s1 = S1Code::generate(&signed, &device, step, release.as_deref());
        assert_ne!(s1.device_sig.to_vec(), device_sig, "{name}");
        // Nor a signature of another step with the same low bits.
        let mut far = dmsg.clone();
        far[19 + 32..19 + 32 + 8].copy_from_slice(&(step + 65_536).to_be_bytes());
        assert!(!verify_ed25519(&device_pk, &far, &device_sig), "{name}");

        // The body (§7.7.1) and its digits (§7.7.2), by hand.
        let mut body = vec![flags];
        body.extend_from_slice(&reference.to_be_bytes());
        body.extend_from_slice(&u16::try_from(step % 65_536).unwrap().to_be_bytes());
        if let Some(m) = &mac {
            body.extend_from_slice(m);
        }
        body.extend_from_slice(&device_sig);
        assert_eq!(body, bytes(v, "body_hex"), "{name}: body");
        assert_eq!(u(v, "body_len"), body.len() as u64, "{name}");
        assert_eq!(body.len(), if mac.is_some() { 79 } else { 71 }, "{name}");
        let digits = c1_digits(&body);
        assert_eq!(
            digits.len(),
            if mac.is_some() { 192 } else { 173 },
            "{name}"
        );
        assert_eq!(digits, s(v, "digits"), "{name}: digits");
        assert_eq!(format!("C1:{digits}"), s(v, "payload"), "{name}: payload");
        if mac.is_some() {
            with_mac += 1;
        } else {
            without += 1;
        }

        // The core draws the same code and parses the payload back to it.
        let code = C1Code::generate(&signed, &device, step, release.as_deref());
        assert_eq!(code.to_bytes(), body, "{name}");
        assert_eq!(code.encode(), s(v, "payload"), "{name}");
        let Ok(Code::C1(parsed)) = Code::parse(s(v, "payload")) else {
            panic!("{name}: payload does not parse as C1");
        };
        assert_eq!(parsed, code, "{name}");
        assert_eq!(parsed.reference, reference, "{name}");
        assert_eq!(u64::from(parsed.step_low), step % 65_536, "{name}");
        assert_eq!(parsed.release_mac, mac, "{name}");
        assert_eq!(parsed.device_sig.to_vec(), device_sig, "{name}");
        assert_eq!(C1Code::from_bytes(&body).unwrap(), code, "{name}");
        assert!(parsed.verify_device(&from_bundle, step), "{name}");
        assert!(!parsed.verify_device(&from_bundle, step + 65_536), "{name}");
        // A gate anywhere within half a wrap of the step finds it (§7.7.1).
        for g in [step.saturating_sub(32_767), step, step + 32_767] {
            assert_eq!(parsed.step_near(g), step, "{name}: step near {g}");
        }
    }
    assert!(with_mac >= 2 && without >= 2 && longest_seat >= 1);
    // The worked example (PROTOCOL §11.6) is the S1 one's credential as a C1 code: the same
    // credential, step and release MAC, another device signature.
    let s1 = load("s1.json");
    let named = |list: &[Value], name: &str| {
        list.iter()
            .find(|v| s(v, "name") == name)
            .unwrap_or_else(|| panic!("{name} missing"))
            .clone()
    };
    let t = named(&s1, "s1-strict-jit-personalised-utf8-seat");
    let v = named(&vectors, "c1-strict-jit-personalised-utf8-seat");
    for k in [
        "credential_hex",
        "issuer_sig_hex",
        "release_mac_hex",
        "step",
    ] {
        assert_eq!(t[k], v[k], "{k}");
    }
    assert_ne!(s(&t, "device_sig_hex"), s(&v, "device_sig_hex"));
}

/// Any single flipped bit of a C1 body is caught: by the parser, the reference lookup
/// (the bundle holds the vector's credential only) or the device signature.
#[test]
fn c1_every_flipped_bit_is_rejected() {
    for v in load("c1.json") {
        let name = s(&v, "name");
        let signed = SignedCredential::from_bytes(&bytes(&v, "signed_credential_hex")).unwrap();
        let body = bytes(&v, "body_hex");
        let step = u(&v, "step");
        let accepted = |b: &[u8]| match C1Code::from_bytes(b) {
            Ok(c) => c.reference == reference_of(&signed) && c.verify_device(&signed, step),
            Err(_) => false,
        };
        assert!(accepted(&body), "{name}");
        for k in 0..body.len() {
            for bit in 0..8 {
                let mut m = body.clone();
                m[k] ^= 1 << bit;
                assert!(
                    !accepted(&m),
                    "{name}: byte {k} bit {bit} flipped is accepted"
                );
            }
        }
        let mut longer = body.clone();
        longer.push(0);
        assert!(
            C1Code::from_bytes(&longer).is_err(),
            "{name}: trailing byte"
        );
        assert!(
            C1Code::from_bytes(&body[..body.len() - 1]).is_err(),
            "{name}"
        );
    }
}

/// The digit rules of docs/PROTOCOL.md §7.7.2 and the body rules of §7.7.1: only the
/// canonical digits of a 71- or 79-byte body with its flags.
#[test]
fn c1_digits_must_be_canonical() {
    for v in load("c1.json") {
        let name = s(&v, "name");
        let payload = s(&v, "payload");
        let digits = &payload[3..];
        let body = bytes(&v, "body_hex");
        assert!(Code::parse(payload).is_ok(), "{name}");
        let mut bad = vec![
            format!("c1:{digits}"),
            format!("C1{digits}"),
            format!("C1: {digits}"),
            format!("{payload}\n"),
            format!("{payload}0"),
            payload[..payload.len() - 1].to_owned(),
            "C1:".to_owned(),
            format!("C1:{}", "0".repeat(digits.len() + 19)),
            format!("C1:{}", "0".repeat(digits.len() - 19)),
            format!("C1:A{}", &digits[1..]),
            format!("C1:+{}", &digits[1..]),
            format!("C1:{}_{}", &digits[..20], &digits[21..]),
            // A full-width digit (3 UTF-8 bytes) for three ASCII ones: 173 or 192 bytes.
            format!("C1:{}\u{ff13}{}", &digits[..20], &digits[23..]),
        ];
        // Every group at 256^n, the smallest value its n bytes cannot hold, and at all nines.
        for (at, width, n) in c1_groups(body.len()) {
            for value in [1u128 << (8 * n), 10u128.pow(width as u32) - 1] {
                let group = format!("{value:0width$}");
                assert_eq!(group.len(), width);
                bad.push(format!(
                    "C1:{}{group}{}",
                    &digits[..at],
                    &digits[at + width..]
                ));
            }
            // And at 256^n − 1, the largest it holds: still well formed.
            let max = format!("{:0width$}", (1u128 << (8 * n)) - 1);
            let text = format!("C1:{}{max}{}", &digits[..at], &digits[at + width..]);
            assert!(
                Code::parse(&text).is_ok() || at == 0,
                "{name}: group at {at} set to its largest value"
            );
        }
        // Flags other than 0x01 / 0x81, and flags that disagree with the length.
        for f in [0x00u8, 0x02, 0x03, 0x11, 0x41, 0x80, 0x82, 0xc1, 0xff] {
            let mut b = body.clone();
            b[0] = f;
            bad.push(format!("C1:{}", c1_digits(&b)));
        }
        // The flags of the other length (a MAC announced but absent, or the reverse).
        let mut b = body.clone();
        b[0] ^= 0x80;
        bad.push(format!("C1:{}", c1_digits(&b)));
        // A 73- or 81-byte body (a 4-byte step), in its 178 or 197 digits.
        let mut b = body.clone();
        b.splice(5..5, [0, 0]);
        bad.push(format!("C1:{}", c1_digits(&b)));
        // A body of another length that is otherwise digits: 70, 72, 78 and 80 bytes.
        for len in [70, 72, 78, 80] {
            let mut b = body.clone();
            b.resize(len, 0);
            bad.push(format!("C1:{}", c1_digits(&b)));
        }
        for text in &bad {
            assert!(Code::parse(text).is_err(), "{name}: {text:?} parses");
        }
        // The digits re-encoded from the body are the vector's: one encoding only.
        assert_eq!(c1_digits(&body), digits, "{name}");
    }
}

// --- Release objects (docs/PROTOCOL.md §14, tests/vectors/release.json) -----------------

fn release_doc() -> Value {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "tests",
        "vectors",
        "release.json",
    ]
    .iter()
    .collect();
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The refusal a verifier pinning `pins` gives `text`, or "ok".
fn judge_release(text: &str, pins: &Value) -> &'static str {
    use std::collections::HashMap;
    use tessera_core::code::release_object::{ReleaseObject, ReleaseObjectError};
    let mut keys = HashMap::new();
    for (id, pk) in pins.as_object().unwrap() {
        let mut k = [0u8; 32];
        hex::decode_to_slice(pk.as_str().unwrap(), &mut k).unwrap();
        keys.insert(id.parse::<u32>().unwrap(), k);
    }
    match ReleaseObject::parse(text).and_then(|o| o.verify_with(&keys)) {
        Ok(()) => "ok",
        Err(ReleaseObjectError::Malformed(_)) => "malformed",
        Err(ReleaseObjectError::UnknownKey { .. }) => "unknown_key",
        Err(ReleaseObjectError::BadSignature) => "bad_signature",
    }
}

#[test]
fn release_vectors_regenerate_verify_and_parse_back() {
    use tessera_core::code::release_object::{DOMAIN, ReleaseObject};
    let doc = release_doc();
    assert_eq!(s(&doc, "domain_hex"), hex::encode(DOMAIN));
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 7);
    let mut last_group_sizes = std::collections::BTreeSet::new();
    for v in vectors {
        let name = s(v, "name");
        let seed = bytes(v, "issuer_seed_hex");
        let kp = Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
        assert_eq!(hex::encode(public_key(&kp)), s(v, "issuer_public_key_hex"));
        let key_id = u32::try_from(u(v, "key_id")).unwrap();
        let version = u32::try_from(u(v, "version")).unwrap();
        let o = ReleaseObject::sign(
            &kp,
            key_id,
            EventId(u(v, "event_id")),
            version,
            i(v, "opens_at"),
            &bytes(v, "secret_hex"),
        )
        .unwrap();
        assert_eq!(o.encode(), s(v, "text"), "{name}");
        assert_eq!(hex::encode(&o.to_bytes()[..]), s(v, "body_hex"), "{name}");
        assert_eq!(o.to_bytes().len() as u64, u(v, "body_len"), "{name}");
        assert_eq!(
            hex::encode(&o.signed_message()[..]),
            s(v, "signed_message_hex")
        );
        // ring's plain verification of the documented message agrees.
        UnparsedPublicKey::new(&ED25519, public_key(&kp))
            .verify(&bytes(v, "signed_message_hex"), &bytes(v, "signature_hex"))
            .unwrap();
        let parsed = ReleaseObject::parse(s(v, "text")).unwrap();
        assert_eq!(parsed, o, "{name}");
        let pins = serde_json::json!({ key_id.to_string(): s(v, "issuer_public_key_hex") });
        assert_eq!(judge_release(s(v, "text"), &pins), "ok", "{name}");
        last_group_sizes.insert(o.to_bytes().len() % 7);
    }
    // Every size of last digit group (none, 1–6 bytes) is exercised.
    assert_eq!(last_group_sizes.len(), 7, "{last_group_sizes:?}");
}

#[test]
fn release_vectors_refused_for_the_recorded_reason() {
    let doc = release_doc();
    let invalid = doc["invalid"].as_array().unwrap();
    let mut reasons = std::collections::BTreeSet::new();
    for v in invalid {
        let expect = s(v, "expect");
        assert_eq!(
            judge_release(s(v, "text"), &v["pins"]),
            expect,
            "{}",
            s(v, "name")
        );
        reasons.insert(expect);
    }
    assert_eq!(
        reasons.into_iter().collect::<Vec<_>>(),
        ["bad_signature", "malformed", "unknown_key"]
    );
}
