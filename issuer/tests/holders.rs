//! Who holds a ticket: transfer, rebind, revoke, the change block and the box office's
//! audited override.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/src/harness.rs"]
mod common;

use common::{Device, Harness, param, unseal};
use tessera_core::CodeFormat;
use tessera_core::sync::api::{
    AuditEntry, HolderChange, OrderResponse, ProfileUpdate, TransferRequest, TransferResponse,
};

fn actions(audit: &[AuditEntry]) -> Vec<&str> {
    audit.iter().map(|a| a.action.as_str()).collect()
}

async fn audit(h: &Harness) -> Vec<AuditEntry> {
    h.get("/v1/admin/audit", Some(&h.admin)).await.ok()
}

#[tokio::test]
async fn transfer_only_where_allowed_and_the_recipient_binds_on_sync() {
    let h = Harness::start().await;
    h.event(1, |p| p.format = CodeFormat::S1).await;
    h.event(2, |p| {
        p.format = CodeFormat::S1;
        p.transferable = true;
        p.personalised = true;
    })
    .await;
    let fixed = h.order(1, "jo@example.org", None, None, &["F1"]).await[0];
    let movable = h
        .order(2, "jo@example.org", None, Some("Jo"), &["M1"])
        .await[0];
    let sender = Device::new();
    sender.verify_email(&h, "jo@example.org").await;
    let (first, _) = sender.sync(&h).await;
    assert_eq!(first.tickets.len(), 2);
    let to = TransferRequest {
        to_email: "kim@example.org".into(),
    };
    let r = sender
        .post(&h, &format!("/v1/attendee/tickets/{fixed}/transfer"), &to)
        .await;
    assert_eq!(r.error(409), "not_transferable");
    // Only the holding device may transfer.
    let stranger = Device::new();
    stranger.enroll(&h).await;
    let r = stranger
        .post(&h, &format!("/v1/attendee/tickets/{movable}/transfer"), &to)
        .await;
    assert_eq!(r.error(403), "forbidden");

    let t: TransferResponse = sender
        .post(&h, &format!("/v1/attendee/tickets/{movable}/transfer"), &to)
        .await
        .ok();
    let mail = h.last_message("kim@example.org").await;
    assert_eq!(param(&mail.body, "id"), t.transfer_id);
    // The sender's binding ends at once.
    let (after, _) = sender.sync(&h).await;
    assert_eq!(after.tickets.len(), 1);
    assert_eq!(after.moved, vec![movable]);

    // The recipient needs a confirmed email, and the right one.
    let kim = Device::new();
    kim.enroll(&h).await;
    let accept = format!("/v1/attendee/transfers/{}/accept", t.transfer_id);
    assert_eq!(
        kim.post(&h, &accept, &serde_json::json!({}))
            .await
            .error(403),
        "needs_verification"
    );
    let wrong = Device::new();
    wrong.verify_email(&h, "lee@example.org").await;
    assert_eq!(
        wrong
            .post(&h, &accept, &serde_json::json!({}))
            .await
            .error(403),
        "forbidden"
    );
    kim.verify_email(&h, "kim@example.org").await;
    let got: OrderResponse = kim.post(&h, &accept, &serde_json::json!({})).await.ok();
    assert_eq!(got.tickets, vec![movable]);
    assert_eq!(
        kim.post(&h, &accept, &serde_json::json!({}))
            .await
            .error(409),
        "conflict"
    );
    let (theirs, _) = kim.sync(&h).await;
    assert_eq!(theirs.tickets.len(), 1);
    let t = &theirs.tickets[0];
    assert_eq!(t.ticket_id, movable);
    assert_eq!(t.version, 2, "a new binding bumps the version");
    assert_eq!(t.holder_name, None, "the sender's name does not travel");
    assert_eq!(t.device_public_key, hex::encode(kim.pk));
    let a = audit(&h).await;
    assert!(actions(&a).contains(&"ticket.transfer"));
    assert!(actions(&a).contains(&"transfer.accept"));
}

