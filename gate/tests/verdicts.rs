#![allow(clippy::unwrap_used, clippy::expect_used)]
//! One test per reject reason, replays, the ±1 step boundary and a skewed gate clock, with real keys.

mod common;

use common::*;
use tessera_core::code::S1Code;
use tessera_gate::{
    Anomaly, CredentialDigest, GateBundle, ReentryPolicy, RejectReason, ScanLog, Secret, Verdict,
    Verifier, VerifierConfig,
};

fn reason(v: &mut Verifier, payload: &str, now: i64) -> Option<RejectReason> {
    v.verify(payload, now).verdict.reason()
}

fn s(now: i64) -> u64 {
    gate_step(now)
}

#[test]
fn genuine_s1_and_t1_codes_are_admitted_with_seat_and_name() {
    let mut b = s1_bundle();
    b.holder_names.insert(ticket(1), "Ada Lovelace".into());
    let mut v = verifier(b);
    let r = v.verify(&s1(1, s(NOW)), NOW);
    assert_eq!(
        r.verdict,
        Verdict::Admit {
            ticket: ticket(1),
            seat: Some("Block C · Row 4 · Seat 12".into()),
            holder_name: Some("Ada Lovelace".into()),
        }
    );
    assert_eq!(r.ticket, Some(ticket(1)));
    assert!(r.anomalies.is_empty(), "{:?}", r.anomalies);

    let mut b = t1_bundle(3, false);
    b.seats.insert(ticket(2), "Stalls 7".into());
    let mut v = verifier(b);
    let r = v.verify(&t1(2, s(NOW)), NOW);
    assert_eq!(
        r.verdict,
        Verdict::Admit {
            ticket: ticket(2),
            seat: Some("Stalls 7".into()),
            holder_name: None,
        }
    );
}

#[test]
fn malformed() {
    let mut v = verifier(t1_bundle(1, false));
    for p in ["", "hello", "S1:AAAA", "T1:!!", "QR-CODE", "s1:abc"] {
        assert_eq!(reason(&mut v, p, NOW), Some(RejectReason::Malformed), "{p}");
    }
    let r = v.verify_bytes(&[0xff, 0xfe, b'S', b'1'], NOW);
    assert_eq!(r.verdict.reason(), Some(RejectReason::Malformed));
    assert_eq!(r.ticket, None);
}

#[test]
fn unknown_key() {
    let d = device();
    let mut c = credential(ticket(1), &d);
    c.key_id = 9;
    let code = S1Code::generate(&signed(&c), &d, s(NOW), None).encode();
    let mut v = verifier(s1_bundle());
    assert_eq!(reason(&mut v, &code, NOW), Some(RejectReason::UnknownKey));
    // T1: a ticket without a seed, and a bundle without any T1 secrets.
    let mut v = verifier(t1_bundle(1, false));
    assert_eq!(
        reason(&mut v, &t1(5, s(NOW)), NOW),
        Some(RejectReason::UnknownKey)
    );
    let mut v = verifier(s1_bundle());
    assert_eq!(
        reason(&mut v, &t1(0, s(NOW)), NOW),
        Some(RejectReason::UnknownKey)
    );
}

#[test]
fn bad_signature() {
    // An S1 credential signed by a key that is not the issuer's, claiming the issuer's key id.
    let d = device();
    let forged = credential(ticket(1), &d).sign(&kp(66)).unwrap();
    let code = S1Code::generate(&forged, &d, s(NOW), None).encode();
    let mut v = verifier(s1_bundle());
    assert_eq!(reason(&mut v, &code, NOW), Some(RejectReason::BadSignature));
    // A T1 code with a wrong TOTP value.
    let mut c = t1_code(0, s(NOW), false, None);
    c.ticket_code = (c.ticket_code + 1) % 100_000_000;
    let mut v = verifier(t1_bundle(1, false));
    assert_eq!(
        reason(&mut v, &c.encode(), NOW),
        Some(RejectReason::BadSignature)
    );
    // T1 with an event seed: a missing or wrong event value is as bad as a wrong ticket value.
    let mut v = verifier(t1_bundle(1, true));
    let no_event = t1_code(0, s(NOW), false, None).encode();
    assert_eq!(
        reason(&mut v, &no_event, NOW),
        Some(RejectReason::BadSignature)
    );
    let mut c = t1_code(0, s(NOW), true, None);
    c.event_code = c.event_code.map(|e| (e + 1) % 100_000_000);
    assert_eq!(
        reason(&mut v, &c.encode(), NOW),
        Some(RejectReason::BadSignature)
    );
    // A part the gate cannot check is refused rather than ignored.
    let mut v = verifier(t1_bundle(1, false));
    let extra = t1_code(0, s(NOW), true, None).encode();
    assert_eq!(
        reason(&mut v, &extra, NOW),
        Some(RejectReason::BadSignature)
    );
    let extra_mac = t1_code(0, s(NOW), false, Some(RELEASE)).encode();
    assert_eq!(
        reason(&mut v, &extra_mac, NOW),
        Some(RejectReason::BadSignature)
    );
}

