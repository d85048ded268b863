//! Staff tokens carry a scope (issue 10 item 4): a gate token names its event and its gate
//! id, a bundle or scan upload outside that scope is refused with 403, tokens are listed and
//! revoked by the admin (audited), and a strict event's release secret reaches gates only
//! from a lead before its window.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/src/harness.rs"]
mod common;

use common::Harness;
use serde_json::{Value, json};
use tessera_core::sync::api::AuditEntry;
use tessera_core::{CodeFormat, EventId, TicketId};
use tessera_issuer::ScanUploadResponse;

/// Mints a token from a raw JSON body (the admin's call, as curl would send it).
async fn mint(h: &Harness, body: Value) -> Value {
    h.post("/v1/admin/tokens", &h.admin, &body).await.ok()
}

fn record(gate: &str, seq: u64, at_ms: i64, ticket: TicketId, outcome: &str) -> String {
    json!({
        "gate_id": gate, "seq": seq, "at_ms": at_ms,
        "ticket": ticket.to_string(), "step": 1, "outcome": outcome, "reentry": false
    })
    .to_string()
}

#[tokio::test]
async fn a_gate_token_reaches_only_its_event_and_uploads_only_as_its_gate() {
    let h = Harness::start().await;
    h.event(41, |p| p.format = CodeFormat::T1).await;
    h.event(42, |p| p.format = CodeFormat::T1).await;
    h.order(41, "a@example.org", None, None, &["A1"]).await;
    let t42 = h.order(42, "b@example.org", None, None, &["B1"]).await[0];
    let north = mint(
        &h,
        json!({"role": "gate", "event_id": 42, "gate_id": "north-1"}),
    )
    .await;
    let north = north["token"].as_str().unwrap().to_owned();
    let south = mint(
        &h,
        json!({"role": "gate", "event_id": 42, "gate_id": "south-1"}),
    )
    .await;
    let south = south["token"].as_str().unwrap().to_owned();

    // Its own event: served. Another event's T1 seeds: refused.
    let r = h.get("/v1/gate/events/42/bundle", Some(&north)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        h.get("/v1/gate/events/41/bundle", Some(&north))
            .await
            .error(403),
        "forbidden"
    );

    // South admits the ticket first; north then uploads a record under south's id to
    // replace it and fake a first admission: refused, nothing of it merged.
    let real = record("south-1", 1, 1000, t42, "admit");
    let up: ScanUploadResponse = h
        .post_raw("/v1/gate/scans", Some(&south), real.into_bytes())
        .await
        .ok();
    assert_eq!(up.imported, 1);
    let forged = [
        record("north-1", 1, 500, t42, "admit"),
        record("south-1", 1, 400, t42, "malformed"),
    ]
    .join("\n");
    assert_eq!(
        h.post_raw("/v1/gate/scans", Some(&north), forged.into_bytes())
            .await
            .error(403),
        "forbidden"
    );
    // The whole upload was refused: north's own record is not in the log either. Uploaded
    // alone it is merged as what it is, a second admission (its earlier gate time is
    // reported as such, never replacing south's record).
    let own = record("north-1", 1, 500, t42, "admit");
    let up: ScanUploadResponse = h
        .post_raw("/v1/gate/scans", Some(&north), own.into_bytes())
        .await
        .ok();
    assert_eq!((up.imported, up.conflicts), (1, 0));
    assert_eq!(up.duplicate_admissions.len(), 1);
    let dup = &up.duplicate_admissions[0];
    let gates = [dup.first.gate_id.as_str(), dup.later.gate_id.as_str()];
    assert!(
        gates.contains(&"south-1") && gates.contains(&"north-1"),
        "{dup:?}"
    );

    // The admin may upload for any gate (merging exports gathered by hand).
    let any = record("east-9", 1, 3000, t42, "replay");
    let up: ScanUploadResponse = h
        .post_raw("/v1/gate/scans", Some(&h.admin), any.into_bytes())
        .await
        .ok();
    assert_eq!(up.imported, 1);
}

