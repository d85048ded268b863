//! Writes the gate's negative test vectors, `tests/vectors/reject.json` (docs/PROTOCOL.md
//! §10 and §11.4): for every rule of the gate checklist, payloads that break it and the
//! reason a gate gives, with the bundles they are judged against, plus codes the same
//! bundles admit (controls). The sibling of `cargo run -p tessera-core --example
//! gen_vectors`, here because the bundle is the gate crate's `GateBundle`:
//!
//! ```text
//! cargo run -p tessera-gate --example gen_reject_vectors
//! ```
//!
//! Deterministic: every seed, key and time is fixed and Ed25519 is deterministic, so a
//! second run writes the same bytes. Checked by `gate/tests/reject_vectors.rs` (the real
//! verifier) and `tests/vectors/test_vectors.py` (an independent Python gate).

use std::collections::BTreeMap;
use std::error::Error;
use std::path::PathBuf;

use data_encoding::BASE32_NOPAD;
use ring::digest::{SHA256, digest};
use ring::hmac;
use ring::signature::Ed25519KeyPair;
use serde_json::{Map, Value, json};
use tessera_core::code::c1::reference_of;
use tessera_core::code::s1::{CREDENTIAL_DOMAIN, STEP_DOMAIN, public_key};
use tessera_core::code::t1::T1Params;
use tessera_core::code::{C1Code, Credential, S1Code, SignedCredential, T1Code, step_at};
use tessera_core::{EventId, TicketId, TotpAlgorithm};
use tessera_gate::{
    CompactCredential, CredentialDigest, GateBundle, PublicKey, ReentryPolicy, Secret, T1Secrets,
};

type Res<T> = Result<T, Box<dyn Error>>;

const PERIOD: u8 = 15;
/// The bundles' admission window, Unix seconds.
const FROM: i64 = 1_800_000_000;
const UNTIL: i64 = 1_800_021_600;
/// Gate time of most vectors, Unix ms: 7.25 s into step 120000240.
const NOW: i64 = 1_800_003_607_250;
/// One step later.
const LATER: i64 = NOW + 15_000;

const T1_EVENT: EventId = EventId(3001);
const T1_EVENT_SEED_EVENT: EventId = EventId(3002);
const T1_JIT_EVENT: EventId = EventId(3003);
const S1_EVENT: EventId = EventId(4001);
const S1_JIT_EVENT: EventId = EventId(4002);
const KEY_ID: u32 = 1;
const OTHER_KEY_ID: u32 = 2;

/// `len` reproducible pseudo-random bytes named by `label` (as in gen_vectors).
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

fn label(s: &str) -> String {
    format!("tessera/vectors/reject/{s}")
}

fn ticket(name: &str) -> TicketId {
    let mut b = [0u8; 16];
    b.copy_from_slice(&fixed_bytes(&label(&format!("ticket/{name}")), 16));
    TicketId(b)
}

fn seed(name: &str) -> Vec<u8> {
    fixed_bytes(&label(&format!("seed/{name}")), 20)
}

fn key(name: &str) -> Res<Ed25519KeyPair> {
    Ed25519KeyPair::from_seed_unchecked(&fixed_bytes(&label(&format!("key/{name}")), 32))
        .map_err(|e| e.to_string().into())
}

fn release_secret() -> Vec<u8> {
    fixed_bytes(&label("release-secret"), 32)
}

fn event_seed() -> Vec<u8> {
    fixed_bytes(&label("event-seed"), 20)
}

fn payload(prefix: &str, body: &[u8]) -> String {
    format!("{prefix}{}", BASE32_NOPAD.encode(body))
}

fn step(now_ms: i64) -> u64 {
    step_at(now_ms, PERIOD)
}

/// Everything the vectors are made of.
struct Fixture {
    issuer: Ed25519KeyPair,
    other_issuer: Ed25519KeyPair,
    forger: Ed25519KeyPair,
    device: Ed25519KeyPair,
    other_device: Ed25519KeyPair,
    release: Vec<u8>,
}

impl Fixture {
    fn new() -> Res<Self> {
        Ok(Self {
            issuer: key("issuer/1")?,
            other_issuer: key("issuer/2")?,
            forger: key("forger")?,
            device: key("device/1")?,
            other_device: key("device/2")?,
            release: release_secret(),
        })
    }

    fn t1_params<'a>(&self, event: EventId, t: &str, seed: &'a [u8]) -> T1Params<'a> {
        T1Params {
            algorithm: TotpAlgorithm::Sha1,
            digits: 8,
            period_secs: PERIOD,
            ticket: ticket(t),
            event,
            ticket_seed: seed,
            event_seed: None,
            release_secret: None,
        }
    }

    /// A genuine code of the `t1` bundle.
    fn t1(&self, t: &str, at: i64) -> T1Code {
        let s = seed(t);
        T1Code::generate(&self.t1_params(T1_EVENT, t, &s), step(at))
    }

    /// A genuine code of the `t1-event-seed` bundle (SHA-256, 6 digits, event TOTP).
    fn t1_event_seed(&self, t: &str, at: i64) -> T1Code {
        let s = seed(t);
        let e = event_seed();
        T1Code::generate(
            &T1Params {
                algorithm: TotpAlgorithm::Sha256,
                digits: 6,
                event_seed: Some(&e),
                ..self.t1_params(T1_EVENT_SEED_EVENT, t, &s)
            },
            step(at),
        )
    }

    /// A genuine code of the `t1-jit` bundle (strict just-in-time).
    fn t1_jit(&self, t: &str, at: i64, release: Option<&[u8]>) -> T1Code {
        let s = seed(t);
        T1Code::generate(
            &T1Params {
                release_secret: release,
                ..self.t1_params(T1_JIT_EVENT, t, &s)
            },
            step(at),
        )
    }

    fn credential(&self, event: EventId, t: &str, device: &Ed25519KeyPair) -> Credential {
        Credential {
            key_id: KEY_ID,
            ticket: ticket(t),
            event,
            reveal_opens_at: FROM,
            valid_until: UNTIL,
            period_secs: PERIOD,
            strict_jit: event == S1_JIT_EVENT,
            reentry: false,
            personalised: false,
            device_public_key: public_key(device),
            seat: "Block C · Row 4 · Seat 12".into(),
        }
    }

    fn sign(&self, c: &Credential) -> Res<SignedCredential> {
        Ok(c.sign(&self.issuer)?)
    }

    /// A genuine code of the `s1` bundle.
    fn s1(&self, t: &str, at: i64) -> Res<S1Code> {
        let c = self.sign(&self.credential(S1_EVENT, t, &self.device))?;
        Ok(S1Code::generate(&c, &self.device, step(at), None))
    }

    /// A genuine code of the `s1-jit` bundle.
    fn s1_jit(&self, t: &str, at: i64) -> Res<S1Code> {
        let c = self.sign(&self.credential(S1_JIT_EVENT, t, &self.device))?;
        Ok(S1Code::generate(
            &c,
            &self.device,
            step(at),
            Some(&self.release),
        ))
    }

    /// The frame of `signed` at `step` with `mac`, honestly signed by `device`.
    fn s1_with_mac(
        signed: &SignedCredential,
        device: &Ed25519KeyPair,
        step: u64,
        mac: Option<[u8; 8]>,
    ) -> S1Code {
        let msg = S1Code::device_message(&signed.digest(), step, mac.as_ref());
        let mut device_sig = [0u8; 64];
        device_sig.copy_from_slice(device.sign(&msg).as_ref());
        S1Code {
            signed: signed.clone(),
            step,
            release_mac: mac,
            device_sig,
        }
    }

    fn bundles(&self) -> Res<BTreeMap<&'static str, GateBundle>> {
        let seeds = |names: &[&str]| {
            names
                .iter()
                .map(|n| (ticket(n), Secret::new(seed(n))))
                .collect::<BTreeMap<_, _>>()
        };
        let mut t1 = GateBundle::new_s1(T1_EVENT, PERIOD, FROM, UNTIL);
        t1.reentry = ReentryPolicy::Deny;
        t1.revoked.insert(ticket("revoked"));
        t1.seats.insert(ticket("a"), "Stalls 7".into());
        t1.t1 = Some(T1Secrets {
            algorithm: TotpAlgorithm::Sha1,
            digits: 8,
            event_seed: None,
            ticket_seeds: seeds(&["a", "b", "revoked"]),
        });

        let mut t1_event_seed = GateBundle::new_s1(T1_EVENT_SEED_EVENT, PERIOD, FROM, UNTIL);
        t1_event_seed.t1 = Some(T1Secrets {
            algorithm: TotpAlgorithm::Sha256,
            digits: 6,
            event_seed: Some(Secret::new(event_seed())),
            ticket_seeds: seeds(&["a"]),
        });

        let mut t1_jit = GateBundle::new_s1(T1_JIT_EVENT, PERIOD, FROM, UNTIL);
        t1_jit.reentry = ReentryPolicy::Allow;
        t1_jit
            .release_secrets
            .insert(T1_JIT_EVENT, Secret::new(self.release.clone()));
        t1_jit.t1 = Some(T1Secrets {
            algorithm: TotpAlgorithm::Sha1,
            digits: 8,
            event_seed: None,
            ticket_seeds: seeds(&["a"]),
        });

        let mut s1 = GateBundle::new_s1(S1_EVENT, PERIOD, FROM, UNTIL);
        s1.issuer_keys
            .insert(KEY_ID, PublicKey(public_key(&self.issuer)));
        s1.issuer_keys
            .insert(OTHER_KEY_ID, PublicKey(public_key(&self.other_issuer)));
        s1.revoked.insert(ticket("revoked"));
        let old_binding = self.sign(&self.credential(S1_EVENT, "rebound", &self.device))?;
        s1.revoked_credentials
            .insert(CredentialDigest(old_binding.digest()));
        s1.holder_names.insert(ticket("a"), "Ada Lovelace".into());
        s1.seats.insert(ticket("no-seat"), "Box 1".into());

        let mut s1_jit = GateBundle::new_s1(S1_JIT_EVENT, PERIOD, FROM, UNTIL);
        s1_jit.reentry = ReentryPolicy::Deny;
        s1_jit
            .issuer_keys
            .insert(KEY_ID, PublicKey(public_key(&self.issuer)));
        s1_jit
            .release_secrets
            .insert(S1_JIT_EVENT, Secret::new(self.release.clone()));

        let mut s1_no_secret = s1_jit.clone();
        s1_no_secret.release_secrets.clear();

        let mut s1_secret = s1.clone();
        s1_secret
            .release_secrets
            .insert(S1_EVENT, Secret::new(self.release.clone()));

        // Strict events whose bundle predates the release lead: `strict_jit` set, no
        // release secret yet (PROTOCOL §10.2, T1.5, S1.6). Nothing is admitted.
        let mut t1_strict_no_secret = t1_jit.clone();
        t1_strict_no_secret.strict_jit = true;
        t1_strict_no_secret.release_secrets.clear();
        // The same bundle without the flag: the control that `strict_jit` is what refuses.
        let mut t1_no_secret = t1_strict_no_secret.clone();
        t1_no_secret.strict_jit = false;
        let mut s1_strict_no_secret = s1.clone();
        s1_strict_no_secret.strict_jit = true;

        Ok(BTreeMap::from([
            ("t1", t1),
            ("t1-event-seed", t1_event_seed),
            ("t1-jit", t1_jit),
            ("t1-jit-strict-without-secret", t1_strict_no_secret),
            ("t1-jit-not-strict-without-secret", t1_no_secret),
            ("s1", s1),
            ("s1-jit", s1_jit),
            ("s1-jit-without-secret", s1_no_secret),
            ("s1-with-secret", s1_secret),
            ("s1-strict-without-secret", s1_strict_no_secret),
        ]))
    }
}

/// A scan the gate saw before the one under test, and what it answered then.
struct Prior {
    payload: String,
    now_ms: i64,
    expect: &'static str,
}

struct Case {
    name: String,
    rule: &'static str,
    bundle: &'static str,
    now_ms: i64,
    prior: Vec<Prior>,
    /// The payload text, or raw bytes when they are not UTF-8.
    payload: Result<String, Vec<u8>>,
    /// A reject reason, or "admit".
    expect: &'static str,
    seat: Option<String>,
    holder_name: Option<String>,
}

fn case(
    name: &str,
    rule: &'static str,
    bundle: &'static str,
    payload: String,
    expect: &'static str,
) -> Case {
    Case {
        name: name.to_owned(),
        rule,
        bundle,
        now_ms: NOW,
        prior: Vec::new(),
        payload: Ok(payload),
        expect,
        seat: None,
        holder_name: None,
    }
}

impl Case {
    fn at(mut self, now_ms: i64) -> Self {
        self.now_ms = now_ms;
        self
    }

    fn after(mut self, payload: String, now_ms: i64, expect: &'static str) -> Self {
        self.prior.push(Prior {
            payload,
            now_ms,
            expect,
        });
        self
    }

