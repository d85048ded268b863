#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The signed bundle document vectors of docs/PROTOCOL.md §11.5 through the real gate:
//! every document of `tests/vectors/bundle.json`, opened by
//! `tessera_gate::signed_bundle::open` with the case's pinned keys, gives exactly the
//! expected bundle (its sequence number, revocations, names, seats, T1 seeds, release
//! secrets, strict flag, the credentials of compact codes) or is refused for the expected
//! reason.
//!
//! The file is written by `cargo run -p tessera-gate --example gen_bundle_vectors`
//! (deterministic); after changing the generator, run it and commit the file. This test
//! checks the file against the real code, not against the generator, and the independent
//! Python gate (`tests/vectors/test_vectors.py`) checks the same file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::{Map, Value, json};
use tessera_gate::signed_bundle::{self, PinnedKeys};
use tessera_gate::{BundleDistrust, GateBundle, GateError, PublicKey, Secret};

fn load() -> Value {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "tests",
        "vectors",
        "bundle.json",
    ]
    .iter()
    .collect();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run the generator)", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The one place a refusal becomes the vectors' name for it (PROTOCOL §10.2.1). `None`
/// for errors that opening a document never gives.
fn error_name(e: &GateError) -> Option<&'static str> {
    Some(match e {
        GateError::UntrustedBundle { why } => match why {
            BundleDistrust::Unsigned => "unsigned",
            BundleDistrust::BadSignature => "bad_signature",
            BundleDistrust::KeyNotPinned { .. } => "not_pinned",
        },
        // A payload that is not a bundle at all is a JSON error (`Export`) from
        // `GateBundle::from_json`; one that breaks a rule of §10.2 is `InvalidBundle`.
        GateError::InvalidBundle { .. } | GateError::Export { .. } => "invalid",
        GateError::BundleRolledBack { .. } => "rolled_back",
        GateError::Storage { .. } | GateError::NewerSchema { .. } | GateError::Invalid { .. } => {
            return None;
        }
    })
}

const ERRORS: [&str; 5] = [
    "unsigned",
    "bad_signature",
    "not_pinned",
    "invalid",
    "rolled_back",
];

fn pins(case: &Value) -> PinnedKeys {
    case["pins"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(id, key)| {
            let key: PublicKey = serde_json::from_value(key.clone()).unwrap();
            (id.parse::<u32>().unwrap(), key)
        })
        .collect()
}

/// The resulting bundle's fields in the vectors' form.
fn summary(b: &GateBundle) -> Value {
    let secrets = |m: &BTreeMap<String, &Secret>| -> Value {
        m.iter()
            .map(|(k, s)| (k.clone(), json!(hex::encode(s.expose()))))
            .collect::<Map<_, _>>()
            .into()
    };
    let seeds = b.t1.as_ref().map(|t1| {
        secrets(
            &t1.ticket_seeds
                .iter()
                .map(|(t, s)| (t.to_string(), s))
                .collect(),
        )
    });
    let strings = |m: &BTreeMap<tessera_core::TicketId, String>| -> Value {
        m.iter()
            .map(|(t, s)| (t.to_string(), json!(s)))
            .collect::<Map<_, _>>()
            .into()
    };
    json!({
        "ok": true,
        "event": b.event.0,
        "seq": b.seq,
        "issued_at_ms": b.issued_at_ms,
        "strict_jit": b.strict_jit,
        "revoked": b.revoked.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "revoked_credentials":
            b.revoked_credentials.iter().map(|d| hex::encode(d.0)).collect::<Vec<_>>(),
        "holder_names": strings(&b.holder_names),
        "seats": strings(&b.seats),
        "t1_ticket_seeds": seeds,
        "release_secrets": secrets(
            &b.release_secrets.iter().map(|(e, s)| (e.0.to_string(), s)).collect()
        ),
        "credentials": b.credentials.iter()
            .map(|c| hex::encode(c.0.to_bytes())).collect::<Vec<_>>(),
    })
}

#[test]
fn every_bundle_document_opens_as_the_vector_says() {
    let doc = load();
    let cases = doc["cases"].as_array().unwrap();
    let mut names = BTreeSet::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        assert!(names.insert(name), "duplicate case {name}");
        let expect = &case["expect"];
        let got = signed_bundle::open(case["document"].as_str().unwrap(), &pins(case));
        if expect["ok"] == json!(true) {
            let bundle = got.unwrap_or_else(|e| panic!("{name}: refused: {e:?}"));
            assert!(!bundle.is_update(), "{name}: the result is an update");
            bundle.validate().unwrap();
            assert_eq!(&summary(&bundle), expect, "{name}");
        } else {
            let want = expect["error"].as_str().unwrap();
            assert!(ERRORS.contains(&want), "{name}: unknown error {want}");
            match got {
                Ok(b) => panic!("{name}: opened (seq {}), want {want}", b.seq),
                Err(e) => assert_eq!(error_name(&e), Some(want), "{name}: {e:?}"),
            }
        }
    }
}

/// The cases docs/PROTOCOL.md §11.5 lists, and every refusal, are in the file.
#[test]
fn the_vectors_cover_every_refusal_and_the_listed_cases() {
    let doc = load();
    let cases = doc["cases"].as_array().unwrap();
    let errors: BTreeSet<&str> = cases
        .iter()
        .filter_map(|c| c["expect"]["error"].as_str())
        .collect();
    assert_eq!(errors, ERRORS.into_iter().collect());
    for name in [
        "whole-bundle",
        "whole-then-two-updates",
        "bare-bundle",
        "first-line-not-json",
        "envelope-extra-member",
        "format-2",
        "payload-edited-one-character",
        "signature-edited",
        "signature-63-bytes",
        "signature-not-hex",
        "key-id-not-pinned",
        "other-issuers-document-under-key-id-1",
        "starts-with-an-update",
        "update-with-a-gap",
        "update-of-another-event",
        "update-older-than-the-bundle",
        "whole-bundle-listing-changed",
        "payload-invalid-bundle-period-4",
        "signature-s-not-reduced",
        "small-order-pinned-key-keyless-signature",
        "credentials-update-lists-none-for-a-changed-ticket",
        "credentials-update-lists-only-the-new-binding",
        "credentials-update-repeats-an-unchanged-tickets-credential",
        "payload-lists-a-credential-of-another-event",
        "payload-lists-a-credential-binding-a-small-order-device-key",
    ] {
        assert!(cases.iter().any(|c| c["name"] == name), "{name} missing");
    }
    assert!(cases.len() >= 40, "{} cases", cases.len());
}

/// The keys the file lists are the ones its signatures are made with, and a gate set up
/// by trust on first use pins exactly key 1 and key 2 from the whole bundle.
#[test]
fn the_listed_issuer_keys_are_what_a_first_open_pins() {
    let doc = load();
    let listed: PinnedKeys = doc["issuer_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let key: PublicKey = serde_json::from_value(k["public_key_hex"].clone()).unwrap();
            (u32::try_from(k["key_id"].as_u64().unwrap()).unwrap(), key)
        })
        .collect();
    let whole = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "whole-bundle")
        .unwrap();
    let (_, pinned) = signed_bundle::open_first(whole["document"].as_str().unwrap()).unwrap();
    assert_eq!(pinned, listed);
}
