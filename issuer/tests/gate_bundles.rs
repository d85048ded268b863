//! Signed, dated gate bundles with sequence numbers (issue 10 item 5), against a real
//! issuer: every bundle is signed by the issuer key and dated; every change a gate must
//! know (sale, revocation, rebind, transfer, name change, policy change) raises the event's
//! sequence number; `?since=N` answers only what changed, and the old bundle plus that
//! update is exactly the bundle a gate fetching everything gets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/src/harness.rs"]
mod common;

use common::{Device, Harness};
use serde_json::json;
use tessera_core::CodeFormat;
use tessera_core::sync::api::{HolderChange, TransferRequest, TransferResponse};
use tessera_gate::{GateBundle, GateError, signed_bundle};

async fn fetch(h: &Harness, token: &str, event: u64, since: Option<u64>) -> (String, GateBundle) {
    let q = since.map_or_else(String::new, |s| format!("?since={s}"));
    let r = h
        .get(&format!("/v1/gate/events/{event}/bundle{q}"), Some(token))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let text = String::from_utf8(r.body).unwrap();
    // An update is one line on its own; a whole bundle is a document.
    let b = match since {
        Some(_) => signed_bundle::open_line(&text, &h.gate_pins()).unwrap(),
        None => signed_bundle::open(&text, &h.gate_pins()).unwrap(),
    };
    (text, b)
}

/// The bundle as a gate would compare it: everything but when it was made.
fn content(b: &GateBundle) -> GateBundle {
    let mut b = b.clone();
    b.issued_at_ms = 0;
    b
}

/// `held` brought up to date with `?since=` equals a whole bundle fetched now; answers
/// the update.
async fn check_update(h: &Harness, token: &str, event: u64, held: &mut GateBundle) -> GateBundle {
    let (_, update) = fetch(h, token, event, Some(held.seq)).await;
    assert_eq!(
        update.since_seq,
        Some(held.seq),
        "an update, not a whole bundle"
    );
    held.apply_update(update.clone()).unwrap();
    let (_, whole) = fetch(h, token, event, None).await;
    assert_eq!(content(held), content(&whole), "held + update = whole");
    update
}

#[tokio::test]
async fn bundles_are_signed_dated_and_numbered() {
    let h = Harness::start().await;
    h.event(1, |p| {
        p.format = CodeFormat::T1;
        p.strict_jit = true;
    })
    .await;
    let gate = h.mint_gate(1, "g").await;
    let (text, b) = fetch(&h, &gate, 1, None).await;
    assert_eq!(b.issued_at_ms, h.now_ms());
    assert!(b.seq >= 1);
    assert!(b.strict_jit, "the strict flag travels with the bundle");
    assert_eq!(b.since_seq, None);
    // The signature is the issuer's: another key does not open it, an edit breaks it.
    let other = std::collections::BTreeMap::from([(1, tessera_gate::PublicKey([9; 32]))]);
    assert!(signed_bundle::open(&text, &other).is_err());
    let edited = text.replacen("\\\"strict_jit\\\":true", "\\\"strict_jit\\\":false", 1);
    assert_ne!(edited, text);
    assert_eq!(
        signed_bundle::open(&edited, &h.gate_pins()),
        Err(GateError::BAD_SIGNATURE)
    );
    // Nothing changed: the same sequence number, later date.
    h.advance_ms(5000);
    let (_, again) = fetch(&h, &gate, 1, None).await;
    assert_eq!(again.seq, b.seq);
    assert_eq!(again.issued_at_ms, b.issued_at_ms + 5000);
    // A policy change is a change.
    h.event(1, |p| {
        p.format = CodeFormat::T1;
        p.strict_jit = true;
        p.reentry = true;
    })
    .await;
    let (_, changed) = fetch(&h, &gate, 1, None).await;
    assert!(changed.seq > b.seq);
    // A bad `since` is the caller's error.
    let r = h
        .get("/v1/gate/events/1/bundle?since=minus-one", Some(&gate))
        .await;
    assert_eq!(r.error(400), "bad_request");
}