    fn admits(mut self, seat: Option<&str>, holder_name: Option<&str>) -> Self {
        self.seat = seat.map(str::to_owned);
        self.holder_name = holder_name.map(str::to_owned);
        self
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("rule".into(), json!(self.rule));
        m.insert("bundle".into(), json!(self.bundle));
        m.insert("now_ms".into(), json!(self.now_ms));
        m.insert(
            "prior".into(),
            Value::Array(
                self.prior
                    .iter()
                    .map(|p| json!({"payload": p.payload, "now_ms": p.now_ms, "expect": p.expect}))
                    .collect(),
            ),
        );
        match &self.payload {
            Ok(text) => m.insert("payload".into(), json!(text)),
            Err(bytes) => m.insert("payload_hex".into(), json!(hex::encode(bytes))),
        };
        if self.expect == "admit" {
            m.insert("seat".into(), json!(self.seat));
            m.insert("holder_name".into(), json!(self.holder_name));
        } else {
            m.insert("reason".into(), json!(self.expect));
        }
        Value::Object(m)
    }
}

fn set(body: &[u8], at: usize, value: u8) -> Vec<u8> {
    let mut b = body.to_vec();
    b[at] = value;
    b
}

fn or(body: &[u8], at: usize, mask: u8) -> Vec<u8> {
    let mut b = body.to_vec();
    b[at] |= mask;
    b
}

/// The revision-1 release MAC (no event, no credential): what version 1 codes carried.
fn release_mac_v1(secret: &[u8], t: &TicketId, step: u64) -> [u8; 8] {
    let mut msg = b"tessera/v1/release\0".to_vec();
    msg.extend_from_slice(t.as_bytes());
    msg.extend_from_slice(&step.to_be_bytes());
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), &msg);
    let mut m = [0u8; 8];
    m.copy_from_slice(&tag.as_ref()[..8]);
    m
}

/// A complete, honestly made revision-1 T1 code (body version 1, v1 MAC).
fn t1_version_1(code: &T1Code, secret: &[u8]) -> String {
    let mut body = code.to_bytes();
    body[0] = 1;
    let n = body.len();
    body[n - 8..].copy_from_slice(&release_mac_v1(secret, &code.ticket, code.step));
    payload("T1:", &body)
}

/// A complete, honestly signed revision-1 S1 code (credential version 1, v1 MAC).
fn s1_version_1(fx: &Fixture, signed_v2: &SignedCredential, step: u64, secret: &[u8]) -> String {
    let mut cred = signed_v2.bytes.clone();
    cred[0] = 1;
    let mut msg = CREDENTIAL_DOMAIN.to_vec();
    msg.extend_from_slice(&cred);
    let issuer_sig = fx.issuer.sign(&msg);
    let mac = release_mac_v1(secret, &signed_v2.credential.ticket, step);
    let mut dmsg = STEP_DOMAIN.to_vec();
    dmsg.extend_from_slice(digest(&SHA256, &cred).as_ref());
    dmsg.extend_from_slice(&step.to_be_bytes());
    dmsg.push(1);
    dmsg.extend_from_slice(&mac);
    let device_sig = fx.device.sign(&dmsg);
    let mut body = cred;
    body.extend_from_slice(issuer_sig.as_ref());
    body.extend_from_slice(&step.to_be_bytes());
    body.push(1);
    body.extend_from_slice(&mac);
    body.extend_from_slice(device_sig.as_ref());
    payload("S1:", &body)
}

