#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The scan log on real SQLite files: reopening, export, and merging offline gates.

mod common;

use common::*;
use tessera_gate::{FlushPolicy, RejectReason, ScanLog, Verifier, VerifierConfig};

fn gate(name: &str, path: &std::path::Path) -> Verifier {
    Verifier::new(s1_bundle(), name, ScanLog::open(path).unwrap()).unwrap()
}

#[test]
fn scan_log_survives_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gate.sqlite");
    let code = s1(1, gate_step(NOW));
    {
        let mut v = gate("gate-a", &path);
        assert!(v.verify(&code, NOW).verdict.is_admit());
        assert_eq!(
            v.verify("garbage", NOW).verdict.reason(),
            Some(RejectReason::Malformed)
        );
        // Dropped without an explicit flush: the admission was committed at once.
    }
    let mut v = gate("gate-a", &path);
    assert_eq!(v.scan_log().len().unwrap(), 2);
    assert_eq!(
        v.verify(&code, NOW + 1000).verdict.reason(),
        Some(RejectReason::Replay)
    );
    assert_eq!(
        v.verify(&s1(1, gate_step(NOW) + 1), NOW + 15_000)
            .verdict
            .reason(),
        Some(RejectReason::AlreadyAdmitted)
    );
    v.flush().unwrap();
    let recs = v.scan_log().records().unwrap();
    // Sequence numbers continue after the reopen.
    assert_eq!(
        recs.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
}

#[test]
fn batched_scans_are_written_on_drop_and_flush() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gate.sqlite");
    let cfg = VerifierConfig {
        flush: FlushPolicy::Batched { max_pending: 100 },
        ..VerifierConfig::default()
    };
    {
        let mut v =
            Verifier::with_config(s1_bundle(), "g", ScanLog::open(&path).unwrap(), cfg).unwrap();
        for n in 0..5 {
            assert!(v.verify(&s1(n, gate_step(NOW)), NOW).verdict.is_admit());
        }
        assert_eq!(v.pending(), 5);
    }
    assert_eq!(ScanLog::open(&path).unwrap().len().unwrap(), 5);
}

#[test]
fn merge_first_admission_wins_and_is_idempotent_and_commutative() {
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb) = (dir.path().join("a.sqlite"), dir.path().join("b.sqlite"));
    let mut a = gate("gate-a", &pa);
    let mut b = gate("gate-b", &pb);
    // Offline, both admit ticket 1; gate B first. Both admit ticket 2 at the same ms: tie → gate-a.
    assert!(b.verify(&s1(1, gate_step(NOW)), NOW).verdict.is_admit());
    assert!(
        a.verify(&s1(1, gate_step(NOW) + 1), NOW + 20_000)
            .verdict
            .is_admit()
    );
    assert!(a.verify(&s1(2, gate_step(NOW)), NOW).verdict.is_admit());
    assert!(b.verify(&s1(2, gate_step(NOW)), NOW).verdict.is_admit());
    assert!(a.verify(&s1(3, gate_step(NOW)), NOW).verdict.is_admit());
    a.flush().unwrap();
    b.flush().unwrap();

    let mut ea = Vec::new();
    a.scan_log().export_jsonl(&mut ea).unwrap();
    let export_a = ScanLog::read_jsonl(&ea[..]).unwrap();
    let export_b = b.scan_log().records().unwrap();
    assert_eq!(export_a, a.scan_log().records().unwrap());

    let ra = a.merge(&export_b).unwrap();
    let rb = b.merge(&export_a).unwrap();
    assert_eq!(ra.imported, 2);
    assert_eq!(rb.imported, 3);
    // Commutative: both gates hold the same rows and flag the same admissions.
    assert_eq!(
        a.scan_log().records().unwrap(),
        b.scan_log().records().unwrap()
    );
    assert_eq!(ra.duplicate_admissions, rb.duplicate_admissions);
    let d = &ra.duplicate_admissions;
    assert_eq!(d.len(), 2, "{d:?}");
    let t1 = d.iter().find(|x| x.ticket == ticket(1)).unwrap();
    assert_eq!((t1.first.gate_id.as_str(), t1.first.at_ms), ("gate-b", NOW));
    assert_eq!(t1.later.gate_id, "gate-a");
    let t2 = d.iter().find(|x| x.ticket == ticket(2)).unwrap();
    assert_eq!(
        (t2.first.gate_id.as_str(), t2.later.gate_id.as_str()),
        ("gate-a", "gate-b")
    );

    // Idempotent: merging the same export again changes nothing.
    let before = a.scan_log().records().unwrap();
    let again = a.merge(&export_b).unwrap();
    assert_eq!(
        (again.imported, again.unchanged, again.conflicts),
        (0, 2, 0)
    );
    assert_eq!(again.duplicate_admissions, ra.duplicate_admissions);
    assert_eq!(a.scan_log().records().unwrap(), before);
    // Merging one's own rows back is a no-op too.
    let own = a.merge(&before).unwrap();
    assert_eq!(own.imported, 0);

    // After the merge, gate B knows ticket 3 entered at gate A.
    assert_eq!(
        b.verify(&s1(3, gate_step(NOW) + 1), NOW + 15_000)
            .verdict
            .reason(),
        Some(RejectReason::AlreadyAdmitted)
    );
}

