//! Release objects on the real issuer (issue 14 item 3, docs/API.md "Release objects"):
//! `GET /v1/events/{id}/release` answers "not yet" identically for an event before its
//! window and for an event it does not publish, and never lets a cache keep that past the
//! opening; from the opening on it serves the signed object, cacheable, whose secret is the
//! one a sync hands out; the admin may take it earlier, audited.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../tests/src/harness.rs"]
mod common;

use std::collections::{BTreeMap, HashMap};

use common::{Device, Harness, unseal};
use reqwest::StatusCode;
use tessera_core::code::release_object::ReleaseObject;
use tessera_core::sync::api::{AuditEntry, ErrorBody};
use tessera_core::{CodeFormat, EventId};
use tessera_issuer::ISSUER_KEY_ID;

/// A whole answer: status, headers (without `date`, the one that moves with the clock of
/// the request rather than anything of the event) and body.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: StatusCode,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

async fn fetch(h: &Harness, path: &str, headers: &[(&str, &str)], token: Option<&str>) -> Answer {
    let mut r = h.http.get(format!("{}{path}", h.url));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status();
    let headers = resp
        .headers()
        .iter()
        .filter(|(k, _)| k.as_str() != "date")
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: resp.bytes().await.unwrap().to_vec(),
    }
}

async fn release(h: &Harness, event: u64) -> Answer {
    fetch(h, &format!("/v1/events/{event}/release"), &[], None).await
}

/// A strict S1 event 9 opening in an hour with a ticket for a device that confirmed its
/// address; a T1 event 5 open now, not strict.
async fn setup(h: &Harness) -> (Device, i64) {
    let strict = h
        .event_opening_in(9, 3600, |p| {
            p.strict_jit = true;
            p.format = CodeFormat::S1;
        })
        .await;
    h.event(5, |p| p.format = CodeFormat::T1).await;
    h.order(9, "ada@example.org", None, None, &["A1"]).await;
    let d = Device::new();
    d.verify_email(h, "ada@example.org").await;
    (d, strict.reveal_opens_at)
}

fn verify(h: &Harness, text: &str) -> ReleaseObject {
    let o = ReleaseObject::parse(text).unwrap();
    o.verify_with(&HashMap::from([(ISSUER_KEY_ID, h.issuer_key())]))
        .unwrap();
    o
}

#[tokio::test]
async fn before_the_window_the_answer_is_the_same_as_for_no_event_and_never_cached() {
    let h = Harness::start().await;
    setup(&h).await;
    let not_yet = release(&h, 9).await;
    assert_eq!(not_yet.status, StatusCode::NOT_FOUND);
    assert_eq!(not_yet.headers["cache-control"], "no-store");
    let body: ErrorBody = serde_json::from_slice(&not_yet.body).unwrap();
    assert_eq!(body.error.as_str(), "not_found");
    // Unknown, not strict (and open), an id no event can have: byte for byte the same.
    for other in [8u64, 5, 1 << 63, u64::MAX] {
        assert_eq!(release(&h, other).await, not_yet, "event {other}");
    }
    // Asked again and again (the answers come from memory now): still the same.
    for _ in 0..3 {
        assert_eq!(release(&h, 9).await, not_yet);
        assert_eq!(release(&h, 8).await, not_yet);
    }
    // HEAD too.
    let head = h
        .http
        .head(format!("{}/v1/events/9/release", h.url))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    // Not a decimal id: a plain bad request, about the path, not the event.
    let bad = release_path(&h, "/v1/events/nine/release").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

async fn release_path(h: &Harness, path: &str) -> Answer {
    fetch(h, path, &[], None).await
}

#[tokio::test]
async fn from_the_opening_on_the_signed_object_is_served_and_cacheable() {
    let h = Harness::start().await;
    let (d, opens) = setup(&h).await;
    // One ms before the opening: not yet, remembered by the issuer...
    h.advance_ms(opens * 1000 - h.now_ms() - 1);
    assert_eq!(release(&h, 9).await.status, StatusCode::NOT_FOUND);
    // ...but not one ms past the opening.
    h.advance_ms(1);
    let open = release(&h, 9).await;
    assert_eq!(open.status, StatusCode::OK, "{open:?}");
    assert_eq!(open.headers["cache-control"], "public, max-age=30");
    assert_eq!(open.headers["content-type"], "text/plain; charset=utf-8");
    let etag = open.headers["etag"].clone();
    assert!(etag.starts_with("\"r1-") && etag.len() == 21, "{etag}");
    let text = String::from_utf8(open.body.clone()).unwrap();
    let o = verify(&h, &text);
    assert_eq!(
        (o.event, o.version, o.opens_at, o.key_id),
        (EventId(9), 1, opens, ISSUER_KEY_ID)
    );
    // The secret is the one a sync inside the window hands out.
    let (r, key) = d.sync(&h).await;
    let rel = &r.releases[0];
    let synced = unseal(
        &key,
        "release_secret",
        &rel.event_id.0.to_be_bytes(),
        rel.version,
        &rel.sealed,
    );
    assert_eq!(&o.secret[..], &synced[..]);
    assert_eq!(rel.version, o.version);
    // Fits a QR code of version 8.
    assert_eq!(
        tessera_core::qr::QrMatrix::encode(&text).unwrap().size(),
        49
    );
    // The same answer from memory; a revalidation with the entity tag is 304.
    assert_eq!(release(&h, 9).await, open);
    let same = fetch(
        &h,
        "/v1/events/9/release",
        &[("if-none-match", &etag)],
        None,
    )
    .await;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED);
    assert_eq!(same.headers["etag"], etag);
    assert_eq!(same.headers["cache-control"], "public, max-age=30");
    assert!(same.body.is_empty());
    let other = fetch(
        &h,
        "/v1/events/9/release",
        &[("if-none-match", "\"r0-0000000000000000\"")],
        None,
    )
    .await;
    assert_eq!(other, open);
    // Later in the window, and after a second the issuer reads the row again: unchanged.
    h.advance_ms(5_000);
    assert_eq!(release(&h, 9).await, open);
}

