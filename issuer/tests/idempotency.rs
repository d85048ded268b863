//! `Idempotency-Key` on the calls that create things, against a real issuer on loopback:
//! an order whose connection dropped before the answer, then retried, is stored once; the
//! same key with another body is 409 `conflict`; tokens and transfers answer a retry with
//! the first result; keys belong to one caller and are kept 24 hours.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../tests/src/harness.rs"]
mod common;

use std::time::Duration;

use common::{Device, Harness, Reply};
use std::io::Write;
use tessera_core::sync::api::{
    AuditEntry, OrderRequest, OrderResponse, TokenRequest, TokenResponse, TransferRequest,
    TransferResponse,
};

use tessera_core::{CodeFormat, EventId};

const ROUNDS: usize = 20;

fn order(seat: &str) -> OrderRequest {
    OrderRequest {
        event_id: EventId(1),
        email: "ann@example.org".into(),
        phone: None,
        holder_name: None,
        seats: vec![seat.into()],
    }
}

/// A staff POST with an `Idempotency-Key`.
async fn post_keyed<T: serde::Serialize>(
    h: &Harness,
    path: &str,
    token: &str,
    key: &str,
    body: &T,
) -> Reply {
    let r = h
        .http
        .post(format!("{}{path}", h.url))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    Reply {
        status: r.status(),
        retry_after: None,
        body: r.bytes().await.unwrap().to_vec(),
    }
}

/// Sends the whole request on a raw connection and closes it without reading a byte of
/// the answer, after `linger`: a client whose connection dropped before the answer.
async fn send_and_hang_up(h: &Harness, path: &str, key: &str, body: &[u8], linger: Duration) {
    let addr = h.issuer.as_ref().unwrap().local_addr();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nIdempotency-Key: {key}\r\n\
         Content-Length: {}\r\n\r\n",
        h.admin,
        body.len()
    );
    // A few hundred bytes: the socket buffer takes them at once.
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    tokio::time::sleep(linger).await;
    drop(s);
}

fn count(audit: &[AuditEntry], action: &str) -> usize {
    audit.iter().filter(|a| a.action == action).count()
}

async fn audit(h: &Harness) -> Vec<AuditEntry> {
    h.get("/v1/admin/audit", Some(&h.admin)).await.ok()
}

/// Orders and tickets in the issuer's database, read beside the running issuer.
fn stored(h: &Harness) -> (i64, i64) {
    (h.stored_count("orders"), h.stored_count("tickets"))
}

#[tokio::test]
async fn an_order_retried_after_a_dropped_connection_is_stored_once() {
    let h = Harness::start().await;
    h.event(1, |_| {}).await;
    let mut stored_before_retry = 0;
    for i in 0..ROUNDS {
        let key = format!("order-{i}-4b1d6c0e");
        let body = order(&format!("A{i}"));
        // Hang up at once, or a little later: the order may or may not be in by then.
        let linger = Duration::from_millis((i % 5) as u64);
        send_and_hang_up(
            &h,
            "/v1/admin/orders",
            &key,
            &serde_json::to_vec(&body).unwrap(),
            linger,
        )
        .await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (orders, _) = stored(&h);
        if orders as usize > i {
            stored_before_retry += 1;
        }
        // The client cannot know, so it retries with the same key, twice to be sure.
        let first: OrderResponse = post_keyed(&h, "/v1/admin/orders", &h.admin, &key, &body)
            .await
            .ok();
        let again: OrderResponse = post_keyed(&h, "/v1/admin/orders", &h.admin, &key, &body)
            .await
            .ok();
        assert_eq!(first, again, "round {i}");
        assert_eq!(first.tickets.len(), 1);
        assert_eq!(
            stored(&h),
            (i as i64 + 1, i as i64 + 1),
            "round {i}: exactly one order per key"
        );
    }
    assert_eq!(count(&audit(&h).await, "order.create"), ROUNDS);
    eprintln!(
        "{stored_before_retry} of {ROUNDS} orders whose connection dropped had been stored \
         before the retry; each is stored once"
    );
    // Not a requirement on timing, only that the test did what it says at least once.
    assert!(stored_before_retry > 0, "no dropped order had been stored");
}

