//! Device keys of small order (issue 9, item 1) against a real issuer on loopback.
//!
//! An attacker without any private key enrolls a device whose public key is one of the
//! small-order encodings of `tests/vectors/small_order.json` and "signs" with R = identity,
//! S = 0, choosing the nonce so that ring's plain verification accepts. Every such key is
//! refused at the door with 400, so no ticket can ever be bound to it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../tests/src/harness.rs"]
mod common;
#[path = "../../tests/vectors/small_order.rs"]
mod vectors;

use common::{Harness, Reply, param, signed_post};
use tessera_core::CodeFormat;
use tessera_core::sync::api::{EmailConfirm, EmailRequest, EnrollRequest};
use tessera_core::sync::request::signing_message;
use vectors::{forges, keyless_signature, small_order_keys};

/// A POST "signed" by `pk` with the keyless signature; the nonce is chosen so that ring's
/// own verification accepts it ([k]A = identity happens for one nonce in ord(A)).
async fn forged_post(h: &Harness, pk: &[u8; 32], path: &str, body: Vec<u8>) -> Reply {
    let ts = h.now_ms();
    let sig = keyless_signature();
    let start = common::Device::nonce();
    let start = u128::from_str_radix(&start, 16).unwrap();
    let nonce = (0..4096u128)
        .map(|i| format!("{:032x}", start.wrapping_add(i)))
        .find(|n| forges(pk, &signing_message("POST", path, ts, n, &body)))
        .unwrap_or_else(|| panic!("ring accepts no forgery for {}", hex::encode(pk)));
    signed_post(h, pk, &sig, path, body, ts, &nonce).await
}

fn assert_refused_as_bad_key(r: &Reply, pk: &[u8; 32], what: &str) {
    assert_eq!(
        r.status.as_u16(),
        400,
        "{what} with small-order key {}: {}",
        hex::encode(pk),
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.error(400), "bad_request");
}

#[tokio::test]
async fn enrolling_any_small_order_device_key_is_refused() {
    let h = Harness::start().await;
    let body = serde_json::to_vec(&EnrollRequest {
        platform: "attacker".into(),
    })
    .unwrap();
    for pk in small_order_keys() {
        let r = forged_post(&h, &pk, "/v1/devices", body.clone()).await;
        assert_refused_as_bad_key(&r, &pk, "enrollment");
    }
}

#[tokio::test]
async fn a_small_order_device_gets_no_ticket_through_signed_requests() {
    let h = Harness::start().await;
    h.event(31, |p| p.format = CodeFormat::S1).await;
    for (i, pk) in small_order_keys().iter().enumerate() {
        // The attack: enroll, prove an email address, sync, and hold a ticket whose codes
        // anybody can sign. Each device-signed step must be refused for the key alone.
        let email = format!("mallory{i}@example.org");
        h.order(31, &email, None, None, &["Z1"]).await;
        let enroll = serde_json::to_vec(&EnrollRequest {
            platform: "attacker".into(),
        })
        .unwrap();
        let r = forged_post(&h, pk, "/v1/devices", enroll).await;
        assert_refused_as_bad_key(&r, pk, "enrollment");
        let ask = serde_json::to_vec(&EmailRequest {
            email: email.clone(),
        })
        .unwrap();
        let r = forged_post(&h, pk, "/v1/attendee/email/request", ask).await;
        assert_refused_as_bad_key(&r, pk, "email request");
        // Had the issuer sent a token, confirm it the way the attacker would.
        let sent = h.outbox().await.into_iter().rev().find(|m| m.to == email);
        if let Some(m) = sent {
            let token = param(&m.body, "token");
            let confirm = serde_json::to_vec(&EmailConfirm { token }).unwrap();
            let r = forged_post(&h, pk, "/v1/attendee/email/confirm", confirm).await;
            assert_refused_as_bad_key(&r, pk, "email confirmation");
        }
        let sync = serde_json::to_vec(&serde_json::json!({
            "ephemeral_public_key": hex::encode([9u8; 32]),
            "time_nonce": hex::encode([7u8; 32]),
        }))
        .unwrap();
        let r = forged_post(&h, pk, "/v1/attendee/sync", sync).await;
        assert_refused_as_bad_key(&r, pk, "sync");
    }
}
