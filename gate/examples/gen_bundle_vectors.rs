//! Writes the signed bundle document vectors, `tests/vectors/bundle.json` (docs/PROTOCOL.md
//! §10.2, §10.2.1 and §11.5): issuer-signed gate bundle documents (a whole bundle, then
//! updates, one signed JSON object per line), the keys a gate pinned, and what opening
//! each document gives: the resulting bundle, or why the document is refused.
//!
//! ```text
//! cargo run -p tessera-gate --example gen_bundle_vectors
//! ```
//!
//! Deterministic: every key seed, id and time is fixed and Ed25519 is deterministic, so a
//! second run writes the same bytes. The expectations are written here by hand from the
//! protocol (the bundle each document should give is built field by field, not by
//! applying the updates), not read back from the code under test. Checked by
//! `gate/tests/bundle_vectors.rs` (the real `signed_bundle::open`) and
//! `tests/vectors/test_vectors.py` (an independent Python implementation of §10.2.1).

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::path::PathBuf;

use ring::digest::{SHA256, digest};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{Map, Value, json};
use tessera_core::code::s1::public_key;
use tessera_core::code::{Credential, SignedCredential};
use tessera_core::{EventId, TicketId, TotpAlgorithm};
use tessera_gate::signed_bundle::{self, BUNDLE_DOMAIN};
use tessera_gate::{
    CompactCredential, CredentialDigest, GateBundle, PublicKey, ReentryPolicy, Secret, T1Secrets,
};

type Res<T> = Result<T, Box<dyn Error>>;

const EVENT: EventId = EventId(5001);
const OTHER_EVENT: EventId = EventId(5002);
const PERIOD: u8 = 15;
/// The bundles' admission window, Unix seconds (as in reject.json).
const FROM: i64 = 1_800_000_000;
const UNTIL: i64 = 1_800_021_600;
/// When the whole bundle was made, Unix ms; the updates follow 10 and 20 minutes later.
const ISSUED: i64 = 1_799_990_000_000;
const ISSUED_1: i64 = ISSUED + 600_000;
const ISSUED_2: i64 = ISSUED + 1_200_000;

/// `len` reproducible pseudo-random bytes named by `label` (as in gen_reject_vectors).
fn fixed_bytes(label: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut counter: u8 = 0;
    while out.len() < len {
        let mut m = format!("tessera/vectors/bundle/{label}").into_bytes();
        m.push(counter);
        out.extend_from_slice(digest(&SHA256, &m).as_ref());
        counter = counter.wrapping_add(1);
    }
    out.truncate(len);
    out
}

fn ticket(name: &str) -> TicketId {
    let mut b = [0u8; 16];
    b.copy_from_slice(&fixed_bytes(&format!("ticket/{name}"), 16));
    TicketId(b)
}

fn seed(name: &str) -> Secret {
    Secret::new(fixed_bytes(&format!("seed/{name}"), 20))
}

/// SHA-256 of a (made-up) credential of an ended binding.
fn old_credential(name: &str) -> CredentialDigest {
    let mut b = [0u8; 32];
    b.copy_from_slice(&fixed_bytes(&format!("credential/{name}"), 32));
    CredentialDigest(b)
}

fn release_secret() -> Secret {
    Secret::new(fixed_bytes("release-secret", 32))
}

/// A fixed Ed25519 key: its seed (written to the file) and the key pair.
struct Key {
    seed: Vec<u8>,
    pair: Ed25519KeyPair,
}

impl Key {
    fn new(name: &str) -> Res<Self> {
        let seed = fixed_bytes(&format!("key/{name}"), 32);
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|e| e.to_string())?;
        Ok(Self { seed, pair })
    }

    fn public(&self) -> PublicKey {
        let mut pk = [0u8; 32];
        pk.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey(pk)
    }

    /// The issuer's signature over a payload text (§10.2.1), as hex.
    fn sign_hex(&self, payload: &str) -> String {
        let mut m = BUNDLE_DOMAIN.to_vec();
        m.extend_from_slice(payload.as_bytes());
        hex::encode(self.pair.sign(&m).as_ref())
    }
}

/// The issuer's key 1 and key 2, and another issuer's key (which it too calls key 1).
struct Keys {
    k1: Key,
    k2: Key,
    other: Key,
}

