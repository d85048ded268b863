//! Fixtures shared by the gate tests: real Ed25519 keys, real credentials and codes.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use ring::signature::Ed25519KeyPair;
use tessera_core::code::s1::public_key;
use tessera_core::code::t1::T1Params;
use tessera_core::code::{C1Code, Credential, S1Code, SignedCredential, T1Code, step_at};
use tessera_core::{EventId, TicketId, TotpAlgorithm};
use tessera_gate::{
    CompactCredential, GateBundle, PublicKey, ScanLog, Secret, T1Secrets, Verifier,
};

/// The event every fixture admits to.
pub const EVENT: EventId = EventId(77);
/// Its rotation period.
pub const PERIOD: u8 = 15;
/// The issuer key id in the bundle.
pub const KEY_ID: u32 = 3;
/// Admission window, Unix seconds.
pub const FROM: i64 = 1_799_990_000;
/// End of the admission window.
pub const UNTIL: i64 = 1_800_100_000;
/// Gate time 7 s into a step (1_800_000_000_000 is a multiple of 15 s), Unix ms.
pub const NOW: i64 = 1_800_000_007_000;
/// Release secret of strict just-in-time fixtures.
pub const RELEASE: &[u8] = b"release-secret-of-event-77";

pub fn kp(seed: u8) -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap()
}

pub fn issuer() -> Ed25519KeyPair {
    kp(1)
}

pub fn device() -> Ed25519KeyPair {
    kp(2)
}

pub fn ticket(n: u32) -> TicketId {
    let mut b = [0x5a; 16];
    b[12..].copy_from_slice(&n.to_be_bytes());
    TicketId(b)
}

pub fn gate_step(now_ms: i64) -> u64 {
    step_at(now_ms, PERIOD)
}

pub fn credential(t: TicketId, device: &Ed25519KeyPair) -> Credential {
    Credential {
        key_id: KEY_ID,
        ticket: t,
        event: EVENT,
        reveal_opens_at: FROM,
        valid_until: UNTIL,
        period_secs: PERIOD,
        strict_jit: false,
        reentry: false,
        personalised: false,
        device_public_key: public_key(device),
        seat: "Block C · Row 4 · Seat 12".into(),
    }
}

pub fn signed(c: &Credential) -> SignedCredential {
    c.sign(&issuer()).unwrap()
}

/// The S1 payload of ticket `n` (default credential, default device) at `step`.
pub fn s1(n: u32, step: u64) -> String {
    let d = device();
    S1Code::generate(&signed(&credential(ticket(n), &d)), &d, step, None).encode()
}

/// A compact C1 code of ticket `n` (its credential must be in the gate's bundle:
/// [`with_credential`]).
pub fn c1(n: u32, step: u64) -> String {
    let d = device();
    C1Code::generate(&signed(&credential(ticket(n), &d)), &d, step, None).encode()
}

/// `b` with ticket `n`'s credential (bound to [`device`]) for its compact codes.
pub fn with_credential(mut b: GateBundle, n: u32) -> GateBundle {
    b.credentials
        .push(CompactCredential(signed(&credential(ticket(n), &device()))));
    b
}

pub fn s1_bundle() -> GateBundle {
    let mut b = GateBundle::new_s1(EVENT, PERIOD, FROM, UNTIL);
    // Made at the tests' gate time, so no verdict carries a stale-bundle warning.
    b.issued_at_ms = NOW;
    b.issuer_keys
        .insert(KEY_ID, PublicKey(public_key(&issuer())));
    b
}

pub fn seed(n: u32) -> Vec<u8> {
    let mut s = b"ticket-seed-0000".to_vec();
    s.extend_from_slice(&n.to_be_bytes());
    s
}

pub const EVENT_SEED: &[u8] = b"event-seed-77";

/// A T1 bundle for tickets `0..n`, SHA-1, 8 digits, with or without an event seed.
pub fn t1_bundle(n: u32, event_seed: bool) -> GateBundle {
    let mut b = GateBundle::new_s1(EVENT, PERIOD, FROM, UNTIL);
    b.issued_at_ms = NOW;
    b.t1 = Some(T1Secrets {
        algorithm: TotpAlgorithm::Sha1,
        digits: 8,
        event_seed: event_seed.then(|| Secret::new(EVENT_SEED.to_vec())),
        ticket_seeds: (0..n).map(|i| (ticket(i), Secret::new(seed(i)))).collect(),
    });
    b
}

pub fn t1_code(n: u32, step: u64, event_seed: bool, release: Option<&[u8]>) -> T1Code {
    let s = seed(n);
    T1Code::generate(
        &T1Params {
            algorithm: TotpAlgorithm::Sha1,
            digits: 8,
            period_secs: PERIOD,
            ticket: ticket(n),
            event: EVENT,
            ticket_seed: &s,
            event_seed: event_seed.then_some(EVENT_SEED),
            release_secret: release,
        },
        step,
    )
}

pub fn t1(n: u32, step: u64) -> String {
    t1_code(n, step, false, None).encode()
}

pub fn verifier(bundle: GateBundle) -> Verifier {
    Verifier::new(bundle, "gate-a", ScanLog::open_in_memory().unwrap()).unwrap()
}
