//! Names and seats an attacker writes: control characters (NUL, ANSI escapes, C1),
//! bidirectional overrides, invisible format characters, line separators, and names with
//! nothing visible in them. Every issuer input that takes a holder name, a seat label, an
//! event name (or an address or audit reason beside them) answers 400 `bad_request` with a
//! message naming the field and the character, and stores nothing (core's `text` module
//! holds the rule; docs/API.md states it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../tests/src/harness.rs"]
mod common;

use common::{Device, Harness};
use reqwest::StatusCode;
use serde::Serialize;
use tessera_core::sync::api::{
    ApiErrorCode, AuditEntry, ErrorBody, HolderChange, OrderRequest, OrderResponse, ProfileUpdate,
};
use tessera_core::{EventId, EventPolicy};

/// One of each kind of character the rule refuses: C0 (NUL, TAB, LF, CR, ESC), DEL, C1
/// (NEL, CSI), the soft hyphen, every bidi control, zero-width and other invisible format
/// characters, the line and paragraph separators, and tag characters.
const REFUSED: &[char] = &[
    '\0',
    '\u{1}',
    '\u{7}',
    '\t',
    '\n',
    '\r',
    '\u{1b}',
    '\u{1f}',
    '\u{7f}',
    '\u{80}',
    '\u{85}',
    '\u{9b}',
    '\u{9f}',
    '\u{ad}',
    '\u{61c}',
    '\u{180e}',
    '\u{200b}',
    '\u{200e}',
    '\u{200f}',
    '\u{202a}',
    '\u{202b}',
    '\u{202c}',
    '\u{202d}',
    '\u{202e}',
    '\u{2028}',
    '\u{2029}',
    '\u{2060}',
    '\u{2066}',
    '\u{2067}',
    '\u{2068}',
    '\u{2069}',
    '\u{206f}',
    '\u{feff}',
    '\u{fff9}',
    '\u{e0001}',
    '\u{e0041}',
    '\u{e007f}',
];

/// Whole attacks: clear the gate's screen, set the terminal title and ring its bell, show a
/// name reversed by an override, hide a second line.
const ATTACKS: &[&str] = &[
    "\u{1b}[2J\u{1b}[HADMIT",
    "Ada\u{1b}]0;owned\u{7}",
    "\u{9b}31mRed",
    "\u{202e}ecalevoL adA",
    "Ada \u{2066}Lovelace\u{2069}",
    "Ada\u{0}Lovelace",
    "Ada\nSeat: VIP",
];

/// Names with nothing visible: empty, spaces of every width, joiners, fillers, selectors.
const BLANK: &[&str] = &[
    "",
    " ",
    "   ",
    "\u{a0}",
    "\u{2003}",
    "\u{3000}",
    "\u{200c}",
    "\u{200d}\u{200d}",
    "\u{3164}",
    "\u{fe0f}",
];

/// Names the rule must keep accepting: accents, apostrophes, right-to-left scripts with
/// the zero-width non-joiner Persian needs, emoji joined by ZWJ, CJK, full-width forms.
const FINE: &[&str] = &[
    "Ada Lovelace",
    "Zoë O’Brien-Łukasiewicz",
    "مهسا\u{200c}رضایی",
    "דוד לוי",
    "👩\u{200d}👩\u{200d}👧 Family",
    "李小龍",
    "Ｆｕｌｌ Width",
];

/// Every hostile text: each refused character inside a name, and the whole attacks.
fn hostile() -> Vec<String> {
    let mut v: Vec<String> = REFUSED.iter().map(|c| format!("Ada{c}Lovelace")).collect();
    v.extend(REFUSED.iter().map(|c| c.to_string()));
    v.extend(ATTACKS.iter().map(|s| (*s).to_owned()));
    v
}

/// Asserts a 400 `bad_request` whose message names `field` and says why.
async fn refused<T: Serialize>(
    h: &Harness,
    path: &str,
    token: &str,
    body: &T,
    field: &str,
    text: &str,
) {
    let r = h.post(path, token, body).await;
    assert_refused(&r, field, text);
}