#[test]
fn wrong_device() {
    // A genuine credential bound to device 2, its step signed by device 5.
    let sc = signed(&credential(ticket(1), &device()));
    let code = S1Code::generate(&sc, &kp(5), s(NOW), None).encode();
    let mut v = verifier(s1_bundle());
    assert_eq!(reason(&mut v, &code, NOW), Some(RejectReason::WrongDevice));
}

#[test]
fn wrong_event() {
    let d = device();
    let mut c = credential(ticket(1), &d);
    c.event = tessera_core::EventId(78);
    let code = S1Code::generate(&signed(&c), &d, s(NOW), None).encode();
    let mut v = verifier(s1_bundle());
    assert_eq!(reason(&mut v, &code, NOW), Some(RejectReason::WrongEvent));
    let mut c = credential(ticket(1), &d);
    c.period_secs = 30;
    let code = S1Code::generate(&signed(&c), &d, gate_step(NOW) / 2, None).encode();
    assert_eq!(reason(&mut v, &code, NOW), Some(RejectReason::WrongEvent));
    let mut t = t1_code(0, s(NOW), false, None);
    t.event = tessera_core::EventId(78);
    let mut v = verifier(t1_bundle(1, false));
    assert_eq!(
        reason(&mut v, &t.encode(), NOW),
        Some(RejectReason::WrongEvent)
    );
}

#[test]
fn not_yet_valid_and_expired() {
    let before = FROM * 1000 - 1;
    let after = UNTIL * 1000;
    for now in [before, after] {
        let want = if now == before {
            RejectReason::NotYetValid
        } else {
            RejectReason::Expired
        };
        let mut v = verifier(s1_bundle());
        assert_eq!(reason(&mut v, &s1(1, s(now)), now), Some(want));
        let mut v = verifier(t1_bundle(1, false));
        assert_eq!(reason(&mut v, &t1(0, s(now)), now), Some(want));
    }
    // The S1 credential's own window narrows the bundle's.
    let d = device();
    let mut c = credential(ticket(1), &d);
    c.valid_until = NOW / 1000 - 10;
    let code = S1Code::generate(&signed(&c), &d, s(NOW), None).encode();
    let mut v = verifier(s1_bundle());
    assert_eq!(reason(&mut v, &code, NOW), Some(RejectReason::Expired));
    let mut c = credential(ticket(1), &d);
    c.reveal_opens_at = NOW / 1000 + 10;
    let code = S1Code::generate(&signed(&c), &d, s(NOW), None).encode();
    assert_eq!(reason(&mut v, &code, NOW), Some(RejectReason::NotYetValid));
    // The first and last valid milliseconds admit.
    let mut v = verifier(s1_bundle());
    assert!(
        v.verify(&s1(2, s(FROM * 1000)), FROM * 1000)
            .verdict
            .is_admit()
    );
    let last = UNTIL * 1000 - 1;
    assert!(v.verify(&s1(3, s(last)), last).verdict.is_admit());
}

#[test]
fn stale() {
    let mut v = verifier(s1_bundle());
    assert_eq!(
        reason(&mut v, &s1(1, s(NOW) - 2), NOW),
        Some(RejectReason::Stale)
    );
    assert_eq!(
        reason(&mut v, &s1(1, u64::MAX), NOW),
        Some(RejectReason::Stale)
    );
    let mut v = verifier(t1_bundle(1, false));
    assert_eq!(
        reason(&mut v, &t1(0, s(NOW) + 2), NOW),
        Some(RejectReason::Stale)
    );
}