fn cases(fx: &Fixture) -> Res<(Vec<Case>, Vec<Case>)> {
    let mut rejects = Vec::new();
    let mut admits = Vec::new();
    let s_now = step(NOW);

    // ---- Controls: what each bundle admits.
    let t1_a = fx.t1("a", NOW);
    admits.push(
        case("t1-admit", "T1.10", "t1", t1_a.encode(), "admit").admits(Some("Stalls 7"), None),
    );
    admits.push(
        case(
            "t1-admit-previous-step",
            "T1.7",
            "t1",
            fx.t1("a", NOW - 15_000).encode(),
            "admit",
        )
        .admits(Some("Stalls 7"), None),
    );
    admits.push(
        case(
            "t1-admit-next-step",
            "T1.7",
            "t1",
            fx.t1("a", LATER).encode(),
            "admit",
        )
        .admits(Some("Stalls 7"), None),
    );
    admits.push(
        case(
            "t1-admit-at-window-start",
            "T1.6",
            "t1",
            fx.t1("b", FROM * 1000).encode(),
            "admit",
        )
        .at(FROM * 1000),
    );
    admits.push(
        case(
            "t1-admit-last-ms-of-window",
            "T1.6",
            "t1",
            fx.t1("b", UNTIL * 1000 - 1).encode(),
            "admit",
        )
        .at(UNTIL * 1000 - 1),
    );
    admits.push(case(
        "t1-event-seed-admit",
        "T1.4",
        "t1-event-seed",
        fx.t1_event_seed("a", NOW).encode(),
        "admit",
    ));
    let jit = fx.t1_jit("a", NOW, Some(&fx.release));
    admits.push(
        case(
            "t1-jit-admit-reentry-allowed",
            "T1.10",
            "t1-jit",
            fx.t1_jit("a", LATER, Some(&fx.release)).encode(),
            "admit",
        )
        .at(LATER)
        .after(jit.encode(), NOW, "admit"),
    );
    // Without `strict_jit` and without a secret, a code without a MAC is admitted: the
    // control of `t1-strict-bundle-without-secret-code-without-mac`.
    admits.push(case(
        "t1-not-strict-bundle-without-secret-admit-code-without-mac",
        "T1.5 §10.2",
        "t1-jit-not-strict-without-secret",
        fx.t1_jit("a", NOW, None).encode(),
        "admit",
    ));
    // A code refused before it passed the stateless checks was never "seen".
    admits.push(
        case(
            "t1-admit-after-the-same-code-was-refused-as-not-yet-valid",
            "T1.9",
            "t1",
            fx.t1("b", NOW).encode(),
            "admit",
        )
        .after(fx.t1("b", NOW).encode(), FROM * 1000 - 1, "not_yet_valid"),
    );
    let s1_a = fx.s1("a", NOW)?;
    admits.push(
        case("s1-admit", "S1.11", "s1", s1_a.encode(), "admit")
            .admits(Some("Block C · Row 4 · Seat 12"), Some("Ada Lovelace")),
    );
    let mut no_seat = fx.credential(S1_EVENT, "no-seat", &fx.device);
    no_seat.seat = String::new();
    let no_seat = S1Code::generate(&fx.sign(&no_seat)?, &fx.device, s_now, None);
    admits.push(
        case(
            "s1-admit-seat-from-bundle",
            "S1.11",
            "s1",
            no_seat.encode(),
            "admit",
        )
        .admits(Some("Box 1"), None),
    );
    let mut by_key_2 = fx.credential(S1_EVENT, "b", &fx.device);
    by_key_2.key_id = OTHER_KEY_ID;
    let by_key_2 = by_key_2.sign(&fx.other_issuer)?;
    admits.push(
        case(
            "s1-admit-second-issuer-key",
            "S1.3",
            "s1",
            S1Code::generate(&by_key_2, &fx.device, s_now, None).encode(),
            "admit",
        )
        .admits(Some("Block C · Row 4 · Seat 12"), None),
    );
    admits.push(
        case(
            "s1-jit-admit",
            "S1.6",
            "s1-jit",
            fx.s1_jit("a", NOW)?.encode(),
            "admit",
        )
        .admits(Some("Block C · Row 4 · Seat 12"), None),
    );
    let mut reentry = fx.credential(S1_EVENT, "reentry", &fx.device);
    reentry.reentry = true;
    let reentry = fx.sign(&reentry)?;
    admits.push(
        case(
            "s1-admit-again-credential-allows-reentry",
            "S1.11",
            "s1",
            S1Code::generate(&reentry, &fx.device, step(LATER), None).encode(),
            "admit",
        )
        .at(LATER)
        .after(
            S1Code::generate(&reentry, &fx.device, s_now, None).encode(),
            NOW,
            "admit",
        )
        .admits(Some("Block C · Row 4 · Seat 12"), None),
    );
    let rebound = fx.sign(&fx.credential(S1_EVENT, "rebound", &fx.other_device))?;
    admits.push(
        case(
            "s1-admit-new-binding-of-a-rebound-ticket",
            "S1.9",
            "s1",
            S1Code::generate(&rebound, &fx.other_device, s_now, None).encode(),
            "admit",
        )
        .admits(Some("Block C · Row 4 · Seat 12"), None),
    );

    // ---- Rule 1: parse (text). Every rule of §3 and §9.
    let t1_text = t1_a.encode();
    let b32_part = &t1_text[3..];
    let mut r =
        |name: &str, rule: &'static str, bundle: &'static str, p: String, reason: &'static str| {
            rejects.push(case(name, rule, bundle, p, reason));
        };
    r("text-empty", "T1.1 §9.1", "t1", String::new(), "malformed");
    r(
        "text-unknown-prefix",
        "T1.1 §9.1",
        "t1",
        format!("X1:{b32_part}"),
        "malformed",
    );
    r(
        "text-lower-case-prefix",
        "T1.1 §9.1",
        "t1",
        format!("t1:{b32_part}"),
        "malformed",
    );
    r(
        "text-prefix-only-t1",
        "T1.1 §9.3",
        "t1",
        "T1:".into(),
        "malformed",
    );
    r(
        "text-prefix-only-s1",
        "S1.1 §9.3",
        "s1",
        "S1:".into(),
        "malformed",
    );
    r(
        "text-trailing-crlf",
        "T1.1 §10.1",
        "t1",
        format!("{t1_text}\r\n"),
        "malformed",
    );
    r(
        "text-trailing-lf",
        "T1.1 §10.1",
        "t1",
        format!("{t1_text}\n"),
        "malformed",
    );
    r(
        "text-leading-space",
        "T1.1 §10.1",
        "t1",
        format!(" {t1_text}"),
        "malformed",
    );
    r(
        "text-space-inside",
        "T1.1 §3",
        "t1",
        format!("T1:{} {}", &b32_part[..8], &b32_part[8..]),
        "malformed",
    );
    r(
        "text-lower-case-base32",
        "T1.1 §3",
        "t1",
        format!("T1:{}", b32_part.to_lowercase()),
        "malformed",
    );
    r(
        "text-padding",
        "T1.1 §3",
        "t1",
        format!("{t1_text}="),
        "malformed",
    );
    r(
        "text-invalid-length",
        "T1.1 §3",
        "t1",
        format!("{t1_text}A"),
        "malformed",
    );
    r(
        "text-digit-outside-alphabet",
        "T1.1 §3",
        "t1",
        format!("T1:{}1{}", &b32_part[..5], &b32_part[6..]),
        "malformed",
    );
    r(
        "text-non-ascii",
        "T1.1 §10.1",
        "t1",
        format!("T1:{}É{}", &b32_part[..5], &b32_part[6..]),
        "malformed",
    );
    r(
        "text-fullwidth-prefix",
        "T1.1 §10.1",
        "t1",
        format!("Ｔ1:{b32_part}"),
        "malformed",
    );
    r(
        "text-too-long",
        "S1.1 §9.2",
        "s1",
        format!("S1:{}", "A".repeat(1640)),
        "malformed",
    );
    let es = fx.t1_event_seed("a", NOW).encode();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let last = alphabet.find(&es[es.len() - 1..]).ok_or("alphabet")?;
    let unused_bit_set = &alphabet[(last | 1)..=(last | 1)];
    if unused_bit_set == &es[es.len() - 1..] {
        return Err("event-seed code has no unused bits to set".into());
    }
    r(
        "text-non-canonical-last-character",
        "T1.1 §3",
        "t1-event-seed",
        format!("{}{unused_bit_set}", &es[..es.len() - 1]),
        "malformed",
    );
    rejects.push(Case {
        payload: Err({
            let mut b = t1_text.clone().into_bytes();
            b[5] = 0xff;
            b
        }),
        ..case(
            "bytes-not-utf8",
            "T1.1 §10.1",
            "t1",
            String::new(),
            "malformed",
        )
    });

    // ---- T1.1: parse (body).
    let body = t1_a.to_bytes();
    let jit_body = jit.to_bytes();
    let mut r = |name: &str, rule: &'static str, bundle: &'static str, b: Vec<u8>| {
        rejects.push(case(name, rule, bundle, payload("T1:", &b), "malformed"));
    };
    r("t1-version-0", "T1.1 §9.4", "t1", set(&body, 0, 0));
    r("t1-version-3", "T1.1 §9.4", "t1", set(&body, 0, 3));
    r(
        "t1-reserved-flag-bit-4",
        "T1.1 §9.4",
        "t1",
        or(&body, 1, 0x10),
    );
    r(
        "t1-reserved-flag-bit-7",
        "T1.1 §9.4",
        "t1",
        or(&body, 1, 0x80),
    );
    r("t1-algorithm-3", "T1.1 §9.4", "t1", or(&body, 1, 0x03));
    r("t1-digits-5", "T1.1 §9.4", "t1", set(&body, 2, 5));
    r("t1-digits-10", "T1.1 §9.4", "t1", set(&body, 2, 10));
    r("t1-period-4", "T1.1 §9.4", "t1", set(&body, 3, 4));
    r("t1-period-61", "T1.1 §9.4", "t1", set(&body, 3, 61));
    let mut big = body.clone();
    big[36..40].copy_from_slice(&100_000_000u32.to_be_bytes());
    r("t1-totp-out-of-range", "T1.1 §9.4", "t1", big);
    let mut big = fx.t1_event_seed("a", NOW).to_bytes();
    big[40..44].copy_from_slice(&1_000_000u32.to_be_bytes());
    r(
        "t1-event-totp-out-of-range",
        "T1.1 §9.4",
        "t1-event-seed",
        big,
    );
    r(
        "t1-truncated",
        "T1.1 §9.6",
        "t1",
        body[..body.len() - 1].to_vec(),
    );
    let mut longer = body.clone();
    longer.push(0);
    r("t1-trailing-byte", "T1.1 §9.6", "t1", longer);
    r(
        "t1-mac-flag-without-mac",
        "T1.1 §9.6",
        "t1-jit",
        or(&body, 1, 0x08),
    );
    r(
        "t1-mac-without-mac-flag",
        "T1.1 §9.6",
        "t1-jit",
        set(&jit_body, 1, 0),
    );
    rejects.push(case(
        "t1-version-1-genuine-revision-1-code",
        "T1.1 §9.4 §13",
        "t1-jit",
        t1_version_1(&jit, &fx.release),
        "malformed",
    ));

    // ---- T1.2: event.
    let s = seed("a");
    let mut other_event = fx.t1_params(EventId(3999), "a", &s);
    rejects.push(case(
        "t1-other-event",
        "T1.2",
        "t1",
        T1Code::generate(&other_event, s_now).encode(),
        "wrong_event",
    ));
    other_event.event = T1_EVENT;
    other_event.period_secs = 30;
    rejects.push(case(
        "t1-other-period",
        "T1.2",
        "t1",
        T1Code::generate(&other_event, step_at(NOW, 30)).encode(),
        "wrong_event",
    ));
    // First failure wins: another event beats an unknown ticket.
    let s = seed("unknown");
    rejects.push(case(
        "t1-other-event-and-unknown-ticket",
        "T1.2",
        "t1",
        T1Code::generate(&fx.t1_params(EventId(3999), "unknown", &s), s_now).encode(),
        "wrong_event",
    ));

    // ---- T1.3: key.
    rejects.push(case(
        "t1-unknown-ticket",
        "T1.3",
        "t1",
        fx.t1("unknown", NOW).encode(),
        "unknown_key",
    ));
    let s = seed("a");
    rejects.push(case(
        "t1-code-at-a-gate-without-t1-secrets",
        "T1.3",
        "s1",
        T1Code::generate(&fx.t1_params(S1_EVENT, "a", &s), s_now).encode(),
        "unknown_key",
    ));

    // ---- T1.4: TOTP values and no unverifiable part.
    let s = seed("a");
    rejects.push(case(
        "t1-other-algorithm",
        "T1.4",
        "t1",
        T1Code::generate(
            &T1Params {
                algorithm: TotpAlgorithm::Sha256,
                ..fx.t1_params(T1_EVENT, "a", &s)
            },
            s_now,
        )
        .encode(),
        "bad_signature",
    ));
    rejects.push(case(
        "t1-other-digits",
        "T1.4",
        "t1",
        T1Code::generate(
            &T1Params {
                digits: 6,
                ..fx.t1_params(T1_EVENT, "a", &s)
            },
            s_now,
        )
        .encode(),
        "bad_signature",
    ));
    let mut wrong = t1_a.clone();
    wrong.ticket_code = (wrong.ticket_code + 1) % 100_000_000;
    rejects.push(case(
        "t1-wrong-totp",
        "T1.4",
        "t1",
        wrong.encode(),
        "bad_signature",
    ));
    let other_seed = seed("b");
    rejects.push(case(
        "t1-totp-of-another-tickets-seed",
        "T1.4",
        "t1",
        T1Code::generate(&fx.t1_params(T1_EVENT, "a", &other_seed), s_now).encode(),
        "bad_signature",
    ));
    let mut wrong = fx.t1("revoked", NOW);
    wrong.ticket_code = (wrong.ticket_code + 1) % 100_000_000;
    rejects.push(case(
        "t1-forged-code-of-a-revoked-ticket",
        "T1.4",
        "t1",
        wrong.encode(),
        "bad_signature",
    ));
    let mut wrong = fx.t1("a", NOW - 60_000);
    wrong.ticket_code = (wrong.ticket_code + 1) % 100_000_000;
    rejects.push(case(
        "t1-forged-stale-code",
        "T1.4",
        "t1",
        wrong.encode(),
        "bad_signature",
    ));
    let mut no_event = fx.t1_event_seed("a", NOW);
    no_event.event_code = None;
    rejects.push(case(
        "t1-event-totp-missing",
        "T1.4",
        "t1-event-seed",
        no_event.encode(),
        "bad_signature",
    ));
    let mut wrong = fx.t1_event_seed("a", NOW);
    wrong.event_code = wrong.event_code.map(|c| (c + 1) % 1_000_000);
    rejects.push(case(
        "t1-event-totp-wrong",
        "T1.4",
        "t1-event-seed",
        wrong.encode(),
        "bad_signature",
    ));
    let mut extra = t1_a.clone();
    extra.event_code = Some(123_456);
    rejects.push(case(
        "t1-event-totp-without-event-seed",
        "T1.4",
        "t1",
        extra.encode(),
        "bad_signature",
    ));
    let mut extra = t1_a.clone();
    extra.release_mac = Some([0x5a; 8]);
    rejects.push(case(
        "t1-mac-without-release-secret",
        "T1.4",
        "t1",
        extra.encode(),
        "bad_signature",
    ));
    let mut wrong = fx.t1_jit("a", NOW, None);
    wrong.ticket_code = (wrong.ticket_code + 1) % 100_000_000;
    rejects.push(case(
        "t1-jit-forged-without-mac",
        "T1.4",
        "t1-jit",
        wrong.encode(),
        "bad_signature",
    ));

    // ---- T1.5: release MAC.
    rejects.push(case(
        "t1-jit-no-mac",
        "T1.5",
        "t1-jit",
        fx.t1_jit("a", NOW, None).encode(),
        "not_released",
    ));
    rejects.push(case(
        "t1-jit-mac-under-another-secret",
        "T1.5",
        "t1-jit",
        fx.t1_jit("a", NOW, Some(b"guessed")).encode(),
        "not_released",
    ));
    let mut moved = fx.t1_jit("a", NOW, None);
    moved.release_mac = T1Code::generate(
        &T1Params {
            release_secret: Some(&fx.release),
            ..fx.t1_params(T1_EVENT, "a", &s)
        },
        s_now,
    )
    .release_mac;
    rejects.push(case(
        "t1-jit-mac-of-another-event-same-secret",
        "T1.5 §6",
        "t1-jit",
        moved.encode(),
        "not_released",
    ));
    let mut v1_mac = fx.t1_jit("a", NOW, None);
    v1_mac.release_mac = Some(release_mac_v1(&fx.release, &ticket("a"), s_now));
    rejects.push(case(
        "t1-jit-revision-1-mac",
        "T1.5 §6 §13",
        "t1-jit",
        v1_mac.encode(),
        "not_released",
    ));
    let mut other_step = fx.t1_jit("a", NOW, None);
    other_step.release_mac = fx.t1_jit("a", LATER, Some(&fx.release)).release_mac;
    rejects.push(case(
        "t1-jit-mac-of-another-step",
        "T1.5",
        "t1-jit",
        other_step.encode(),
        "not_released",
    ));
    rejects.push(
        case(
            "t1-jit-no-mac-outside-window",
            "T1.5",
            "t1-jit",
            fx.t1_jit("a", UNTIL * 1000, None).encode(),
            "not_released",
        )
        .at(UNTIL * 1000),
    );
    // A strict bundle fetched before the release lead: no secret, yet strict (§10.2).
    rejects.push(case(
        "t1-strict-bundle-without-secret-genuine-code-with-mac",
        "T1.5 §10.2",
        "t1-jit-strict-without-secret",
        fx.t1_jit("a", NOW, Some(&fx.release)).encode(),
        "not_released",
    ));
    rejects.push(case(
        "t1-strict-bundle-without-secret-code-without-mac",
        "T1.5 §10.2",
        "t1-jit-strict-without-secret",
        fx.t1_jit("a", NOW, None).encode(),
        "not_released",
    ));
    let mut forged = fx.t1_jit("a", NOW, Some(&fx.release));
    forged.ticket_code = (forged.ticket_code + 1) % 100_000_000;
    rejects.push(case(
        "t1-strict-bundle-without-secret-forged-code-with-mac",
        "T1.4 §10.2",
        "t1-jit-strict-without-secret",
        forged.encode(),
        "bad_signature",
    ));
    rejects.push(case(
        "t1-not-strict-bundle-without-secret-code-with-mac",
        "T1.4 §10.2",
        "t1-jit-not-strict-without-secret",
        fx.t1_jit("a", NOW, Some(&fx.release)).encode(),
        "bad_signature",
    ));

    // ---- T1.6: window.
    rejects.push(
        case(
            "t1-before-window",
            "T1.6",
            "t1",
            fx.t1("a", FROM * 1000 - 1).encode(),
            "not_yet_valid",
        )
        .at(FROM * 1000 - 1),
    );
    rejects.push(
        case(
            "t1-window-closed",
            "T1.6",
            "t1",
            fx.t1("a", UNTIL * 1000).encode(),
            "expired",
        )
        .at(UNTIL * 1000),
    );
    rejects.push(
        case(
            "t1-window-closed-and-stale",
            "T1.6",
            "t1",
            fx.t1("a", NOW).encode(),
            "expired",
        )
        .at(UNTIL * 1000 + 3_600_000),
    );

    // ---- T1.7: freshness.
    rejects.push(case(
        "t1-two-steps-old",
        "T1.7",
        "t1",
        fx.t1("a", NOW - 30_000).encode(),
        "stale",
    ));
    rejects.push(case(
        "t1-two-steps-ahead",
        "T1.7",
        "t1",
        fx.t1("a", NOW + 30_000).encode(),
        "stale",
    ));
    let s = seed("a");
    rejects.push(case(
        "t1-step-max",
        "T1.7",
        "t1",
        T1Code::generate(&fx.t1_params(T1_EVENT, "a", &s), u64::MAX).encode(),
        "stale",
    ));
    rejects.push(case(
        "t1-stale-revoked-ticket",
        "T1.7",
        "t1",
        fx.t1("revoked", NOW - 30_000).encode(),
        "stale",
    ));

    // ---- T1.8: revocation.
    rejects.push(case(
        "t1-revoked-ticket",
        "T1.8",
        "t1",
        fx.t1("revoked", NOW).encode(),
        "revoked",
    ));

    // ---- T1.9: replay.
    rejects.push(
        case("t1-replay", "T1.9", "t1", t1_a.encode(), "replay").after(t1_a.encode(), NOW, "admit"),
    );
    rejects.push(
        case(
            "t1-replay-later-in-the-step",
            "T1.9",
            "t1",
            t1_a.encode(),
            "replay",
        )
        .at(NOW + 7_000)
        .after(t1_a.encode(), NOW, "admit"),
    );
    let next = fx.t1("a", LATER).encode();
    rejects.push(
        case(
            "t1-replay-of-a-code-refused-as-already-admitted",
            "T1.9",
            "t1",
            next.clone(),
            "replay",
        )
        .at(LATER + 1_000)
        .after(t1_a.encode(), NOW, "admit")
        .after(next, LATER, "already_admitted"),
    );
    let jit_replayed = fx.t1_jit("a", NOW, Some(&fx.release)).encode();
    rejects.push(
        case(
            "t1-replay-with-reentry-allowed",
            "T1.9",
            "t1-jit",
            jit_replayed.clone(),
            "replay",
        )
        .after(jit_replayed, NOW, "admit"),
    );
    rejects.push(
        case(
            "t1-revoked-before-replay",
            "T1.8",
            "t1",
            fx.t1("revoked", NOW).encode(),
            "revoked",
        )
        .after(fx.t1("revoked", NOW).encode(), NOW, "revoked"),
    );

    // ---- T1.10: admission.
    rejects.push(
        case(
            "t1-already-admitted-reentry-deny",
            "T1.10",
            "t1",
            fx.t1("a", LATER).encode(),
            "already_admitted",
        )
        .at(LATER)
        .after(t1_a.encode(), NOW, "admit"),
    );
    let es_now = fx.t1_event_seed("a", NOW).encode();
    rejects.push(
        case(
            "t1-already-admitted-follow-credential-means-once",
            "T1.10",
            "t1-event-seed",
            fx.t1_event_seed("a", LATER).encode(),
            "already_admitted",
        )
        .at(LATER)
        .after(es_now, NOW, "admit"),
    );

    // ---- S1.1: parse.
    let sbody = s1_a.to_bytes();
    let n = usize::from(sbody[79]);
    let mut r = |name: &str, rule: &'static str, b: Vec<u8>| {
        rejects.push(case(name, rule, "s1", payload("S1:", &b), "malformed"));
    };
    r("s1-version-0", "S1.1 §9.5", set(&sbody, 0, 0));
    r("s1-version-3", "S1.1 §9.5", set(&sbody, 0, 3));
    let mut w = sbody.clone();
    let opens = w[29..37].to_vec();
    w[37..45].copy_from_slice(&opens);
    r("s1-window-empty", "S1.1 §9.5", w);
    let mut w = sbody.clone();
    w[37..45].copy_from_slice(&(FROM - 1).to_be_bytes());
    r("s1-window-reversed", "S1.1 §9.5", w);
    r("s1-period-4", "S1.1 §9.5", set(&sbody, 45, 4));
    r("s1-period-61", "S1.1 §9.5", set(&sbody, 45, 61));
    r(
        "s1-reserved-credential-flag-bit-3",
        "S1.1 §9.5",
        or(&sbody, 46, 0x08),
    );
    r(
        "s1-reserved-credential-flag-bit-7",
        "S1.1 §9.5",
        or(&sbody, 46, 0x80),
    );
    r("s1-seat-length-65", "S1.1 §9.5", set(&sbody, 79, 65));
    r("s1-seat-not-utf8", "S1.1 §9.5", set(&sbody, 80, 0xff));
    r("s1-frame-flags-2", "S1.1 §9.5", set(&sbody, 152 + n, 2));
    r(
        "s1-frame-flags-mac-without-mac",
        "S1.1 §9.6",
        set(&sbody, 152 + n, 1),
    );
    r(
        "s1-truncated",
        "S1.1 §9.6",
        sbody[..sbody.len() - 1].to_vec(),
    );
    r("s1-credential-only", "S1.1 §9.6", sbody[..80 + n].to_vec());
    let mut longer = sbody.clone();
    longer.push(0);
    r("s1-trailing-byte", "S1.1 §9.6", longer);
    let jit_signed = fx.sign(&fx.credential(S1_JIT_EVENT, "a", &fx.device))?;
    rejects.push(case(
        "s1-version-1-genuine-revision-1-code",
        "S1.1 §9.5 §13",
        "s1-jit",
        s1_version_1(fx, &jit_signed, s_now, &fx.release),
        "malformed",
    ));

    // ---- S1.2: event.
    let d = &fx.device;
    let cred = |event: EventId, t: &str| fx.credential(event, t, d);
    let code = |c: &Credential, at_step: u64| -> Res<String> {
        Ok(S1Code::generate(&fx.sign(c)?, d, at_step, None).encode())
    };
    rejects.push(case(
        "s1-other-event",
        "S1.2",
        "s1",
        code(&cred(EventId(4999), "a"), s_now)?,
        "wrong_event",
    ));
    let mut c = cred(S1_EVENT, "a");
    c.period_secs = 30;
    rejects.push(case(
        "s1-other-period",
        "S1.2",
        "s1",
        code(&c, step_at(NOW, 30))?,
        "wrong_event",
    ));
    let mut c = cred(EventId(4999), "a");
    c.key_id = 99;
    rejects.push(case(
        "s1-other-event-and-unknown-key",
        "S1.2",
        "s1",
        code(&c, s_now)?,
        "wrong_event",
    ));

    // ---- S1.3: issuer key.
    let mut c = cred(S1_EVENT, "a");
    c.key_id = 99;
    rejects.push(case(
        "s1-unknown-key-id",
        "S1.3",
        "s1",
        code(&c, s_now)?,
        "unknown_key",
    ));
    let mut c = cred(T1_EVENT, "a");
    c.key_id = KEY_ID;
    rejects.push(case(
        "s1-code-at-a-gate-without-issuer-keys",
        "S1.3",
        "t1",
        code(&c, s_now)?,
        "unknown_key",
    ));

    // ---- S1.4: issuer signature.
    let forged = cred(S1_EVENT, "a").sign(&fx.forger)?;
    rejects.push(case(
        "s1-credential-signed-by-another-key",
        "S1.4",
        "s1",
        S1Code::generate(&forged, d, s_now, None).encode(),
        "bad_signature",
    ));
    let mut c = cred(S1_EVENT, "a");
    c.key_id = OTHER_KEY_ID;
    rejects.push(case(
        "s1-credential-claims-the-other-key-id",
        "S1.4",
        "s1",
        S1Code::generate(&c.sign(&fx.issuer)?, d, s_now, None).encode(),
        "bad_signature",
    ));
    let mut b = sbody.clone();
    b[80 + n] ^= 0x01;
    rejects.push(case(
        "s1-issuer-signature-bit-flipped",
        "S1.4",
        "s1",
        payload("S1:", &b),
        "bad_signature",
    ));
    // A field changed after signing (re-entry flag), the frame re-signed by the device.
    let mut altered = s1_a.signed.clone();
    altered.bytes[46] |= 0x02;
    altered.credential.reentry = true;
    rejects.push(case(
        "s1-credential-altered-after-signing",
        "S1.4",
        "s1",
        Fixture::s1_with_mac(&altered, d, s_now, None).encode(),
        "bad_signature",
    ));
    let mut altered = s1_a.signed.clone();
    altered.bytes[21..29].copy_from_slice(&S1_JIT_EVENT.0.to_be_bytes());
    altered.credential.event = S1_JIT_EVENT;
    rejects.push(case(
        "s1-credential-event-changed-after-signing",
        "S1.4",
        "s1-jit",
        Fixture::s1_with_mac(&altered, d, s_now, Some([0; 8])).encode(),
        "bad_signature",
    ));
    let forged_revoked = cred(S1_EVENT, "revoked").sign(&fx.forger)?;
    rejects.push(case(
        "s1-forged-code-of-a-revoked-ticket",
        "S1.4",
        "s1",
        S1Code::generate(&forged_revoked, d, s_now, None).encode(),
        "bad_signature",
    ));
    let jit_forged = fx.credential(S1_JIT_EVENT, "a", d).sign(&fx.forger)?;
    rejects.push(case(
        "s1-jit-forged-without-mac",
        "S1.4",
        "s1-jit",
        S1Code::generate(&jit_forged, d, s_now, None).encode(),
        "bad_signature",
    ));

    // ---- S1.5: device signature.
    let signed_a = s1_a.signed.clone();
    rejects.push(case(
        "s1-step-signed-by-another-device",
        "S1.5",
        "s1",
        S1Code::generate(&signed_a, &fx.other_device, s_now, None).encode(),
        "wrong_device",
    ));
    let mut moved = s1_a.clone();
    moved.step = s_now + 1;
    rejects.push(case(
        "s1-step-changed-after-signing",
        "S1.5",
        "s1",
        moved.encode(),
        "wrong_device",
    ));
    let mut b = sbody.clone();
    let last = b.len() - 1;
    b[last] ^= 0x01;
    rejects.push(case(
        "s1-device-signature-bit-flipped",
        "S1.5",
        "s1",
        payload("S1:", &b),
        "wrong_device",
    ));
    let jit_a = fx.s1_jit("a", NOW)?;
    let mut stripped = jit_a.clone();
    stripped.release_mac = None;
    rejects.push(case(
        "s1-jit-mac-stripped",
        "S1.5",
        "s1-jit",
        stripped.encode(),
        "wrong_device",
    ));
    let mut swapped = jit_a.clone();
    swapped.release_mac = Some([0x5a; 8]);
    rejects.push(case(
        "s1-jit-mac-swapped",
        "S1.5",
        "s1-jit",
        swapped.encode(),
        "wrong_device",
    ));
    rejects.push(case(
        "s1-other-device-and-stale",
        "S1.5",
        "s1",
        S1Code::generate(&signed_a, &fx.other_device, s_now - 5, None).encode(),
        "wrong_device",
    ));

    // ---- S1.6: release MAC.
    rejects.push(case(
        "s1-jit-no-mac",
        "S1.6",
        "s1-jit",
        S1Code::generate(&jit_signed, d, s_now, None).encode(),
        "not_released",
    ));
    rejects.push(case(
        "s1-jit-mac-under-another-secret",
        "S1.6",
        "s1-jit",
        S1Code::generate(&jit_signed, d, s_now, Some(b"guessed")).encode(),
        "not_released",
    ));
    // The same ticket in another event whose codes used the same release secret.
    let mut other_event = fx.credential(S1_EVENT, "a", d);
    other_event.strict_jit = true;
    let other_event = fx.sign(&other_event)?;
    let mac_other_event = S1Code::generate(&other_event, d, s_now, Some(&fx.release)).release_mac;
    rejects.push(case(
        "s1-jit-mac-of-another-event-same-secret",
        "S1.6 §6",
        "s1-jit",
        Fixture::s1_with_mac(&jit_signed, d, s_now, mac_other_event).encode(),
        "not_released",
    ));
    // The same ticket's previous binding (another credential) in this event.
    let old_binding = fx.sign(&fx.credential(S1_JIT_EVENT, "a", &fx.other_device))?;
    let mac_old_binding =
        S1Code::generate(&old_binding, &fx.other_device, s_now, Some(&fx.release)).release_mac;
    rejects.push(case(
        "s1-jit-mac-of-another-credential",
        "S1.6 §6",
        "s1-jit",
        Fixture::s1_with_mac(&jit_signed, d, s_now, mac_old_binding).encode(),
        "not_released",
    ));
    rejects.push(case(
        "s1-jit-revision-1-mac",
        "S1.6 §6 §13",
        "s1-jit",
        Fixture::s1_with_mac(
            &jit_signed,
            d,
            s_now,
            Some(release_mac_v1(&fx.release, &ticket("a"), s_now)),
        )
        .encode(),
        "not_released",
    ));
    let mac_next = S1Code::generate(&jit_signed, d, s_now + 1, Some(&fx.release)).release_mac;
    rejects.push(case(
        "s1-jit-mac-of-another-step",
        "S1.6",
        "s1-jit",
        Fixture::s1_with_mac(&jit_signed, d, s_now, mac_next).encode(),
        "not_released",
    ));
    rejects.push(case(
        "s1-jit-credential-at-a-gate-without-the-secret",
        "S1.6",
        "s1-jit-without-secret",
        jit_a.encode(),
        "not_released",
    ));
    rejects.push(case(
        "s1-not-strict-credential-at-a-gate-with-a-secret",
        "S1.6",
        "s1-with-secret",
        s1_a.encode(),
        "not_released",
    ));
    // A strict bundle without the secret refuses every S1 code, even of a credential
    // without the strict flag (§10.2, S1.6).
    rejects.push(case(
        "s1-strict-bundle-without-secret-not-strict-credential-no-mac",
        "S1.6 §10.2",
        "s1-strict-without-secret",
        s1_a.encode(),
        "not_released",
    ));
    let mut strict_cred = fx.credential(S1_EVENT, "a", d);
    strict_cred.strict_jit = true;
    let strict_cred = fx.sign(&strict_cred)?;
    rejects.push(case(
        "s1-strict-bundle-without-secret-strict-credential-with-mac",
        "S1.6 §10.2",
        "s1-strict-without-secret",
        S1Code::generate(&strict_cred, d, s_now, Some(&fx.release)).encode(),
        "not_released",
    ));
    rejects.push(case(
        "s1-strict-bundle-without-secret-step-signed-by-another-device",
        "S1.5 §10.2",
        "s1-strict-without-secret",
        S1Code::generate(&s1_a.signed, &fx.other_device, s_now, None).encode(),
        "wrong_device",
    ));
    rejects.push(
        case(
            "s1-jit-no-mac-before-window",
            "S1.6",
            "s1-jit",
            S1Code::generate(&jit_signed, d, step(FROM * 1000 - 1), None).encode(),
            "not_released",
        )
        .at(FROM * 1000 - 1),
    );

    // ---- S1.7: window (the bundle's, intersected with the credential's).
    let at = |t: i64| -> Res<String> { Ok(fx.s1("b", t)?.encode()) };
    rejects.push(
        case(
            "s1-before-bundle-window",
            "S1.7",
            "s1",
            at(FROM * 1000 - 1)?,
            "not_yet_valid",
        )
        .at(FROM * 1000 - 1),
    );
    rejects.push(
        case(
            "s1-bundle-window-closed",
            "S1.7",
            "s1",
            at(UNTIL * 1000)?,
            "expired",
        )
        .at(UNTIL * 1000),
    );
    let mut late = cred(S1_EVENT, "b");
    late.reveal_opens_at = NOW / 1000 + 1;
    rejects.push(case(
        "s1-before-credential-reveal",
        "S1.7",
        "s1",
        code(&late, s_now)?,
        "not_yet_valid",
    ));
    let mut early = cred(S1_EVENT, "b");
    early.valid_until = NOW / 1000;
    rejects.push(case(
        "s1-credential-validity-ended",
        "S1.7",
        "s1",
        code(&early, s_now)?,
        "expired",
    ));
    let mut c = cred(S1_EVENT, "b");
    c.reveal_opens_at = FROM - 86_400;
    c.valid_until = UNTIL + 86_400;
    rejects.push(
        case(
            "s1-credential-wider-than-bundle-window",
            "S1.7",
            "s1",
            code(&c, step(UNTIL * 1000 + 1))?,
            "expired",
        )
        .at(UNTIL * 1000 + 1),
    );
    rejects.push(
        case(
            "s1-before-window-and-stale",
            "S1.7",
            "s1",
            code(&cred(S1_EVENT, "b"), s_now)?,
            "not_yet_valid",
        )
        .at(FROM * 1000 - 86_400_000),
    );

    // ---- S1.8: freshness.
    rejects.push(case(
        "s1-two-steps-old",
        "S1.8",
        "s1",
        at(NOW - 30_000)?,
        "stale",
    ));
    rejects.push(case(
        "s1-two-steps-ahead",
        "S1.8",
        "s1",
        at(NOW + 30_000)?,
        "stale",
    ));
    rejects.push(case(
        "s1-step-zero",
        "S1.8",
        "s1",
        code(&cred(S1_EVENT, "b"), 0)?,
        "stale",
    ));
    rejects.push(case(
        "s1-step-max",
        "S1.8",
        "s1",
        code(&cred(S1_EVENT, "b"), u64::MAX)?,
        "stale",
    ));
    rejects.push(case(
        "s1-stale-revoked-ticket",
        "S1.8",
        "s1",
        fx.s1("revoked", NOW - 30_000)?.encode(),
        "stale",
    ));

    // ---- S1.9: revocation.
    rejects.push(case(
        "s1-revoked-ticket",
        "S1.9",
        "s1",
        fx.s1("revoked", NOW)?.encode(),
        "revoked",
    ));
    rejects.push(case(
        "s1-revoked-credential",
        "S1.9",
        "s1",
        fx.s1("rebound", NOW)?.encode(),
        "revoked",
    ));

    // ---- S1.10: replay.
    rejects.push(
        case("s1-replay", "S1.10", "s1", s1_a.encode(), "replay").after(
            s1_a.encode(),
            NOW,
            "admit",
        ),
    );
    let reentry_now = S1Code::generate(&reentry, d, s_now, None).encode();
    rejects.push(
        case(
            "s1-replay-with-reentry-allowed",
            "S1.10",
            "s1",
            reentry_now.clone(),
            "replay",
        )
        .after(reentry_now, NOW, "admit"),
    );
    let next = fx.s1("a", LATER)?.encode();
    rejects.push(
        case(
            "s1-replay-of-a-code-refused-as-already-admitted",
            "S1.10",
            "s1",
            next.clone(),
            "replay",
        )
        .at(LATER + 1_000)
        .after(s1_a.encode(), NOW, "admit")
        .after(next, LATER, "already_admitted"),
    );
    // Replay is per (ticket, step), not per payload: another genuine credential of the
    // same ticket (a second binding, re-entry allowed) at the same step is a replay.
    let mut second = fx.credential(S1_EVENT, "reentry", &fx.other_device);
    second.reentry = true;
    let second = fx.sign(&second)?;
    rejects.push(
        case(
            "s1-replay-is-per-ticket-and-step-not-per-payload",
            "S1.10",
            "s1",
            S1Code::generate(&second, &fx.other_device, s_now, None).encode(),
            "replay",
        )
        .after(
            S1Code::generate(&reentry, d, s_now, None).encode(),
            NOW,
            "admit",
        ),
    );

    // ---- S1.11: admission.
    rejects.push(
        case(
            "s1-already-admitted-follow-credential",
            "S1.11",
            "s1",
            fx.s1("a", LATER)?.encode(),
            "already_admitted",
        )
        .at(LATER)
        .after(s1_a.encode(), NOW, "admit"),
    );
    let mut reentry_jit = fx.credential(S1_JIT_EVENT, "reentry", d);
    reentry_jit.reentry = true;
    let reentry_jit = fx.sign(&reentry_jit)?;
    rejects.push(
        case(
            "s1-already-admitted-bundle-denies-reentry-over-credential",
            "S1.11",
            "s1-jit",
            S1Code::generate(&reentry_jit, d, step(LATER), Some(&fx.release)).encode(),
            "already_admitted",
        )
        .at(LATER)
        .after(
            S1Code::generate(&reentry_jit, d, s_now, Some(&fx.release)).encode(),
            NOW,
            "admit",
        ),
    );

    // ---- Ed25519 acceptance (§7.6), inside S1.4 and S1.5.
    // A credential binding the identity point, honestly signed by the issuer (an issuer
    // following §7.6 never signs it; this one is made by hand). Its "device signature"
    // R = identity, S = 0 satisfies RFC 8032's equation for every message, with no key.
    let mut nobody = fx.credential(S1_EVENT, "b", d);
    nobody.device_public_key = IDENTITY;
    let bytes = nobody.to_bytes()?;
    let mut msg = CREDENTIAL_DOMAIN.to_vec();
    msg.extend_from_slice(&bytes);
    let mut issuer_sig = [0u8; 64];
    issuer_sig.copy_from_slice(fx.issuer.sign(&msg).as_ref());
    let mut forged_step = [0u8; 64];
    forged_step[..32].copy_from_slice(&IDENTITY);
    rejects.push(case(
        "s1-credential-binds-a-small-order-device-key",
        "S1.4 §7.6",
        "s1",
        S1Code {
            signed: SignedCredential {
                credential: nobody,
                bytes,
                issuer_sig,
            },
            step: s_now,
            release_mac: None,
            device_sig: forged_step,
        }
        .encode(),
        "bad_signature",
    ));
    // The genuine device signature with S + L: the same signature in another encoding.
    let mut malleated = s1_a.clone();
    let mut s = [0u8; 32];
    s.copy_from_slice(&malleated.device_sig[32..]);
    malleated.device_sig[32..].copy_from_slice(&add_le(&s, &ORDER_L));
    rejects.push(case(
        "s1-device-signature-s-not-reduced",
        "S1.5 §7.6",
        "s1",
        malleated.encode(),
        "wrong_device",
    ));
    let mut b = sbody.clone();
    let sig_at = b.len() - 64;
    b[sig_at..sig_at + 32].copy_from_slice(&IDENTITY);
    rejects.push(case(
        "s1-device-signature-r-small-order",
        "S1.5 §7.6",
        "s1",
        payload("S1:", &b),
        "wrong_device",
    ));

    Ok((rejects, admits))
}