/// The issuer-signed credential (key 1) of `ticket`'s binding to the phone `device`: what
/// a bundle's `credentials` lists for compact C1 codes (PROTOCOL §7.7, §10.2).
fn credential(keys: &Keys, event: EventId, t: &str, device: &str) -> Res<SignedCredential> {
    let phone = Key::new(&format!("device/{device}"))?;
    Ok(Credential {
        key_id: 1,
        ticket: ticket(t),
        event,
        reveal_opens_at: FROM,
        valid_until: UNTIL,
        period_secs: PERIOD,
        strict_jit: true,
        reentry: false,
        personalised: false,
        device_public_key: public_key(&phone.pair),
        seat: String::new(),
    }
    .sign(&keys.k1.pair)?)
}

/// `b`'s credentials set to `list`, in digest order as the issuer writes them.
fn with_credentials(b: &mut GateBundle, list: &[&SignedCredential]) {
    b.credentials = list
        .iter()
        .map(|c| CompactCredential((*c).clone()))
        .collect();
    b.credentials.sort_by_key(|c| c.0.digest());
}

/// One document line from its parts, each given as the JSON text to put there.
fn envelope(format: &str, key_id: &str, payload: &str, signature: &str) -> Res<String> {
    Ok(format!(
        "{{\"tessera_bundle\":{format},\"key_id\":{key_id},\"payload\":{},\"signature\":{}}}",
        serde_json::to_string(payload)?,
        serde_json::to_string(signature)?
    ))
}

/// A line signing `payload` text exactly as given.
fn signed_text(payload: &str, key_id: u32, key: &Key) -> Res<String> {
    envelope("1", &key_id.to_string(), payload, &key.sign_hex(payload))
}

/// A line as the issuer writes it (`signed_bundle::sign`).
fn signed(b: &GateBundle, key_id: u32, key: &Key) -> Res<String> {
    Ok(signed_bundle::sign(b, key_id, &key.pair)?)
}

/// The line's payload text and signature, to build altered lines from.
fn parts(line: &str) -> Res<(String, String)> {
    let v: Value = serde_json::from_str(line)?;
    let payload = v["payload"].as_str().ok_or("no payload")?.to_owned();
    let signature = v["signature"].as_str().ok_or("no signature")?.to_owned();
    Ok((payload, signature))
}

fn doc(lines: &[&str]) -> String {
    lines.join("\n")
}

/// The event-wide fields every bundle and update of the event repeats.
fn event_wide(keys: &Keys, seq: u64, issued_at_ms: i64) -> GateBundle {
    let mut b = GateBundle::new_s1(EVENT, PERIOD, FROM, UNTIL);
    b.seq = seq;
    b.issued_at_ms = issued_at_ms;
    b.strict_jit = true;
    b.reentry = ReentryPolicy::Deny;
    b.issuer_keys = BTreeMap::from([(1, keys.k1.public()), (2, keys.k2.public())]);
    b.t1 = Some(T1Secrets {
        algorithm: TotpAlgorithm::Sha1,
        digits: 8,
        event_seed: None,
        ticket_seeds: BTreeMap::new(),
    });
    b
}

fn seeds(b: &mut GateBundle, entries: &[(&str, &str)]) -> Res<()> {
    let t1 = b.t1.as_mut().ok_or("no t1")?;
    for (t, s) in entries {
        t1.ticket_seeds.insert(ticket(t), seed(s));
    }
    Ok(())
}

fn names(b: &mut GateBundle, entries: &[(&str, &str)]) {
    for (t, n) in entries {
        b.holder_names.insert(ticket(t), (*n).to_owned());
    }
}

fn seats(b: &mut GateBundle, entries: &[(&str, &str)]) {
    for (t, s) in entries {
        b.seats.insert(ticket(t), (*s).to_owned());
    }
}

fn ticket_set(names: &[&str]) -> BTreeSet<TicketId> {
    names.iter().map(|n| ticket(n)).collect()
}

/// The bundles of the event's story: a whole bundle at seq 10, update 1 (seq 12: ticket b
/// revoked), update 2 (seq 15: ticket a rebound to another phone with a new T1 seed, the
/// old credential revoked; ticket c's holder name and seat removed; the release secret
/// arrives), and what a gate should hold after each. The `credentials` of tickets a, b and
/// c (PROTOCOL §10.2) are listed in full for every changed ticket, the ended binding of
/// ticket a too (§10.2.1 rule 4 replaces a changed ticket's credentials).
struct Story {
    whole: GateBundle,
    update_1: GateBundle,
    update_2: GateBundle,
    /// Update 2 as the issuer answers `?since=10`: every change after 10.
    update_2_since_10: GateBundle,
    /// Expected after update 1 (also served as a whole bundle at seq 12).
    after_1: GateBundle,
    /// Expected after both updates.
    after_2: GateBundle,
    /// Ticket a's first binding (ended by update 2), its second, and tickets b and c.
    a1: SignedCredential,
    a2: SignedCredential,
    b: SignedCredential,
    c: SignedCredential,
}

