#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Compact C1 codes at the gate (docs/PROTOCOL.md §7.7, §10.7): the credential comes from
//! the bundle, every S1 check applies to it, and a reference the bundle lacks is
//! `UnknownTicket` (the holder's full S1 code is then judged in full).

mod common;

use common::*;
use tessera_core::code::c1::reference_of;
use tessera_core::code::{C1Code, Code, S1Code};
use tessera_gate::{CompactCredential, CredentialDigest, RejectReason, Verdict};

fn reason(v: &mut tessera_gate::Verifier, payload: &str) -> Option<RejectReason> {
    v.verify(payload, NOW).verdict.reason()
}

#[test]
fn a_compact_code_is_admitted_with_the_bundle_credentials_seat() {
    let mut v = verifier(with_credential(s1_bundle(), 1));
    let r = v.verify(&c1(1, gate_step(NOW)), NOW);
    assert_eq!(
        r.verdict,
        Verdict::Admit {
            ticket: ticket(1),
            seat: Some("Block C · Row 4 · Seat 12".into()),
            holder_name: None,
        }
    );
    assert_eq!(r.ticket, Some(ticket(1)));
    // The same code again is a replay, and the full S1 code of the same step too.
    assert_eq!(
        reason(&mut v, &c1(1, gate_step(NOW))),
        Some(RejectReason::Replay)
    );
    assert_eq!(
        reason(&mut v, &s1(1, gate_step(NOW))),
        Some(RejectReason::Replay)
    );
}

#[test]
fn without_its_credential_a_compact_code_is_unknown_and_the_full_code_is_judged() {
    let mut v = verifier(with_credential(s1_bundle(), 2));
    let r = v.verify(&c1(1, gate_step(NOW)), NOW);
    assert_eq!(r.verdict.reason(), Some(RejectReason::UnknownTicket));
    assert_eq!(
        r.ticket, None,
        "nothing names a ticket until its credential is found"
    );
    assert!(v.verify(&s1(1, gate_step(NOW)), NOW).verdict.is_admit());
}

#[test]
fn every_s1_check_applies_to_the_looked_up_credential() {
    let d = device();
    let step = gate_step(NOW);
    // Another phone signing the step of ticket 1's reference.
    let cred = signed(&credential(ticket(1), &d));
    let thief = C1Code::generate(&cred, &kp(5), step, None).encode();
    let mut v = verifier(with_credential(s1_bundle(), 1));
    assert_eq!(reason(&mut v, &thief), Some(RejectReason::WrongDevice));
    // A stale step, a revoked binding (by digest), a revoked ticket.
    assert_eq!(reason(&mut v, &c1(1, step - 3)), Some(RejectReason::Stale));
    let mut b = with_credential(s1_bundle(), 1);
    b.revoked_credentials
        .insert(CredentialDigest(cred.digest()));
    assert_eq!(
        reason(&mut verifier(b), &c1(1, step)),
        Some(RejectReason::Revoked)
    );
    // A credential in the bundle under an unknown key, or signed by another key.
    let mut other = credential(ticket(3), &d);
    other.key_id = 9;
    let mut b = s1_bundle();
    b.credentials.push(CompactCredential(signed(&other)));
    let code = C1Code::generate(&signed(&other), &d, step, None).encode();
    assert_eq!(
        reason(&mut verifier(b), &code),
        Some(RejectReason::UnknownKey)
    );
    let forged = credential(ticket(4), &d).sign(&kp(66)).unwrap();
    let mut b = s1_bundle();
    b.credentials.push(CompactCredential(forged.clone()));
    let code = C1Code::generate(&forged, &d, step, None).encode();
    assert_eq!(
        reason(&mut verifier(b), &code),
        Some(RejectReason::BadSignature)
    );
    // Strict just-in-time: a compact code without the MAC is not released.
    let mut jit = credential(ticket(5), &d);
    jit.strict_jit = true;
    let jit = signed(&jit);
    let mut b = s1_bundle();
    b.release_secrets
        .insert(EVENT, tessera_gate::Secret::new(RELEASE.to_vec()));
    b.credentials.push(CompactCredential(jit.clone()));
    let mut v = verifier(b);
    let bare = C1Code::generate(&jit, &d, step, None).encode();
    assert_eq!(reason(&mut v, &bare), Some(RejectReason::NotReleased));
    let released = C1Code::generate(&jit, &d, step, Some(RELEASE)).encode();
    assert!(v.verify(&released, NOW).verdict.is_admit());
}

#[test]
fn two_credentials_sharing_a_reference_are_told_apart_by_the_signature() {
    // Find two tickets whose credentials' digests share their first four bytes would take
    // 2^16 signatures on average; instead the gate's choice is checked with a reference
    // forced onto another credential's: only the signature's own credential admits.
    let d = device();
    let step = gate_step(NOW);
    let mut v = verifier(with_credential(with_credential(s1_bundle(), 1), 2));
    let one = C1Code::generate(&signed(&credential(ticket(1), &d)), &d, step, None);
    let two_ref = reference_of(&signed(&credential(ticket(2), &d)));
    let moved = C1Code {
        reference: two_ref,
        ..one.clone()
    };
    assert_eq!(
        reason(&mut v, &moved.encode()),
        Some(RejectReason::WrongDevice)
    );
    assert!(v.verify(&one.encode(), NOW).verdict.is_admit());
}

#[test]
fn compact_codes_are_malformed_when_their_digits_are() {
    let mut v = verifier(with_credential(s1_bundle(), 1));
    let good = c1(1, gate_step(NOW));
    for bad in [
        format!("{good}0"),
        good[..good.len() - 1].to_owned(),
        good.replacen("C1:", "c1:", 1),
        format!("C1:{}", "9".repeat(good.len() - 3)),
    ] {
        assert!(Code::parse(&bad).is_err(), "{bad}");
        assert_eq!(reason(&mut v, &bad), Some(RejectReason::Malformed), "{bad}");
    }
    // An S1 code is not a C1 code with another prefix.
    let s1_text = S1Code::generate(
        &signed(&credential(ticket(1), &device())),
        &device(),
        1,
        None,
    )
    .encode()
    .replacen("S1:", "C1:", 1);
    assert_eq!(reason(&mut v, &s1_text), Some(RejectReason::Malformed));
}