/// The identity point's encoding (y = 1): a point of small order.
const IDENTITY: [u8; 32] = {
    let mut b = [0u8; 32];
    b[0] = 1;
    b
};

/// L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const ORDER_L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// `a + b` of two little-endian 256-bit numbers (no overflow for `S < L` plus `L`).
fn add_le(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = (v & 0xff) as u8;
        carry = v >> 8;
    }
    out
}

/// Bundles a gate MUST refuse (§10.2), each the `s1` or `t1` bundle with one thing wrong.
fn invalid_bundles(bundles: &Map<String, Value>) -> Res<Vec<Value>> {
    let mut out = Vec::new();
    let mut push = |name: &str, base: &str, change: &dyn Fn(&mut Value)| -> Res<()> {
        let mut b = bundles.get(base).ok_or("no base bundle")?.clone();
        change(&mut b);
        if GateBundle::from_json(&b.to_string()).is_ok() {
            return Err(format!("invalid bundle {name} loads").into());
        }
        out.push(json!({"name": name, "bundle": b}));
        Ok(())
    };
    push("period-4", "s1", &|b| b["period_secs"] = json!(4))?;
    push("period-61", "s1", &|b| b["period_secs"] = json!(61))?;
    push("window-empty", "s1", &|b| {
        b["valid_until"] = b["valid_from"].clone()
    })?;
    push("window-reversed", "s1", &|b| {
        b["valid_until"] = json!(FROM - 1)
    })?;
    push("missing-event", "s1", &|b| {
        b.as_object_mut().map(|o| o.remove("event"));
    })?;
    push("missing-issuer-keys", "s1", &|b| {
        b.as_object_mut().map(|o| o.remove("issuer_keys"));
    })?;
    push("event-negative", "s1", &|b| b["event"] = json!(-1))?;
    push("event-not-a-number", "s1", &|b| b["event"] = json!("4001"))?;
    push("reentry-unknown", "s1", &|b| {
        b["reentry"] = json!("Sometimes")
    })?;
    push("issuer-key-short", "s1", &|b| {
        b["issuer_keys"]["1"] = json!("00".repeat(31))
    })?;
    push("issuer-key-not-hex", "s1", &|b| {
        b["issuer_keys"]["1"] = json!("zz".repeat(32))
    })?;
    push("issuer-key-id-not-a-number", "s1", &|b| {
        b["issuer_keys"]["one"] = b["issuer_keys"]["1"].clone()
    })?;
    push("issuer-key-small-order-identity", "s1", &|b| {
        b["issuer_keys"]["1"] = json!(hex::encode(IDENTITY))
    })?;
    push("issuer-key-small-order-sign-bit-set", "s1", &|b| {
        let mut k = IDENTITY;
        k[31] |= 0x80;
        b["issuer_keys"]["1"] = json!(hex::encode(k))
    })?;
    push("issuer-key-non-canonical", "s1", &|b| {
        // y = p + 2 = 2^255 - 17: not reduced (and not one of the small-order values).
        let mut k = [0xffu8; 32];
        k[0] = 0xef;
        k[31] = 0x7f;
        b["issuer_keys"]["1"] = json!(hex::encode(k))
    })?;
    push("revoked-ticket-id-short", "s1", &|b| {
        b["revoked"] = json!(["00"])
    })?;
    push("revoked-credential-not-hex", "s1", &|b| {
        b["revoked_credentials"] = json!(["zz".repeat(32)])
    })?;
    push("release-secret-empty", "s1", &|b| {
        b["release_secrets"] = json!({"4001": ""})
    })?;
    push("release-secret-event-not-a-number", "s1", &|b| {
        b["release_secrets"] = json!({"x": "00"})
    })?;
    push("t1-digits-5", "t1", &|b| b["t1"]["digits"] = json!(5))?;
    push("t1-digits-10", "t1", &|b| b["t1"]["digits"] = json!(10))?;
    push("t1-algorithm-unknown", "t1", &|b| {
        b["t1"]["algorithm"] = json!("Md5")
    })?;
    push("t1-ticket-seed-empty", "t1", &|b| {
        if let Some(seeds) = b["t1"]["ticket_seeds"].as_object_mut() {
            for v in seeds.values_mut() {
                *v = json!("");
            }
        }
    })?;
    push("t1-event-seed-empty", "t1", &|b| {
        b["t1"]["event_seed"] = json!("")
    })?;
    push("t1-missing-ticket-seeds", "t1", &|b| {
        b["t1"].as_object_mut().map(|o| o.remove("ticket_seeds"));
    })?;
    Ok(out)
}

