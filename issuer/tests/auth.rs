//! Device-signed requests, bearer roles, body limits and error bodies against a real issuer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/src/harness.rs"]
mod common;

use common::{Device, Harness};
use tessera_core::sync::api::{EnrollResponse, SyncRequest, TimeResponse, TokenRequest};
use tessera_core::sync::request::MAX_SKEW_MS;

#[tokio::test]
async fn enrollment_is_idempotent_and_reports_server_time() {
    let h = Harness::start().await;
    let d = Device::new();
    for _ in 0..2 {
        let r: EnrollResponse = d
            .post(
                &h,
                "/v1/devices",
                &serde_json::json!({ "platform": "android" }),
            )
            .await
            .ok();
        assert_eq!(r.device_id, hex::encode(d.pk));
        assert_eq!(r.server_time_ms, h.now_ms());
    }
    let t: TimeResponse = h.get("/v1/time", None).await.ok();
    assert_eq!(t.server_time_ms, common::START_MS);
    assert_eq!(t.proof, None, "no nonce, nothing signed");
}

#[tokio::test]
async fn the_clock_is_signed_over_the_callers_nonce_with_the_issuer_key() {
    let h = Harness::start().await;
    let nonce = [0x42u8; 32];
    let t: TimeResponse = h
        .get(&format!("/v1/time?nonce={}", hex::encode(nonce)), None)
        .await
        .ok();
    let proof = t.proof.expect("a nonce asks for a signature");
    let pk = h.issuer_key();
    let keys = std::collections::HashMap::from([(proof.key_id, pk)]);
    tessera_core::sync::signed_time::verify_time(&keys, &nonce, t.server_time_ms, &proof).unwrap();
    // Bound to the nonce and the time: neither can be changed.
    assert!(
        tessera_core::sync::signed_time::verify_time(&keys, &[0x43; 32], t.server_time_ms, &proof)
            .is_err()
    );
    assert!(
        tessera_core::sync::signed_time::verify_time(&keys, &nonce, t.server_time_ms + 1, &proof)
            .is_err()
    );
    for bad in ["zz", "00", &"0".repeat(66)] {
        let r = h.get(&format!("/v1/time?nonce={bad}"), None).await;
        assert_eq!(r.error(400), "bad_request", "nonce {bad}");
    }
}