#[test]
fn clashing_records_resolve_the_same_way_in_either_order() {
    let mut x = ScanLog::open_in_memory().unwrap();
    let mut y = ScanLog::open_in_memory().unwrap();
    let mk = |at_ms| tessera_gate::ScanRecord {
        gate_id: "twin".into(),
        seq: 1,
        at_ms,
        ticket: Some(ticket(1)),
        step: Some(5),
        outcome: tessera_gate::Outcome::Admit,
        reentry: false,
    };
    let (r1, r2) = (mk(10), mk(20));
    x.merge(std::slice::from_ref(&r1)).unwrap();
    let rx = x.merge(std::slice::from_ref(&r2)).unwrap();
    y.merge(std::slice::from_ref(&r2)).unwrap();
    let ry = y.merge(std::slice::from_ref(&r1)).unwrap();
    assert_eq!((rx.conflicts, ry.conflicts), (1, 1));
    assert_eq!(x.records().unwrap(), vec![r1.clone()]);
    assert_eq!(y.records().unwrap(), vec![r1]);
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.sqlite");
    drop(ScanLog::open(&path).unwrap());
    let c = rusqlite::Connection::open(&path).unwrap();
    c.pragma_update(None, "user_version", 99).unwrap();
    drop(c);
    assert_eq!(
        ScanLog::open(&path).unwrap_err(),
        tessera_gate::GateError::NewerSchema { version: 99 }
    );
}

#[test]
fn bad_export_lines_are_refused() {
    let err = ScanLog::read_jsonl(&b"{\"gate_id\":1}\n"[..]).unwrap_err();
    assert!(err.to_string().contains("line 1"));
    assert!(ScanLog::read_jsonl(&b"\n\n"[..]).unwrap().is_empty());
}

#[test]
fn own_rows_merged_back_do_not_break_numbering() {
    let mut a = verifier(s1_bundle());
    let foreign = tessera_gate::ScanRecord {
        gate_id: "gate-a".into(),
        seq: 40,
        at_ms: NOW - 1000,
        ticket: None,
        step: None,
        outcome: tessera_gate::Outcome::Reject(RejectReason::Malformed),
        reentry: false,
    };
    a.merge(&[foreign]).unwrap();
    assert!(a.verify(&s1(1, gate_step(NOW)), NOW).verdict.is_admit());
    assert_eq!(a.pending(), 0, "the admission was committed");
    let seqs: Vec<u64> = a
        .scan_log()
        .records()
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(seqs, vec![40, 41]);
}