// ---- C1: the compact signed code (PROTOCOL §7.7, §10.7).

/// The event of the `c1-wrap` bundle, whose window holds a step whose low 16 bits wrap.
const C1_WRAP_EVENT: EventId = EventId(4005);
/// Step 0x0728_0000: its low 16 bits are zero, the step before's are 0xffff.
const WRAP_STEP: u64 = 0x0728_0000;
/// Gate time 7.25 s into `WRAP_STEP`.
const WRAP_NOW: i64 = 0x0728_0000 * 15_000 + 7_250;
/// The `c1-wrap` window: an hour either side of `WRAP_STEP`'s start, Unix seconds.
const WRAP_FROM: i64 = 0x0728_0000 * 15 - 3_600;
const WRAP_UNTIL: i64 = 0x0728_0000 * 15 + 3_600;
/// Half the 16-bit step range: the farthest a code's step can be from the gate's and
/// still be the one its low bits name (§7.7.1).
const HALF_WRAP: u64 = 0x8000;

/// The low 16 bits of a step: what a C1 body carries.
fn low16(step: u64) -> u16 {
    u16::try_from(step & 0xffff).unwrap_or_default()
}

/// PROTOCOL §7.7.2, written out: groups of 7 bytes, each a big-endian number in a fixed
/// number of decimal digits (so bodies the core would never draw can be written).
fn c1_digits(body: &[u8]) -> String {
    const DIGITS: [usize; 8] = [0, 3, 5, 8, 10, 13, 15, 17];
    body.chunks(7)
        .map(|g| {
            let v = g.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b));
            format!("{v:0w$}", w = DIGITS[g.len()])
        })
        .collect()
}

fn c1_payload(body: &[u8]) -> String {
    format!("C1:{}", c1_digits(body))
}

/// The C1 frame of `signed` at `step` with `mac`, honestly signed by `device` (the MAC
/// need not be the right one).
fn c1_with_mac(
    signed: &SignedCredential,
    device: &Ed25519KeyPair,
    step: u64,
    mac: Option<[u8; 8]>,
) -> C1Code {
    let msg = C1Code::device_message(&signed.digest(), step, mac.as_ref());
    let mut device_sig = [0u8; 64];
    device_sig.copy_from_slice(device.sign(&msg).as_ref());
    C1Code {
        reference: reference_of(signed),
        step_low: low16(step),
        release_mac: mac,
        device_sig,
    }
}

