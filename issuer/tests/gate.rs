//! Gate bundles from the issuer judge real codes with tessera-gate; scan logs uploaded
//! back are merged and counted in `/metrics`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/src/harness.rs"]
mod common;

use common::{Device, Harness, unseal};
use tessera_core::code::{S1Code, SignedCredential, step_at};
use tessera_core::{CodeFormat, EventId};
use tessera_gate::{GateBundle, RejectReason, ScanLog, Verdict, Verifier};
use tessera_issuer::ScanUploadResponse;

async fn bundle(h: &Harness, token: &str, event: u64) -> (String, GateBundle) {
    let r = h
        .get(&format!("/v1/gate/events/{event}/bundle"), Some(token))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let text = String::from_utf8(r.body).unwrap();
    let b = h.open_bundle(&text);
    (text, b)
}

#[tokio::test]
async fn an_s1_bundle_holds_no_secrets_and_admits_the_bound_device_only() {
    let h = Harness::start().await;
    h.event(11, |p| {
        p.format = CodeFormat::S1;
        p.personalised = true;
    })
    .await;
    let id = h
        .order(11, "rae@example.org", None, Some("Rae"), &["G1"])
        .await[0];
    let d = Device::new();
    d.verify_email(&h, "rae@example.org").await;
    let (r, key) = d.sync(&h).await;
    let seed = unseal(
        &key,
        "ticket_seed",
        &id.0,
        1,
        &r.tickets[0].sealed_ticket_seed,
    );

    let gate = h.mint_gate(11, "g").await;
    let bo = h.mint_box_office().await;
    assert_eq!(
        h.get("/v1/gate/events/11/bundle", Some(&bo))
            .await
            .error(403),
        "forbidden"
    );
    assert_eq!(
        h.get("/v1/gate/events/99/bundle", Some(&h.admin))
            .await
            .error(404),
        "not_found"
    );
    let (text, b) = bundle(&h, &gate, 11).await;
    assert!(!b.holds_private_material());
    assert!(b.t1.is_none() && b.release_secrets.is_empty());
    assert!(!text.contains(&hex::encode(&seed[..])), "no ticket seed");
    assert_eq!(b.event, EventId(11));
    assert_eq!(b.issuer_keys[&1].0, h.issuer_key());
    assert_eq!(b.holder_names[&id], "Rae");

    // The device's own code admits; a code drawn with another key is refused.
    let signed = SignedCredential::from_bytes(
        &hex::decode(r.tickets[0].credential.as_ref().unwrap()).unwrap(),
    )
    .unwrap();
    let mut v = Verifier::new(b, "north-1", ScanLog::open_in_memory().unwrap()).unwrap();
    let now = h.now_ms();
    let step = step_at(now, 15);
    let good = S1Code::generate(&signed, &d.kp, step, None).encode();
    let res = v.verify(&good, now);
    assert!(matches!(res.verdict, Verdict::Admit { .. }), "{res:?}");
    let thief = Device::new();
    let bad = S1Code::generate(&signed, &thief.kp, step + 1, None).encode();
    assert_eq!(
        v.verify(&bad, now).verdict.reason(),
        Some(RejectReason::WrongDevice)
    );
    assert_eq!(
        v.verify(&good, now).verdict.reason(),
        Some(RejectReason::Replay)
    );
}

#[tokio::test]
async fn t1_and_strict_bundles_carry_the_secrets_the_wallet_got() {
    let h = Harness::start().await;
    h.event(12, |p| p.strict_jit = true).await;
    let id = h.order(12, "sam@example.org", None, None, &["T1"]).await[0];
    let d = Device::new();
    d.verify_email(&h, "sam@example.org").await;
    let (r, key) = d.sync(&h).await;
    let t = &r.tickets[0];
    let open = |column: &str, row: &[u8], version: u32, sealed: &str| {
        unseal(&key, column, row, version, sealed)
    };
    let seed = open("ticket_seed", &id.0, 1, &t.sealed_ticket_seed);
    let event_seed = open(
        "event_seed",
        &id.0,
        1,
        t.sealed_event_seed.as_ref().unwrap(),
    );
    let rel = &r.releases[0];
    let release = open(
        "release_secret",
        &12u64.to_be_bytes(),
        rel.version,
        &rel.sealed,
    );
    let gate = h.mint_gate(12, "g").await;
    let (_, b) = bundle(&h, &gate, 12).await;
    assert!(b.holds_private_material());
    let t1 = b.t1.as_ref().unwrap();
    assert_eq!(t1.ticket_seeds[&id].expose(), &seed[..]);
    assert_eq!(t1.event_seed.as_ref().unwrap().expose(), &event_seed[..]);
    assert_eq!(b.release_secrets[&EventId(12)].expose(), &release[..]);
    assert_eq!(b.seats[&id], "T1");
}

fn record(
    gate: &str,
    seq: u64,
    at_ms: i64,
    ticket: Option<tessera_core::TicketId>,
    outcome: &str,
) -> String {
    serde_json::json!({
        "gate_id": gate, "seq": seq, "at_ms": at_ms,
        "ticket": ticket.map(|t| t.to_string()), "step": 1, "outcome": outcome, "reentry": false
    })
    .to_string()
}