#[test]
fn every_verdict_is_in_the_log_before_verify_returns() {
    // Default policy: the row is committed before the app can show the verdict, so a
    // gate killed right after showing a refusal still has it (docs/GATE.md "record, then show").
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gate.sqlite");
    let mut v = gate("gate-a", &path);
    let step = gate_step(NOW);
    let cases: [(String, Option<RejectReason>); 6] = [
        (s1(1, step), None),
        (s1(1, step), Some(RejectReason::Replay)),
        (s1(1, step + 1), Some(RejectReason::AlreadyAdmitted)),
        (s1(2, step - 2), Some(RejectReason::Stale)),
        ("S1:NOT-A-CODE".into(), Some(RejectReason::Malformed)),
        (s1(1, step), Some(RejectReason::Replay)),
    ];
    for (n, (payload, reason)) in cases.iter().enumerate() {
        let r = v.verify(payload, NOW);
        assert_eq!(r.verdict.reason(), *reason, "scan {n}");
        assert_eq!(
            v.pending(),
            0,
            "scan {n}: verdict returned before its row was written"
        );
        assert_eq!(v.scan_log().len().unwrap(), n as u64 + 1, "scan {n}");
    }
}

#[test]
fn a_legitimate_reentry_is_no_duplicate_admission() {
    let mut b = s1_bundle();
    b.reentry = tessera_gate::ReentryPolicy::Allow;
    let mut a = Verifier::new(b.clone(), "gate-a", ScanLog::open_in_memory().unwrap()).unwrap();
    let step = gate_step(NOW);
    assert!(a.verify(&s1(1, step), NOW).verdict.is_admit());
    // Out and back in at the next step, then a replay of that code.
    assert!(a.verify(&s1(1, step + 1), NOW + 15_000).verdict.is_admit());
    assert_eq!(
        a.verify(&s1(1, step + 1), NOW + 16_000).verdict.reason(),
        Some(RejectReason::Replay)
    );
    let recs = a.scan_log().records().unwrap();
    // Admissions under a re-entry policy carry the flag; the refusal does not.
    assert_eq!(
        recs.iter().map(|r| r.reentry).collect::<Vec<_>>(),
        vec![true, true, false]
    );
    assert!(a.scan_log().duplicate_admissions().unwrap().is_empty());
    // A second gate lets the same ticket in again: merged, still no duplicate.
    let mut g = Verifier::new(b, "gate-b", ScanLog::open_in_memory().unwrap()).unwrap();
    assert!(g.verify(&s1(1, step + 2), NOW + 30_000).verdict.is_admit());
    let report = a.merge(&g.scan_log().records().unwrap()).unwrap();
    assert!(report.duplicate_admissions.is_empty(), "{report:?}");
    assert!(a.scan_log().duplicate_admissions().unwrap().is_empty());

    // The same scans without re-entry: every later admission is a duplicate.
    let mut a = verifier(s1_bundle());
    assert!(a.verify(&s1(1, step), NOW).verdict.is_admit());
    let mut g = Verifier::new(s1_bundle(), "gate-b", ScanLog::open_in_memory().unwrap()).unwrap();
    assert!(g.verify(&s1(1, step + 2), NOW + 30_000).verdict.is_admit());
    let report = a.merge(&g.scan_log().records().unwrap()).unwrap();
    assert_eq!(report.duplicate_admissions.len(), 1, "{report:?}");
    assert!(a.scan_log().records().unwrap().iter().all(|r| !r.reentry));
}

#[test]
fn every_admission_policy_commits_admissions_at_once_and_refusals_in_batches() {
    let cfg = VerifierConfig {
        flush: FlushPolicy::EveryAdmission { max_pending: 3 },
        ..VerifierConfig::default()
    };
    let mut v =
        Verifier::with_config(s1_bundle(), "g", ScanLog::open_in_memory().unwrap(), cfg).unwrap();
    let step = gate_step(NOW);
    // (payload, admitted?, rows still pending after the scan)
    let scans = [
        (s1(1, step), true, 0),
        ("junk".to_owned(), false, 1),
        (s1(1, step), false, 2),
        (s1(2, step), true, 0),
        ("junk".to_owned(), false, 1),
        ("junk".to_owned(), false, 2),
        ("junk".to_owned(), false, 0),
    ];
    for (n, (payload, admit, pending)) in scans.iter().enumerate() {
        assert_eq!(
            v.verify(payload, NOW).verdict.is_admit(),
            *admit,
            "scan {n}"
        );
        assert_eq!(v.pending(), *pending, "scan {n}");
    }
    assert_eq!(v.scan_log().len().unwrap(), 7);
}
