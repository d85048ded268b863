//! Orders and sync: binding to the first device, seeds sealed to the sync key, S1
//! credentials for the device key, strict-JIT release secrets only inside the window.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/src/harness.rs"]
mod common;

use common::{Device, Harness, try_unseal, unseal, verify_phone};
use tessera_core::code::SignedCredential;
use tessera_core::sync::api::SyncResponse;
use tessera_core::sync::transport::TransportKey;
use tessera_core::{CodeFormat, EventId, Verification};
use tessera_issuer::ISSUER_KEY_ID;

#[tokio::test]
async fn sync_binds_to_the_first_device_and_seals_seeds_to_the_sync_key() {
    let h = Harness::start().await;
    let policy = h
        .event(7, |p| {
            p.format = CodeFormat::S1;
            p.personalised = true;
        })
        .await;
    let ids = h
        .order(
            7,
            "fay@example.org",
            None,
            Some("Fay Example"),
            &["A1", "A2"],
        )
        .await;
    let d = Device::new();
    d.verify_email(&h, "fay@example.org").await;
    let (r, key) = d.sync(&h).await;
    assert_eq!(r.server_time_ms, h.now_ms());
    assert_eq!(r.events, vec![policy.clone()]);
    assert_eq!(r.verified, vec![Verification::Email]);
    assert!(r.moved.is_empty() && r.releases.is_empty());
    assert_eq!(r.issuer_keys.len(), 1);
    assert_eq!(r.issuer_keys[0].key_id, ISSUER_KEY_ID);
    assert_eq!(r.issuer_keys[0].public_key, hex::encode(h.issuer_key()));
    let mut got: Vec<_> = r.tickets.iter().map(|t| t.ticket_id).collect();
    let mut want = ids.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    for t in &r.tickets {
        assert_eq!(t.device_public_key, hex::encode(d.pk));
        assert_eq!(t.holder_name.as_deref(), Some("Fay Example"));
        assert_eq!(t.version, 1);
        assert!(!t.revoked && t.sealed_event_seed.is_none());
        let seed = unseal(
            &key,
            "ticket_seed",
            &t.ticket_id.0,
            t.version,
            &t.sealed_ticket_seed,
        );
        assert_eq!(seed.len(), 32);
        // Sealed to this ticket and version only.
        assert!(
            try_unseal(
                &key,
                "ticket_seed",
                &t.ticket_id.0,
                t.version + 1,
                &t.sealed_ticket_seed
            )
            .is_none()
        );
        let cred =
            SignedCredential::from_bytes(&hex::decode(t.credential.as_ref().unwrap()).unwrap())
                .unwrap();
        assert!(cred.verify(&h.issuer_key()));
        assert_eq!(cred.credential.device_public_key, d.pk);
        assert_eq!(cred.credential.ticket, t.ticket_id);
        assert_eq!(cred.credential.event, EventId(7));
        assert_eq!(cred.credential.key_id, ISSUER_KEY_ID);
        assert_eq!(cred.credential.seat, t.seat);
        assert_eq!(cred.credential.reveal_opens_at, policy.reveal_opens_at);
        assert!(cred.credential.personalised);
    }

    // A second device of the same account sees nothing until it rebinds.
    let second = Device::new();
    second.verify_email(&h, "fay@example.org").await;
    let (r2, _) = second.sync(&h).await;
    assert!(r2.tickets.is_empty() && r2.moved.is_empty());
    // The first keeps them; a new sync seals to the new key and signs the same credential.
    let (again, key2) = d.sync(&h).await;
    assert_eq!(again.tickets.len(), 2);
    for (a, b) in r.tickets.iter().zip(&again.tickets) {
        assert_eq!(a.credential, b.credential);
        assert_eq!(
            unseal(
                &key,
                "ticket_seed",
                &a.ticket_id.0,
                1,
                &a.sealed_ticket_seed
            ),
            unseal(
                &key2,
                "ticket_seed",
                &b.ticket_id.0,
                1,
                &b.sealed_ticket_seed
            )
        );
    }
    // A device without a confirmed email gets an empty answer, not an error.
    let anon = Device::new();
    anon.enroll(&h).await;
    let (r3, _) = anon.sync(&h).await;
    assert!(r3.tickets.is_empty() && r3.verified.is_empty());
    let m = String::from_utf8(h.get("/metrics", None).await.body).unwrap();
    assert!(m.contains("tessera_syncs_total 4"), "{m}");
}

#[tokio::test]
async fn t1_tickets_carry_an_event_seed_and_no_credential() {
    let h = Harness::start().await;
    h.event(8, |_| {}).await;
    h.order(8, "gus@example.org", None, None, &[""]).await;
    let d = Device::new();
    d.verify_email(&h, "gus@example.org").await;
    let (r, key) = d.sync(&h).await;
    let t = &r.tickets[0];
    assert!(t.credential.is_none());
    let e1 = unseal(
        &key,
        "event_seed",
        &t.ticket_id.0,
        1,
        t.sealed_event_seed.as_ref().unwrap(),
    );
    assert_eq!(e1.len(), 32);
}