#[tokio::test]
async fn scan_uploads_merge_flag_double_admissions_and_feed_metrics() {
    let h = Harness::start().await;
    // The admin may upload any gate's records (a gate token only its own: staff_scopes.rs).
    let gate = h.admin.clone();
    let t = tessera_core::TicketId([7; 16]);
    let north = [
        record("north", 1, 1000, Some(t), "admit"),
        record("north", 2, 2000, None, "malformed"),
        record("north", 3, 3000, Some(t), "replay"),
    ]
    .join("\n");
    let r: ScanUploadResponse = h
        .post_raw("/v1/gate/scans", Some(&gate), north.clone().into_bytes())
        .await
        .ok();
    assert_eq!((r.imported, r.unchanged), (3, 0));
    assert!(r.duplicate_admissions.is_empty());
    // The same export again changes nothing and counts nothing.
    let r: ScanUploadResponse = h
        .post_raw("/v1/gate/scans", Some(&gate), north.into_bytes())
        .await
        .ok();
    assert_eq!((r.imported, r.unchanged), (0, 3));
    // Another gate admitted the same ticket later: flagged. A JSON array is accepted too.
    let south = format!("[{}]", record("south", 1, 5000, Some(t), "admit"));
    let r: ScanUploadResponse = h
        .post_raw("/v1/gate/scans", Some(&gate), south.into_bytes())
        .await
        .ok();
    assert_eq!(r.duplicate_admissions.len(), 1);
    assert_eq!(r.duplicate_admissions[0].first.gate_id, "north");
    assert_eq!(r.duplicate_admissions[0].later.gate_id, "south");
    assert_eq!(
        h.post_raw("/v1/gate/scans", Some(&gate), b"not a log".to_vec())
            .await
            .error(400),
        "bad_request"
    );
    assert_eq!(
        h.post_raw("/v1/gate/scans", None, b"[]".to_vec())
            .await
            .error(401),
        "unauthorized"
    );
    let m = h.get("/metrics", None).await;
    let text = String::from_utf8(m.body).unwrap();
    for line in [
        "tessera_scans_admitted_total 2",
        "tessera_scans_rejected_total{reason=\"malformed\"} 1",
        "tessera_scans_rejected_total{reason=\"replay\"} 1",
        "tessera_replays_total{kind=\"scan\"} 1",
        "tessera_duplicate_admissions_total 1",
        "tessera_requests_refused_total{code=\"unauthorized\"} 1",
        "# TYPE tessera_syncs_total counter",
    ] {
        assert!(text.contains(line), "{line} missing in\n{text}");
    }
}

#[tokio::test]
async fn a_gate_export_round_trips_through_the_issuer() {
    let h = Harness::start().await;
    h.event(13, |p| p.format = CodeFormat::S1).await;
    h.order(13, "tia@example.org", None, None, &["E1"]).await;
    let d = Device::new();
    d.verify_email(&h, "tia@example.org").await;
    let (r, _) = d.sync(&h).await;
    let gate = h.mint_gate(13, "east").await;
    let (_, b) = bundle(&h, &gate, 13).await;
    let signed = SignedCredential::from_bytes(
        &hex::decode(r.tickets[0].credential.as_ref().unwrap()).unwrap(),
    )
    .unwrap();
    let now = h.now_ms();
    let code = S1Code::generate(&signed, &d.kp, step_at(now, 15), None).encode();
    let mut v = Verifier::new(b, "east", ScanLog::open_in_memory().unwrap()).unwrap();
    assert!(v.verify(&code, now).verdict.is_admit());
    let log = v.into_scan_log().unwrap();
    let mut export = Vec::new();
    assert_eq!(log.export_jsonl(&mut export).unwrap(), 1);
    let up: ScanUploadResponse = h.post_raw("/v1/gate/scans", Some(&gate), export).await.ok();
    assert_eq!(up.imported, 1);
}

/// An issuer from before the scan log moved into the database kept it in `scans.sqlite`:
/// a new issuer adopts those records at start (an upload of them is then `unchanged`) and
/// renames the file, so a restart does not adopt it twice.
#[tokio::test]
async fn an_old_scan_log_file_is_adopted_once() {
    let record = |seq, at_ms| tessera_gate::ScanRecord {
        gate_id: "north".into(),
        seq,
        at_ms,
        ticket: Some("0123456789abcdef0123456789abcdef".parse().unwrap()),
        step: Some(7),
        outcome: tessera_gate::Outcome::Admit,
        reentry: false,
    };
    let old = vec![record(1, 1_000), record(2, 2_000)];
    let mut h = Harness::start_with(|cfg| {
        std::fs::create_dir_all(&cfg.data_dir).unwrap();
        let mut log = ScanLog::open(cfg.data_dir.join("scans.sqlite")).unwrap();
        log.merge(&old).unwrap();
    })
    .await;
    assert!(!h.data_dir().join("scans.sqlite").exists());
    assert!(h.data_dir().join("scans.sqlite.adopted").exists());
    assert_eq!(h.stored_count("scan_records"), 2);
    h.restart().await;
    assert_eq!(h.stored_count("scan_records"), 2);
    let r: ScanUploadResponse = h
        .post_raw(
            "/v1/gate/scans",
            Some(&h.admin),
            serde_json::to_vec(&old).unwrap(),
        )
        .await
        .ok();
    assert_eq!((r.imported, r.unchanged), (0, 2));
    assert_eq!(r.duplicate_admissions.len(), 1, "{r:?}");
}
