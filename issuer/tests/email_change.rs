//! Issue 10 item 1: an account's address changes only when the new address proves it.
//! Each attack below worked on the issuer before the fix (a real issuer on loopback):
//! `POST /v1/attendee/profile` moved the account at once, so a box-office order or a
//! transfer for the new address reached whoever typed it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/src/harness.rs"]
mod common;

use common::{Device, Harness, param};
use tessera_core::CodeFormat;
use tessera_core::sync::api::{
    AuditEntry, EmailConfirm, OutboxMessage, ProfileUpdate, TransferRequest, TransferResponse,
    VerificationStatus,
};

fn move_to(email: &str) -> ProfileUpdate {
    ProfileUpdate {
        holder_name: None,
        email: Some(email.into()),
    }
}

async fn messages_to(h: &Harness, to: &str) -> Vec<OutboxMessage> {
    h.outbox()
        .await
        .into_iter()
        .filter(|m| m.to == to)
        .collect()
}

#[tokio::test]
async fn a_device_cannot_move_its_account_to_a_future_buyers_address() {
    let h = Harness::start().await;
    h.event(1, |_| {}).await;
    let mallory = Device::new();
    mallory.verify_email(&h, "mallory@example.org").await;
    // The attack: rename the account to the address of someone who will buy later.
    let r: VerificationStatus = mallory
        .post(&h, "/v1/attendee/profile", &move_to("buyer@example.org"))
        .await
        .ok();

    // The buyer's box-office order reaches the buyer, not the device that typed the address.
    let sold = h.order(1, "buyer@example.org", None, None, &["A1"]).await;
    let (m, _) = mallory.sync(&h).await;
    assert!(m.tickets.is_empty(), "the buyer's order reached mallory");
    let buyer = Device::new();
    buyer.verify_email(&h, "buyer@example.org").await;
    let (b, _) = buyer.sync(&h).await;
    assert_eq!(
        b.tickets.iter().map(|t| t.ticket_id).collect::<Vec<_>>(),
        sold
    );

    // The change waits for the link; the old address is told, the link went to the new
    // address only.
    assert!(r.pending_expires_at_ms.is_some());
    let notice = h.last_message("mallory@example.org").await;
    assert!(notice.body.contains("buyer@example.org"), "{}", notice.body);
    assert!(!notice.body.contains("token="), "{}", notice.body);

    // The change link, had mallory got it, is dead: the address belongs to the buyer now.
    let mails = messages_to(&h, "buyer@example.org").await;
    let change_link = mails
        .iter()
        .find(|m| m.body.contains("new email address"))
        .expect("the change link");
    let token = param(&change_link.body, "token");
    assert_eq!(
        mallory
            .post(&h, "/v1/attendee/email/confirm", &EmailConfirm { token })
            .await
            .error(409),
        "conflict"
    );
    let (m, _) = mallory.sync(&h).await;
    assert!(m.tickets.is_empty());
}

#[tokio::test]
async fn a_sellers_second_account_cannot_take_the_transfer_meant_for_the_buyer() {
    let h = Harness::start().await;
    h.event(2, |p| {
        p.format = CodeFormat::S1;
        p.transferable = true;
    })
    .await;
    let id = h.order(2, "seller@example.org", None, None, &["B7"]).await[0];
    let seller = Device::new();
    seller.verify_email(&h, "seller@example.org").await;
    seller.sync(&h).await;
    let t: TransferResponse = seller
        .post(
            &h,
            &format!("/v1/attendee/tickets/{id}/transfer"),
            &TransferRequest {
                to_email: "buyer@example.org".into(),
            },
        )
        .await
        .ok();
    let accept = format!("/v1/attendee/transfers/{}/accept", t.transfer_id);

    // The seller's second account renames itself to the buyer's address…
    let second = Device::new();
    second.verify_email(&h, "seller.two@example.org").await;
    second
        .post(&h, "/v1/attendee/profile", &move_to("buyer@example.org"))
        .await
        .ok::<VerificationStatus>();
    // …and may not accept the buyer's transfer: it never proved that address.
    assert_eq!(
        second
            .post(&h, &accept, &serde_json::json!({}))
            .await
            .error(403),
        "forbidden"
    );
    let (s, _) = second.sync(&h).await;
    assert!(s.tickets.is_empty());

    // The real buyer accepts it and holds the ticket.
    let buyer = Device::new();
    buyer.verify_email(&h, "buyer@example.org").await;
    buyer
        .post(&h, &accept, &serde_json::json!({}))
        .await
        .ok::<serde_json::Value>();
    let (b, _) = buyer.sync(&h).await;
    assert_eq!(b.tickets.len(), 1);
    assert_eq!(b.tickets[0].ticket_id, id);
}