#[tokio::test]
async fn every_change_reaches_a_gate_as_an_update_equal_to_a_fresh_bundle() {
    for format in [CodeFormat::T1, CodeFormat::S1, CodeFormat::C1] {
        let h = Harness::start().await;
        h.event(2, |p| {
            p.format = format;
            p.personalised = true;
            p.transferable = true;
        })
        .await;
        let ids = h
            .order(2, "ann@example.org", None, Some("Ann"), &["A1", "A2", "A3"])
            .await;
        let gate = h.mint_gate(2, "g").await;
        let ann = Device::new();
        ann.verify_email(&h, "ann@example.org").await;
        ann.sync(&h).await;
        let (_, mut held) = fetch(&h, &gate, 2, None).await;

        // Nothing changed: an empty update.
        let u = check_update(&h, &gate, 2, &mut held).await;
        assert!(u.changed.is_empty(), "{format:?}");

        // A revocation.
        let _: serde_json::Value = h
            .post(
                &format!("/v1/admin/tickets/{}/revoke", ids[0]),
                &h.admin,
                &json!({}),
            )
            .await
            .ok();
        let u = check_update(&h, &gate, 2, &mut held).await;
        assert_eq!(u.changed, [ids[0]].into(), "{format:?}");
        assert!(held.revoked.contains(&ids[0]));

        // A rebind to a new phone: T1 gets a new seed, S1 the old credential revoked.
        let before = held.clone();
        let new = Device::new();
        new.verify_email(&h, "ann@example.org").await;
        let _: serde_json::Value = new.post(&h, "/v1/attendee/rebind", &json!({})).await.ok();
        new.sync(&h).await;
        let u = check_update(&h, &gate, 2, &mut held).await;
        assert!(u.changed.contains(&ids[1]) && u.changed.contains(&ids[2]));
        match format {
            CodeFormat::T1 => {
                let (old, now) = (before.t1.unwrap(), held.t1.clone().unwrap());
                assert_ne!(old.ticket_seeds[&ids[1]], now.ticket_seeds[&ids[1]]);
            }
            CodeFormat::S1 => {
                assert!(held.revoked_credentials.len() > before.revoked_credentials.len());
                assert!(
                    held.credentials.is_empty(),
                    "S1 bundles carry no credentials"
                );
            }
            CodeFormat::C1 => {
                assert!(held.revoked_credentials.len() > before.revoked_credentials.len());
                // Both bindings' credentials: the new phone's found, the old one's revoked
                // (the two tickets that moved at least; the revoked one may move too).
                assert!(held.credentials.len() >= before.credentials.len() + 2);
                for old in &before.credentials {
                    assert!(
                        held.credentials.contains(old),
                        "an ended binding stays listed"
                    );
                }
            }
        }

        // A transfer: the sender's binding ends, the name goes with it.
        let t: TransferResponse = new
            .post(
                &h,
                &format!("/v1/attendee/tickets/{}/transfer", ids[1]),
                &TransferRequest {
                    to_email: "bo@example.org".into(),
                },
            )
            .await
            .ok();
        let bo = Device::new();
        bo.verify_email(&h, "bo@example.org").await;
        let _: serde_json::Value = bo
            .post(
                &h,
                &format!("/v1/attendee/transfers/{}/accept", t.transfer_id),
                &json!({}),
            )
            .await
            .ok();
        bo.sync(&h).await;
        let u = check_update(&h, &gate, 2, &mut held).await;
        assert_eq!(u.changed, [ids[1]].into(), "{format:?}");
        assert!(!held.holder_names.contains_key(&ids[1]), "{format:?}");

        // The box office renames a holder.
        let _: serde_json::Value = h
            .post(
                &format!("/v1/boxoffice/tickets/{}/holder", ids[2]),
                &h.admin,
                &HolderChange {
                    holder_name: Some("Ann B".into()),
                    email: None,
                    reason: "typo".into(),
                },
            )
            .await
            .ok();
        let u = check_update(&h, &gate, 2, &mut held).await;
        assert_eq!(u.changed, [ids[2]].into());
        assert_eq!(held.holder_names[&ids[2]], "Ann B");

        // A sale adds a ticket.
        let more = h
            .order(2, "cy@example.org", None, Some("Cy"), &["C1"])
            .await;
        let u = check_update(&h, &gate, 2, &mut held).await;
        assert_eq!(u.changed, [more[0]].into());

        // A gate that claims a future sequence number gets the whole bundle.
        let (_, whole) = fetch(&h, &gate, 2, Some(held.seq + 100)).await;
        assert_eq!(whole.since_seq, None);
        assert_eq!(content(&whole), content(&held));
    }
}

