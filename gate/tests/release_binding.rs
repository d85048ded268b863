#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Issue 9 item 5: a strict just-in-time release MAC is bound to its event (and, for S1,
//! to the exact credential), so a MAC made for one event or one binding never verifies
//! for another, even when an issuer (or a test setup, as here) reuses the release secret.
//!
//! Every code below is otherwise genuine: right seed, right issuer signature, right device
//! signature over the transplanted MAC. Only the MAC's context differs.

mod common;

use common::*;
use ring::signature::Ed25519KeyPair;
use tessera_core::EventId;
use tessera_core::code::{Credential, S1Code, T1Code};
use tessera_gate::{GateBundle, RejectReason, Secret};

/// A second event that (wrongly, but possibly) got the same release secret as `EVENT`.
const OTHER_EVENT: EventId = EventId(78);

fn strict(mut b: GateBundle) -> GateBundle {
    b.release_secrets
        .insert(b.event, Secret::new(RELEASE.to_vec()));
    b
}

fn for_event(mut b: GateBundle, event: EventId) -> GateBundle {
    b.event = event;
    b
}

fn strict_credential(event: EventId, device: &Ed25519KeyPair) -> Credential {
    let mut c = credential(ticket(1), device);
    c.event = event;
    c.strict_jit = true;
    c
}

/// The frame of `signed` at `step` carrying `mac`, honestly signed by `device`.
fn s1_with_mac(
    signed: &tessera_core::code::SignedCredential,
    device: &Ed25519KeyPair,
    step: u64,
    mac: [u8; 8],
) -> String {
    let msg = S1Code::device_message(&signed.digest(), step, Some(&mac));
    let mut device_sig = [0u8; 64];
    device_sig.copy_from_slice(device.sign(&msg).as_ref());
    S1Code {
        signed: signed.clone(),
        step,
        release_mac: Some(mac),
        device_sig,
    }
    .encode()
}

#[test]
fn a_t1_release_mac_of_one_event_does_not_verify_for_another() {
    let step = gate_step(NOW);
    // The same ticket id and seed in two events (a season ticket), one release secret.
    let mut other = t1_code(0, step, false, None);
    other.event = OTHER_EVENT;
    let genuine_here = t1_code(0, step, false, Some(RELEASE));
    let mut genuine_there = other.clone();
    genuine_there.release_mac = T1Code::generate(
        &tessera_core::code::t1::T1Params {
            algorithm: tessera_core::TotpAlgorithm::Sha1,
            digits: 8,
            period_secs: PERIOD,
            ticket: ticket(0),
            event: OTHER_EVENT,
            ticket_seed: &seed(0),
            event_seed: None,
            release_secret: Some(RELEASE),
        },
        step,
    )
    .release_mac;

    let gate_there = || verifier(strict(for_event(t1_bundle(1, false), OTHER_EVENT)));
    // Control: the other event's own code is admitted there.
    assert!(
        gate_there()
            .verify(&genuine_there.encode(), NOW)
            .verdict
            .is_admit()
    );
    // The MAC made for EVENT, moved onto the other event's code, is not a release there.
    let mut transplanted = other;
    transplanted.release_mac = genuine_here.release_mac;
    assert_eq!(
        gate_there()
            .verify(&transplanted.encode(), NOW)
            .verdict
            .reason(),
        Some(RejectReason::NotReleased)
    );
}

#[test]
fn an_s1_release_mac_of_one_event_does_not_verify_for_another() {
    let d = device();
    let step = gate_step(NOW);
    let here = signed(&strict_credential(EVENT, &d));
    let there = signed(&strict_credential(OTHER_EVENT, &d));
    let mac_here = S1Code::generate(&here, &d, step, Some(RELEASE))
        .release_mac
        .unwrap();

    let gate_there = || verifier(strict(for_event(s1_bundle(), OTHER_EVENT)));
    let genuine_there = S1Code::generate(&there, &d, step, Some(RELEASE)).encode();
    assert!(gate_there().verify(&genuine_there, NOW).verdict.is_admit());
    assert_eq!(
        gate_there()
            .verify(&s1_with_mac(&there, &d, step, mac_here), NOW)
            .verdict
            .reason(),
        Some(RejectReason::NotReleased)
    );
}

#[test]
fn an_s1_release_mac_of_one_credential_does_not_verify_for_another() {
    // The same ticket rebound from one phone to another: two genuine credentials of one
    // event. A MAC drawn for the old binding is not a release of the new one.
    let (old_device, new_device) = (device(), kp(9));
    let old = signed(&strict_credential(EVENT, &old_device));
    let new = signed(&strict_credential(EVENT, &new_device));
    let step = gate_step(NOW);
    let mac_old = S1Code::generate(&old, &old_device, step, Some(RELEASE))
        .release_mac
        .unwrap();

    let gate = || verifier(strict(s1_bundle()));
    let genuine_new = S1Code::generate(&new, &new_device, step, Some(RELEASE)).encode();
    assert!(gate().verify(&genuine_new, NOW).verdict.is_admit());
    assert_eq!(
        gate()
            .verify(&s1_with_mac(&new, &new_device, step, mac_old), NOW)
            .verdict
            .reason(),
        Some(RejectReason::NotReleased)
    );
}
