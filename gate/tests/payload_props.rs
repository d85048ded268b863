#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Parser hardening in the normal test run: random and mutated payloads never panic and are never admitted.

mod common;

use common::*;
use data_encoding::BASE32_NOPAD;
use proptest::prelude::*;
use tessera_core::code::{Code, S1Code};
use tessera_gate::{Secret, Verifier};

/// A gate for which every byte of the valid codes below matters: T1 with an event seed
/// and a release secret, S1 strict just-in-time.
fn strict_gate() -> Verifier {
    let mut b = t1_bundle(2, true);
    b.issuer_keys = s1_bundle().issuer_keys;
    b.release_secrets
        .insert(EVENT, Secret::new(RELEASE.to_vec()));
    verifier(b)
}

fn valid_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let step = gate_step(NOW);
    let t1 = t1_code(1, step, true, Some(RELEASE)).to_bytes();
    let d = device();
    // Another ticket than the T1 one, so both can be admitted at one gate.
    let mut c = credential(ticket(7), &d);
    c.strict_jit = true;
    let s1 = S1Code::generate(&signed(&c), &d, step, Some(RELEASE)).to_bytes();
    vec![("T1:", t1), ("S1:", s1)]
}

fn payload(prefix: &str, body: &[u8]) -> String {
    format!("{prefix}{}", BASE32_NOPAD.encode(body))
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Truncate { len: usize },
    Insert { at: usize, byte: u8 },
    Overwrite { at: usize, byte: u8 },
}

fn apply(body: &[u8], m: &Mutation) -> Vec<u8> {
    let mut b = body.to_vec();
    match *m {
        Mutation::Flip { at, bit } => {
            let i = at % b.len();
            b[i] ^= 1 << (bit % 8);
        }
        Mutation::Truncate { len } => b.truncate(len % b.len()),
        Mutation::Insert { at, byte } => b.insert(at % (b.len() + 1), byte),
        Mutation::Overwrite { at, byte } => {
            let i = at % b.len();
            b[i] = byte;
        }
    }
    b
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        any::<usize>().prop_map(|len| Mutation::Truncate { len }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Overwrite { at, byte }),
    ]
}

#[test]
fn the_unmutated_codes_are_admitted() {
    // Otherwise the mutation properties below would prove nothing.
    let mut v = strict_gate();
    for (prefix, body) in valid_bodies() {
        assert!(
            v.verify(&payload(prefix, &body), NOW).verdict.is_admit(),
            "{prefix}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_text_is_rejected(text in ".{0,200}", prefixed in any::<bool>(), s1 in any::<bool>()) {
        let text = if prefixed { format!("{}{text}", if s1 { "S1:" } else { "T1:" }) } else { text };
        let _ = Code::parse(&text);
        let mut v = strict_gate();
        prop_assert!(!v.verify(&text, NOW).verdict.is_admit());
        prop_assert!(!v.verify_bytes(text.as_bytes(), NOW).verdict.is_admit());
    }

    #[test]
    fn random_bytes_are_rejected(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut v = strict_gate();
        prop_assert!(!v.verify_bytes(&bytes, NOW).verdict.is_admit());
        for prefix in ["T1:", "S1:"] {
            let p = payload(prefix, &bytes);
            let _ = Code::parse(&p);
            prop_assert!(!v.verify(&p, NOW).verdict.is_admit());
        }
    }

    #[test]
    fn random_bodies_of_valid_length_are_rejected(t1 in proptest::collection::vec(any::<u8>(), 52), s1 in proptest::collection::vec(any::<u8>(), 220..=260)) {
        let mut v = strict_gate();
        prop_assert!(!v.verify(&payload("T1:", &t1), NOW).verdict.is_admit());
        prop_assert!(!v.verify(&payload("S1:", &s1), NOW).verdict.is_admit());
    }

    #[test]
    fn mutated_codes_are_never_admitted(muts in proptest::collection::vec(mutation(), 1..4)) {
        let v = strict_gate();
        for (prefix, body) in valid_bodies() {
            let mut m = body.clone();
            for mu in &muts {
                if m.is_empty() {
                    break;
                }
                m = apply(&m, mu);
            }
            if m == body {
                continue;
            }
            let p = payload(prefix, &m);
            let _ = Code::parse(&p);
            // `check` judges against a gate that has not seen the original code, so only
            // the cryptography and the parser stand between the mutation and an admission.
            prop_assert!(!v.check(&p, NOW).is_admit(), "{prefix} mutated by {muts:?}");
        }
    }

    #[test]
    fn mutated_text_is_never_admitted(at in any::<usize>(), ch in any::<char>(), delete in any::<bool>()) {
        let v = strict_gate();
        for (prefix, body) in valid_bodies() {
            let good = payload(prefix, &body);
            let mut chars: Vec<char> = good.chars().collect();
            let i = at % chars.len();
            if delete { chars.remove(i); } else { chars[i] = ch; }
            let text: String = chars.into_iter().collect();
            // A change that decodes to the same code is not a mutation. (`check` takes the
            // payload exactly: a trailing CR or LF is a change like any other.)
            let same = matches!((Code::parse(&text), Code::parse(&good)), (Ok(a), Ok(b)) if a == b);
            if text == good || same {
                continue;
            }
            prop_assert!(!v.check(&text, NOW).is_admit(), "{text}");
        }
    }
}