#[tokio::test]
async fn the_same_key_with_another_request_is_a_conflict_and_keys_last_a_day() {
    let h = Harness::start().await;
    h.event(1, |_| {}).await;
    let key = "5f0c2b7e-2d7b-4c57-9a37-0d2b5d1c6e11";
    let first: OrderResponse = post_keyed(&h, "/v1/admin/orders", &h.admin, key, &order("B1"))
        .await
        .ok();
    // Same JSON in other spacing: the same request.
    let r = h
        .http
        .post(format!("{}/v1/admin/orders", h.url))
        .bearer_auth(&h.admin)
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(
            "{ \"seats\": [\"B1\"], \"holder_name\": null, \"phone\": null,\n \
             \"email\": \"ann@example.org\", \"event_id\": 1 }",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<OrderResponse>().await.unwrap(), first);

    // Another body, or another call, with the same key: 409, nothing stored.
    let r = post_keyed(&h, "/v1/admin/orders", &h.admin, key, &order("B2")).await;
    assert_eq!(r.error(409), "conflict");
    let r = post_keyed(
        &h,
        "/v1/admin/tokens",
        &h.admin,
        key,
        &TokenRequest::box_office(None),
    )
    .await;
    assert_eq!(r.error(409), "conflict");
    assert_eq!(stored(&h), (1, 1));
    let a = audit(&h).await;
    assert_eq!(
        (count(&a, "order.create"), count(&a, "token.create")),
        (1, 0)
    );

    // Keys belong to their caller: the box office's same key is its own.
    let clerk = h.mint_box_office().await;
    let theirs: OrderResponse = post_keyed(&h, "/v1/admin/orders", &clerk, key, &order("B1"))
        .await
        .ok();
    assert_ne!(theirs, first);
    assert_eq!(stored(&h).0, 2);

    // Malformed keys are refused before anything happens.
    for bad in ["", &"k".repeat(256), "two words", "caf\u{e9}"] {
        let r = h
            .http
            .post(format!("{}/v1/admin/orders", h.url))
            .bearer_auth(&h.admin)
            .header("idempotency-key", bad.as_bytes())
            .json(&order("B3"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad:?}");
    }
    let r = h
        .http
        .post(format!("{}/v1/admin/orders", h.url))
        .bearer_auth(&h.admin)
        .header("idempotency-key", "a")
        .header("idempotency-key", "b")
        .json(&order("B3"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(stored(&h).0, 2);

    // Kept 24 hours: a day later the key is forgotten and the request is a new one.
    h.advance_ms(24 * 3600 * 1000 - 1);
    let still: OrderResponse = post_keyed(&h, "/v1/admin/orders", &h.admin, key, &order("B1"))
        .await
        .ok();
    assert_eq!(still, first);
    h.advance_ms(2);
    let later: OrderResponse = post_keyed(&h, "/v1/admin/orders", &h.admin, key, &order("B1"))
        .await
        .ok();
    assert_ne!(later, first);
    assert_eq!(stored(&h).0, 3);
}

#[tokio::test]
async fn a_retried_token_or_transfer_gets_the_first_answer() {
    let h = Harness::start().await;
    let mint = TokenRequest::box_office(None);
    let key = "mint-7d1f";
    let a: TokenResponse = post_keyed(&h, "/v1/admin/tokens", &h.admin, key, &mint)
        .await
        .ok();
    let b: TokenResponse = post_keyed(&h, "/v1/admin/tokens", &h.admin, key, &mint)
        .await
        .ok();
    assert_eq!(a, b);
    assert_eq!(count(&audit(&h).await, "token.create"), 1);
    // The token works, and the database keeps neither it nor the key in the clear.
    h.event(2, |p| {
        p.format = CodeFormat::S1;
        p.transferable = true;
    })
    .await;
    let ticket: OrderResponse = h
        .post(
            "/v1/admin/orders",
            &a.token,
            &OrderRequest {
                event_id: EventId(2),
                ..order("C1")
            },
        )
        .await
        .ok();
    let raw = h.stored_bytes();
    for secret in [a.token.as_bytes(), key.as_bytes()] {
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret),
            "{} in the clear in the database",
            String::from_utf8_lossy(secret)
        );
    }

    // A transfer asked again with the same key: the same transfer, one email.
    let holder = Device::new();
    holder.verify_email(&h, "ann@example.org").await;
    holder.sync(&h).await;
    let path = format!("/v1/attendee/tickets/{}/transfer", ticket.tickets[0]);
    let to = serde_json::to_vec(&TransferRequest {
        to_email: "kim@example.org".into(),
    })
    .unwrap();
    let signed = |key: Option<&'static str>| {
        let (path, to) = (path.clone(), to.clone());
        let h = &h;
        let holder = &holder;
        async move {
            let ts = h.now_ms();
            let nonce = Device::nonce();
            let sig = holder
                .kp
                .sign(&tessera_core::sync::request::signing_message(
                    "POST", &path, ts, &nonce, &to,
                ));
            let mut r = h
                .http
                .post(format!("{}{path}", h.url))
                .header("content-type", "application/json")
                .header(
                    tessera_core::sync::request::HEADER_DEVICE,
                    hex::encode(holder.pk),
                )
                .header(
                    tessera_core::sync::request::HEADER_TIMESTAMP,
                    ts.to_string(),
                )
                .header(tessera_core::sync::request::HEADER_NONCE, nonce)
                .header(
                    tessera_core::sync::request::HEADER_SIGNATURE,
                    hex::encode(sig.as_ref()),
                );
            if let Some(k) = key {
                r = r.header("idempotency-key", k);
            }
            let r = r.body(to).send().await.unwrap();
            Reply {
                status: r.status(),
                retry_after: None,
                body: r.bytes().await.unwrap().to_vec(),
            }
        }
    };
    let first: TransferResponse = signed(Some("transfer-1")).await.ok();
    let again: TransferResponse = signed(Some("transfer-1")).await.ok();
    assert_eq!(first, again);
    let mails = h
        .outbox()
        .await
        .into_iter()
        .filter(|m| m.to == "kim@example.org")
        .count();
    assert_eq!(mails, 1, "one transfer email");
    assert_eq!(count(&audit(&h).await, "ticket.transfer"), 1);
    // Without the key, the retry is a new request for a ticket this device no longer holds.
    assert_eq!(signed(None).await.error(403), "forbidden");
}
