#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Small-order and non-canonical Ed25519 keys at the gate (issue 9, item 1): an S1 code
//! bound to such a device key, "signed" without any private key, is refused; a bundle
//! naming such an issuer key does not load.

mod common;
#[path = "../../tests/vectors/small_order.rs"]
mod vectors;

use common::*;
use tessera_core::code::s1::{CREDENTIAL_DOMAIN, public_key};
use tessera_core::code::{S1Code, SignedCredential};
use tessera_gate::{GateBundle, PublicKey, RejectReason, ScanLog, Verdict, Verifier};
use vectors::{forges, keyless_signature, small_order_keys};

/// Encodings with `y ≥ p` that are not small order (`y` = p + 2 … 2^255 − 1), both signs.
fn non_canonical_keys() -> Vec<[u8; 32]> {
    let mut v = Vec::new();
    for low in 0xefu8..=0xff {
        for top in [0x7fu8, 0xff] {
            let mut k = [0xff; 32];
            k[0] = low;
            k[31] = top;
            v.push(k);
        }
    }
    v
}

/// A credential for ticket `n` bound to `device_pk`, really signed by the bundle's issuer
/// key (as a buggy or older issuer would have), bypassing `Credential::sign`'s own check.
fn issued_to(n: u32, device_pk: [u8; 32]) -> SignedCredential {
    let mut c = credential(ticket(n), &device());
    c.device_public_key = device_pk;
    let bytes = c.to_bytes().unwrap();
    let mut msg = CREDENTIAL_DOMAIN.to_vec();
    msg.extend_from_slice(&bytes);
    let issuer_sig = issuer().sign(&msg).as_ref().try_into().unwrap();
    SignedCredential {
        credential: c,
        bytes,
        issuer_sig,
    }
}

#[test]
fn s1_code_bound_to_a_small_order_device_key_is_refused() {
    let mut v = verifier(s1_bundle());
    for (i, pk) in small_order_keys().into_iter().enumerate() {
        let signed = issued_to(100 + i as u32, pk);
        // The attacker picks a step for which ring's own check accepts the keyless
        // signature; the gate's clock is then at that step.
        let first = gate_step(NOW);
        let (step, code) = (first..first + 4096)
            .map(|step| {
                let mut code = S1Code::generate(&signed, &device(), step, None);
                code.device_sig = keyless_signature();
                (step, code)
            })
            .find(|(step, _)| forges(&pk, &S1Code::device_message(&signed.digest(), *step, None)))
            .unwrap_or_else(|| panic!("ring accepts no forgery for {}", hex::encode(pk)));
        let now = i64::try_from(step).unwrap() * i64::from(PERIOD) * 1000 + 7000;
        let r = v.verify(&code.encode(), now);
        assert_eq!(
            r.verdict.reason(),
            Some(RejectReason::BadSignature),
            "small-order device key {}: {:?}",
            hex::encode(pk),
            r.verdict
        );
    }
    // A genuine code of the same issuer is still admitted.
    let d = device();
    let genuine = S1Code::generate(&issued_to(1, public_key(&d)), &d, gate_step(NOW), None);
    assert!(matches!(
        v.verify(&genuine.encode(), NOW).verdict,
        Verdict::Admit { .. }
    ));
}

#[test]
fn bundle_with_a_small_order_or_non_canonical_issuer_key_does_not_load() {
    for pk in small_order_keys().into_iter().chain(non_canonical_keys()) {
        let mut b = s1_bundle();
        b.issuer_keys.insert(KEY_ID + 1, PublicKey(pk));
        let json = b.to_json().unwrap();
        assert!(
            GateBundle::from_json(&json).is_err(),
            "bundle with issuer key {} loaded",
            hex::encode(pk)
        );
        assert!(
            Verifier::new(b, "gate-a", ScanLog::open_in_memory().unwrap()).is_err(),
            "verifier took issuer key {}",
            hex::encode(pk)
        );
    }
    // The same bundle with a real key loads.
    let json = s1_bundle().to_json().unwrap();
    assert!(GateBundle::from_json(&json).is_ok());
}
