#![allow(clippy::unwrap_used, clippy::expect_used)]
//! One test per reject reason, replays, the ±1 step boundary and a skewed gate clock, with real keys.

mod common;

use std::collections::HashSet;

use common::*;
use tessera_core::code::{S1Code, T1Code};
use tessera_gate::{
    Anomaly, CredentialDigest, GateBundle, Outcome, ReentryPolicy, RejectReason, ScanLog, Secret,
    Verdict, Verifier, VerifierConfig,
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

/// One row of the reason table: a gate (bundle, and codes admitted before) and a scan.
struct Fixture {
    name: &'static str,
    bundle: GateBundle,
    /// Scans made first, each of which must be admitted.
    admitted_before: Vec<(String, i64)>,
    payload: String,
    now: i64,
}

fn fixture(name: &'static str, bundle: GateBundle, payload: String, now: i64) -> Fixture {
    Fixture {
        name,
        bundle,
        admitted_before: Vec::new(),
        payload,
        now,
    }
}

impl Fixture {
    fn after(mut self, payload: String, now: i64) -> Self {
        self.admitted_before.push((payload, now));
        self
    }
}

fn jit_bundle(mut b: GateBundle) -> GateBundle {
    b.release_secrets
        .insert(EVENT, Secret::new(RELEASE.to_vec()));
    b
}

fn revoking(mut b: GateBundle, n: u32) -> GateBundle {
    b.revoked.insert(ticket(n));
    b
}

/// The fixtures that must be refused with exactly `reason` (S1 and, where the reason
/// exists for it, T1). No wildcard arm: a reason added to `RejectReason` does not compile
/// until it has fixtures here (add it to `RejectReason::ALL` too; the table test below
/// reads the reason back from the scan log, which parses names through `ALL`).
fn fixtures(reason: RejectReason) -> Vec<Fixture> {
    let d = device();
    let step = s(NOW);
    match reason {
        RejectReason::UnknownTicket => vec![fixture(
            "C1 whose credential the bundle lacks",
            s1_bundle(),
            c1(1, step),
            NOW,
        )],
        RejectReason::Malformed => vec![
            fixture("empty", t1_bundle(1, false), String::new(), NOW),
            fixture("S1 short body", s1_bundle(), "S1:AAAA".into(), NOW),
            fixture("T1 not base32", t1_bundle(1, false), "T1:!!".into(), NOW),
            fixture(
                "S1 with a trailing LF",
                s1_bundle(),
                format!("{}\n", s1(1, step)),
                NOW,
            ),
        ],
        RejectReason::WrongEvent => {
            let mut c = credential(ticket(1), &d);
            c.event = tessera_core::EventId(78);
            let mut t = t1_code(0, step, false, None);
            t.event = tessera_core::EventId(78);
            vec![
                fixture(
                    "S1 of event 78",
                    s1_bundle(),
                    S1Code::generate(&signed(&c), &d, step, None).encode(),
                    NOW,
                ),
                fixture("T1 of event 78", t1_bundle(1, false), t.encode(), NOW),
            ]
        }
        RejectReason::UnknownKey => {
            let mut c = credential(ticket(1), &d);
            c.key_id = 9;
            vec![
                fixture(
                    "S1 under issuer key 9",
                    s1_bundle(),
                    S1Code::generate(&signed(&c), &d, step, None).encode(),
                    NOW,
                ),
                fixture("T1 without a seed", t1_bundle(1, false), t1(5, step), NOW),
                fixture("T1 at an S1-only gate", s1_bundle(), t1(0, step), NOW),
            ]
        }
        RejectReason::BadSignature => {
            let forged = credential(ticket(1), &d).sign(&kp(66)).unwrap();
            let mut t = t1_code(0, step, false, None);
            t.ticket_code = (t.ticket_code + 1) % 100_000_000;
            vec![
                fixture(
                    "S1 credential signed by another key",
                    s1_bundle(),
                    S1Code::generate(&forged, &d, step, None).encode(),
                    NOW,
                ),
                fixture("T1 with a wrong TOTP", t1_bundle(1, false), t.encode(), NOW),
            ]
        }
        RejectReason::WrongDevice => vec![fixture(
            "S1 step signed by another phone",
            s1_bundle(),
            S1Code::generate(&signed(&credential(ticket(1), &d)), &kp(5), step, None).encode(),
            NOW,
        )],
        RejectReason::NotReleased => {
            let mut c = credential(ticket(1), &d);
            c.strict_jit = true;
            vec![
                fixture(
                    "S1 strict JIT without a MAC",
                    jit_bundle(s1_bundle()),
                    S1Code::generate(&signed(&c), &d, step, None).encode(),
                    NOW,
                ),
                fixture(
                    "T1 strict JIT without a MAC",
                    jit_bundle(t1_bundle(1, false)),
                    t1(0, step),
                    NOW,
                ),
            ]
        }
        RejectReason::NotYetValid => {
            let before = FROM * 1000 - 1;
            vec![
                fixture(
                    "S1 before the window",
                    s1_bundle(),
                    s1(1, s(before)),
                    before,
                ),
                fixture(
                    "T1 before the window",
                    t1_bundle(1, false),
                    t1(0, s(before)),
                    before,
                ),
            ]
        }
        RejectReason::Expired => {
            let after = UNTIL * 1000;
            vec![
                fixture("S1 after the window", s1_bundle(), s1(1, s(after)), after),
                fixture(
                    "T1 after the window",
                    t1_bundle(1, false),
                    t1(0, s(after)),
                    after,
                ),
            ]
        }
        RejectReason::Stale => vec![
            fixture("S1 two steps old", s1_bundle(), s1(1, step - 2), NOW),
            fixture(
                "T1 two steps ahead",
                t1_bundle(1, false),
                t1(0, step + 2),
                NOW,
            ),
        ],
        RejectReason::Revoked => vec![
            fixture(
                "S1 revoked ticket",
                revoking(s1_bundle(), 1),
                s1(1, step),
                NOW,
            ),
            fixture(
                "T1 revoked ticket",
                revoking(t1_bundle(1, false), 0),
                t1(0, step),
                NOW,
            ),
        ],
        RejectReason::Replay => vec![
            fixture("S1 shown twice", s1_bundle(), s1(1, step), NOW + 1000).after(s1(1, step), NOW),
            fixture(
                "T1 shown twice",
                t1_bundle(1, false),
                t1(0, step),
                NOW + 1000,
            )
            .after(t1(0, step), NOW),
        ],
        RejectReason::AlreadyAdmitted => vec![
            fixture(
                "S1 next step after admission",
                s1_bundle(),
                s1(1, step + 1),
                NOW + 15_000,
            )
            .after(s1(1, step), NOW),
            fixture(
                "T1 next step after admission",
                t1_bundle(1, false),
                t1(0, step + 1),
                NOW + 15_000,
            )
            .after(t1(0, step), NOW),
        ],
    }
}

#[test]
fn every_reject_reason_has_a_fixture_that_draws_exactly_it() {
    // The table: fixture → expected reason, over every reason there is.
    let table: Vec<(Fixture, RejectReason)> = RejectReason::ALL
        .into_iter()
        .flat_map(|r| fixtures(r).into_iter().map(move |f| (f, r)))
        .collect();
    let every: HashSet<RejectReason> = RejectReason::ALL.into_iter().collect();
    assert_eq!(
        every.len(),
        RejectReason::ALL.len(),
        "ALL lists a reason twice"
    );
    let expected: HashSet<RejectReason> = table.iter().map(|(_, r)| *r).collect();
    assert_eq!(expected, every);

    let mut drawn = HashSet::new();
    for (f, want) in table {
        let name = f.name;
        let mut v = verifier(f.bundle);
        for (p, now) in &f.admitted_before {
            assert!(v.verify(p, *now).verdict.is_admit(), "{name}: setup scan");
        }
        // `check` names the same reason as `verify` (a supervisor's second look), and
        // records nothing: `verify` still gives it after.
        let refused = Verdict::Reject { reason: want };
        assert_eq!(v.check(&f.payload, f.now), refused, "{name}: check");
        let r = v.verify(&f.payload, f.now);
        assert_eq!(r.verdict, refused, "{name}: verify");
        // The verdict is in the log under its name, and reads back as the same reason.
        let records = v.scan_log().records().unwrap();
        let last = records.iter().max_by_key(|r| r.seq).unwrap();
        assert_eq!(last.outcome, Outcome::Reject(want), "{name}: log");
        assert!(!last.reentry, "{name}: a refusal is no re-entry");
        drawn.insert(want);
    }
    assert_eq!(drawn, every);
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
        if !ok {
            assert_eq!(
                r.verdict.reason(),
                Some(RejectReason::Stale),
                "T1 step {delta:+}"
            );
        }
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

#[test]
fn a_t1_ticket_scanned_again_at_the_next_step_is_already_admitted() {
    // T1 codes carry no re-entry flag: `FollowCredential` (the default) and `Deny` both
    // mean one admission; only `Allow` lets the ticket in again on a fresh code.
    for (policy, again) in [
        (ReentryPolicy::FollowCredential, false),
        (ReentryPolicy::Deny, false),
        (ReentryPolicy::Allow, true),
    ] {
        let mut b = t1_bundle(1, false);
        b.reentry = policy;
        let mut v = verifier(b);
        assert!(v.verify(&t1(0, s(NOW)), NOW).verdict.is_admit());
        for k in 1..4u64 {
            let now = NOW + 15_000 * k as i64;
            let next = t1(0, s(NOW) + k);
            let want = (!again).then_some(RejectReason::AlreadyAdmitted);
            assert_eq!(v.check(&next, now).reason(), want, "{policy:?} step +{k}");
            assert_eq!(reason(&mut v, &next, now), want, "{policy:?} step +{k}");
        }
    }
}

#[test]
fn s1_reentry_follows_the_bundle_then_the_credential() {
    let d = device();
    for (policy, flag, again) in [
        (ReentryPolicy::FollowCredential, false, false),
        (ReentryPolicy::FollowCredential, true, true),
        (ReentryPolicy::Deny, true, false),
        (ReentryPolicy::Allow, false, true),
    ] {
        let mut c = credential(ticket(1), &d);
        c.reentry = flag;
        let sc = signed(&c);
        let mut b = s1_bundle();
        b.reentry = policy;
        let mut v = verifier(b);
        let code = |step| S1Code::generate(&sc, &d, step, None).encode();
        assert!(v.verify(&code(s(NOW)), NOW).verdict.is_admit());
        let want = (!again).then_some(RejectReason::AlreadyAdmitted);
        assert_eq!(
            reason(&mut v, &code(s(NOW) + 1), NOW + 15_000),
            want,
            "{policy:?}, credential re-entry {flag}"
        );
    }
}

#[test]
fn a_t1_code_with_its_digits_or_algorithm_rewritten_is_refused() {
    // The TOTP value stays the genuine one: only the parameters the code claims change
    // (the digits byte, and the algorithm bits of the flags byte). The gate's parameters
    // decide, so such a code is not one of its codes.
    use tessera_core::TotpAlgorithm;
    let genuine = t1_code(0, s(NOW), false, None);
    let mut variants = Vec::new();
    for algorithm in [TotpAlgorithm::Sha256, TotpAlgorithm::Sha512] {
        variants.push(T1Code {
            algorithm,
            ..genuine.clone()
        });
    }
    variants.push(T1Code {
        digits: 9,
        ..genuine.clone()
    });
    for c in &variants {
        let mut v = verifier(t1_bundle(1, false));
        let payload = c.encode();
        assert_ne!(payload, genuine.encode());
        assert_eq!(
            v.check(&payload, NOW).reason(),
            Some(RejectReason::BadSignature),
            "{:?}/{}",
            c.algorithm,
            c.digits
        );
        assert_eq!(
            reason(&mut v, &payload, NOW),
            Some(RejectReason::BadSignature)
        );
        // Refused before the gate's state: the genuine code still enters afterwards.
        assert!(v.verify(&genuine.encode(), NOW).verdict.is_admit());
    }
}

fn bursts(r: &tessera_gate::ScanResult) -> Vec<u32> {
    r.anomalies
        .iter()
        .filter_map(|a| match a {
            Anomaly::FailureBurst {
                failures,
                within_secs,
            } => {
                assert_eq!(*within_secs, 60);
                Some(*failures)
            }
            _ => None,
        })
        .collect()
}

#[test]
fn failures_older_than_the_burst_window_expire() {
    // Three refusals of one ticket within 60 s (both ends included) raise the flag...
    let mut v = verifier(t1_bundle(1, false));
    let junk = t1(7, s(NOW)); // a ticket this gate has no seed for: UnknownKey
    assert!(bursts(&v.verify(&junk, NOW)).is_empty());
    assert!(bursts(&v.verify(&junk, NOW + 30_000)).is_empty());
    assert_eq!(bursts(&v.verify(&junk, NOW + 60_000)), vec![3]);
    // ...and a fourth one counts the three still inside the window.
    assert_eq!(bursts(&v.verify(&junk, NOW + 90_000)), vec![3]);
    // One millisecond more and the first refusal has left the window.
    let mut v = verifier(t1_bundle(1, false));
    v.verify(&junk, NOW);
    v.verify(&junk, NOW + 30_000);
    assert!(bursts(&v.verify(&junk, NOW + 60_001)).is_empty());
    // Spread out, refusals never add up.
    let mut v = verifier(t1_bundle(1, false));
    for k in 0..6 {
        assert!(bursts(&v.verify(&junk, NOW + k * 61_000)).is_empty(), "{k}");
    }
}

#[test]
fn the_failure_map_holds_at_most_ten_thousand_tickets() {
    const CAP: u32 = 10_000;
    let cfg = VerifierConfig {
        flush: tessera_gate::FlushPolicy::Batched {
            max_pending: 100_000,
        },
        ..VerifierConfig::default()
    };
    let mut v = Verifier::with_config(
        t1_bundle(0, false),
        "gate-a",
        ScanLog::open_in_memory().unwrap(),
        cfg,
    )
    .unwrap();
    let junk = |n: u32| t1(n, s(NOW));
    // Junk naming 10,000 different tickets fills the map.
    for n in 0..CAP {
        let r = v.verify(&junk(n), NOW);
        assert_eq!(r.verdict.reason(), Some(RejectReason::UnknownKey));
    }
    // Full of recent entries: a new ticket is not tracked, however often it fails...
    for k in 1..=3 {
        assert!(bursts(&v.verify(&junk(CAP), NOW + k * 1000)).is_empty());
    }
    // ...while a ticket already tracked still is (its two new refusals and the first).
    v.verify(&junk(5), NOW + 4_000);
    assert_eq!(bursts(&v.verify(&junk(5), NOW + 5_000)), vec![3]);
    // Once the window has passed, the expired entries make room again.
    let later = NOW + 70_000;
    assert!(bursts(&v.verify(&junk(CAP + 1), later)).is_empty());
    v.verify(&junk(CAP + 1), later + 1000);
    assert_eq!(bursts(&v.verify(&junk(CAP + 1), later + 2000)), vec![3]);
}

fn gate_skew(r: &tessera_gate::ScanResult) -> Option<i8> {
    r.anomalies.iter().find_map(|a| match a {
        Anomaly::GateClockSkew { direction } => Some(*direction),
        _ => None,
    })
}

/// Scans one genuine T1 code per ticket, each `offsets[i]` steps off the gate's step, and
/// returns the gate-clock flag of each scan.
fn gate_skew_flags(offsets: &[i64]) -> Vec<Option<i8>> {
    let n = u32::try_from(offsets.len()).unwrap();
    let mut v = verifier(t1_bundle(n, false));
    offsets
        .iter()
        .zip(0..)
        .map(|(off, i)| {
            let now = NOW + i64::from(i) * 10;
            let step = s(now).checked_add_signed(*off).unwrap();
            gate_skew(&v.verify(&t1(i, step), now))
        })
        .collect()
}

#[test]
fn gate_clock_skew_needs_a_full_sample_of_codes_off_the_same_way() {
    // On time, however many: never flagged.
    assert!(gate_skew_flags(&[0; 40]).iter().all(Option::is_none));
    // 31 codes a step behind: the sample (32) is not full yet. The 32nd raises the flag,
    // as does every one after.
    let flags = gate_skew_flags(&[-1; 34]);
    assert!(flags[..31].iter().all(Option::is_none), "{flags:?}");
    assert!(flags[31..].iter().all(|f| *f == Some(-1)), "{flags:?}");
    // 24 of the last 32 off the same way is enough, 23 is not (8 or 9 on-time codes first).
    let mut offsets = vec![0; 8];
    offsets.extend([1; 24]);
    let flags = gate_skew_flags(&offsets);
    assert_eq!(flags[31], Some(1), "{flags:?}");
    assert!(flags[..31].iter().all(Option::is_none));
    let mut offsets = vec![0; 9];
    offsets.extend([1; 24]);
    let flags = gate_skew_flags(&offsets);
    assert!(flags[..32].iter().all(Option::is_none), "{flags:?}");
    assert_eq!(flags[32], Some(1), "{flags:?}");
    // An on-time code never raises it, even in a sample full of skewed ones.
    let mut offsets = vec![-1; 32];
    offsets.push(0);
    let flags = gate_skew_flags(&offsets);
    assert_eq!(flags[31], Some(-1));
    assert_eq!(flags[32], None);
    // Codes two steps off (refused as stale) still say something about the gate's clock;
    // three steps off say nothing (a screenshot, not a clock).
    let flags = gate_skew_flags(&[-2; 32]);
    assert_eq!(flags[31], Some(-1), "{flags:?}");
    assert!(gate_skew_flags(&[-3; 40]).iter().all(Option::is_none));
}

#[test]
fn a_step_beyond_the_i64_range_is_stale_with_its_offset_saturated() {
    // A payload may claim any u64 step; the offset (code step − gate step) saturates.
    let mut v = verifier(s1_bundle());
    let r = v.verify(&s1(1, u64::MAX), NOW);
    assert_eq!(r.verdict.reason(), Some(RejectReason::Stale));
    assert!(
        r.anomalies.contains(&Anomaly::DeviceClockSkew {
            offset_steps: i64::MAX
        }),
        "{:?}",
        r.anomalies
    );
    let r = v.verify(&s1(2, 0), NOW);
    assert_eq!(r.verdict.reason(), Some(RejectReason::Stale));
    let back = i64::try_from(s(NOW)).unwrap();
    assert!(r.anomalies.contains(&Anomaly::DeviceClockSkew {
        offset_steps: -back
    }));
}

#[test]
fn seen_at_another_gate_counts_from_its_latest_scan_there() {
    // Gate B admits ticket 4 and refuses its next code (already in): two genuine scans.
    let mut b_gate =
        Verifier::new(s1_bundle(), "gate-b", ScanLog::open_in_memory().unwrap()).unwrap();
    assert!(b_gate.verify(&s1(4, s(NOW)), NOW).verdict.is_admit());
    assert_eq!(
        reason(&mut b_gate, &s1(4, s(NOW) + 1), NOW + 15_000),
        Some(RejectReason::AlreadyAdmitted)
    );
    let export = b_gate.scan_log().records().unwrap();
    let seen_at_b = |r: &tessera_gate::ScanResult| {
        r.anomalies.iter().find_map(|a| match a {
            Anomaly::SeenAtOtherGate {
                other_gate,
                apart_ms,
            } => Some((other_gate.clone(), *apart_ms)),
            _ => None,
        })
    };
    let mut a = verifier(s1_bundle());
    a.merge(&export).unwrap();
    let r = a.verify(&s1(4, s(NOW) + 4), NOW + 60_000);
    assert_eq!(seen_at_b(&r), Some(("gate-b".into(), 45_000)));

    // Gate A's own later scan is newer than what the merge brings: no flag.
    let mut a = verifier(s1_bundle());
    assert!(
        a.verify(&s1(4, s(NOW) + 2), NOW + 30_000)
            .verdict
            .is_admit()
    );
    a.merge(&export).unwrap();
    let r = a.verify(&s1(4, s(NOW) + 3), NOW + 45_000);
    assert_eq!(r.verdict.reason(), Some(RejectReason::AlreadyAdmitted));
    assert_eq!(seen_at_b(&r), None, "{:?}", r.anomalies);
}

#[test]
fn a_verifier_prints_its_gate_and_counts_but_no_secret() {
    let mut v = verifier(t1_bundle(2, true));
    assert!(
        v.verify(&t1_code(0, s(NOW), true, None).encode(), NOW)
            .verdict
            .is_admit()
    );
    let text = format!("{v:?}");
    assert!(text.starts_with("Verifier {"), "{text}");
    assert!(
        text.contains("\"gate-a\"") && text.contains("admitted: 1"),
        "{text}"
    );
    for secret in [seed(0), seed(1), EVENT_SEED.to_vec()] {
        assert!(!text.contains(&hex::encode(&secret)), "{text}");
        assert!(!text.contains(&format!("{secret:?}")), "{text}");
        assert!(
            !text.contains(String::from_utf8_lossy(&secret).as_ref()),
            "{text}"
        );
    }
}