#[test]
fn replay_and_already_admitted() {
    let mut v = verifier(s1_bundle());
    let code = s1(1, s(NOW));
    assert!(v.verify(&code, NOW).verdict.is_admit());
    assert_eq!(
        reason(&mut v, &code, NOW + 1000),
        Some(RejectReason::Replay)
    );
    // The next step's code of the same ticket is genuine and fresh, but the ticket is in.
    assert_eq!(
        reason(&mut v, &s1(1, s(NOW) + 1), NOW + 15_000),
        Some(RejectReason::AlreadyAdmitted)
    );
    // And that code, once seen, is a replay too.
    assert_eq!(
        reason(&mut v, &s1(1, s(NOW) + 1), NOW + 16_000),
        Some(RejectReason::Replay)
    );
}

#[test]
fn revoked() {
    let mut b = s1_bundle();
    b.revoked.insert(ticket(1));
    let mut v = verifier(b);
    assert_eq!(
        reason(&mut v, &s1(1, s(NOW)), NOW),
        Some(RejectReason::Revoked)
    );
    assert!(v.verify(&s1(2, s(NOW)), NOW).verdict.is_admit());

    // A ticket rebound to a new phone: the old binding's credential is revoked by digest.
    let old = signed(&credential(ticket(3), &device()));
    let new_device = kp(9);
    let new = signed(&credential(ticket(3), &new_device));
    let mut b = s1_bundle();
    b.revoked_credentials.insert(CredentialDigest(old.digest()));
    let mut v = verifier(b);
    let old_code = S1Code::generate(&old, &device(), s(NOW), None).encode();
    assert_eq!(reason(&mut v, &old_code, NOW), Some(RejectReason::Revoked));
    let new_code = S1Code::generate(&new, &new_device, s(NOW), None).encode();
    assert!(v.verify(&new_code, NOW).verdict.is_admit());

    let mut b = t1_bundle(2, false);
    b.revoked.insert(ticket(0));
    let mut v = verifier(b);
    assert_eq!(
        reason(&mut v, &t1(0, s(NOW)), NOW),
        Some(RejectReason::Revoked)
    );
}

#[test]
fn not_released() {
    let mut b = s1_bundle();
    b.release_secrets
        .insert(EVENT, Secret::new(RELEASE.to_vec()));
    let d = device();
    let mut c = credential(ticket(1), &d);
    c.strict_jit = true;
    let sc = signed(&c);
    let mut v = verifier(b.clone());
    // Made before release: no MAC, or a MAC under a guessed secret.
    let none = S1Code::generate(&sc, &d, s(NOW), None).encode();
    assert_eq!(reason(&mut v, &none, NOW), Some(RejectReason::NotReleased));
    let guessed = S1Code::generate(&sc, &d, s(NOW), Some(b"guess")).encode();
    assert_eq!(
        reason(&mut v, &guessed, NOW),
        Some(RejectReason::NotReleased)
    );
    let good = S1Code::generate(&sc, &d, s(NOW), Some(RELEASE)).encode();
    assert!(v.verify(&good, NOW).verdict.is_admit());
    // A strict-JIT credential at a gate without the release secret cannot be checked.
    let mut v = verifier(s1_bundle());
    assert_eq!(reason(&mut v, &good, NOW), Some(RejectReason::NotReleased));

    let mut b = t1_bundle(1, false);
    b.release_secrets
        .insert(EVENT, Secret::new(RELEASE.to_vec()));
    let mut v = verifier(b);
    let early = t1_code(0, s(NOW), false, None).encode();
    assert_eq!(reason(&mut v, &early, NOW), Some(RejectReason::NotReleased));
    let late = t1_code(0, s(NOW), false, Some(RELEASE)).encode();
    assert!(v.verify(&late, NOW).verdict.is_admit());
}

#[test]
fn every_reject_reason_is_covered_by_a_test_above() {
    // Keeps this file honest when a reason is added.
    assert_eq!(RejectReason::ALL.len(), 12);
}