/// The credentials the `c1` bundle lists (tickets shared with the S1 vectors have the
/// same credentials, so their S1 and C1 codes are codes of one binding).
struct C1Credentials {
    a: SignedCredential,
    b: SignedCredential,
    no_seat: SignedCredential,
    revoked: SignedCredential,
    rebound_old: SignedCredential,
    rebound_new: SignedCredential,
    reentry: SignedCredential,
    key_2: SignedCredential,
    unknown_key: SignedCredential,
    forged: SignedCredential,
    claims_key_2: SignedCredential,
    altered: SignedCredential,
    forged_revoked: SignedCredential,
    other_period: SignedCredential,
    late: SignedCredential,
    early: SignedCredential,
    /// Strict just-in-time credentials of the `c1-jit` bundles.
    jit_a: SignedCredential,
    jit_reentry: SignedCredential,
    /// The credential of the `c1-wrap` bundle.
    wrap: SignedCredential,
    /// Not in any bundle: a ticket bound after the bundle was made.
    new: SignedCredential,
}

impl C1Credentials {
    fn new(fx: &Fixture) -> Res<Self> {
        let d = &fx.device;
        let cred = |t: &str| fx.credential(S1_EVENT, t, d);
        let mut no_seat = cred("no-seat");
        no_seat.seat = String::new();
        let mut reentry = cred("reentry");
        reentry.reentry = true;
        let mut key_2 = cred("c1/key-2");
        key_2.key_id = OTHER_KEY_ID;
        let mut unknown_key = cred("c1/unknown-key");
        unknown_key.key_id = 99;
        let mut claims_key_2 = cred("c1/claims-key-2");
        claims_key_2.key_id = OTHER_KEY_ID;
        // A field changed after signing (the re-entry flag): the bundle lists the altered
        // bytes with the genuine signature of the original ones.
        let mut altered = fx.sign(&cred("c1/altered"))?;
        altered.bytes[46] |= 0x02;
        altered.credential.reentry = true;
        // Not the genuine credential's bytes (those would carry the genuine reference, and
        // the bundle's genuine credential would be found): another seat, forged.
        let mut forged_revoked = cred("revoked");
        forged_revoked.seat = "Royal Box".into();
        let mut other_period = cred("c1/other-period");
        other_period.period_secs = 30;
        let mut late = cred("c1/late");
        late.reveal_opens_at = NOW / 1000 + 1;
        let mut early = cred("c1/early");
        early.valid_until = NOW / 1000;
        let mut jit_reentry = fx.credential(S1_JIT_EVENT, "reentry", d);
        jit_reentry.reentry = true;
        let mut wrap = fx.credential(C1_WRAP_EVENT, "c1/wrap", d);
        wrap.reveal_opens_at = WRAP_FROM;
        wrap.valid_until = WRAP_UNTIL;
        Ok(Self {
            a: fx.sign(&cred("a"))?,
            b: fx.sign(&cred("b"))?,
            no_seat: fx.sign(&no_seat)?,
            revoked: fx.sign(&cred("revoked"))?,
            rebound_old: fx.sign(&cred("rebound"))?,
            rebound_new: fx.sign(&fx.credential(S1_EVENT, "rebound", &fx.other_device))?,
            reentry: fx.sign(&reentry)?,
            key_2: key_2.sign(&fx.other_issuer)?,
            unknown_key: fx.sign(&unknown_key)?,
            forged: cred("c1/forged").sign(&fx.forger)?,
            claims_key_2: fx.sign(&claims_key_2)?,
            altered,
            forged_revoked: forged_revoked.sign(&fx.forger)?,
            other_period: fx.sign(&other_period)?,
            late: fx.sign(&late)?,
            early: fx.sign(&early)?,
            jit_a: fx.sign(&fx.credential(S1_JIT_EVENT, "a", d))?,
            jit_reentry: fx.sign(&jit_reentry)?,
            wrap: fx.sign(&wrap)?,
            new: fx.sign(&cred("c1/new"))?,
        })
    }

    /// Everything the `c1` bundle lists.
    fn listed(&self) -> Vec<&SignedCredential> {
        vec![
            &self.a,
            &self.b,
            &self.no_seat,
            &self.revoked,
            &self.rebound_old,
            &self.rebound_new,
            &self.reentry,
            &self.key_2,
            &self.unknown_key,
            &self.forged,
            &self.claims_key_2,
            &self.altered,
            &self.forged_revoked,
            &self.other_period,
            &self.late,
            &self.early,
        ]
    }
}

/// The C1 credentials and the colliding pair, made once.
struct C1Fixture {
    creds: C1Credentials,
    collision: (SignedCredential, SignedCredential),
}

/// Two issuer-signed credentials of one ticket whose references (the first 4 bytes of
/// their digests) are equal (§7.7.1: about one pair in a 90,000-seat event), found by
/// varying the key id: a birthday search over SHA-256 of the credential bytes only (the
/// issuer signs just the two found). Answered in digest order: the first is the one the
/// bundle lists first.
fn colliding_credentials(fx: &Fixture) -> Res<(SignedCredential, SignedCredential)> {
    let template = fx.credential(S1_EVENT, "c1/collision", &fx.device);
    let mut bytes = template.to_bytes()?;
    let mut seen: std::collections::HashMap<[u8; 4], u32> = std::collections::HashMap::new();
    for key_id in 1_000..2_000_000u32 {
        bytes[1..5].copy_from_slice(&key_id.to_be_bytes());
        let d = digest(&SHA256, &bytes);
        let mut reference = [0u8; 4];
        reference.copy_from_slice(&d.as_ref()[..4]);
        if let Some(&other) = seen.get(&reference) {
            let sign = |id: u32| -> Res<SignedCredential> {
                let mut c = template.clone();
                c.key_id = id;
                fx.sign(&c)
            };
            let (x, y) = (sign(other)?, sign(key_id)?);
            if reference_of(&x) != reference_of(&y) || x.digest() == y.digest() {
                return Err("the collision search is wrong".into());
            }
            return Ok(if x.digest() < y.digest() {
                (x, y)
            } else {
                (y, x)
            });
        }
        seen.insert(reference, key_id);
    }
    Err("no colliding references".into())
}

fn compact(list: &[&SignedCredential]) -> Vec<CompactCredential> {
    let mut out: Vec<CompactCredential> = list
        .iter()
        .map(|c| CompactCredential((*c).clone()))
        .collect();
    // Issuers list them in digest order (§10.2).
    out.sort_by_key(|c| c.0.digest());
    out
}

/// The C1 bundles: the S1 bundles of the same events with the credentials listed.
fn c1_bundles(
    fx: &Fixture,
    c1: &C1Fixture,
    s1: &BTreeMap<&'static str, GateBundle>,
) -> Res<Vec<(&'static str, GateBundle)>> {
    let cc = &c1.creds;
    let base = |name: &str| -> Res<GateBundle> {
        s1.get(name)
            .cloned()
            .ok_or_else(|| format!("no bundle {name}").into())
    };
    let mut plain = base("s1")?;
    plain.credentials = compact(&cc.listed());
    let mut c1_jit = base("s1-jit")?;
    c1_jit.credentials = compact(&[&cc.jit_a, &cc.jit_reentry]);
    let mut jit_without_secret = base("s1-jit-without-secret")?;
    jit_without_secret.credentials = compact(&[&cc.jit_a]);
    let mut with_secret = base("s1-with-secret")?;
    with_secret.credentials = compact(&[&cc.a]);
    let mut strict_without_secret = base("s1-strict-without-secret")?;
    strict_without_secret.credentials = compact(&[&cc.a]);
    let mut wrap = GateBundle::new_s1(C1_WRAP_EVENT, PERIOD, WRAP_FROM, WRAP_UNTIL);
    wrap.issuer_keys
        .insert(KEY_ID, PublicKey(public_key(&fx.issuer)));
    wrap.credentials = compact(&[&cc.wrap]);
    // Two credentials sharing a reference: the first (in digest order) is under a key id
    // the bundle does not have (a removed key), the second under one it has.
    let (first, second) = &c1.collision;
    let mut collision = GateBundle::new_s1(S1_EVENT, PERIOD, FROM, UNTIL);
    collision
        .issuer_keys
        .insert(second.credential.key_id, PublicKey(public_key(&fx.issuer)));
    collision.credentials = compact(&[first, second]);
    if collision.credentials[0].0 != *first {
        return Err("collision order".into());
    }
    Ok(vec![
        ("c1", plain),
        ("c1-jit", c1_jit),
        ("c1-jit-without-secret", jit_without_secret),
        ("c1-with-secret", with_secret),
        ("c1-strict-without-secret", strict_without_secret),
        ("c1-wrap", wrap),
        ("c1-collision", collision),
    ])
}

