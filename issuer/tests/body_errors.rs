//! A body the issuer cannot read is refused with a message that names the field and what
//! it expected, never a value from the body (issue 13 item 6): the old text was only
//! "not the expected JSON (line 1, column 33)". Through a real issuer, admin and
//! device-signed calls alike.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../tests/src/harness.rs"]
mod common;

use common::{Device, Harness};
use serde_json::{Value, json};
use tessera_core::sync::api::ErrorBody;
use tessera_core::{EventId, EventPolicy};

/// A secret-looking value that must never come back in a message.
const SECRET: &str = "c0ffee5ec4e7c0ffee5ec4e7c0ffee5ec4e7c0ffee5ec4e7c0ffee5ec4e7abcd";

/// The `ErrorBody` message of a 400 `bad_request`.
fn refusal(r: &common::Reply) -> String {
    let b: ErrorBody = r.json();
    assert_eq!(
        (r.status.as_u16(), b.error.as_str()),
        (400, "bad_request"),
        "{}",
        b.message
    );
    b.message
}

/// A valid policy as JSON, to break one field at a time.
fn policy() -> Value {
    serde_json::to_value(EventPolicy::new(
        EventId(7),
        "Gig",
        1_800_000_000,
        1_800_086_400,
    ))
    .unwrap()
}

#[tokio::test]
async fn an_unreadable_admin_body_names_the_field_and_the_expected_type_never_the_value() {
    let h = Harness::start().await;
    let post = |path: &'static str, body: Value| {
        let h = &h;
        async move {
            h.post_raw(path, Some(&h.admin), body.to_string().into_bytes())
                .await
        }
    };
    // (body, the words the message must hold)
    let mut cases: Vec<(&str, Value, Vec<&str>)> = Vec::new();
    let mut p = policy();
    p.as_object_mut().unwrap().remove("valid_until");
    cases.push(("/v1/admin/events", p, vec!["missing field `valid_until`"]));
    let mut p = policy();
    p["period_secs"] = json!(SECRET);
    cases.push((
        "/v1/admin/events",
        p,
        vec!["field `period_secs`: invalid type: string, expected u8"],
    ));
    let mut p = policy();
    p["totp_digits"] = json!(987_654);
    cases.push((
        "/v1/admin/events",
        p,
        vec!["field `totp_digits`: invalid value: integer, expected u8"],
    ));
    let mut p = policy();
    p["format"] = json!(SECRET);
    cases.push((
        "/v1/admin/events",
        p,
        vec!["field `format`: unknown variant, expected one of `T1`, `S1`, `C1`"],
    ));
    let mut p = policy();
    p["requires"] = json!(["Email", SECRET]);
    cases.push((
        "/v1/admin/events",
        p,
        vec!["field `requires[1]`: unknown variant, expected one of `Email`, `Phone`, `Presence`"],
    ));
    let mut p = policy();
    p["event_id"] = json!([SECRET]);
    cases.push((
        "/v1/admin/events",
        p,
        vec!["field `event_id`: invalid type: sequence, expected u64"],
    ));
    cases.push((
        "/v1/admin/tokens",
        json!({"role": "gate", "evnet_id": 7, "gate_id": "north-1"}),
        vec![
            "unknown field `evnet_id`",
            "expected one of `role`, `event_id`, `gate_id`",
        ],
    ));
    // A key that does not look like a field name may be a code or a token: not quoted.
    cases.push((
        "/v1/admin/tokens",
        json!({"role": "gate", SECRET: 7}),
        vec!["unknown field, expected one of `role`, `event_id`, `gate_id`"],
    ));
    cases.push((
        "/v1/admin/orders",
        json!({"event_id": 7, "email": "a@example.org", "seats": ["A1", 1234567]}),
        vec!["field `seats[1]`: invalid type: integer, expected a string"],
    ));
    for (path, body, words) in cases {
        let message = refusal(&post(path, body.clone()).await);
        for w in words {
            assert!(message.contains(w), "{body}: {message:?} lacks {w:?}");
        }
        assert!(message.contains("(line 1, column "), "{message}");
        for value in [SECRET, "c0ffee", "987654", "1234567"] {
            assert!(
                !message.contains(value),
                "{body}: {message:?} quotes a value"
            );
        }
    }

    // Not JSON at all: serde_json's fixed text and where.
    let r = h
        .post_raw(
            "/v1/admin/events",
            Some(&h.admin),
            format!("{{\"event_id\": 7,\n \"name\" \"{SECRET}\"}}").into_bytes(),
        )
        .await;
    let message = refusal(&r);
    assert_eq!(
        message, "request body is not valid JSON: expected `:` (line 2, column 9)",
        "{message}"
    );
}

#[tokio::test]
async fn an_unreadable_device_signed_body_names_the_field_never_the_code() {
    let h = Harness::start().await;
    let d = Device::new();
    d.enroll(&h).await;
    // The SMS code as a number: the message says what the field must be, not the code.
    let r = d
        .post(&h, "/v1/attendee/phone/confirm", &json!({"code": 482_913}))
        .await;
    let message = refusal(&r);
    assert!(
        message.contains("field `code`: invalid type: integer, expected a string"),
        "{message}"
    );
    assert!(!message.contains("482913"), "{message}");
    // The email token, misspelt key: unknown fields are ignored there, so the real one is missing.
    let r = d
        .post(&h, "/v1/attendee/email/confirm", &json!({"tokn": SECRET}))
        .await;
    let message = refusal(&r);
    assert!(message.contains("missing field `token`"), "{message}");
    assert!(!message.contains(SECRET), "{message}");
    // A bodiless call with a body: named, since `x` looks like a field.
    let r = d.post(&h, "/v1/attendee/rebind", &json!({"x": 1})).await;
    let message = refusal(&r);
    assert!(
        message.contains("unknown field `x`, there are no fields"),
        "{message}"
    );
}

/// Found by the outside attack on issue 10: serde reads a struct from an array of its
/// fields, so `["box_office", 42]` minted a token. Every body is a JSON object.
#[tokio::test]
async fn a_body_that_is_not_a_json_object_is_refused() {
    let h = Harness::start().await;
    h.event(42, |_| {}).await;
    for body in [
        json!(["box_office", 42]),
        json!(["gate", 42, "main"]),
        json!("box_office"),
        json!(42),
    ] {
        let r = h
            .post_raw(
                "/v1/admin/tokens",
                Some(&h.admin),
                body.to_string().into_bytes(),
            )
            .await;
        assert_eq!(r.error(400), "bad_request", "{body}");
        assert!(refusal(&r).contains("JSON object"), "{body}");
    }
    let listed = h.get("/v1/admin/tokens", Some(&h.admin)).await;
    assert_eq!(listed.body, b"[]", "nothing was minted");
}

/// A platform name with a NUL (PostgreSQL's text refuses it, SQLite's would store it) or
/// another control character is refused on both engines before anything is stored,
/// rather than a 500 on one of them.
#[tokio::test]
async fn a_platform_name_with_a_control_character_is_refused_and_nothing_is_stored() {
    let h = Harness::start().await;
    for platform in ["a\u{0}", "android\n", "\u{7f}"] {
        let r = Device::new()
            .post(&h, "/v1/devices", &json!({ "platform": platform }))
            .await;
        assert_eq!(r.error(400), "bad_request", "{platform:?}");
    }
    assert_eq!(h.stored_count("devices"), 0);
    assert_eq!(h.stored_count("rate_events"), 0);
}
