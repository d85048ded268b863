//! Small-order Ed25519 keys in sync answers (issue 9, item 1): a hostile issuer (or a fake
//! one on first use) answering with an issuer key or a ticket device key of small order,
//! "signed" without any private key. Every encoding of `tests/vectors/small_order.json`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../tests/vectors/small_order.rs"]
mod vectors;

use crate::code::SignedCredential;
use crate::code::s1::{CREDENTIAL_DOMAIN, public_key};
use crate::sync::api::{IssuerKey, SyncResponse, TimeProof};
use crate::sync::error::SyncError;
use crate::sync::signed_time::time_message;
use crate::sync::testkit::*;
use crate::sync::transport::TransportKey;
use crate::wallet::Wallet;
use vectors::{forges, keyless_signature, small_order_keys};

fn credential_message(bytes: &[u8]) -> Vec<u8> {
    let mut m = CREDENTIAL_DOMAIN.to_vec();
    m.extend_from_slice(bytes);
    m
}

/// The S1 ticket's credential in an answer.
fn s1_credential(r: &SyncResponse) -> (usize, SignedCredential) {
    let i = r
        .tickets
        .iter()
        .position(|t| t.credential.is_some())
        .unwrap();
    let hex_cred = r.tickets[i].credential.as_ref().unwrap();
    (
        i,
        SignedCredential::from_bytes(&hex::decode(hex_cred).unwrap()).unwrap(),
    )
}

/// A good answer of the FAKE issuer (one ticket per event) to `w`, for a test to spoil.
fn good_answer(w: &Wallet) -> (SyncResponse, TransportKey, [u8; 32]) {
    FakeIssuer::new(w.device_public_key(), 1).exchange(w)
}

/// The FAKE issuer's genuine key, as the wallet lists what it pinned.
fn genuine_key_hex() -> Vec<String> {
    vec![hex::encode(public_key(&issuer_key(42)))]
}

fn pinned_hex(w: &Wallet) -> Vec<String> {
    w.pinned_issuer_keys()
        .unwrap()
        .into_iter()
        .map(|k| k.public_key)
        .collect()
}

#[test]
fn a_small_order_issuer_key_is_refused_on_first_use() {
    let fx = Fx::new();
    let w = fx.wallet();
    for weak in small_order_keys() {
        let (mut r, key, nonce) = good_answer(&w);
        // The fake issuer lists `weak` as its key and "signs" the S1 credential and its
        // clock without a private key; it picks the key id, then the millisecond, so that
        // ring's own check accepts each signature.
        let (i, mut signed) = s1_credential(&r);
        let found = (1u32..4096).find(|kid| {
            signed.credential.key_id = *kid;
            signed.bytes = signed.credential.to_bytes().unwrap();
            forges(&weak, &credential_message(&signed.bytes))
        });
        let kid = found.unwrap_or_else(|| panic!("no forgery for {}", hex::encode(weak)));
        signed.issuer_sig = keyless_signature();
        r.tickets[i].credential = Some(hex::encode(signed.to_bytes()));
        r.issuer_keys = vec![IssuerKey {
            key_id: kid,
            public_key: hex::encode(weak),
        }];
        r.server_time_ms = (r.server_time_ms..r.server_time_ms + 4096)
            .find(|t| forges(&weak, &time_message(&nonce, *t, kid)))
            .unwrap();
        r.time_proof = TimeProof {
            key_id: kid,
            signature: hex::encode(keyless_signature()),
        };
        assert_eq!(
            w.apply_sync(&r, &key, &nonce),
            Err(SyncError::BadSignature),
            "issuer key {}",
            hex::encode(weak)
        );
        assert!(w.pinned_issuer_keys().unwrap().is_empty());
        assert!(w.tickets().unwrap().is_empty());
    }
    // The genuine issuer is still taken and pinned.
    let (r, key, nonce) = good_answer(&w);
    w.apply_sync(&r, &key, &nonce).unwrap();
    assert_eq!(pinned_hex(&w), genuine_key_hex());
}

#[test]
fn a_small_order_issuer_key_listed_beside_the_genuine_one_is_refused() {
    // Nothing is signed under the extra key in this answer, so only the check where keys
    // enter stops it; taken, it would be pinned and trusted for credentials and time.
    let fx = Fx::new();
    let w = fx.wallet();
    for weak in small_order_keys() {
        let (mut r, key, nonce) = good_answer(&w);
        r.issuer_keys.push(IssuerKey {
            key_id: 2,
            public_key: hex::encode(weak),
        });
        assert_eq!(
            w.apply_sync(&r, &key, &nonce),
            Err(SyncError::BadSignature),
            "extra issuer key {}",
            hex::encode(weak)
        );
        assert!(w.pinned_issuer_keys().unwrap().is_empty());
    }
}

#[test]
fn a_small_order_key_pinned_before_the_fix_pins_nothing() {
    // A wallet that pinned a small-order key (from a fake server, before keys were
    // checked) must not trust it: it vouches for nothing, so the next genuine answer is
    // taken and its key pinned instead of the wallet refusing its real issuer for good.
    for weak in small_order_keys() {
        let fx = Fx::new();
        let w = fx.wallet();
        let pinned = serde_json::to_vec(&[IssuerKey {
            key_id: 1,
            public_key: hex::encode(weak),
        }])
        .unwrap();
        w.store()
            .set_meta(&[("sync_issuer_keys", pinned.as_slice())])
            .unwrap();
        let (r, key, nonce) = good_answer(&w);
        assert!(
            w.apply_sync(&r, &key, &nonce).is_ok(),
            "pinned small-order key {} still trusted",
            hex::encode(weak)
        );
        assert_eq!(pinned_hex(&w), genuine_key_hex());
    }
}

#[test]
fn a_ticket_bound_to_a_small_order_device_key_is_refused() {
    let fx = Fx::new();
    let w = fx.wallet();
    for weak in small_order_keys() {
        let (mut r, key, nonce) = good_answer(&w);
        // A credential really signed by the issuer key, but naming `weak` as the device.
        let (i, mut signed) = s1_credential(&r);
        signed.credential.device_public_key = weak;
        signed.bytes = signed.credential.to_bytes().unwrap();
        signed.issuer_sig.copy_from_slice(
            issuer_key(42)
                .sign(&credential_message(&signed.bytes))
                .as_ref(),
        );
        r.tickets[i].credential = Some(hex::encode(signed.to_bytes()));
        r.tickets[i].device_public_key = hex::encode(weak);
        let err = w.apply_sync(&r, &key, &nonce).unwrap_err();
        assert!(
            matches!(err, SyncError::WrongDevice { .. } | SyncError::BadSignature),
            "device key {}: {err:?}",
            hex::encode(weak)
        );
        assert!(w.tickets().unwrap().is_empty());
    }
}