#[tokio::test]
async fn a_gate_token_without_a_scope_or_with_a_bad_one_is_not_minted() {
    let h = Harness::start().await;
    h.event(7, |_| {}).await;
    for body in [
        json!({"role": "gate"}),
        json!({"role": "gate", "event_id": 7}),
        json!({"role": "gate", "gate_id": "north-1"}),
        json!({"role": "gate", "event_id": 7, "gate_id": ""}),
        json!({"role": "gate", "event_id": 7, "gate_id": "north 1"}),
        json!({"role": "gate", "event_id": 7, "gate_id": "x".repeat(65)}),
        json!({"role": "gate", "event_id": 7, "gate_id": "north-1", "evnet_id": 8}),
        json!({"role": "box_office", "gate_id": "north-1"}),
        json!({"role": "admin"}),
    ] {
        assert_eq!(
            h.post("/v1/admin/tokens", &h.admin, &body).await.error(400),
            "bad_request",
            "{body}"
        );
    }
    // A scope naming an event the issuer does not know is refused too.
    let r = h
        .post(
            "/v1/admin/tokens",
            &h.admin,
            &json!({"role": "gate", "event_id": 99, "gate_id": "north-1"}),
        )
        .await;
    assert_eq!(r.error(404), "not_found");
}

#[tokio::test]
async fn a_box_office_token_with_an_event_sells_and_revokes_only_there() {
    let h = Harness::start().await;
    h.event(1, |_| {}).await;
    h.event(2, |_| {}).await;
    let other = h.order(2, "o@example.org", None, None, &["O1"]).await[0];
    let bo = mint(&h, json!({"role": "box_office", "event_id": 1})).await;
    let bo = bo["token"].as_str().unwrap().to_owned();
    let order = |event: u64| {
        json!({"event_id": event, "email": "c@example.org", "phone": null,
               "holder_name": null, "seats": ["C1"]})
    };
    let r = h.post("/v1/admin/orders", &bo, &order(1)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        h.post("/v1/admin/orders", &bo, &order(2)).await.error(403),
        "forbidden"
    );
    assert_eq!(
        h.post(
            &format!("/v1/admin/tickets/{other}/revoke"),
            &bo,
            &json!({})
        )
        .await
        .error(403),
        "forbidden"
    );
    assert_eq!(
        h.post(
            &format!("/v1/boxoffice/tickets/{other}/holder"),
            &bo,
            &json!({"holder_name": "Eve", "reason": "scope test"})
        )
        .await
        .error(403),
        "forbidden"
    );
    // An unscoped box-office token still serves every event.
    let all = mint(&h, json!({"role": "box_office"})).await;
    let all = all["token"].as_str().unwrap().to_owned();
    let r = h.post("/v1/admin/orders", &all, &order(2)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

#[tokio::test]
async fn tokens_are_listed_without_secrets_and_revoked_with_an_audit_entry() {
    let h = Harness::start().await;
    h.event(42, |_| {}).await;
    let minted = mint(
        &h,
        json!({"role": "gate", "event_id": 42, "gate_id": "north-1"}),
    )
    .await;
    let token = minted["token"].as_str().unwrap().to_owned();
    let id = minted["id"]
        .as_str()
        .expect("a token id to list and revoke by");
    assert_eq!(minted["event_id"], 42);
    assert_eq!(minted["gate_id"], "north-1");

    let list: Vec<Value> = h.get("/v1/admin/tokens", Some(&h.admin)).await.ok();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["id"], id);
    assert_eq!(list[0]["role"], "gate");
    assert_eq!(list[0]["event_id"], 42);
    assert_eq!(list[0]["gate_id"], "north-1");
    assert_eq!(list[0]["revoked_ms"], Value::Null);
    let listed = serde_json::to_string(&list).unwrap();
    assert!(!listed.contains(&token), "the list must not show the token");
    // Only the admin lists tokens.
    assert_eq!(
        h.get("/v1/admin/tokens", Some(&token)).await.error(403),
        "forbidden"
    );

    assert_eq!(
        h.get("/v1/gate/events/42/bundle", Some(&token))
            .await
            .status,
        200
    );
    let r = h
        .post(
            &format!("/v1/admin/tokens/{id}/revoke"),
            &h.admin,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        h.get("/v1/gate/events/42/bundle", Some(&token))
            .await
            .error(401),
        "unauthorized"
    );
    let list: Vec<Value> = h.get("/v1/admin/tokens", Some(&h.admin)).await.ok();
    assert_eq!(list[0]["revoked_ms"], h.now_ms());
    assert_eq!(
        h.post(
            "/v1/admin/tokens/0000000000000000/revoke",
            &h.admin,
            &json!({})
        )
        .await
        .error(404),
        "not_found"
    );

    let audit: Vec<AuditEntry> = h.get("/v1/admin/audit", Some(&h.admin)).await.ok();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert!(actions.contains(&"token.create"), "{actions:?}");
    let revoke = audit
        .iter()
        .find(|a| a.action == "token.revoke")
        .expect("the revocation is audited");
    assert!(revoke.detail.contains(id), "{revoke:?}");
    assert!(!serde_json::to_string(&audit).unwrap().contains(&token));
}

#[tokio::test]
async fn a_strict_events_release_secret_reaches_gates_only_within_the_lead() {
    let h = Harness::start().await;
    let day = 86_400;
    let opens = h.now_s() + day;
    let mut p = tessera_core::EventPolicy::new(EventId(5), "Strict", opens, opens + day);
    p.format = CodeFormat::S1;
    p.strict_jit = true;
    let _: Value = h.post("/v1/admin/events", &h.admin, &p).await.ok();
    let gate = mint(&h, json!({"role": "gate", "event_id": 5, "gate_id": "g"})).await;
    let gate = gate["token"].as_str().unwrap().to_owned();
    let fetch = || async {
        let r = h.get("/v1/gate/events/5/bundle", Some(&gate)).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        String::from_utf8(r.body).unwrap()
    };
    let has_secret = |text: &str| {
        let b = h.open_bundle(text);
        b.release_secrets.contains_key(&EventId(5))
    };
    // A day early: no release secret (a stolen gate token cannot unlock codes early).
    assert!(!has_secret(&fetch().await));
    // Just outside the default two-hour lead: still none. Inside it: there.
    h.advance_ms((day - 2 * 3600 - 1) * 1000);
    assert!(!has_secret(&fetch().await));
    h.advance_ms(1000);
    assert!(has_secret(&fetch().await));
}

/// The bundle in a served document (signed envelope or, before signing existed, the bare
/// bundle).
#[tokio::test]
async fn the_release_lead_is_configurable() {
    let h =
        Harness::start_with(|c| c.release_secret_lead = std::time::Duration::from_secs(600)).await;
    let opens = h.now_s() + 3600;
    let mut p = tessera_core::EventPolicy::new(EventId(6), "Strict", opens, opens + 3600);
    p.strict_jit = true;
    let _: Value = h.post("/v1/admin/events", &h.admin, &p).await.ok();
    let gate = mint(&h, json!({"role": "gate", "event_id": 6, "gate_id": "g"})).await;
    let gate = gate["token"].as_str().unwrap().to_owned();
    let r = h.get("/v1/gate/events/6/bundle", Some(&gate)).await;
    let b = h.open_bundle(&String::from_utf8(r.body).unwrap());
    assert!(b.release_secrets.is_empty(), "an hour early, lead 10 min");
    h.advance_ms(3000 * 1000);
    let r = h.get("/v1/gate/events/6/bundle", Some(&gate)).await;
    let b = h.open_bundle(&String::from_utf8(r.body).unwrap());
    assert!(!b.release_secrets.is_empty(), "10 min early, lead 10 min");
}

/// Found by the outside attack on these scopes: one gate id minted for two events let
/// event 43's gate overwrite event 42's admission in the issuer's (shared) scan log, and a
/// gate could upload an admission of another event's ticket to pre-empt it.
#[tokio::test]
async fn gates_of_other_events_can_neither_share_a_gate_id_nor_admit_their_tickets() {
    let h = Harness::start().await;
    h.event(42, |_| {}).await;
    h.event(43, |_| {}).await;
    let t42 = h.order(42, "a@example.org", None, None, &["A"]).await[0];
    let t43 = h.order(43, "b@example.org", None, None, &["B"]).await[0];
    let main42 = mint(
        &h,
        json!({"role": "gate", "event_id": 42, "gate_id": "main"}),
    )
    .await;
    let main42 = main42["token"].as_str().unwrap().to_owned();
    // "main" belongs to event 42 now: not to event 43, even after 42's token is revoked.
    let r = h
        .post(
            "/v1/admin/tokens",
            &h.admin,
            &json!({"role": "gate", "event_id": 43, "gate_id": "main"}),
        )
        .await;
    assert_eq!(r.error(409), "conflict");
    // The same gate of the same event may get a new token (a replaced phone).
    let again = mint(
        &h,
        json!({"role": "gate", "event_id": 42, "gate_id": "main"}),
    )
    .await;
    assert!(again["token"].is_string());

    // A gate of event 42 admitting event 43's ticket: refused, nothing merged. Refusals
    // of other events' codes (a wrong_event scan names the ticket) are ordinary records.
    let side = mint(
        &h,
        json!({"role": "gate", "event_id": 42, "gate_id": "side"}),
    )
    .await;
    let side = side["token"].as_str().unwrap().to_owned();
    for outcome in ["admit", "replay", "already_admitted"] {
        let r = h
            .post_raw(
                "/v1/gate/scans",
                Some(&side),
                record("side", 1, 0, t43, outcome).into_bytes(),
            )
            .await;
        assert_eq!(r.error(403), "forbidden", "{outcome}");
    }
    let up: ScanUploadResponse = h
        .post_raw(
            "/v1/gate/scans",
            Some(&side),
            record("side", 1, 0, t43, "wrong_event").into_bytes(),
        )
        .await
        .ok();
    assert_eq!(up.imported, 1);
    // Scan numbers start at 1.
    let r = h
        .post_raw(
            "/v1/gate/scans",
            Some(&side),
            record("side", 0, 0, t42, "admit").into_bytes(),
        )
        .await;
    assert_eq!(r.error(400), "bad_request");

    // Duplicate admissions are reported to a gate for its own event only.
    let b43 = mint(
        &h,
        json!({"role": "gate", "event_id": 43, "gate_id": "b43"}),
    )
    .await;
    let b43 = b43["token"].as_str().unwrap().to_owned();
    let c43 = mint(
        &h,
        json!({"role": "gate", "event_id": 43, "gate_id": "c43"}),
    )
    .await;
    let c43 = c43["token"].as_str().unwrap().to_owned();
    for (tok, gate) in [(&b43, "b43"), (&c43, "c43")] {
        let _: ScanUploadResponse = h
            .post_raw(
                "/v1/gate/scans",
                Some(tok),
                record(gate, 1, 10, t43, "admit").into_bytes(),
            )
            .await
            .ok();
    }
    let up: ScanUploadResponse = h
        .post_raw(
            "/v1/gate/scans",
            Some(&main42),
            record("main", 1, 10, t42, "admit").into_bytes(),
        )
        .await
        .ok();
    assert!(
        up.duplicate_admissions.is_empty(),
        "event 43's duplicate shown to event 42's gate: {:?}",
        up.duplicate_admissions
    );
}
