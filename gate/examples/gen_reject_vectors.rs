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
use tessera_core::code::s1::{CREDENTIAL_DOMAIN, STEP_DOMAIN, public_key};
use tessera_core::code::t1::T1Params;
use tessera_core::code::{Credential, S1Code, SignedCredential, T1Code, step_at};
use tessera_core::{EventId, TicketId, TotpAlgorithm};
use tessera_gate::{CredentialDigest, GateBundle, PublicKey, ReentryPolicy, Secret, T1Secrets};

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

fn main() -> Result<(), Box<dyn Error>> {
    let fx = Fixture::new()?;
    let mut bundles = Map::new();
    for (name, b) in fx.bundles()? {
        b.validate()?;
        let value: Value = serde_json::from_str(&b.to_json()?)?;
        bundles.insert(name.to_owned(), value);
    }
    let (rejects, admits) = cases(&fx)?;
    let invalid = invalid_bundles(&bundles)?;
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
