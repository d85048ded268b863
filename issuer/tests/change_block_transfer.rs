//! A change-blocked event's ticket is not transferred by its holder (issue 10 item 6): the
//! transfer used to go through and silently clear the holder name of a personalised ticket,
//! so the gate's ID check then showed nobody. The holder is told `change_blocked`, the
//! ticket stays bound, named and on the holder's phone; the box office moves it, audited.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/src/harness.rs"]
mod common;

use common::{Device, Harness};
use serde_json::json;
use tessera_core::CodeFormat;
use tessera_core::sync::api::{AuditEntry, HolderChange, TransferRequest, TransferResponse};

#[tokio::test]
async fn the_holder_of_a_change_blocked_ticket_cannot_transfer_it_the_box_office_can() {
    let h = Harness::start().await;
    h.event(8, |p| {
        p.format = CodeFormat::S1;
        p.personalised = true;
        p.change_block = true;
        p.transferable = true;
    })
    .await;
    let id = h
        .order(8, "ann@example.org", None, Some("Ann Example"), &["P1"])
        .await[0];
    let ann = Device::new();
    ann.verify_email(&h, "ann@example.org").await;
    ann.sync(&h).await;

    let r = ann
        .post(
            &h,
            &format!("/v1/attendee/tickets/{id}/transfer"),
            &TransferRequest {
                to_email: "bo@example.org".into(),
            },
        )
        .await;
    assert_eq!(r.error(409), "change_blocked");
    // Nothing happened: still Ann's, named, bound to her phone; no transfer, no mail.
    let (still, _) = ann.sync(&h).await;
    assert_eq!(still.tickets.len(), 1);
    assert_eq!(still.tickets[0].holder_name.as_deref(), Some("Ann Example"));
    assert!(still.moved.is_empty());
    assert!(h.outbox().await.iter().all(|m| m.to != "bo@example.org"));
    let bundle = h.open_bundle(
        std::str::from_utf8(&h.get("/v1/gate/events/8/bundle", Some(&h.admin)).await.body).unwrap(),
    );
    assert_eq!(bundle.holder_names[&id], "Ann Example");

    // The box office moves it to the new holder with the new holder's name, audited.
    let _: serde_json::Value = h
        .post(
            &format!("/v1/boxoffice/tickets/{id}/holder"),
            &h.admin,
            &HolderChange {
                holder_name: Some("Bo Example".into()),
                email: Some("bo@example.org".into()),
                reason: "resale checked at the box office, ID seen".into(),
            },
        )
        .await
        .ok();
    let bo = Device::new();
    bo.verify_email(&h, "bo@example.org").await;
    let (got, _) = bo.sync(&h).await;
    assert_eq!(got.tickets[0].holder_name.as_deref(), Some("Bo Example"));
    let audit: Vec<AuditEntry> = h.get("/v1/admin/audit", Some(&h.admin)).await.ok();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "ticket.holder_override" && a.detail.contains("resale"))
    );
    assert!(audit.iter().all(|a| a.action != "ticket.transfer"));
}

#[tokio::test]
async fn a_transfer_started_before_the_block_is_not_accepted_after_it() {
    let h = Harness::start().await;
    let policy = |block: bool| {
        move |p: &mut tessera_core::EventPolicy| {
            p.format = CodeFormat::S1;
            p.personalised = true;
            p.change_block = block;
            p.transferable = true;
        }
    };
    h.event(9, policy(false)).await;
    let id = h
        .order(9, "cy@example.org", None, Some("Cy Example"), &["Q1"])
        .await[0];
    let cy = Device::new();
    cy.verify_email(&h, "cy@example.org").await;
    cy.sync(&h).await;
    let t: TransferResponse = cy
        .post(
            &h,
            &format!("/v1/attendee/tickets/{id}/transfer"),
            &TransferRequest {
                to_email: "di@example.org".into(),
            },
        )
        .await
        .ok();
    // The organiser turns the block on before the recipient accepts.
    h.event(9, policy(true)).await;
    let di = Device::new();
    di.verify_email(&h, "di@example.org").await;
    let r = di
        .post(
            &h,
            &format!("/v1/attendee/transfers/{}/accept", t.transfer_id),
            &json!({}),
        )
        .await;
    assert_eq!(r.error(409), "change_blocked");
    let (none, _) = di.sync(&h).await;
    assert!(none.tickets.is_empty());
}