fn story(keys: &Keys) -> Res<Story> {
    let a1 = credential(keys, EVENT, "a", "a/1")?;
    let a2 = credential(keys, EVENT, "a", "a/2")?;
    let b = credential(keys, EVENT, "b", "b")?;
    let c = credential(keys, EVENT, "c", "c")?;
    let mut whole = event_wide(keys, 10, ISSUED);
    with_credentials(&mut whole, &[&a1, &b, &c]);
    whole.revoked = ticket_set(&["d"]);
    whole.revoked_credentials.insert(old_credential("e"));
    names(
        &mut whole,
        &[
            ("a", "Ada Lovelace"),
            ("b", "Grace Hopper"),
            ("c", "Zoë Brontë"),
        ],
    );
    seats(&mut whole, &[("a", "Stalls 7"), ("c", "Box 1")]);
    seeds(
        &mut whole,
        &[("a", "a"), ("b", "b"), ("c", "c"), ("d", "d")],
    )?;

    let mut update_1 = event_wide(keys, 12, ISSUED_1);
    update_1.since_seq = Some(10);
    update_1.changed = ticket_set(&["b"]);
    update_1.revoked = ticket_set(&["b"]);
    names(&mut update_1, &[("b", "Grace Hopper")]);
    seeds(&mut update_1, &[("b", "b")])?;
    with_credentials(&mut update_1, &[&b]);

    let mut update_2 = event_wide(keys, 15, ISSUED_2);
    update_2.since_seq = Some(12);
    update_2.changed = ticket_set(&["a", "c"]);
    update_2
        .revoked_credentials
        .insert(CredentialDigest(a1.digest()));
    with_credentials(&mut update_2, &[&a1, &a2, &c]);
    names(&mut update_2, &[("a", "Ada Lovelace")]);
    seats(&mut update_2, &[("a", "Stalls 7")]);
    seeds(&mut update_2, &[("a", "a/2"), ("c", "c")])?;
    update_2.release_secrets.insert(EVENT, release_secret());

    let mut update_2_since_10 = update_2.clone();
    update_2_since_10.since_seq = Some(10);
    update_2_since_10.changed = ticket_set(&["a", "b", "c"]);
    update_2_since_10.revoked = ticket_set(&["b"]);
    names(&mut update_2_since_10, &[("b", "Grace Hopper")]);
    seeds(&mut update_2_since_10, &[("b", "b")])?;
    with_credentials(&mut update_2_since_10, &[&a1, &a2, &b, &c]);

    // Written out in full rather than computed with `apply_update`.
    let mut after_1 = event_wide(keys, 12, ISSUED_1);
    with_credentials(&mut after_1, &[&a1, &b, &c]);
    after_1.revoked = ticket_set(&["b", "d"]);
    after_1.revoked_credentials.insert(old_credential("e"));
    names(
        &mut after_1,
        &[
            ("a", "Ada Lovelace"),
            ("b", "Grace Hopper"),
            ("c", "Zoë Brontë"),
        ],
    );
    seats(&mut after_1, &[("a", "Stalls 7"), ("c", "Box 1")]);
    seeds(
        &mut after_1,
        &[("a", "a"), ("b", "b"), ("c", "c"), ("d", "d")],
    )?;

    let mut after_2 = event_wide(keys, 15, ISSUED_2);
    with_credentials(&mut after_2, &[&a1, &a2, &b, &c]);
    after_2.revoked = ticket_set(&["b", "d"]);
    after_2.revoked_credentials.insert(old_credential("e"));
    after_2
        .revoked_credentials
        .insert(CredentialDigest(a1.digest()));
    names(
        &mut after_2,
        &[("a", "Ada Lovelace"), ("b", "Grace Hopper")],
    );
    seats(&mut after_2, &[("a", "Stalls 7")]);
    seeds(
        &mut after_2,
        &[("a", "a/2"), ("b", "b"), ("c", "c"), ("d", "d")],
    )?;
    after_2.release_secrets.insert(EVENT, release_secret());

    Ok(Story {
        whole,
        update_1,
        update_2,
        update_2_since_10,
        after_1,
        after_2,
        a1,
        a2,
        b,
        c,
    })
}