#[test]
fn every_accepted_code_replayed_is_rejected() {
    let mut b = s1_bundle();
    b.reentry = ReentryPolicy::Allow;
    let mut v = verifier(b);
    let mut accepted = Vec::new();
    for (i, n) in (0..6).enumerate() {
        // Ticket 0 enters at three steps (re-entry allowed), others once.
        let step = s(NOW) + (i as u64 % 2);
        let now = NOW + 15_000 * (i as i64 % 2);
        for code in [s1(n % 3, step), s1(100 + n, step)] {
            let r = v.verify(&code, now);
            if r.verdict.is_admit() {
                accepted.push((code, now));
            }
        }
    }
    assert!(accepted.len() >= 8, "{}", accepted.len());
    for (code, now) in &accepted {
        assert_eq!(reason(&mut v, code, now + 500), Some(RejectReason::Replay));
    }
    let mut v = verifier(t1_bundle(10, false));
    for n in 0..10 {
        let code = t1(n, s(NOW));
        assert!(v.verify(&code, NOW).verdict.is_admit());
        assert_eq!(reason(&mut v, &code, NOW), Some(RejectReason::Replay));
    }
}

#[test]
fn step_boundary_is_plus_minus_one() {
    for (delta, ok) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
        let step = s(NOW).checked_add_signed(delta).unwrap();
        let mut v = verifier(s1_bundle());
        let r = v.verify(&s1(1, step), NOW);
        assert_eq!(r.verdict.is_admit(), ok, "S1 step {delta:+}");
        if !ok {
            assert_eq!(r.verdict.reason(), Some(RejectReason::Stale));
        }
        let mut v = verifier(t1_bundle(1, false));
        let r = v.verify(&t1(0, step), NOW);
        assert_eq!(r.verdict.is_admit(), ok, "T1 step {delta:+}");
    }
    // At the exact first and last millisecond of the gate's step.
    let start = s(NOW) * 15_000;
    for now in [start as i64, start as i64 + 14_999] {
        let mut v = verifier(s1_bundle());
        assert!(v.verify(&s1(1, s(NOW) - 1), now).verdict.is_admit());
        let mut v = verifier(s1_bundle());
        assert!(v.verify(&s1(1, s(NOW) + 1), now).verdict.is_admit());
    }
}

#[test]
fn gate_clock_skew() {
    // Phones run true time; the gate's clock is off. One step of skew still admits...
    for skew_ms in [-20_000i64, 20_000] {
        let mut v = verifier(s1_bundle());
        assert!(
            v.verify(&s1(1, s(NOW)), NOW + skew_ms).verdict.is_admit(),
            "{skew_ms}"
        );
    }
    // ...two steps and more do not.
    for skew_ms in [-40_000i64, 40_000] {
        let mut v = verifier(s1_bundle());
        assert_eq!(
            reason(&mut v, &s1(1, s(NOW)), NOW + skew_ms),
            Some(RejectReason::Stale)
        );
    }
    // A gate 20 s fast sees nearly every code one step behind: it flags its own clock.
    let mut v = verifier(t1_bundle(64, false));
    let mut flagged = false;
    for n in 0..40 {
        let now = NOW + i64::from(n) * 50;
        let r = v.verify(&t1(n, s(now)), now + 20_000);
        assert!(r.verdict.is_admit());
        flagged |= r
            .anomalies
            .contains(&Anomaly::GateClockSkew { direction: -1 });
    }
    assert!(flagged);
}

#[test]
fn anomalies_failure_burst_device_skew_and_other_gate() {
    let mut v = verifier(s1_bundle());
    let d = device();
    let forged = credential(ticket(1), &d).sign(&kp(66)).unwrap();
    let mut burst = false;
    for i in 0..3 {
        let code = S1Code::generate(&forged, &d, s(NOW), None).encode();
        let r = v.verify(&code, NOW + i * 1000);
        burst = r.anomalies.iter().any(|a| {
            matches!(
                a,
                Anomaly::FailureBurst {
                    failures: 3,
                    within_secs: 60
                }
            )
        });
    }
    assert!(burst);

    // A phone one step ahead, again and again.
    let mut b = s1_bundle();
    b.reentry = ReentryPolicy::Allow;
    let mut v = verifier(b);
    let first = v.verify(&s1(2, s(NOW) + 1), NOW);
    assert!(first.anomalies.is_empty(), "{:?}", first.anomalies);
    let second = v.verify(&s1(2, s(NOW) + 2), NOW + 15_000);
    assert!(second.verdict.is_admit());
    assert!(
        second
            .anomalies
            .contains(&Anomaly::DeviceClockSkew { offset_steps: 1 })
    );
    let far = v.verify(&s1(3, s(NOW) + 5), NOW);
    assert_eq!(far.verdict.reason(), Some(RejectReason::Stale));
    assert!(
        far.anomalies
            .contains(&Anomaly::DeviceClockSkew { offset_steps: 5 })
    );

    // Seen at gate B a minute ago (learned through a merge).
    let mut b_gate =
        Verifier::new(s1_bundle(), "gate-b", ScanLog::open_in_memory().unwrap()).unwrap();
    assert!(b_gate.verify(&s1(4, s(NOW)), NOW).verdict.is_admit());
    b_gate.flush().unwrap();
    let export = b_gate.scan_log().records().unwrap();
    let mut a = verifier(s1_bundle());
    a.merge(&export).unwrap();
    let r = a.verify(&s1(4, s(NOW) + 4), NOW + 60_000);
    assert_eq!(r.verdict.reason(), Some(RejectReason::AlreadyAdmitted));
    assert!(r.anomalies.contains(&Anomaly::SeenAtOtherGate {
        other_gate: "gate-b".into(),
        apart_ms: 60_000
    }));
}