fn assert_refused(r: &common::Reply, field: &str, text: &str) {
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "{text:?} in the {field} was not refused: {}",
        String::from_utf8_lossy(&r.body)
    );
    let e: ErrorBody = r.json();
    assert_eq!(e.error, ApiErrorCode::BadRequest, "{text:?}");
    assert!(
        e.message.contains(field),
        "{text:?}: the message {:?} does not name the {field}",
        e.message
    );
    // A refused character is named by its code point; a text without one is blank.
    let why = match text.chars().find(|c| REFUSED.contains(c) || c.is_control()) {
        Some(c) => format!("U+{:04X}", u32::from(c)),
        None => "empty".to_owned(),
    };
    assert!(
        e.message.contains(&why),
        "{text:?}: the message {:?} does not say {why:?}",
        e.message
    );
}

async fn audit(h: &Harness) -> Vec<AuditEntry> {
    h.get("/v1/admin/audit", Some(&h.admin)).await.ok()
}

fn order(event: u64, email: &str, holder: Option<&str>, seats: &[&str]) -> OrderRequest {
    OrderRequest {
        event_id: EventId(event),
        email: email.into(),
        phone: None,
        holder_name: holder.map(Into::into),
        seats: seats.iter().map(|s| (*s).to_owned()).collect(),
    }
}

#[tokio::test]
async fn control_bidi_and_blank_text_is_refused_at_every_input_and_nothing_is_stored() {
    let h = Harness::start().await;
    h.event(1, |p| p.personalised = true).await;
    h.event(2, |_| {}).await;
    let id = h
        .order(1, "ada@example.org", None, Some("Ada Lovelace"), &["A1"])
        .await[0];
    h.order(2, "ada@example.org", None, None, &["B1"]).await;
    let ada = Device::new();
    ada.verify_email(&h, "ada@example.org").await;
    let (before, _) = ada.sync(&h).await;
    assert_eq!(before.tickets.len(), 2);
    let bo = h.mint_box_office().await;
    let holder_path = format!("/v1/boxoffice/tickets/{id}/holder");
    let audit_before = audit(&h).await.len();

    for text in hostile()
        .iter()
        .map(String::as_str)
        .chain(BLANK.iter().copied())
    {
        // A new event, and a replacement of an existing one.
        for event in [100, 1] {
            let mut p = EventPolicy::new(EventId(event), text, h.now_s() - 60, h.now_s() + 3600);
            p.personalised = event == 1;
            refused(&h, "/v1/admin/events", &h.admin, &p, "event name", text).await;
        }
        // An order's holder name, on a personalised event and on one that is not.
        for event in [1, 2] {
            let o = order(event, "bob@example.org", Some(text), &["C1"]);
            refused(&h, "/v1/admin/orders", &h.admin, &o, "holder name", text).await;
            refused(&h, "/v1/admin/orders", &bo, &o, "holder name", text).await;
        }
        // The holder's own rename.
        let r = ada
            .post(
                &h,
                "/v1/attendee/profile",
                &ProfileUpdate {
                    holder_name: Some(text.into()),
                    email: None,
                },
            )
            .await;
        assert_refused(&r, "holder name", text);
        // The box office's override, and its audit reason.
        let change = HolderChange {
            holder_name: Some(text.into()),
            email: None,
            reason: "passport spelling".into(),
        };
        refused(&h, &holder_path, &bo, &change, "holder name", text).await;
        let change = HolderChange {
            holder_name: Some("Ada King".into()),
            email: None,
            reason: text.into(),
        };
        refused(&h, &holder_path, &bo, &change, "reason", text).await;
    }
    // Seat labels: empty is general admission, anything else needs a visible character.
    for text in hostile()
        .iter()
        .map(String::as_str)
        .chain(BLANK[1..].iter().copied())
    {
        let o = order(2, "bob@example.org", None, &["C1", text]);
        refused(&h, "/v1/admin/orders", &h.admin, &o, "seat", text).await;
    }
    // Addresses travel with names (orders, renames, box-office moves, transfers).
    for text in hostile() {
        let email = format!("bob{text}@example.org");
        let o = order(2, &email, None, &["C1"]);
        let r = h.post("/v1/admin/orders", &h.admin, &o).await;
        assert_eq!(r.error(400), "bad_request", "{email:?}");
        let r = ada
            .post(
                &h,
                "/v1/attendee/profile",
                &ProfileUpdate {
                    holder_name: None,
                    email: Some(email.clone()),
                },
            )
            .await;
        assert_eq!(r.error(400), "bad_request", "{email:?}");
    }
    // Raw bytes the JSON text itself carries: a control byte inside a string, and a lone
    // surrogate, are not JSON at all.
    for raw in [
        &b"{\"event_id\":2,\"email\":\"bob@example.org\",\"phone\":null,\"holder_name\":\"A\x1b[2J\",\"seats\":[\"C1\"]}"[..],
        &b"{\"event_id\":2,\"email\":\"bob@example.org\",\"phone\":null,\"holder_name\":\"A\\ud800\",\"seats\":[\"C1\"]}"[..],
    ] {
        let r = h
            .post_raw("/v1/admin/orders", Some(&h.admin), raw.to_vec())
            .await;
        assert_eq!(r.error(400), "bad_request");
    }

    // Nothing was stored: no event 100, no order, no rename, no audit entry.
    assert_eq!(
        h.post(
            "/v1/admin/orders",
            &h.admin,
            &order(100, "bob@example.org", None, &["C1"])
        )
        .await
        .error(404),
        "not_found"
    );
    assert_eq!(audit(&h).await.len(), audit_before);
    let (after, _) = ada.sync(&h).await;
    // Seeds are sealed afresh for every sync; everything else is as it was.
    let visible = |s: &tessera_core::sync::api::SyncResponse| -> Vec<_> {
        s.tickets
            .iter()
            .map(|t| {
                (
                    t.ticket_id,
                    t.event_id,
                    t.seat.clone(),
                    t.holder_name.clone(),
                    t.version,
                    t.device_public_key.clone(),
                )
            })
            .collect()
    };
    assert_eq!(visible(&after), visible(&before));
    assert_eq!(after.events, before.events);
    let bob = Device::new();
    bob.verify_email(&h, "bob@example.org").await;
    assert!(bob.sync(&h).await.0.tickets.is_empty());
}

