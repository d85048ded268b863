//! Issue 10 item 3: the issuer, not only the phone, enforces an event's required
//! verifications. Before the fix an email-only device that re-bound the account received
//! the seeds and credentials of an event requiring Email + Phone (a real issuer on
//! loopback).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/src/harness.rs"]
mod common;

use common::{Device, Harness, try_unseal, verify_phone};
use tessera_core::sync::api::{SyncResponse, SyncTicket};
use tessera_core::sync::transport::TransportKey;
use tessera_core::{CodeFormat, EventId, Verification};

const PHONE: &str = "+4712345678";

fn ticket_of(r: &SyncResponse, event: u64) -> &SyncTicket {
    r.tickets
        .iter()
        .find(|t| t.event_id == EventId(event))
        .unwrap()
}

/// Whether the entry carries secrets that open with this sync's key.
fn has_secrets(t: &SyncTicket, key: &TransportKey) -> bool {
    let (row, seed) = (t.ticket_id.as_bytes(), &t.sealed_ticket_seed);
    !seed.is_empty() && try_unseal(key, "ticket_seed", row, t.version, seed).is_some()
}

#[tokio::test]
async fn a_device_without_the_required_verifications_gets_no_secret() {
    let h = Harness::start().await;
    let both = vec![Verification::Email, Verification::Phone];
    // S1 strict, T1 strict (window open: release secrets due), and an email-only control.
    h.event(7, |p| {
        p.format = CodeFormat::S1;
        p.strict_jit = true;
        p.requires = both.clone();
    })
    .await;
    h.event(8, |p| {
        p.strict_jit = true;
        p.requires = both.clone();
    })
    .await;
    h.event(9, |p| p.requires = vec![Verification::Email]).await;
    for event in [7, 8, 9] {
        h.order(event, "own@example.org", Some(PHONE), None, &["R1"])
            .await;
    }
    let owner = Device::new();
    owner.verify_email(&h, "own@example.org").await;
    verify_phone(&h, &owner, PHONE).await;
    let (o, key) = owner.sync(&h).await;
    assert_eq!(o.tickets.len(), 3);
    assert!(o.tickets.iter().all(|t| has_secrets(t, &key)));
    assert_eq!(o.releases.len(), 2);

    // The attack: another phone proves the address only, and re-binds the account.
    let email_only = Device::new();
    email_only.verify_email(&h, "own@example.org").await;
    email_only
        .post(&h, "/v1/attendee/rebind", &serde_json::json!({}))
        .await
        .ok::<serde_json::Value>();
    let (r, key) = email_only.sync(&h).await;
    assert_eq!(r.verified, vec![Verification::Email]);
    assert_eq!(r.tickets.len(), 3, "the tickets are listed");
    for event in [7, 8] {
        let t = ticket_of(&r, event);
        assert!(!has_secrets(t, &key), "event {event}: seed delivered");
        assert_eq!(t.sealed_ticket_seed, "", "event {event}");
        assert_eq!(t.sealed_event_seed, None, "event {event}");
        assert_eq!(t.credential, None, "event {event}: credential delivered");
    }
    assert!(r.releases.is_empty());
    // The event that asks for email only is delivered in full.
    assert!(has_secrets(ticket_of(&r, 9), &key));

    // Once this phone proves the number too, everything comes.
    verify_phone(&h, &email_only, PHONE).await;
    let (r, key) = email_only.sync(&h).await;
    assert!(r.tickets.iter().all(|t| has_secrets(t, &key)));
    assert!(ticket_of(&r, 7).credential.is_some());
    assert!(ticket_of(&r, 8).sealed_event_seed.is_some());
    assert_eq!(r.releases.len(), 2);
}
