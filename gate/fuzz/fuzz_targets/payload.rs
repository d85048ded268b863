//! Fuzz target `payload`: arbitrary scanner bytes through the parser and a full verifier.
//!
//! Run with `cargo +nightly fuzz run payload` from `gate/`. Every input must be rejected
//! without a panic: the bundle below admits only codes signed by a key the fuzzer cannot know.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use ring::signature::{Ed25519KeyPair, KeyPair};
use tessera_core::code::Code;
use tessera_core::{EventId, TicketId, TotpAlgorithm};
use tessera_gate::{GateBundle, PublicKey, ScanLog, Secret, T1Secrets, Verifier};

const NOW_MS: i64 = 1_800_000_007_000;

fn gate() -> Option<Verifier> {
    let issuer = Ed25519KeyPair::from_seed_unchecked(&[1; 32]).ok()?;
    let mut pk = [0u8; 32];
    pk.copy_from_slice(issuer.public_key().as_ref());
    let mut b = GateBundle::new_s1(EventId(77), 15, 1_799_990_000, 1_800_100_000);
    b.issuer_keys.insert(3, PublicKey(pk));
    b.release_secrets
        .insert(EventId(77), Secret::new(b"release".to_vec()));
    b.t1 = Some(T1Secrets {
        algorithm: TotpAlgorithm::Sha1,
        digits: 8,
        event_seed: None,
        ticket_seeds: [(TicketId([0x5a; 16]), Secret::new(b"seed".to_vec()))].into(),
    });
    Verifier::new(b, "fuzz", ScanLog::open_in_memory().ok()?).ok()
}

thread_local! {
    static GATE: RefCell<(u32, Option<Verifier>)> = RefCell::new((0, gate()));
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Code::parse(text);
    }
    GATE.with(|g| {
        let mut g = g.borrow_mut();
        // A fresh gate now and then keeps the in-memory scan log from growing without end.
        g.0 += 1;
        if g.0 % 10_000 == 0 {
            g.1 = gate();
        }
        if let Some(v) = g.1.as_mut() {
            if let Ok(text) = std::str::from_utf8(data) {
                assert!(!v.check(text, NOW_MS).is_admit(), "fuzzed payload admitted");
            }
            let r = v.verify_bytes(data, NOW_MS);
            assert!(!r.verdict.is_admit(), "fuzzed payload admitted");
        }
    });
});