#[tokio::test]
async fn an_event_moved_later_stops_being_published_within_a_second() {
    let h = Harness::start().await;
    let (_d, opens) = setup(&h).await;
    h.advance_ms(opens * 1000 - h.now_ms());
    assert_eq!(release(&h, 9).await.status, StatusCode::OK);
    // The box office postpones the doors by an hour.
    let mut p =
        tessera_core::EventPolicy::new(EventId(9), "Event 9", opens + 3600, opens + 9 * 3600);
    p.strict_jit = true;
    p.format = CodeFormat::S1;
    let _: tessera_core::EventPolicy = h.post("/v1/admin/events", &h.admin, &p).await.ok();
    h.advance_ms(1_000);
    assert_eq!(release(&h, 9).await.status, StatusCode::NOT_FOUND);
    h.advance_ms(3600 * 1000);
    let o = verify(&h, &String::from_utf8(release(&h, 9).await.body).unwrap());
    assert_eq!(o.opens_at, opens + 3600);
}

#[tokio::test]
async fn the_admin_may_take_it_before_the_window_audited_and_nobody_else() {
    let h = Harness::start().await;
    let (_d, opens) = setup(&h).await;
    let path = "/v1/admin/events/9/release";
    let early = fetch(&h, path, &[], Some(&h.admin)).await;
    assert_eq!(early.status, StatusCode::OK);
    assert_eq!(early.headers["cache-control"], "no-store");
    let text = String::from_utf8(early.body.clone()).unwrap();
    verify(&h, &text);
    // Ed25519 is deterministic: the very text the public path serves from the opening.
    h.advance_ms(opens * 1000 - h.now_ms());
    assert_eq!(release(&h, 9).await.body, early.body);
    // Audited, without the secret.
    let audit: Vec<AuditEntry> = h.get("/v1/admin/audit", Some(&h.admin)).await.ok();
    let exports: Vec<_> = audit
        .iter()
        .filter(|a| a.action == "release.export")
        .collect();
    assert_eq!(exports.len(), 1);
    assert_eq!(exports[0].subject, "9");
    assert!(
        exports[0].detail.contains("before the window"),
        "{:?}",
        exports[0]
    );
    let secret_hex = hex::encode(&ReleaseObject::parse(&text).unwrap().secret[..]);
    assert!(!serde_json::to_string(&audit).unwrap().contains(&secret_hex));
    // Nobody else: no token, a box-office token, a gate token of the event.
    let bo = h.mint_box_office().await;
    let gate = h.mint_gate(9, "north-1").await;
    assert_eq!(
        fetch(&h, path, &[], None).await.status,
        StatusCode::UNAUTHORIZED
    );
    for t in [&bo, &gate] {
        assert_eq!(
            fetch(&h, path, &[], Some(t)).await.status,
            StatusCode::FORBIDDEN
        );
    }
    // No release for an event that is not strict, or unknown.
    for id in [5, 8] {
        let r = fetch(
            &h,
            &format!("/v1/admin/events/{id}/release"),
            &[],
            Some(&h.admin),
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
}