#[tokio::test]
async fn names_in_every_script_and_general_admission_are_still_accepted() {
    let h = Harness::start().await;
    let bo = h.mint_box_office().await;
    for (i, name) in FINE.iter().enumerate() {
        let event = 10 + i as u64;
        // The name as event name, holder name and seat label.
        h.event(event, |p| {
            p.name = (*name).to_owned();
            p.personalised = true;
        })
        .await;
        let seat = if name.len() <= 64 { *name } else { "" };
        let o: OrderResponse = h
            .post(
                "/v1/admin/orders",
                &bo,
                &order(event, "ada@example.org", Some(name), &[seat, ""]),
            )
            .await
            .ok();
        assert_eq!(o.tickets.len(), 2);
    }
    let ada = Device::new();
    ada.verify_email(&h, "ada@example.org").await;
    let (s, _) = ada.sync(&h).await;
    for (i, name) in FINE.iter().enumerate() {
        let event = EventId(10 + i as u64);
        let e = s.events.iter().find(|e| e.event_id == event).unwrap();
        assert_eq!(e.name, *name);
        let names: Vec<_> = s
            .tickets
            .iter()
            .filter(|t| t.event_id == event)
            .map(|t| (t.holder_name.as_deref(), t.seat.as_str()))
            .collect();
        assert!(names.contains(&(Some(*name), *name)), "{name:?}: {names:?}");
        assert!(names.contains(&(Some(*name), "")), "{name:?}: {names:?}");
    }
    // Renames and the box office take them too.
    for name in FINE {
        let r = ada
            .post(
                &h,
                "/v1/attendee/profile",
                &ProfileUpdate {
                    holder_name: Some((*name).to_owned()),
                    email: None,
                },
            )
            .await;
        r.ok::<serde_json::Value>();
    }
    let id = s.tickets[0].ticket_id;
    h.post(
        &format!("/v1/boxoffice/tickets/{id}/holder"),
        &bo,
        &HolderChange {
            holder_name: Some(FINE[2].to_owned()),
            email: None,
            reason: "نام در گذرنامه".into(),
        },
    )
    .await
    .ok::<serde_json::Value>();
    let (s, _) = ada.sync(&h).await;
    let t = s.tickets.iter().find(|t| t.ticket_id == id).unwrap();
    assert_eq!(t.holder_name.as_deref(), Some(FINE[2]));
}