#[tokio::test]
async fn rebind_moves_tickets_to_the_new_phone_and_revokes_the_old_binding() {
    let h = Harness::start().await;
    h.event(4, |p| p.format = CodeFormat::S1).await;
    let id = h.order(4, "max@example.org", None, None, &["R1"]).await[0];
    let old = Device::new();
    old.verify_email(&h, "max@example.org").await;
    let (before, key) = old.sync(&h).await;
    let old_cred = before.tickets[0].credential.clone().unwrap();
    let old_seed = unseal(
        &key,
        "ticket_seed",
        &id.0,
        1,
        &before.tickets[0].sealed_ticket_seed,
    );

    let new = Device::new();
    new.enroll(&h).await;
    assert_eq!(
        new.post(&h, "/v1/attendee/rebind", &serde_json::json!({}))
            .await
            .error(403),
        "needs_verification"
    );
    new.verify_email(&h, "max@example.org").await;
    let r: OrderResponse = new
        .post(&h, "/v1/attendee/rebind", &serde_json::json!({}))
        .await
        .ok();
    assert_eq!(r.tickets, vec![id]);
    let (now, key) = new.sync(&h).await;
    let t = &now.tickets[0];
    assert_eq!(t.version, 2);
    assert_ne!(t.credential.as_deref(), Some(old_cred.as_str()));
    let seed = unseal(&key, "ticket_seed", &id.0, 2, &t.sealed_ticket_seed);
    assert_ne!(seed, old_seed, "a new binding gets a new seed");
    let (gone, _) = old.sync(&h).await;
    assert!(gone.tickets.is_empty());
    assert_eq!(gone.moved, vec![id]);
    // Gates learn that the old credential is revoked.
    let gate = h.mint_gate(4, "g").await;
    let b = h.open_bundle(
        std::str::from_utf8(&h.get("/v1/gate/events/4/bundle", Some(&gate)).await.body).unwrap(),
    );
    let old_digest =
        tessera_core::code::SignedCredential::from_bytes(&hex::decode(old_cred).unwrap())
            .unwrap()
            .digest();
    assert!(
        b.revoked_credentials
            .contains(&tessera_gate::CredentialDigest(old_digest))
    );
    assert_eq!(b.revoked_credentials.len(), 1);
    let a = audit(&h).await;
    let rebind = a.iter().find(|e| e.action == "ticket.rebind").unwrap();
    assert_eq!(rebind.subject, id.to_string());
    assert_eq!(rebind.role, "device");
}

#[tokio::test]
async fn revoked_tickets_show_as_revoked_and_revoking_is_audited() {
    let h = Harness::start().await;
    h.event(5, |_| {}).await;
    let id = h.order(5, "ned@example.org", None, None, &["V1"]).await[0];
    let d = Device::new();
    d.verify_email(&h, "ned@example.org").await;
    d.sync(&h).await;
    let gate = h.mint_gate(5, "g").await;
    let path = format!("/v1/admin/tickets/{id}/revoke");
    assert_eq!(
        h.post(&path, &gate, &serde_json::json!({}))
            .await
            .error(403),
        "forbidden"
    );
    let bo = h.mint_box_office().await;
    h.post(&path, &bo, &serde_json::json!({}))
        .await
        .ok::<serde_json::Value>();
    h.post(&path, &bo, &serde_json::json!({}))
        .await
        .ok::<serde_json::Value>();
    assert_eq!(
        h.post(
            &format!("/v1/admin/tickets/{}/revoke", "ab".repeat(16)),
            &bo,
            &serde_json::json!({})
        )
        .await
        .error(404),
        "not_found"
    );
    let (r, _) = d.sync(&h).await;
    assert!(r.tickets[0].revoked);
    let a = audit(&h).await;
    let revokes: Vec<_> = a.iter().filter(|e| e.action == "ticket.revoke").collect();
    assert_eq!(revokes.len(), 1, "revoking twice is one change");
    assert_eq!(revokes[0].role, "box_office");
    let b = h.open_bundle(
        std::str::from_utf8(&h.get("/v1/gate/events/5/bundle", Some(&gate)).await.body).unwrap(),
    );
    assert!(b.revoked.contains(&id));
}

