//! What a gate shows from a ticket: a seat signed into a genuine S1 credential by a
//! hostile or careless issuer, or a holder name in the bundle, with ANSI escapes, C1
//! controls or bidi overrides in it, reaches the door person's screen escaped; a forged
//! credential shows nothing of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use tessera_core::code::S1Code;
use tessera_core::text::is_refused;
use tessera_gate::RejectReason;

#[test]
fn seats_and_names_from_a_ticket_are_shown_escaped() {
    let d = device();
    let mut c = credential(ticket(1), &d);
    c.seat = "\u{1b}[2J\u{1b}[HVIP\u{9b}1m".into();
    let mut b = s1_bundle();
    b.holder_names
        .insert(ticket(1), "\u{202e}ecalevoL adA\u{2066}".into());
    let mut v = verifier(b);
    let step = gate_step(NOW);
    let r = v.verify(&S1Code::generate(&signed(&c), &d, step, None).encode(), NOW);
    assert!(r.verdict.is_admit(), "{:?}", r.verdict);
    let shown = r.verdict.to_string();
    assert!(!shown.chars().any(is_refused), "raw control in {shown:?}");
    assert_eq!(
        shown,
        "ADMIT · \\u{1b}[2J\\u{1b}[HVIP\\u{9b}1m · check ID: \\u{202e}ecalevoL adA\\u{2066}"
    );
    assert!(!format!("{:?}", r.verdict).contains('\u{1b}'));

    // The same credential signed by another key: rejected, its seat never shown.
    let forged = c.sign(&kp(9)).unwrap();
    let r = v.verify(&S1Code::generate(&forged, &d, step, None).encode(), NOW);
    assert_eq!(r.verdict.reason(), Some(RejectReason::BadSignature));
    assert!(!r.verdict.to_string().contains("VIP"));
}