#[test]
fn a_scanner_line_ending_is_not_part_of_the_code() {
    // The scanner-input layer (`verify_bytes`) drops one trailing CR LF, LF or CR.
    let mut v = verifier(s1_bundle());
    for (n, end) in ["\r\n", "\n", "\r", ""].into_iter().enumerate() {
        let n = u32::try_from(n).unwrap();
        let raw = format!("{}{end}", s1(n, s(NOW)));
        assert!(
            v.verify_bytes(raw.as_bytes(), NOW).verdict.is_admit(),
            "{end:?}"
        );
    }
    // Only one, and nothing else.
    for (n, raw) in [
        format!("{}\n\n", s1(10, s(NOW))),
        format!("{}\r\n\r\n", s1(11, s(NOW))),
        format!("{}\n\r", s1(12, s(NOW))),
        format!(" {}", s1(13, s(NOW))),
        format!("{} ", s1(14, s(NOW))),
        format!("{}\t", s1(15, s(NOW))),
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(
            v.verify_bytes(raw.as_bytes(), NOW).verdict.reason(),
            Some(RejectReason::Malformed),
            "case {n}"
        );
    }
    // The protocol layer (`verify`, `check`) takes the payload exactly: a CR or LF is a
    // byte outside the alphabet (docs/PROTOCOL.md §10.1).
    for end in ["\r\n", "\n", "\r"] {
        let text = format!("{}{end}", s1(20, s(NOW)));
        assert_eq!(v.check(&text, NOW).reason(), Some(RejectReason::Malformed));
        assert_eq!(reason(&mut v, &text, NOW), Some(RejectReason::Malformed));
    }
}

#[test]
fn check_answers_without_recording() {
    let mut v = verifier(s1_bundle());
    let code = s1(1, s(NOW));
    assert!(v.check(&code, NOW).is_admit());
    assert!(v.check(&code, NOW).is_admit());
    assert!(v.verify(&code, NOW).verdict.is_admit());
    assert_eq!(v.check(&code, NOW).reason(), Some(RejectReason::Replay));
}

#[test]
fn crypto_is_checked_before_bundle_state() {
    // A forged code for a revoked ticket says BadSignature, not Revoked: forgers learn nothing.
    let mut b = s1_bundle();
    b.revoked.insert(ticket(1));
    let mut v = verifier(b);
    let d = device();
    let forged = credential(ticket(1), &d).sign(&kp(66)).unwrap();
    let code = S1Code::generate(&forged, &d, s(NOW), None).encode();
    assert_eq!(reason(&mut v, &code, NOW), Some(RejectReason::BadSignature));
}

#[test]
fn invalid_bundles_and_gate_ids_are_refused() {
    let mut b: GateBundle = s1_bundle();
    b.period_secs = 4;
    assert!(Verifier::new(b, "g", ScanLog::open_in_memory().unwrap()).is_err());
    assert!(Verifier::new(s1_bundle(), "", ScanLog::open_in_memory().unwrap()).is_err());
    let cfg = VerifierConfig::default();
    assert!(
        Verifier::with_config(s1_bundle(), "g", ScanLog::open_in_memory().unwrap(), cfg).is_ok()
    );
}