/// What opening a document gives.
enum Expect {
    Bundle(Box<GateBundle>),
    /// `unsigned`, `bad_signature`, `not_pinned`, `invalid` or `rolled_back`.
    Error(&'static str),
}

struct Case {
    name: &'static str,
    pins: BTreeMap<u32, PublicKey>,
    document: String,
    expect: Expect,
}

/// The fields of a bundle the vectors compare (what proves the updates were applied).
fn summary(b: &GateBundle) -> Value {
    let hex_map = |m: &BTreeMap<TicketId, Secret>| -> Value {
        m.iter()
            .map(|(t, s)| (t.to_string(), json!(hex::encode(s.expose()))))
            .collect::<Map<_, _>>()
            .into()
    };
    json!({
        "ok": true,
        "event": b.event.0,
        "seq": b.seq,
        "issued_at_ms": b.issued_at_ms,
        "strict_jit": b.strict_jit,
        "revoked": b.revoked.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "revoked_credentials":
            b.revoked_credentials.iter().map(|d| hex::encode(d.0)).collect::<Vec<_>>(),
        "holder_names": b.holder_names.iter()
            .map(|(t, n)| (t.to_string(), json!(n))).collect::<Map<_, _>>(),
        "seats": b.seats.iter()
            .map(|(t, s)| (t.to_string(), json!(s))).collect::<Map<_, _>>(),
        "t1_ticket_seeds": b.t1.as_ref().map(|t1| hex_map(&t1.ticket_seeds)),
        "release_secrets": b.release_secrets.iter()
            .map(|(e, s)| (e.0.to_string(), json!(hex::encode(s.expose())))).collect::<Map<_, _>>(),
        "credentials": b.credentials.iter()
            .map(|c| hex::encode(c.0.to_bytes())).collect::<Vec<_>>(),
    })
}

/// L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const ORDER_L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// The identity point's encoding (y = 1): a point of small order.
const IDENTITY: [u8; 32] = {
    let mut b = [0u8; 32];
    b[0] = 1;
    b
};

/// `a + b` of two little-endian 256-bit numbers (no overflow for `S < L` plus `L`).
fn add_le(a: &[u8], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = (v & 0xff) as u8;
        carry = v >> 8;
    }
    out
}