#[tokio::test]
async fn a_second_device_cannot_move_the_owners_account_away() {
    let h = Harness::start().await;
    h.event(3, |_| {}).await;
    h.order(3, "owner@example.org", None, None, &["C1"]).await;
    let owner = Device::new();
    owner.verify_email(&h, "owner@example.org").await;
    let (o, _) = owner.sync(&h).await;
    assert_eq!(o.tickets.len(), 1);

    // A second device on the same account (a borrowed phone) renames it.
    let other = Device::new();
    other.verify_email(&h, "owner@example.org").await;
    other
        .post(
            &h,
            "/v1/attendee/profile",
            &move_to("elsewhere@example.org"),
        )
        .await
        .ok::<VerificationStatus>();
    // The account keeps its address: the owner's next order reaches the owner's phone,
    // and signing in with the owner's address finds the owner's tickets.
    h.order(3, "owner@example.org", None, None, &["C2"]).await;
    let (o, _) = owner.sync(&h).await;
    assert_eq!(o.tickets.len(), 2, "the account was moved away");
    let new_phone = Device::new();
    new_phone.verify_email(&h, "owner@example.org").await;
    new_phone
        .post(&h, "/v1/attendee/rebind", &serde_json::json!({}))
        .await
        .ok::<serde_json::Value>();
    let (n, _) = new_phone.sync(&h).await;
    assert_eq!(n.tickets.len(), 2);
    // The owner was told at the account's address.
    assert!(
        messages_to(&h, "owner@example.org")
            .await
            .iter()
            .any(|m| m.body.contains("elsewhere@example.org"))
    );
}

#[tokio::test]
async fn an_email_change_takes_effect_when_the_asking_device_confirms_the_link() {
    let h = Harness::start().await;
    h.event(4, |_| {}).await;
    h.order(4, "ana@example.org", None, None, &["D1"]).await;
    let ana = Device::new();
    ana.verify_email(&h, "ana@example.org").await;
    ana.sync(&h).await;
    ana.post(&h, "/v1/attendee/profile", &move_to("Ana@New.example"))
        .await
        .ok::<VerificationStatus>();
    let token = param(&h.last_message("ana@new.example").await.body, "token");

    // Only the asking device may confirm it (not even another device of the account, nor
    // one of another account), once, within 15 minutes.
    let stranger = Device::new();
    stranger.verify_email(&h, "stranger@example.org").await;
    let ana_tablet = Device::new();
    ana_tablet.verify_email(&h, "ana@example.org").await;
    let confirm = EmailConfirm {
        token: token.clone(),
    };
    for d in [&stranger, &ana_tablet] {
        assert_eq!(
            d.post(&h, "/v1/attendee/email/confirm", &confirm)
                .await
                .error(403),
            "forbidden"
        );
    }
    let r: VerificationStatus = ana
        .post(&h, "/v1/attendee/email/confirm", &confirm)
        .await
        .ok();
    assert_eq!(r.pending_expires_at_ms, None);
    assert_eq!(
        ana.post(&h, "/v1/attendee/email/confirm", &confirm)
            .await
            .error(410),
        "code_expired"
    );
    // The old address is told it happened; orders for the new address reach ana.
    assert!(
        h.last_message("ana@example.org")
            .await
            .body
            .contains("was changed to ana@new.example")
    );
    h.order(4, "ana@new.example", None, None, &["D2"]).await;
    let (a, _) = ana.sync(&h).await;
    assert_eq!(a.tickets.len(), 2);
    // The old address is free: signing in with it finds another, empty account.
    let old = Device::new();
    old.verify_email(&h, "ana@example.org").await;
    let (o, _) = old.sync(&h).await;
    assert!(o.tickets.is_empty());
    let audit: Vec<AuditEntry> = h.get("/v1/admin/audit", Some(&h.admin)).await.ok();
    assert!(audit.iter().any(|e| e.action == "profile.email_change"));

    // A link not confirmed in time changes nothing.
    ana.post(&h, "/v1/attendee/profile", &move_to("late@example.org"))
        .await
        .ok::<VerificationStatus>();
    let token = param(&h.last_message("late@example.org").await.body, "token");
    h.advance_ms(15 * 60_000);
    assert_eq!(
        ana.post(&h, "/v1/attendee/email/confirm", &EmailConfirm { token })
            .await
            .error(410),
        "code_expired"
    );
    h.order(4, "ana@new.example", None, None, &["D3"]).await;
    let (a, _) = ana.sync(&h).await;
    assert_eq!(a.tickets.len(), 3);
}