/// The C1 gate vectors (§10.7: C1.1–C1.3, and through C1.3 every S1 rule).
fn c1_cases(
    fx: &Fixture,
    c1: &C1Fixture,
    rejects: &mut Vec<Case>,
    admits: &mut Vec<Case>,
) -> Res<()> {
    let cc = &c1.creds;
    let d = &fx.device;
    let s_now = step(NOW);
    let draw = |c: &SignedCredential, dev: &Ed25519KeyPair, at_step: u64| {
        C1Code::generate(c, dev, at_step, None)
    };
    let code = |c: &SignedCredential, at_step: u64| draw(c, d, at_step).encode();
    let jit =
        |c: &SignedCredential, at_step: u64| C1Code::generate(c, d, at_step, Some(&fx.release));
    let c1_a = draw(&cc.a, d, s_now);
    let a_now = c1_a.encode();
    let seat = Some("Block C · Row 4 · Seat 12");

    // ---- Controls.
    admits.push(
        case("c1-admit", "C1.3 S1.11", "c1", a_now.clone(), "admit")
            .admits(seat, Some("Ada Lovelace")),
    );
    admits.push(
        case(
            "c1-admit-previous-step",
            "C1.3 S1.8 §7.7.1",
            "c1",
            code(&cc.a, s_now - 1),
            "admit",
        )
        .admits(seat, Some("Ada Lovelace")),
    );
    admits.push(
        case(
            "c1-admit-next-step",
            "C1.3 S1.8 §7.7.1",
            "c1",
            code(&cc.a, s_now + 1),
            "admit",
        )
        .admits(seat, Some("Ada Lovelace")),
    );
    admits.push(
        case(
            "c1-admit-seat-from-bundle",
            "C1.3 S1.11 §10.6",
            "c1",
            code(&cc.no_seat, s_now),
            "admit",
        )
        .admits(Some("Box 1"), None),
    );
    admits.push(
        case(
            "c1-admit-second-issuer-key",
            "C1.3 S1.3",
            "c1",
            code(&cc.key_2, s_now),
            "admit",
        )
        .admits(seat, None),
    );
    admits.push(
        case(
            "c1-jit-admit",
            "C1.3 S1.6",
            "c1-jit",
            jit(&cc.jit_a, s_now).encode(),
            "admit",
        )
        .admits(seat, None),
    );
    admits.push(
        case(
            "c1-admit-again-credential-allows-reentry",
            "C1.3 S1.11",
            "c1",
            code(&cc.reentry, step(LATER)),
            "admit",
        )
        .at(LATER)
        .after(code(&cc.reentry, s_now), NOW, "admit")
        .admits(seat, None),
    );
    admits.push(
        case(
            "c1-admit-new-binding-of-a-rebound-ticket",
            "C1.3 S1.9",
            "c1",
            draw(&cc.rebound_new, &fx.other_device, s_now).encode(),
            "admit",
        )
        .admits(seat, None),
    );
    admits.push(
        case(
            "c1-admit-last-ms-of-window",
            "C1.3 S1.7",
            "c1",
            code(&cc.b, step(UNTIL * 1000 - 1)),
            "admit",
        )
        .at(UNTIL * 1000 - 1)
        .admits(seat, None),
    );
    // The fallback of §10.7: the bundle lacks the binding, the holder shows the full code.
    admits.push(
        case(
            "c1-admit-full-s1-code-of-a-ticket-the-bundle-lacks",
            "S1.11 §10.7",
            "c1",
            S1Code::generate(&cc.new, d, s_now, None).encode(),
            "admit",
        )
        .after(code(&cc.new, s_now), NOW, "unknown_ticket")
        .admits(seat, None),
    );
    // The 16-bit step across its wrap (§7.7.1): 0x0727ffff and 0x07280000 are neighbours.
    admits.push(
        case(
            "c1-admit-previous-step-across-the-16-bit-wrap",
            "C1.3 S1.8 §7.7.1",
            "c1-wrap",
            code(&cc.wrap, WRAP_STEP - 1),
            "admit",
        )
        .at(WRAP_NOW)
        .admits(seat, None),
    );
    admits.push(
        case(
            "c1-admit-next-step-across-the-16-bit-wrap",
            "C1.3 S1.8 §7.7.1",
            "c1-wrap",
            code(&cc.wrap, WRAP_STEP),
            "admit",
        )
        .at(WRAP_NOW - 15_000)
        .admits(seat, None),
    );
    let (first, second) = &c1.collision;
    admits.push(
        case(
            "c1-collision-the-signature-picks-the-second-credential",
            "C1.2 §10.7",
            "c1-collision",
            code(second, s_now),
            "admit",
        )
        .admits(seat, None),
    );

    // ---- C1.1: parse (§7.7.2, §7.7.1).
    let body = c1_a.to_bytes();
    let digits = a_now[3..].to_owned();
    let jit_body = jit(&cc.jit_a, s_now).to_bytes();
    let mut r = |name: &str, rule: &'static str, p: String| {
        rejects.push(case(name, rule, "c1", p, "malformed"));
    };
    r("c1-prefix-only", "C1.1 §7.7.2", "C1:".into());
    r("c1-lower-case-prefix", "C1.1 §9.1", format!("c1:{digits}"));
    r(
        "c1-prefix-without-colon",
        "C1.1 §9.1",
        format!("C1{digits}"),
    );
    r(
        "c1-digits-one-short",
        "C1.1 §7.7.2",
        a_now[..a_now.len() - 1].to_owned(),
    );
    r("c1-digits-one-extra", "C1.1 §7.7.2", format!("{a_now}0"));
    r(
        "c1-digits-one-group-extra",
        "C1.1 §7.7.2",
        format!("{a_now}{}", &digits[..17]),
    );
    r("c1-trailing-lf", "C1.1 §10.1", format!("{a_now}\n"));
    r("c1-leading-space", "C1.1 §10.1", format!(" {a_now}"));
    r(
        "c1-letter-in-digits",
        "C1.1 §7.7.2",
        format!("C1:{}A{}", &digits[..40], &digits[41..]),
    );
    r(
        "c1-space-in-digits",
        "C1.1 §7.7.2",
        format!("C1:{} {}", &digits[..40], &digits[41..]),
    );
    // Signs and separators a lenient integer parser takes (in place of a digit).
    r(
        "c1-plus-sign-at-a-group-start",
        "C1.1 §7.7.2",
        format!("C1:{}+{}", &digits[..17], &digits[18..]),
    );
    r(
        "c1-underscore-in-a-group",
        "C1.1 §7.7.2",
        format!("C1:{}_{}", &digits[..20], &digits[21..]),
    );
    // Non-ASCII digits, the byte length kept: U+FF13 (3 bytes), U+0663 (2 bytes).
    r(
        "c1-full-width-digit",
        "C1.1 §7.7.2 §3",
        format!("C1:{}\u{ff13}{}", &digits[..20], &digits[23..]),
    );
    r(
        "c1-arabic-indic-digit",
        "C1.1 §7.7.2 §3",
        format!("C1:{}\u{0663}{}", &digits[..20], &digits[22..]),
    );
    // Non-canonical groups: each value ≥ 256^n for its n bytes.
    r(
        "c1-first-group-17-nines",
        "C1.1 §7.7.2",
        format!("C1:{}{}", "9".repeat(17), &digits[17..]),
    );
    r(
        "c1-second-group-2pow56",
        "C1.1 §7.7.2",
        format!("C1:{}72057594037927936{}", &digits[..17], &digits[34..]),
    );
    r(
        "c1-last-group-one-byte-256",
        "C1.1 §7.7.2",
        format!("C1:{}256", &digits[..digits.len() - 3]),
    );
    let jit_digits = c1_digits(&jit_body);
    rejects.push(case(
        "c1-jit-last-group-two-bytes-65536",
        "C1.1 §7.7.2",
        "c1-jit",
        format!("C1:{}65536", &jit_digits[..jit_digits.len() - 5]),
        "malformed",
    ));
    let mut r = |name: &str, b: Vec<u8>| {
        rejects.push(case(name, "C1.1 §7.7.1", "c1", c1_payload(&b), "malformed"));
    };
    for (name, flags) in [
        ("c1-flags-0x00", 0x00u8),
        ("c1-flags-version-2", 0x02),
        ("c1-flags-0x41", 0x41),
        ("c1-flags-mac-bit-without-version", 0x80),
        ("c1-flags-0xff", 0xff),
    ] {
        r(name, set(&body, 0, flags));
    }
    r(
        "c1-flags-announce-a-mac-that-is-absent",
        set(&body, 0, 0x81),
    );
    r(
        "c1-flags-deny-the-mac-that-follows",
        set(&jit_body, 0, 0x01),
    );
    // The body with a 4-byte step (a draft of §7.7.1): 73 bytes, 178 digits.
    let mut four_byte_step = body.clone();
    four_byte_step.splice(5..5, [0, 0]);
    r("c1-body-with-a-4-byte-step", four_byte_step);
    let mut longer = body.clone();
    longer.push(0);
    r("c1-body-72-bytes", longer);
    r("c1-body-70-bytes", body[..body.len() - 1].to_vec());
    rejects.push(case(
        "c1-s1-body-under-the-c1-prefix",
        "C1.1 §9.1",
        "c1",
        fx.s1("a", NOW)?.encode().replacen("S1:", "C1:", 1),
        "malformed",
    ));
    rejects.push(case(
        "c1-digits-under-the-s1-prefix",
        "S1.1 §9.3",
        "c1",
        a_now.replacen("C1:", "S1:", 1),
        "malformed",
    ));

    // ---- C1.2: the reference is in the bundle.
    let mut r = |name: &str, rule: &'static str, bundle: &'static str, p: String| {
        rejects.push(case(name, rule, bundle, p, "unknown_ticket"));
    };
    r(
        "c1-ticket-bound-after-the-bundle",
        "C1.2 §10.7",
        "c1",
        code(&cc.new, s_now),
    );
    let flipped = C1Code {
        reference: c1_a.reference ^ 1,
        ..c1_a.clone()
    };
    if cc
        .listed()
        .iter()
        .any(|c| reference_of(c) == flipped.reference)
    {
        return Err("flipped reference is listed".into());
    }
    r("c1-reference-bit-flipped", "C1.2", "c1", flipped.encode());
    r(
        "c1-code-at-a-gate-without-credentials",
        "C1.2",
        "s1",
        a_now.clone(),
    );
    r("c1-code-at-a-t1-gate", "C1.2", "t1", a_now.clone());
    r(
        "c1-jit-code-at-the-gate-of-another-event",
        "C1.2",
        "c1",
        jit(&cc.jit_a, s_now).encode(),
    );
    // First failure wins: an unknown reference before anything about the credential.
    r(
        "c1-unknown-reference-and-stale",
        "C1.2",
        "c1",
        code(&cc.new, s_now - 5),
    );
    r(
        "c1-unknown-reference-and-another-device",
        "C1.2",
        "c1",
        draw(&cc.new, &fx.other_device, s_now).encode(),
    );
    // A refreshed bundle lists the new binding; this one predates it (§10.7).
    r(
        "c1-rebound-ticket-new-binding-at-a-gate-without-it",
        "C1.2 §10.7",
        "c1-with-secret",
        draw(&cc.rebound_new, &fx.other_device, s_now).encode(),
    );

    // ---- C1.3 → S1.2: event (and period).
    rejects.push(case(
        "c1-credential-of-another-period",
        "C1.3 S1.2",
        "c1",
        code(&cc.other_period, step_at(NOW, 30)),
        "wrong_event",
    ));
    // ---- S1.3: issuer key.
    rejects.push(case(
        "c1-credential-under-an-unknown-key-id",
        "C1.3 S1.3",
        "c1",
        code(&cc.unknown_key, s_now),
        "unknown_key",
    ));
    rejects.push(case(
        "c1-unknown-key-and-another-device",
        "C1.3 S1.3",
        "c1",
        draw(&cc.unknown_key, &fx.other_device, s_now).encode(),
        "unknown_key",
    ));
    // ---- S1.4: issuer signature.
    for (name, c) in [
        ("c1-credential-signed-by-another-key", &cc.forged),
        ("c1-credential-claims-the-other-key-id", &cc.claims_key_2),
        ("c1-credential-altered-after-signing", &cc.altered),
        (
            "c1-forged-credential-of-a-revoked-ticket",
            &cc.forged_revoked,
        ),
    ] {
        rejects.push(case(
            name,
            "C1.3 S1.4",
            "c1",
            code(c, s_now),
            "bad_signature",
        ));
    }
    rejects.push(case(
        "c1-forged-credential-and-another-device",
        "C1.3 S1.4",
        "c1",
        draw(&cc.forged, &fx.other_device, s_now).encode(),
        "bad_signature",
    ));

    // ---- S1.5: the device signature over the C1 message (§7.7.1).
    let mut r = |name: &str, rule: &'static str, bundle: &'static str, p: String| {
        rejects.push(case(name, rule, bundle, p, "wrong_device"));
    };
    r(
        "c1-step-signed-by-another-device",
        "C1.3 S1.5",
        "c1",
        draw(&cc.a, &fx.other_device, s_now).encode(),
    );
    let mut b = body.clone();
    let last = b.len() - 1;
    b[last] ^= 0x01;
    r(
        "c1-device-signature-bit-flipped",
        "C1.3 S1.5",
        "c1",
        c1_payload(&b),
    );
    let moved = C1Code {
        step_low: c1_a.step_low.wrapping_add(1),
        ..c1_a.clone()
    };
    r(
        "c1-step-changed-after-signing",
        "C1.3 S1.5",
        "c1",
        moved.encode(),
    );
    let jit_a = jit(&cc.jit_a, s_now);
    let stripped = C1Code {
        release_mac: None,
        ..jit_a.clone()
    };
    r(
        "c1-jit-mac-stripped",
        "C1.3 S1.5",
        "c1-jit",
        stripped.encode(),
    );
    let swapped = C1Code {
        release_mac: Some([0x5a; 8]),
        ..jit_a.clone()
    };
    r(
        "c1-jit-mac-swapped",
        "C1.3 S1.5",
        "c1-jit",
        swapped.encode(),
    );
    // The device's S1 step signature over the same digest, step and flags: another tag.
    let s1_sig = S1Code::generate(&cc.a, d, s_now, None).device_sig;
    r(
        "c1-carrying-the-s1-step-signature",
        "C1.3 S1.5 §8",
        "c1",
        C1Code {
            device_sig: s1_sig,
            ..c1_a.clone()
        }
        .encode(),
    );
    // The device signed the body's 16 bits as the step, not the whole step.
    let mut sig16 = [0u8; 64];
    sig16.copy_from_slice(
        d.sign(&C1Code::device_message(
            &cc.a.digest(),
            u64::from(low16(s_now)),
            None,
        ))
        .as_ref(),
    );
    r(
        "c1-device-signature-over-the-16-bit-step",
        "C1.3 S1.5 §7.7.1",
        "c1",
        C1Code {
            device_sig: sig16,
            ..c1_a.clone()
        }
        .encode(),
    );
    let mut malleated = c1_a.clone();
    let mut s = [0u8; 32];
    s.copy_from_slice(&malleated.device_sig[32..]);
    malleated.device_sig[32..].copy_from_slice(&add_le(&s, &ORDER_L));
    r(
        "c1-device-signature-s-not-reduced",
        "C1.3 S1.5 §7.6",
        "c1",
        malleated.encode(),
    );
    let mut small_r = c1_a.clone();
    small_r.device_sig[..32].copy_from_slice(&IDENTITY);
    r(
        "c1-device-signature-r-small-order",
        "C1.3 S1.5 §7.6",
        "c1",
        small_r.encode(),
    );
    // Ticket a's signature under ticket b's reference: b's credential is the one found.
    r(
        "c1-reference-of-another-credential",
        "C1.3 S1.5 §10.7",
        "c1",
        C1Code {
            reference: reference_of(&cc.b),
            ..c1_a.clone()
        }
        .encode(),
    );
    r(
        "c1-other-device-and-stale",
        "C1.3 S1.5",
        "c1",
        draw(&cc.a, &fx.other_device, s_now - 5).encode(),
    );
    // The step is the one with the body's low bits nearest the gate's (§7.7.1): 65536
    // steps back has the gate's own low bits, so the gate takes its own step, which the
    // device did not sign (as S1 the code would be stale).
    r(
        "c1-step-65536-steps-old-same-low-bits",
        "C1.3 S1.5 §7.7.1",
        "c1",
        code(&cc.a, s_now - 0x1_0000),
    );
    r(
        "c1-step-32769-steps-old-read-as-32767-ahead",
        "C1.3 S1.5 §7.7.1",
        "c1",
        code(&cc.a, s_now - HALF_WRAP - 1),
    );
    // Exactly half a wrap away two steps are nearest; the lower one is taken (the
    // reference gate's choice, see docs/PROTOCOL.md §11.4).
    r(
        "c1-step-32768-steps-ahead-tie-takes-the-lower",
        "C1.3 S1.5 §7.7.1",
        "c1",
        code(&cc.a, s_now + HALF_WRAP),
    );

    // ---- S1.6: release MAC (the S1 context, the whole step).
    let jit_mac =
        |at_step: u64| C1Code::generate(&cc.jit_a, d, at_step, Some(&fx.release)).release_mac;
    let mut r = |name: &str, bundle: &'static str, p: String| {
        rejects.push(case(name, "C1.3 S1.6", bundle, p, "not_released"));
    };
    r("c1-jit-no-mac", "c1-jit", code(&cc.jit_a, s_now));
    r(
        "c1-jit-mac-under-another-secret",
        "c1-jit",
        C1Code::generate(&cc.jit_a, d, s_now, Some(b"guessed")).encode(),
    );
    r(
        "c1-jit-mac-of-another-step",
        "c1-jit",
        c1_with_mac(&cc.jit_a, d, s_now, jit_mac(s_now + 1)).encode(),
    );
    r(
        "c1-jit-mac-over-the-16-bit-step",
        "c1-jit",
        c1_with_mac(&cc.jit_a, d, s_now, jit_mac(u64::from(low16(s_now)))).encode(),
    );
    let old_binding = fx.sign(&fx.credential(S1_JIT_EVENT, "a", &fx.other_device))?;
    let mac_old_binding =
        C1Code::generate(&old_binding, &fx.other_device, s_now, Some(&fx.release)).release_mac;
    r(
        "c1-jit-mac-of-another-credential",
        "c1-jit",
        c1_with_mac(&cc.jit_a, d, s_now, mac_old_binding).encode(),
    );
    let t1_mac = fx.t1_jit("a", NOW, Some(&fx.release)).release_mac;
    r(
        "c1-jit-mac-of-the-t1-message",
        "c1-jit",
        c1_with_mac(&cc.jit_a, d, s_now, t1_mac).encode(),
    );
    r(
        "c1-jit-credential-at-a-gate-without-the-secret",
        "c1-jit-without-secret",
        jit_a.encode(),
    );
    r(
        "c1-not-strict-credential-at-a-gate-with-a-secret",
        "c1-with-secret",
        a_now.clone(),
    );
    r(
        "c1-strict-bundle-without-secret",
        "c1-strict-without-secret",
        a_now.clone(),
    );

    // ---- S1.7: window.
    rejects.push(
        case(
            "c1-before-bundle-window",
            "C1.3 S1.7",
            "c1",
            code(&cc.b, step(FROM * 1000 - 1)),
            "not_yet_valid",
        )
        .at(FROM * 1000 - 1),
    );
    rejects.push(
        case(
            "c1-bundle-window-closed",
            "C1.3 S1.7",
            "c1",
            code(&cc.b, step(UNTIL * 1000)),
            "expired",
        )
        .at(UNTIL * 1000),
    );
    rejects.push(case(
        "c1-before-credential-reveal",
        "C1.3 S1.7",
        "c1",
        code(&cc.late, s_now),
        "not_yet_valid",
    ));
    rejects.push(case(
        "c1-credential-validity-ended",
        "C1.3 S1.7",
        "c1",
        code(&cc.early, s_now),
        "expired",
    ));
    // Half a wrap behind the gate: the nearest step with the body's bits is the code's
    // own (32767 away; at exactly 32768 the lower of two, again the code's), so the
    // device signature verifies and the code, long after the window, is expired.
    for (name, back) in [
        ("c1-step-32767-steps-old-expired", HALF_WRAP - 1),
        (
            "c1-step-32768-steps-old-tie-takes-the-lower-expired",
            HALF_WRAP,
        ),
    ] {
        let gate_step = s_now + back;
        let at = i64::try_from(gate_step)? * 15_000 + 7_250;
        rejects.push(case(name, "C1.3 S1.7 §7.7.1", "c1", a_now.clone(), "expired").at(at));
    }

    // ---- S1.8: freshness.
    let mut r = |name: &str, bundle: &'static str, p: String| {
        rejects.push(case(name, "C1.3 S1.8", bundle, p, "stale"));
    };
    r("c1-two-steps-old", "c1", code(&cc.b, s_now - 2));
    r("c1-two-steps-ahead", "c1", code(&cc.b, s_now + 2));
    r(
        "c1-stale-revoked-ticket",
        "c1",
        code(&cc.revoked, s_now - 2),
    );
    rejects.push(
        case(
            "c1-two-steps-old-across-the-16-bit-wrap",
            "C1.3 S1.8 §7.7.1",
            "c1-wrap",
            code(&cc.wrap, WRAP_STEP - 2),
            "stale",
        )
        .at(WRAP_NOW),
    );
    rejects.push(
        case(
            "c1-two-steps-ahead-across-the-16-bit-wrap",
            "C1.3 S1.8 §7.7.1",
            "c1-wrap",
            code(&cc.wrap, WRAP_STEP + 1),
            "stale",
        )
        .at(WRAP_NOW - 15_000),
    );

    // ---- S1.9: revocation.
    rejects.push(case(
        "c1-revoked-ticket",
        "C1.3 S1.9",
        "c1",
        code(&cc.revoked, s_now),
        "revoked",
    ));
    rejects.push(case(
        "c1-revoked-credential-old-phone-of-a-rebound-ticket",
        "C1.3 S1.9 §10.7",
        "c1",
        code(&cc.rebound_old, s_now),
        "revoked",
    ));

    // ---- S1.10: replay, per (ticket, step) across both formats (§10.7).
    let s1_a_now = S1Code::generate(&cc.a, d, s_now, None).encode();
    rejects.push(
        case("c1-replay", "C1.3 S1.10", "c1", a_now.clone(), "replay").after(
            a_now.clone(),
            NOW,
            "admit",
        ),
    );
    rejects.push(
        case(
            "c1-after-the-s1-code-of-the-same-step",
            "C1.3 S1.10 §10.7",
            "c1",
            a_now.clone(),
            "replay",
        )
        .after(s1_a_now.clone(), NOW, "admit"),
    );
    rejects.push(
        case(
            "c1-s1-code-after-the-c1-code-of-the-same-step",
            "S1.10 §10.7",
            "c1",
            s1_a_now.clone(),
            "replay",
        )
        .after(a_now.clone(), NOW, "admit"),
    );
    let reentry_now = code(&cc.reentry, s_now);
    rejects.push(
        case(
            "c1-replay-with-reentry-allowed",
            "C1.3 S1.10",
            "c1",
            reentry_now.clone(),
            "replay",
        )
        .after(reentry_now, NOW, "admit"),
    );
    let a_later = code(&cc.a, step(LATER));
    rejects.push(
        case(
            "c1-replay-of-a-code-refused-as-already-admitted",
            "C1.3 S1.10",
            "c1",
            a_later.clone(),
            "replay",
        )
        .at(LATER + 1_000)
        .after(a_now.clone(), NOW, "admit")
        .after(a_later.clone(), LATER, "already_admitted"),
    );

    // ---- S1.11: admission.
    rejects.push(
        case(
            "c1-already-admitted",
            "C1.3 S1.11",
            "c1",
            a_later.clone(),
            "already_admitted",
        )
        .at(LATER)
        .after(a_now.clone(), NOW, "admit"),
    );
    rejects.push(
        case(
            "c1-already-admitted-by-the-s1-code",
            "C1.3 S1.11 §10.7",
            "c1",
            a_later,
            "already_admitted",
        )
        .at(LATER)
        .after(s1_a_now, NOW, "admit"),
    );
    rejects.push(
        case(
            "c1-jit-already-admitted-bundle-denies-reentry-over-credential",
            "C1.3 S1.11",
            "c1-jit",
            jit(&cc.jit_reentry, step(LATER)).encode(),
            "already_admitted",
        )
        .at(LATER)
        .after(jit(&cc.jit_reentry, s_now).encode(), NOW, "admit"),
    );

    // ---- Two credentials sharing a reference (§10.7).
    rejects.push(case(
        "c1-collision-the-signature-picks-the-first-credential",
        "C1.2 §10.7",
        "c1-collision",
        code(first, s_now),
        "unknown_key",
    ));
    // Verifies under neither: the first in bundle order is used, and fails (S1.3)
    // before its device signature is looked at.
    rejects.push(case(
        "c1-collision-no-signature-verifies-the-first-is-used",
        "C1.2 §10.7",
        "c1-collision",
        draw(second, &fx.other_device, s_now).encode(),
        "unknown_key",
    ));
    Ok(())
}