fn cases(keys: &Keys) -> Res<Vec<Case>> {
    let s = story(keys)?;
    let pins = BTreeMap::from([(1, keys.k1.public())]);
    let both = BTreeMap::from([(1, keys.k1.public()), (2, keys.k2.public())]);
    let mut out = Vec::new();
    let mut push = |name, pins: &BTreeMap<u32, PublicKey>, document: String, expect| {
        out.push(Case {
            name,
            pins: pins.clone(),
            document,
            expect,
        });
    };
    let ok = |b: &GateBundle| Expect::Bundle(Box::new(b.clone()));
    let err = Expect::Error;

    let whole = signed(&s.whole, 1, &keys.k1)?;
    let u1 = signed(&s.update_1, 1, &keys.k1)?;
    let u2 = signed(&s.update_2, 1, &keys.k1)?;
    let (whole_payload, whole_sig) = parts(&whole)?;

    // ---- Documents a gate opens.
    push("whole-bundle", &pins, whole.clone(), ok(&s.whole));
    push(
        "whole-then-one-update-revocation",
        &pins,
        doc(&[&whole, &u1]),
        ok(&s.after_1),
    );
    push(
        "whole-then-two-updates",
        &pins,
        doc(&[&whole, &u1, &u2]),
        ok(&s.after_2),
    );
    push(
        "blank-lines-and-final-newline-ignored",
        &pins,
        format!("\n{whole}\n\n{u1}\n   \n{u2}\n"),
        ok(&s.after_2),
    );
    push(
        "same-update-twice",
        &pins,
        doc(&[&whole, &u1, &u1, &u2]),
        ok(&s.after_2),
    );
    let u2_since_10 = signed(&s.update_2_since_10, 1, &keys.k1)?;
    push(
        "update-since-an-earlier-seq",
        &pins,
        doc(&[&whole, &u2_since_10]),
        ok(&s.after_2),
    );
    let mut whole_12 = s.after_1.clone();
    whole_12.seq = 12;
    push(
        "whole-at-12-then-update-since-10",
        &pins,
        doc(&[&signed(&whole_12, 1, &keys.k1)?, &u2_since_10]),
        ok(&s.after_2),
    );
    push(
        "update-signed-by-the-second-pinned-key",
        &both,
        doc(&[&whole, &signed(&s.update_1, 2, &keys.k2)?, &u2]),
        ok(&s.after_2),
    );
    push(
        "signature-upper-case-hex",
        &pins,
        envelope("1", "1", &whole_payload, &whole_sig.to_uppercase())?,
        ok(&s.whole),
    );
    // The signature covers the payload string's value, not how the line escapes it.
    let escaped = whole.replacen("\\\"", "\\u0022", 1);
    if escaped == whole {
        return Err("no quote to escape".into());
    }
    push("payload-escaped-differently", &pins, escaped, ok(&s.whole));
    let minimal = format!(
        "{{\"event\":{},\"period_secs\":{PERIOD},\"valid_from\":{FROM},\"valid_until\":{UNTIL},\"issuer_keys\":{{}}}}",
        EVENT.0
    );
    // Every optional field at its default: seq 0, not strict, no t1, nothing revoked.
    let minimal_bundle = GateBundle::new_s1(EVENT, PERIOD, FROM, UNTIL);
    push(
        "minimal-payload-defaults",
        &pins,
        signed_text(&minimal, 1, &keys.k1)?,
        ok(&minimal_bundle),
    );

    // ---- unsigned: not a signed document of format 1 (rule 1).
    push("empty-document", &pins, String::new(), err("unsigned"));
    push(
        "blank-lines-only",
        &pins,
        "\n  \n\n".into(),
        err("unsigned"),
    );
    push("bare-bundle", &pins, s.whole.to_json()?, err("unsigned"));
    push(
        "first-line-not-json",
        &pins,
        "tessera bundle 1".into(),
        err("unsigned"),
    );
    push(
        "update-line-not-json",
        &pins,
        doc(&[&whole, "{\"tessera_bundle\":1,"]),
        err("unsigned"),
    );
    push(
        "envelope-extra-member",
        &pins,
        whole.replacen('{', "{\"comment\":\"x\",", 1),
        err("unsigned"),
    );
    push(
        "envelope-missing-signature",
        &pins,
        format!(
            "{{\"tessera_bundle\":1,\"key_id\":1,\"payload\":{}}}",
            serde_json::to_string(&whole_payload)?
        ),
        err("unsigned"),
    );
    push(
        "envelope-duplicate-member",
        &pins,
        whole.replacen("\"key_id\":1,", "\"key_id\":1,\"key_id\":1,", 1),
        err("unsigned"),
    );
    push(
        "envelope-key-id-a-string",
        &pins,
        envelope("1", "\"1\"", &whole_payload, &whole_sig)?,
        err("unsigned"),
    );
    push(
        "envelope-format-a-string",
        &pins,
        envelope("\"1\"", "1", &whole_payload, &whole_sig)?,
        err("unsigned"),
    );
    push(
        "envelope-payload-an-object",
        &pins,
        format!(
            "{{\"tessera_bundle\":1,\"key_id\":1,\"payload\":{whole_payload},\"signature\":\"{whole_sig}\"}}"
        ),
        err("unsigned"),
    );
    // Not an object, so not a signed document per PROTOCOL §10.2.1 ("one JSON object per
    // line"), even though its four values and its signature are genuine.
    push(
        "envelope-an-array",
        &pins,
        format!(
            "[1,1,{},\"{whole_sig}\"]",
            serde_json::to_string(&whole_payload)?
        ),
        err("unsigned"),
    );
    // A document format this gate does not know (PROTOCOL §10.2.1 rule 1: invalid).
    push(
        "format-2",
        &pins,
        envelope("2", "1", &whole_payload, &whole_sig)?,
        err("invalid"),
    );

    // ---- bad_signature: the line was altered, or the signature is not the issuer's (rule 2).
    let edited = whole_payload.replacen("\"seq\":10", "\"seq\":11", 1);
    if edited == whole_payload {
        return Err("no seq to edit".into());
    }
    push(
        "payload-edited-one-character",
        &pins,
        envelope("1", "1", &edited, &whole_sig)?,
        err("bad_signature"),
    );
    let (u1_payload, u1_sig) = parts(&u1)?;
    let u1_edited = u1_payload.replacen("Grace Hopper", "Grace Hoppes", 1);
    push(
        "update-payload-edited",
        &pins,
        doc(&[&whole, &envelope("1", "1", &u1_edited, &u1_sig)?]),
        err("bad_signature"),
    );
    let mut flipped = whole_sig.clone().into_bytes();
    flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
    push(
        "signature-edited",
        &pins,
        envelope("1", "1", &whole_payload, &String::from_utf8(flipped)?)?,
        err("bad_signature"),
    );
    for (name, sig) in [
        ("signature-63-bytes", whole_sig[..126].to_owned()),
        ("signature-65-bytes", format!("{whole_sig}00")),
        ("signature-odd-length", whole_sig[..127].to_owned()),
        ("signature-not-hex", format!("zz{}", &whole_sig[2..])),
        ("signature-empty", String::new()),
    ] {
        push(
            name,
            &pins,
            envelope("1", "1", &whole_payload, &sig)?,
            err("bad_signature"),
        );
    }
    let no_domain = hex::encode(keys.k1.pair.sign(whole_payload.as_bytes()).as_ref());
    push(
        "signature-without-the-domain-tag",
        &pins,
        envelope("1", "1", &whole_payload, &no_domain)?,
        err("bad_signature"),
    );
    let sig = hex::decode(&whole_sig)?;
    let mut malleated = sig.clone();
    malleated[32..].copy_from_slice(&add_le(&sig[32..], &ORDER_L));
    push(
        "signature-s-not-reduced",
        &pins,
        envelope("1", "1", &whole_payload, &hex::encode(&malleated))?,
        err("bad_signature"),
    );
    let keyless = format!("{}{}", hex::encode(IDENTITY), "00".repeat(32));
    push(
        "signature-r-small-order",
        &pins,
        envelope("1", "1", &whole_payload, &keyless)?,
        err("bad_signature"),
    );
    // A gate that pinned a key of small order (never by trust on first use: such a
    // bundle is invalid) would take R = identity, S = 0 as a signature of anything
    // under plain RFC 8032; §7.6 refuses the key. The forged payload names no key 1.
    let mut forged = GateBundle::new_s1(EVENT, PERIOD, FROM, UNTIL);
    forged.seq = 99;
    let forged = forged.to_json()?;
    push(
        "small-order-pinned-key-keyless-signature",
        &BTreeMap::from([(1, PublicKey(IDENTITY))]),
        envelope("1", "1", &forged, &keyless)?,
        err("bad_signature"),
    );
    // Another issuer's payload that is not a valid bundle: it names another key 1, but
    // the reference gate reads the key only from a valid bundle.
    let mut other_invalid: Value = serde_json::from_str(&s.whole.to_json()?)?;
    other_invalid["issuer_keys"] = json!({"1": keys.other.public()});
    other_invalid["period_secs"] = json!(4);
    let other_invalid = other_invalid.to_string();
    push(
        "other-issuer-invalid-payload",
        &pins,
        signed_text(&other_invalid, 1, &keys.other)?,
        err("bad_signature"),
    );

    // ---- not_pinned: signed by a key this gate did not pin (rule 2).
    push(
        "key-id-not-pinned",
        &pins,
        signed(&s.whole, 2, &keys.k2)?,
        err("not_pinned"),
    );
    push(
        "no-pinned-keys",
        &BTreeMap::new(),
        whole.clone(),
        err("not_pinned"),
    );
    let mut other = s.whole.clone();
    other.issuer_keys = BTreeMap::from([(1, keys.other.public())]);
    push(
        "other-issuers-document-under-key-id-1",
        &pins,
        signed(&other, 1, &keys.other)?,
        err("not_pinned"),
    );
    let mut other_update = s.update_1.clone();
    other_update.issuer_keys = BTreeMap::from([(1, keys.other.public())]);
    push(
        "other-issuers-update",
        &pins,
        doc(&[&whole, &signed(&other_update, 1, &keys.other)?]),
        err("not_pinned"),
    );
    push(
        "update-by-a-key-not-pinned",
        &pins,
        doc(&[&whole, &signed(&s.update_1, 2, &keys.k2)?]),
        err("not_pinned"),
    );

    // ---- invalid: signed, but not a valid bundle or not a valid sequence (rules 3, 4).
    push(
        "starts-with-an-update",
        &pins,
        doc(&[&u1, &u2]),
        err("invalid"),
    );
    push(
        "update-with-a-gap",
        &pins,
        doc(&[&whole, &u2]),
        err("invalid"),
    );
    let mut other_event = s.update_1.clone();
    other_event.event = OTHER_EVENT;
    push(
        "update-of-another-event",
        &pins,
        doc(&[&whole, &signed(&other_event, 1, &keys.k1)?]),
        err("invalid"),
    );
    push(
        "second-whole-bundle",
        &pins,
        doc(&[&whole, &signed(&whole_12, 1, &keys.k1)?]),
        err("invalid"),
    );
    let mut listing = s.whole.clone();
    listing.changed = ticket_set(&["a"]);
    push(
        "whole-bundle-listing-changed",
        &pins,
        signed(&listing, 1, &keys.k1)?,
        err("invalid"),
    );
    let mut period_4: Value = serde_json::from_str(&whole_payload)?;
    period_4["period_secs"] = json!(4);
    push(
        "payload-invalid-bundle-period-4",
        &pins,
        signed_text(&period_4.to_string(), 1, &keys.k1)?,
        err("invalid"),
    );
    let mut small_key: Value = serde_json::from_str(&whole_payload)?;
    small_key["issuer_keys"]["3"] = json!(hex::encode(IDENTITY));
    push(
        "payload-lists-a-small-order-issuer-key",
        &pins,
        signed_text(&small_key.to_string(), 1, &keys.k1)?,
        err("invalid"),
    );
    push(
        "payload-not-a-bundle",
        &pins,
        signed_text("{\"hello\":1}", 1, &keys.k1)?,
        err("invalid"),
    );
    push(
        "payload-not-json",
        &pins,
        signed_text("not json", 1, &keys.k1)?,
        err("invalid"),
    );
    let mut bad_update: Value = serde_json::from_str(&u1_payload)?;
    bad_update["valid_until"] = json!(FROM);
    push(
        "update-invalid-window",
        &pins,
        doc(&[&whole, &signed_text(&bad_update.to_string(), 1, &keys.k1)?]),
        err("invalid"),
    );
    // PROTOCOL §10.2.1 says nothing of an update without `t1` for a T1 event; the
    // reference gate refuses it ("the update changes the event's code format").
    let mut no_t1 = s.update_1.clone();
    no_t1.t1 = None;
    push(
        "update-drops-t1",
        &pins,
        doc(&[&whole, &signed(&no_t1, 1, &keys.k1)?]),
        err("invalid"),
    );

    // ---- The `credentials` of compact codes (§10.2, §10.2.1 rule 4).
    // An update that lists no credential for a changed ticket removes its credentials.
    let mut u1_without = s.update_1.clone();
    u1_without.credentials.clear();
    let mut after_1_without = s.after_1.clone();
    with_credentials(&mut after_1_without, &[&s.a1, &s.c]);
    push(
        "credentials-update-lists-none-for-a-changed-ticket",
        &pins,
        doc(&[&whole, &signed(&u1_without, 1, &keys.k1)?]),
        ok(&after_1_without),
    );
    // An update listing only the new binding of a rebound ticket drops the ended one.
    let mut u2_current = s.update_2.clone();
    with_credentials(&mut u2_current, &[&s.a2, &s.c]);
    let mut after_2_current = s.after_2.clone();
    with_credentials(&mut after_2_current, &[&s.a2, &s.b, &s.c]);
    push(
        "credentials-update-lists-only-the-new-binding",
        &pins,
        doc(&[&whole, &u1, &signed(&u2_current, 1, &keys.k1)?]),
        ok(&after_2_current),
    );
    // A credential the gate holds already, of a ticket not changed: kept once.
    let mut u1_repeats = s.update_1.clone();
    with_credentials(&mut u1_repeats, &[&s.b, &s.c]);
    push(
        "credentials-update-repeats-an-unchanged-tickets-credential",
        &pins,
        doc(&[&whole, &signed(&u1_repeats, 1, &keys.k1)?]),
        ok(&s.after_1),
    );
    let foreign = credential(keys, OTHER_EVENT, "f", "f")?;
    let mut whole_foreign = s.whole.clone();
    whole_foreign
        .credentials
        .push(CompactCredential(foreign.clone()));
    push(
        "payload-lists-a-credential-of-another-event",
        &pins,
        signed(&whole_foreign, 1, &keys.k1)?,
        err("invalid"),
    );
    let mut u1_foreign = s.update_1.clone();
    u1_foreign.credentials.push(CompactCredential(foreign));
    push(
        "update-lists-a-credential-of-another-event",
        &pins,
        doc(&[&whole, &signed(&u1_foreign, 1, &keys.k1)?]),
        err("invalid"),
    );
    // A credential binding the identity point (nobody holds its key), issuer-signed.
    let mut keyless = s.b.credential.clone();
    keyless.device_public_key = IDENTITY;
    let keyless_bytes = keyless.to_bytes()?;
    let mut keyless_msg = tessera_core::code::s1::CREDENTIAL_DOMAIN.to_vec();
    keyless_msg.extend_from_slice(&keyless_bytes);
    let mut keyless_entry = keyless_bytes;
    keyless_entry.extend_from_slice(keys.k1.pair.sign(&keyless_msg).as_ref());
    let mut small_device: Value = serde_json::from_str(&whole_payload)?;
    small_device["credentials"]
        .as_array_mut()
        .ok_or("no credentials")?
        .push(json!(hex::encode(&keyless_entry)));
    push(
        "payload-lists-a-credential-binding-a-small-order-device-key",
        &pins,
        signed_text(&small_device.to_string(), 1, &keys.k1)?,
        err("invalid"),
    );
    let b_entry = hex::encode(s.b.to_bytes());
    for (name, entry) in [
        (
            "payload-lists-a-credential-without-its-signature",
            hex::encode(&s.b.bytes),
        ),
        (
            "payload-lists-a-credential-with-a-trailing-byte",
            format!("{b_entry}00"),
        ),
        (
            "payload-lists-a-credential-not-hex",
            format!("zz{}", &b_entry[2..]),
        ),
    ] {
        let mut v: Value = serde_json::from_str(&whole_payload)?;
        v["credentials"]
            .as_array_mut()
            .ok_or("no credentials")?
            .push(json!(entry));
        push(
            name,
            &pins,
            signed_text(&v.to_string(), 1, &keys.k1)?,
            err("invalid"),
        );
    }

    // ---- rolled_back: an update older than the bundle (rules 4, 5).
    let mut older = s.update_1.clone();
    older.since_seq = Some(8);
    older.seq = 9;
    push(
        "update-older-than-the-bundle",
        &pins,
        doc(&[&whole, &signed(&older, 1, &keys.k1)?]),
        err("rolled_back"),
    );
    push(
        "updates-out-of-order",
        &pins,
        doc(&[&whole, &u2_since_10, &u1]),
        err("rolled_back"),
    );
    Ok(out)
}