#[tokio::test]
async fn change_block_refuses_the_holder_and_the_box_office_overrides_it() {
    let h = Harness::start().await;
    h.event(6, |p| {
        p.personalised = true;
        p.change_block = true;
    })
    .await;
    h.event(16, |p| p.personalised = true).await;
    let id = h
        .order(6, "ola@example.org", None, Some("Ola"), &["K1"])
        .await[0];
    h.order(16, "pia@example.org", None, Some("Pia"), &["K2"])
        .await;
    let ola = Device::new();
    ola.verify_email(&h, "ola@example.org").await;
    ola.sync(&h).await;
    let rename = ProfileUpdate {
        holder_name: Some("Someone Else".into()),
        email: None,
    };
    assert_eq!(
        ola.post(&h, "/v1/attendee/profile", &rename)
            .await
            .error(409),
        "change_blocked"
    );
    // Without a change block, the holder may rename and change the address.
    let pia = Device::new();
    pia.verify_email(&h, "pia@example.org").await;
    pia.post(&h, "/v1/attendee/profile", &rename)
        .await
        .ok::<serde_json::Value>();
    assert_eq!(
        pia.post(
            &h,
            "/v1/attendee/profile",
            &ProfileUpdate {
                holder_name: None,
                email: Some("ola@example.org".into())
            }
        )
        .await
        .error(409),
        "conflict"
    );
    let (p, _) = pia.sync(&h).await;
    assert_eq!(p.tickets[0].holder_name.as_deref(), Some("Someone Else"));

    // The box office may, with a reason.
    let bo = h.mint_box_office().await;
    let path = format!("/v1/boxoffice/tickets/{id}/holder");
    let gate = h.mint_gate(6, "g").await;
    let change = HolderChange {
        holder_name: Some("Ola Nordmann".into()),
        email: None,
        reason: "passport spelling".into(),
    };
    assert_eq!(h.post(&path, &gate, &change).await.error(403), "forbidden");
    assert_eq!(
        h.post(
            &path,
            &bo,
            &HolderChange {
                reason: " ".into(),
                ..change.clone()
            }
        )
        .await
        .error(400),
        "bad_request"
    );
    h.post(&path, &bo, &change).await.ok::<serde_json::Value>();
    let (o, _) = ola.sync(&h).await;
    assert_eq!(o.tickets[0].holder_name.as_deref(), Some("Ola Nordmann"));
    // Moving the ticket to another address ends the binding.
    h.post(
        &path,
        &bo,
        &HolderChange {
            holder_name: Some("Quinn".into()),
            email: Some("quinn@example.org".into()),
            reason: "resold at the box office".into(),
        },
    )
    .await
    .ok::<serde_json::Value>();
    let (o, _) = ola.sync(&h).await;
    assert!(o.tickets.is_empty());
    assert_eq!(o.moved, vec![id]);
    let quinn = Device::new();
    quinn.verify_email(&h, "quinn@example.org").await;
    let (q, _) = quinn.sync(&h).await;
    assert_eq!(q.tickets[0].holder_name.as_deref(), Some("Quinn"));
    assert_eq!(q.tickets[0].version, 2);

    let a = audit(&h).await;
    let overrides: Vec<_> = a
        .iter()
        .filter(|e| e.action == "ticket.holder_override")
        .collect();
    assert_eq!(overrides.len(), 2);
    assert!(overrides[0].detail.contains("passport spelling"));
    assert_eq!(overrides[0].role, "box_office");
    assert_eq!(overrides[0].subject, id.to_string());
    assert!(actions(&a).contains(&"profile.update"));
    assert!(actions(&a).contains(&"event.create"));
    assert!(actions(&a).contains(&"order.create"));
}