/// Bundles with a `credentials` entry a gate MUST refuse (§10.2), each the `c1` bundle
/// with one thing wrong.
fn c1_invalid_bundles(
    fx: &Fixture,
    c1: &C1Fixture,
    bundles: &Map<String, Value>,
) -> Res<Vec<Value>> {
    let mut out = Vec::new();
    let base = bundles.get("c1").ok_or("no c1 bundle")?;
    let good = hex::encode(c1.creds.a.to_bytes());
    let other_event = fx.sign(&fx.credential(EventId(4999), "a", &fx.device))?;
    // A credential binding a device key nobody holds, honestly signed by the issuer.
    let keyless = |key: [u8; 32]| -> Res<String> {
        let mut c = fx.credential(S1_EVENT, "c1/keyless", &fx.device);
        c.device_public_key = key;
        let bytes = c.to_bytes()?;
        let mut msg = CREDENTIAL_DOMAIN.to_vec();
        msg.extend_from_slice(&bytes);
        let mut entry = bytes;
        entry.extend_from_slice(fx.issuer.sign(&msg).as_ref());
        Ok(hex::encode(entry))
    };
    let mut non_canonical = [0xffu8; 32];
    non_canonical[0] = 0xef;
    non_canonical[31] = 0x7f;
    let a = c1.creds.a.to_bytes();
    let n = usize::from(a[79]);
    let mut version_1 = a.clone();
    version_1[0] = 1;
    let mut seat_65 = a.clone();
    seat_65[79] = 65;
    let entries: Vec<(&str, Value)> = vec![
        (
            "c1-credential-of-another-event",
            json!(hex::encode(other_event.to_bytes())),
        ),
        (
            "c1-credential-binds-a-small-order-device-key",
            json!(keyless(IDENTITY)?),
        ),
        (
            "c1-credential-binds-a-non-canonical-device-key",
            json!(keyless(non_canonical)?),
        ),
        (
            "c1-credential-without-its-issuer-signature",
            json!(hex::encode(&a[..80 + n])),
        ),
        (
            "c1-credential-signature-63-bytes",
            json!(hex::encode(&a[..a.len() - 1])),
        ),
        ("c1-credential-trailing-byte", json!(format!("{good}00"))),
        ("c1-credential-odd-hex-length", json!(format!("{good}0"))),
        ("c1-credential-not-hex", json!(format!("zz{}", &good[2..]))),
        ("c1-credential-version-1", json!(hex::encode(&version_1))),
        ("c1-credential-seat-length-65", json!(hex::encode(&seat_65))),
        ("c1-credential-empty", json!("")),
        ("c1-credential-a-number", json!(7)),
    ];
    for (name, entry) in entries {
        let mut b = base.clone();
        b["credentials"]
            .as_array_mut()
            .ok_or("no credentials")?
            .push(entry);
        out.push((name, b));
    }
    let mut b = base.clone();
    b["credentials"] = json!(good);
    out.push(("c1-credentials-not-an-array", b));
    let mut checked = Vec::new();
    for (name, b) in out {
        if GateBundle::from_json(&b.to_string()).is_ok() {
            return Err(format!("invalid bundle {name} loads").into());
        }
        checked.push(json!({"name": name, "bundle": b}));
    }
    Ok(checked)
}

fn main() -> Result<(), Box<dyn Error>> {
    let fx = Fixture::new()?;
    let c1 = C1Fixture {
        creds: C1Credentials::new(&fx)?,
        collision: colliding_credentials(&fx)?,
    };
    let base = fx.bundles()?;
    let compact_bundles = c1_bundles(&fx, &c1, &base)?;
    let mut bundles = Map::new();
    for (name, b) in base.into_iter().chain(compact_bundles) {
        b.validate()?;
        let value: Value = serde_json::from_str(&b.to_json()?)?;
        if bundles.insert(name.to_owned(), value).is_some() {
            return Err(format!("duplicate bundle {name}").into());
        }
    }
    let (mut rejects, mut admits) = cases(&fx)?;
    c1_cases(&fx, &c1, &mut rejects, &mut admits)?;
    let mut invalid = invalid_bundles(&bundles)?;
    invalid.extend(c1_invalid_bundles(&fx, &c1, &bundles)?);
    let invalid_count = invalid.len();
    let mut names = std::collections::BTreeSet::new();
    for c in rejects.iter().chain(&admits) {
        if !names.insert(c.name.clone()) {
            return Err(format!("duplicate vector name {}", c.name).into());
        }
        if !bundles.contains_key(c.bundle) {
            return Err(format!("{}: no bundle {}", c.name, c.bundle).into());
        }
    }
    let doc = json!({
        "format": "gate-verdicts",
        "spec": "docs/PROTOCOL.md §10, §11.4",
        "generator": "cargo run -p tessera-gate --example gen_reject_vectors",
        "bundles": bundles,
        "invalid_bundles": invalid,
        "admit": admits.iter().map(Case::to_json).collect::<Vec<_>>(),
        "vectors": rejects.iter().map(Case::to_json).collect::<Vec<_>>(),
    });
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "tests",
        "vectors",
        "reject.json",
    ]
    .iter()
    .collect();
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    std::fs::write(&path, text)?;
    println!(
        "wrote {} ({} reject vectors, {} admit controls, {} invalid bundles)",
        path.display(),
        rejects.len(),
        admits.len(),
        invalid_count
    );
    Ok(())
}