/// Found by the outside attack: an event made personalised after a gate fetched its bundle
/// gave an update with no ticket in it, so the gate admitted without the ID check a gate
/// fetching everything showed (and the reverse left names at the gate). A policy change
/// now puts every ticket of the event into the next update.
#[tokio::test]
async fn a_policy_change_reaches_every_ticket_through_an_update() {
    let h = Harness::start().await;
    let policy = |personalised: bool| {
        move |p: &mut tessera_core::EventPolicy| {
            p.format = CodeFormat::S1;
            p.personalised = personalised;
        }
    };
    h.event(6, policy(false)).await;
    let ids = h
        .order(
            6,
            "al@example.org",
            None,
            Some("Alice Original"),
            &["A1", "A2"],
        )
        .await;
    let gate = h.mint_gate(6, "g").await;
    let (_, mut held) = fetch(&h, &gate, 6, None).await;
    assert!(held.holder_names.is_empty());

    h.event(6, policy(true)).await;
    let u = check_update(&h, &gate, 6, &mut held).await;
    assert_eq!(u.changed, ids.iter().copied().collect());
    assert_eq!(held.holder_names[&ids[0]], "Alice Original");

    h.event(6, policy(false)).await;
    check_update(&h, &gate, 6, &mut held).await;
    assert!(
        held.holder_names.is_empty(),
        "names leave the gate with the policy"
    );
}

/// Found by an attack on the compact code (issue 12): a credential is signed at sync, so
/// (F1) a gate that took its bundle before the holder's first sync must learn the
/// credential from `?since=`, and (F2) a credential re-signed after a policy edit must
/// not leave the one it replaced valid: a rooted phone that kept it, sold on, would still
/// be admitted with its full code.
#[tokio::test]
async fn credentials_signed_at_sync_reach_updates_and_replaced_ones_are_revoked() {
    for format in [CodeFormat::S1, CodeFormat::C1] {
        let h = Harness::start().await;
        let policy = h
            .event(4, |p| {
                p.format = format;
                p.transferable = true;
            })
            .await;
        h.order(4, "ann@example.org", None, None, &["A1"]).await;
        let gate = h.mint_gate(4, "g").await;
        // The gate sets up after the sale, before the holder's first sync.
        let (_, mut held) = fetch(&h, &gate, 4, None).await;
        assert!(held.credentials.is_empty());
        let ann = Device::new();
        ann.verify_email(&h, "ann@example.org").await;
        let (first, _) = ann.sync(&h).await;
        let kept = first.tickets[0].credential.clone().unwrap();
        let u = check_update(&h, &gate, 4, &mut held).await;
        assert_eq!(
            u.changed.len(),
            1,
            "{format:?}: the signed credential is a change"
        );
        if format == CodeFormat::C1 {
            assert_eq!(held.credentials.len(), 1, "the update carries it");
        }

        // The organiser extends the window: the next sync signs a new credential.
        let mut longer = policy.clone();
        longer.valid_until += 3600;
        let _: serde_json::Value = h.post("/v1/admin/events", &h.admin, &longer).await.ok();
        let (second, _) = ann.sync(&h).await;
        let renewed = second.tickets[0].credential.clone().unwrap();
        assert_ne!(kept, renewed, "{format:?}");
        check_update(&h, &gate, 4, &mut held).await;
        // The one it replaced is revoked by digest, whether or not the ticket moves on.
        let digest = |hex_cred: &str| {
            tessera_core::code::SignedCredential::from_bytes(&hex::decode(hex_cred).unwrap())
                .unwrap()
                .digest()
        };
        assert!(
            held.revoked_credentials
                .contains(&tessera_gate::CredentialDigest(digest(&kept))),
            "{format:?}: the replaced credential is revoked"
        );
        assert!(
            !held
                .revoked_credentials
                .contains(&tessera_gate::CredentialDigest(digest(&renewed))),
            "{format:?}: the current one is not"
        );
    }
}