fn main() -> Res<()> {
    let keys = Keys {
        k1: Key::new("issuer/1")?,
        k2: Key::new("issuer/2")?,
        other: Key::new("other-issuer/1")?,
    };
    let cases = cases(&keys)?;
    let mut names = BTreeSet::new();
    let mut out = Vec::new();
    for c in &cases {
        if !names.insert(c.name) {
            return Err(format!("duplicate case {}", c.name).into());
        }
        let expect = match &c.expect {
            Expect::Bundle(b) => {
                b.validate()?;
                summary(b)
            }
            Expect::Error(e) => json!({"ok": false, "error": e}),
        };
        let pins: Map<String, Value> = c
            .pins
            .iter()
            .map(|(id, k)| (id.to_string(), json!(hex::encode(k.0))))
            .collect();
        out.push(json!({"name": c.name, "pins": pins, "document": c.document, "expect": expect}));
    }
    let key = |id: Option<u32>, k: &Key| json!({"key_id": id, "seed_hex": hex::encode(&k.seed), "public_key_hex": hex::encode(k.public().0)});
    let doc = json!({
        "format": "gate-bundle-documents",
        "spec": "docs/PROTOCOL.md §10.2, §10.2.1, §11.5",
        "generator": "cargo run -p tessera-gate --example gen_bundle_vectors",
        "domain_hex": hex::encode(BUNDLE_DOMAIN),
        "issuer_keys": [key(Some(1), &keys.k1), key(Some(2), &keys.k2)],
        "other_issuer_key": key(Some(1), &keys.other),
        "cases": out,
    });
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "tests",
        "vectors",
        "bundle.json",
    ]
    .iter()
    .collect();
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    std::fs::write(&path, text)?;
    println!("wrote {} ({} cases)", path.display(), cases.len());
    Ok(())
}