#[tokio::test]
async fn signed_request_failures_have_their_codes() {
    let h = Harness::start().await;
    let d = Device::new();
    let body = serde_json::to_vec(&SyncRequest {
        ephemeral_public_key: hex::encode([9u8; 32]),
        time_nonce: hex::encode([1u8; 32]),
    })
    .unwrap();

    // Not enrolled yet: a valid signature is not enough.
    let r = d
        .post_with(
            &h,
            "/v1/attendee/sync",
            body.clone(),
            h.now_ms(),
            &Device::nonce(),
        )
        .await;
    assert_eq!(r.error(401), "unauthorized");
    d.enroll(&h).await;

    // Unsigned.
    let r = h.post_raw("/v1/attendee/sync", None, body.clone()).await;
    assert_eq!(r.error(401), "unauthorized");

    // Stale, in both directions.
    for ts in [h.now_ms() - MAX_SKEW_MS - 1, h.now_ms() + MAX_SKEW_MS + 1] {
        let r = d
            .post_with(&h, "/v1/attendee/sync", body.clone(), ts, &Device::nonce())
            .await;
        assert_eq!(r.error(401), "stale_request");
    }

    // Signed by another key than the one named.
    let other = Device::new();
    let mut forged = Device::new();
    forged.pk = d.pk;
    forged.kp = other.kp;
    let r = forged
        .post_with(
            &h,
            "/v1/attendee/sync",
            body.clone(),
            h.now_ms(),
            &Device::nonce(),
        )
        .await;
    assert_eq!(r.error(401), "bad_signature");

    // A replayed nonce, even a minute later.
    let nonce = Device::nonce();
    let ts = h.now_ms();
    let first = d
        .post_with(&h, "/v1/attendee/sync", body.clone(), ts, &nonce)
        .await;
    assert_eq!(first.status.as_u16(), 200);
    h.advance_ms(60_000);
    let again = d
        .post_with(&h, "/v1/attendee/sync", body.clone(), ts, &nonce)
        .await;
    assert_eq!(again.error(401), "replayed_request");

    // A body changed in transit: the signature covers its hash.
    let sig_body = body.clone();
    let nonce = Device::nonce();
    let sig = d.kp.sign(&tessera_core::sync::request::signing_message(
        "POST",
        "/v1/attendee/sync",
        h.now_ms(),
        &nonce,
        &sig_body,
    ));
    let r = h
        .http
        .post(format!("{}/v1/attendee/sync", h.url))
        .header("x-tessera-device", hex::encode(d.pk))
        .header("x-tessera-timestamp", h.now_ms().to_string())
        .header("x-tessera-nonce", &nonce)
        .header("x-tessera-signature", hex::encode(sig.as_ref()))
        .body(b"{\"ephemeral_public_key\":\"00\"}".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);

    let metrics = h.get("/metrics", None).await;
    let text = String::from_utf8(metrics.body).unwrap();
    assert!(
        text.contains("tessera_replays_total{kind=\"request\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("tessera_failed_verifications_total{kind=\"request_signature\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("tessera_requests_refused_total{code=\"stale_request\"} 2"),
        "{text}"
    );
}

#[tokio::test]
async fn bearer_roles_are_enforced() {
    let h = Harness::start().await;
    let role = TokenRequest::box_office(None);
    assert_eq!(
        h.post_raw("/v1/admin/tokens", None, serde_json::to_vec(&role).unwrap())
            .await
            .error(401),
        "unauthorized"
    );
    assert_eq!(
        h.post("/v1/admin/tokens", "not-a-token", &role)
            .await
            .error(401),
        "unauthorized"
    );
    h.event(1, |_| {}).await;
    let gate = h.mint_gate(1, "g").await;
    let box_office = h.mint_box_office().await;
    assert_eq!(
        h.post("/v1/admin/tokens", &gate, &role).await.error(403),
        "forbidden"
    );
    assert_eq!(
        h.post(
            "/v1/admin/tokens",
            &h.admin,
            &TokenRequest {
                role: "admin".into(),
                event_id: None,
                gate_id: None,
            }
        )
        .await
        .error(400),
        "bad_request"
    );
    // Box office may sell but not create events; gates may do neither.
    let policy = tessera_core::EventPolicy::new(tessera_core::EventId(1), "x", 0, 10);
    assert_eq!(
        h.post("/v1/admin/events", &box_office, &policy)
            .await
            .error(403),
        "forbidden"
    );
    h.event(1, |_| {}).await;
    let order = serde_json::json!({
        "event_id": 1, "email": "a@example.org", "phone": null,
        "holder_name": null, "seats": ["A1"]
    });
    assert_eq!(
        h.post("/v1/admin/orders", &gate, &order).await.error(403),
        "forbidden"
    );
    assert_eq!(
        h.post("/v1/admin/orders", &box_office, &order)
            .await
            .status
            .as_u16(),
        200
    );
    assert_eq!(
        h.get("/v1/admin/audit", Some(&box_office)).await.error(403),
        "forbidden"
    );
    assert_eq!(
        h.get("/v1/dev/outbox", Some(&gate)).await.error(403),
        "forbidden"
    );
    // Minted tokens are audited, never with the token itself.
    let audit = String::from_utf8(h.get("/v1/admin/audit", Some(&h.admin)).await.body).unwrap();
    assert!(audit.contains("token.create"));
    assert!(!audit.contains(&gate) && !audit.contains(&box_office));
}

#[tokio::test]
async fn oversized_bodies_unknown_paths_and_bad_json_get_error_bodies() {
    let h = Harness::start().await;
    let big = vec![b' '; tessera_issuer::MAX_BODY_BYTES + 1];
    assert_eq!(
        h.post_raw("/v1/admin/events", Some(&h.admin), big.clone())
            .await
            .error(413),
        "payload_too_large"
    );
    let d = Device::new();
    d.enroll(&h).await;
    let r = d
        .post_with(&h, "/v1/attendee/sync", big, h.now_ms(), &Device::nonce())
        .await;
    assert_eq!(r.error(413), "payload_too_large");
    assert_eq!(h.get("/v1/nothing", None).await.error(404), "not_found");
    assert_eq!(
        h.post_raw("/v1/admin/events", Some(&h.admin), b"{".to_vec())
            .await
            .error(400),
        "bad_request"
    );
    assert_eq!(
        h.post_raw("/v1/time", None, Vec::new()).await.error(405),
        "bad_request"
    );
    let bad_event = serde_json::to_value(tessera_core::EventPolicy::new(
        tessera_core::EventId(5),
        "x",
        100,
        50,
    ))
    .unwrap();
    assert_eq!(
        h.post("/v1/admin/events", &h.admin, &bad_event)
            .await
            .error(400),
        "bad_request"
    );
}