#[tokio::test]
async fn bad_ephemeral_keys_are_refused() {
    let h = Harness::start().await;
    let d = Device::new();
    d.enroll(&h).await;
    for k in ["zz".repeat(32), "00".repeat(31), String::new()] {
        let r = d
            .post(
                &h,
                "/v1/attendee/sync",
                &serde_json::json!({ "ephemeral_public_key": k }),
            )
            .await;
        assert_eq!(r.error(400), "bad_request");
    }
}

async fn strict(h: &Harness, requires: Vec<Verification>) -> (Device, u64) {
    let opens = h.now_s() + 3600;
    let policy = tessera_core::EventPolicy {
        strict_jit: true,
        requires,
        format: CodeFormat::S1,
        ..tessera_core::EventPolicy::new(EventId(9), "Strict", opens, opens + 7200)
    };
    let _: tessera_core::EventPolicy = h.post("/v1/admin/events", &h.admin, &policy).await.ok();
    h.order(9, "hal@example.org", Some("+15550199"), None, &["B1"])
        .await;
    let d = Device::new();
    d.verify_email(h, "hal@example.org").await;
    (d, 9)
}

fn release(r: &SyncResponse, key: &TransportKey) -> Option<Vec<u8>> {
    r.releases.first().map(|rel| {
        unseal(
            key,
            "release_secret",
            &rel.event_id.0.to_be_bytes(),
            rel.version,
            &rel.sealed,
        )
    })
}

#[tokio::test]
async fn release_secrets_come_only_inside_the_window() {
    let h = Harness::start().await;
    let (d, _) = strict(&h, vec![Verification::Email]).await;
    let (before, _) = d.sync(&h).await;
    assert_eq!(before.tickets.len(), 1);
    assert!(before.releases.is_empty());
    h.advance_ms(3600 * 1000 - 1);
    assert!(d.sync(&h).await.0.releases.is_empty(), "one ms early");
    h.advance_ms(1);
    let (open_now, key) = d.sync(&h).await;
    assert_eq!(open_now.releases.len(), 1);
    assert_eq!(open_now.releases[0].event_id, EventId(9));
    let secret = release(&open_now, &key).unwrap();
    assert_eq!(secret.len(), 32);
    // Same secret on every sync inside the window.
    let (again, key2) = d.sync(&h).await;
    assert_eq!(release(&again, &key2).unwrap(), secret);
    // Not after the window.
    h.advance_ms(7200 * 1000);
    assert!(d.sync(&h).await.0.releases.is_empty());
}

#[tokio::test]
async fn release_secrets_wait_for_the_required_verifications() {
    let h = Harness::start().await;
    let (d, _) = strict(&h, vec![Verification::Phone, Verification::Presence]).await;
    h.advance_ms(3600 * 1000);
    let (r, _) = d.sync(&h).await;
    assert!(r.releases.is_empty(), "phone not verified yet");
    verify_phone(&h, &d, "+15550199").await;
    let (r, key) = d.sync(&h).await;
    assert!(release(&r, &key).is_some());
}

#[tokio::test]
async fn restart_keeps_keys_tokens_and_bindings() {
    let mut h = Harness::start().await;
    h.event(3, |p| p.format = CodeFormat::S1).await;
    h.order(3, "ivy@example.org", None, None, &["C3"]).await;
    let d = Device::new();
    d.verify_email(&h, "ivy@example.org").await;
    let (before, _) = d.sync(&h).await;
    let gate = h.mint_gate(3, "g").await;
    let (admin, key) = (h.admin.clone(), h.issuer_key());
    h.restart().await;
    assert_eq!(h.admin, admin);
    assert_eq!(h.issuer_key(), key);
    let (after, _) = d.sync(&h).await;
    assert_eq!(after.tickets.len(), 1);
    assert_eq!(after.tickets[0].credential, before.tickets[0].credential);
    assert_eq!(
        h.get("/v1/gate/events/3/bundle", Some(&gate)).await.status,
        200
    );
    // Nonces survive a restart too: a request replayed across it is refused.
    let nonce = Device::nonce();
    let body = serde_json::to_vec(&serde_json::json!({ "platform": "x" })).unwrap();
    let ts = h.now_ms();
    assert_eq!(
        d.post_with(&h, "/v1/devices", body.clone(), ts, &nonce)
            .await
            .status,
        200
    );
    h.restart().await;
    assert_eq!(
        d.post_with(&h, "/v1/devices", body, ts, &nonce)
            .await
            .error(401),
        "replayed_request"
    );
}

#[tokio::test]
async fn a_thousand_tickets_sync_in_one_answer() {
    let h = Harness::start().await;
    h.event(20, |p| p.format = CodeFormat::S1).await;
    let seats: Vec<String> = (0..1000).map(|i| format!("S{i}")).collect();
    let seats: Vec<&str> = seats.iter().map(String::as_str).collect();
    assert_eq!(
        h.order(20, "vic@example.org", None, None, &seats)
            .await
            .len(),
        1000
    );
    let d = Device::new();
    d.verify_email(&h, "vic@example.org").await;
    let (r, key) = d.sync(&h).await;
    assert_eq!(r.tickets.len(), 1000);
    for t in &r.tickets {
        unseal(
            &key,
            "ticket_seed",
            &t.ticket_id.0,
            1,
            &t.sealed_ticket_seed,
        );
    }
}
