#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The gate bundle: JSON round trip, and an S1 bundle that holds no private material.

mod common;

use common::*;
use tessera_gate::{GateBundle, ReentryPolicy, Secret};

#[test]
fn s1_bundle_holds_no_private_material() {
    let mut b = s1_bundle();
    b.revoked.insert(ticket(9));
    b.holder_names.insert(ticket(1), "Ada Lovelace".into());
    b.reentry = ReentryPolicy::Deny;
    assert!(!b.holds_private_material());
    let json: serde_json::Value = serde_json::from_str(&b.to_json().unwrap()).unwrap();
    let obj = json.as_object().unwrap();
    // No T1 seeds and no release secret: the fields that could hold them are empty.
    assert_eq!(obj["t1"], serde_json::Value::Null);
    assert_eq!(obj["release_secrets"], serde_json::json!({}));
    // And nothing else looks like a seed: every string is a public key, a ticket id or a name.
    let text = json.to_string();
    assert!(
        !text.contains("seed") && !text.contains("secret\":\""),
        "{text}"
    );
    let keys: Vec<_> = obj["issuer_keys"].as_object().unwrap().values().collect();
    assert_eq!(keys.len(), 1);
    // The public key really is the issuer's public key, not its private seed.
    assert_ne!(keys[0].as_str().unwrap(), hex::encode([1u8; 32]));
}

#[test]
fn t1_bundle_says_it_holds_secrets() {
    assert!(t1_bundle(2, true).holds_private_material());
    let mut b = s1_bundle();
    b.release_secrets
        .insert(EVENT, Secret::new(RELEASE.to_vec()));
    assert!(b.holds_private_material());
}

#[test]
fn bundle_round_trips_through_json() {
    let mut b = t1_bundle(3, true);
    b.issuer_keys = s1_bundle().issuer_keys;
    b.revoked.insert(ticket(2));
    b.holder_names.insert(ticket(1), "Grace Hopper".into());
    b.seats.insert(ticket(1), "A1".into());
    b.release_secrets
        .insert(EVENT, Secret::new(RELEASE.to_vec()));
    b.reentry = ReentryPolicy::Allow;
    let json = b.to_json().unwrap();
    assert_eq!(GateBundle::from_json(&json).unwrap(), b);
    // Debug shows neither seeds nor names.
    let dbg = format!("{b:?}");
    assert!(
        !dbg.contains("Grace") && !dbg.contains(&hex::encode(seed(1))),
        "{dbg}"
    );
}

#[test]
fn bad_bundle_json_is_refused_without_echoing_it() {
    let err = GateBundle::from_json("{\"event\": \"secret-value\"}").unwrap_err();
    assert!(!err.to_string().contains("secret-value"), "{err}");
    let mut b = s1_bundle();
    b.valid_until = b.valid_from;
    assert!(GateBundle::from_json(&b.to_json().unwrap()).is_err());
}
