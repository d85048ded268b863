//! The body of fuzz target `payload`: arbitrary scanner bytes through the code parser and
//! a full verifier, which must reject every one of them without a panic.
//!
//! Shared, word for word, by the cargo-fuzz target (`fuzz_targets/payload.rs`, nightly)
//! and the stable replay `gate/tests/fuzz_corpus.rs` (run by `cargo test`, so by
//! scripts/test-all.sh), which feeds it the seed corpus `seeds/payload/`, any local
//! `corpus/payload/` and `artifacts/payload/`, the protocol vectors and their mutations,
//! and a bounded run of random inputs. `genuine` draws real codes for this gate's keys:
//! the seeds reach past the signature checks with them, and the replay uses one drawn for
//! the gate's own step as a positive control (the gate does admit it).

#![allow(dead_code)]

use ring::signature::{Ed25519KeyPair, KeyPair};
use tessera_core::code::t1::T1Params;
use tessera_core::code::{C1Code, Code, Credential, S1Code, SignedCredential, T1Code, step_at};
use tessera_core::{CodeFormat, EventId, TicketId, TotpAlgorithm};
use tessera_gate::{
    CompactCredential, GateBundle, PublicKey, ScanLog, Secret, T1Secrets, Verifier,
};

/// The gate's clock: 7 s into a step.
pub const NOW_MS: i64 = 1_800_000_007_000;
/// The event the gate admits to.
pub const EVENT: EventId = EventId(77);
/// Its rotation period.
pub const PERIOD: u8 = 15;
/// Admission window, Unix seconds.
pub const FROM: i64 = 1_799_990_000;
/// End of the admission window.
pub const UNTIL: i64 = 1_800_100_000;
/// The issuer key id.
pub const KEY_ID: u32 = 3;
/// The strict event's release secret (every code must carry its MAC).
pub const RELEASE: &[u8] = b"release-secret-of-the-fuzz-gate";
/// The one T1 ticket and its seed.
pub const T1_TICKET: TicketId = TicketId([0x5a; 16]);
/// Its seed.
pub const T1_SEED: &[u8] = b"ticket-seed-of-the-fuzz-gate";
/// The S1 ticket.
pub const S1_TICKET: TicketId = TicketId([0x3c; 16]);

fn key(seed: u8) -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).expect("a 32-byte seed")
}

/// The issuer (seed 1) and the S1 ticket's device (seed 2).
pub fn issuer() -> Ed25519KeyPair {
    key(1)
}

/// A gate for event 77: the issuer's public key (S1), one T1 seed, strict JIT.
pub fn gate() -> Result<Verifier, String> {
    let mut pk = [0u8; 32];
    pk.copy_from_slice(issuer().public_key().as_ref());
    let mut b = GateBundle::new_s1(EVENT, PERIOD, FROM, UNTIL);
    b.issuer_keys.insert(KEY_ID, PublicKey(pk));
    b.release_secrets
        .insert(EVENT, Secret::new(RELEASE.to_vec()));
    b.t1 = Some(T1Secrets {
        algorithm: TotpAlgorithm::Sha1,
        digits: 8,
        event_seed: None,
        ticket_seeds: [(T1_TICKET, Secret::new(T1_SEED.to_vec()))].into(),
    });
    // The S1 ticket's credential, for its compact (C1) codes.
    b.credentials.push(CompactCredential(signed_credential()));
    let log = ScanLog::open_in_memory().map_err(|e| e.to_string())?;
    Verifier::new(b, "fuzz", log).map_err(|e| e.to_string())
}

/// A real code of this gate's event at `step_offset` steps from the gate's step, with or
/// without the release MAC, S1 codes signed by device `device_seed` (2 is the bound one).
pub fn genuine(format: CodeFormat, step_offset: i64, release: bool, device_seed: u8) -> String {
    let step = step_at(NOW_MS, PERIOD).saturating_add_signed(step_offset);
    let release = release.then_some(RELEASE);
    match format {
        CodeFormat::T1 => T1Code::generate(
            &T1Params {
                algorithm: TotpAlgorithm::Sha1,
                digits: 8,
                period_secs: PERIOD,
                ticket: T1_TICKET,
                event: EVENT,
                ticket_seed: T1_SEED,
                event_seed: None,
                release_secret: release,
            },
            step,
        )
        .encode(),
        CodeFormat::S1 | CodeFormat::C1 => {
            let signed = signed_credential();
            if format == CodeFormat::C1 {
                return C1Code::generate(&signed, &key(device_seed), step, release).encode();
            }
            S1Code::generate(&signed, &key(device_seed), step, release).encode()
        }
    }
}

/// The S1 ticket's issuer-signed credential, bound to device 2.
fn signed_credential() -> SignedCredential {
    Credential {
        key_id: KEY_ID,
        ticket: S1_TICKET,
        event: EVENT,
        reveal_opens_at: FROM,
        valid_until: UNTIL,
        period_secs: PERIOD,
        strict_jit: true,
        reentry: false,
        personalised: false,
        device_public_key: tessera_core::code::s1::public_key(&key(2)),
        seat: "Fuzz row".into(),
    }
    .sign(&issuer())
    .expect("a valid credential")
}

/// One gate kept across inputs, renewed now and then so its scan log stays small.
pub struct Target {
    runs: u32,
    gate: Verifier,
}

impl Target {
    /// A target with a fresh gate; panics when the gate's bundle does not load (the
    /// target would otherwise check nothing).
    pub fn new() -> Self {
        let gate = gate().expect("the fuzz gate's bundle loads");
        Self { runs: 0, gate }
    }

    /// Parses `data` as a code and verifies it (as text and as scanner bytes): nothing
    /// may panic and nothing may be admitted.
    pub fn run(&mut self, data: &[u8]) {
        self.runs += 1;
        if self.runs.is_multiple_of(10_000) {
            *self = Self::new();
        }
        if let Ok(text) = std::str::from_utf8(data) {
            let _ = Code::parse(text);
            assert!(
                !self.gate.check(text, NOW_MS).is_admit(),
                "fuzzed payload admitted"
            );
        }
        let r = self.gate.verify_bytes(data, NOW_MS);
        assert!(!r.verdict.is_admit(), "fuzzed payload admitted");
    }
}

impl Default for Target {
    fn default() -> Self {
        Self::new()
    }
}
