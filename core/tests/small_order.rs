//! Small-order and non-canonical Ed25519 keys in core (issue 9, item 1): the vector file
//! `tests/vectors/small_order.json` is the Rust blocklist, and every signature check of
//! core (S1 issuer and device signatures, device-signed requests) and credential issuance
//! refuse each listed key, although ring alone accepts the keyless forgeries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../tests/vectors/small_order.rs"]
mod vectors;

use ring::signature::Ed25519KeyPair;
use tessera_core::code::SignedCredential;
use tessera_core::code::s1::{CREDENTIAL_DOMAIN, Credential, S1Code, public_key};
use tessera_core::ed25519::{self, SMALL_ORDER_BLOCKLIST, small_order_encodings};
use tessera_core::sync::request::{self, RequestAuthError, SignedHeaders, signing_message};
use tessera_core::{EventId, TicketId};
use vectors::{blocklist, entries, forges, keyless_signature, ring_accepts};

fn kp(seed: u8) -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap()
}

fn credential(key_id: u32, device_public_key: [u8; 32]) -> Credential {
    Credential {
        key_id,
        ticket: TicketId([4; 16]),
        event: EventId(9),
        reveal_opens_at: 1_800_000_000,
        valid_until: 1_800_010_000,
        period_secs: 15,
        strict_jit: false,
        reentry: false,
        personalised: false,
        device_public_key,
        seat: String::new(),
    }
}

/// Issuer-signed, bypassing `Credential::sign` (which refuses small-order device keys).
fn signed_by(issuer: &Ed25519KeyPair, c: Credential) -> SignedCredential {
    let bytes = c.to_bytes().unwrap();
    let mut msg = CREDENTIAL_DOMAIN.to_vec();
    msg.extend_from_slice(&bytes);
    SignedCredential {
        credential: c,
        bytes,
        issuer_sig: issuer.sign(&msg).as_ref().try_into().unwrap(),
    }
}

#[test]
fn the_vector_file_is_the_rust_blocklist() {
    let (blocklist, entries) = (blocklist(), entries());
    let want: Vec<String> = SMALL_ORDER_BLOCKLIST.iter().map(hex::encode).collect();
    assert_eq!(blocklist, want);
    let keys: Vec<[u8; 32]> = entries.iter().map(|e| e.key).collect();
    assert_eq!(keys, small_order_encodings());
    for e in &entries {
        assert!(ed25519::is_small_order(&e.key), "{}", hex::encode(e.key));
        assert!(ed25519::check_public_key(&e.key).is_err());
        // Every non-canonical entry is either y ≥ p or x = 0 with the sign bit set.
        if !e.canonical {
            let x_is_zero_y = {
                let mut y = e.key;
                y[31] &= 0x7f;
                y == SMALL_ORDER_BLOCKLIST[1] || y == SMALL_ORDER_BLOCKLIST[4]
            };
            assert!(!ed25519::is_canonical_point(&e.key) || x_is_zero_y);
        }
    }
    assert_eq!(entries.iter().filter(|e| e.canonical).count(), 8);
}

#[test]
fn every_listed_forgery_fools_ring_but_not_tessera() {
    let entries = entries();
    for e in &entries {
        assert!(
            ring_accepts(&e.key, &e.message, &e.signature),
            "ring refuses the forgery for {}: the attack this guards against is gone?",
            hex::encode(e.key)
        );
        assert!(
            !ed25519::verify(&e.key, &e.message, &e.signature),
            "{}",
            hex::encode(e.key)
        );
    }
}

#[test]
fn s1_signatures_under_small_order_keys_do_not_verify() {
    let entries = entries();
    let issuer = kp(1);
    for e in &entries {
        // Level 1: an issuer key of small order and a keyless credential signature
        // (the key id is chosen so that ring alone would accept it).
        let mut c = credential(0, public_key(&kp(2)));
        let forged = (0u32..4096)
            .find_map(|kid| {
                c.key_id = kid;
                let bytes = c.to_bytes().unwrap();
                let mut msg = CREDENTIAL_DOMAIN.to_vec();
                msg.extend_from_slice(&bytes);
                forges(&e.key, &msg).then(|| SignedCredential {
                    credential: c.clone(),
                    bytes,
                    issuer_sig: keyless_signature(),
                })
            })
            .unwrap();
        assert!(!forged.verify(&e.key), "issuer key {}", hex::encode(e.key));

        // A genuine issuer signature over a credential naming a small-order device key.
        let bound = signed_by(&issuer, credential(3, e.key));
        assert!(
            !bound.verify(&public_key(&issuer)),
            "credential binding device key {}",
            hex::encode(e.key)
        );

        // Level 2: the keyless device signature, at a step where ring alone accepts it.
        let code = (0u64..4096)
            .map(|step| {
                let mut code = S1Code::generate(&bound, &kp(2), step, None);
                code.device_sig = keyless_signature();
                code
            })
            .find(|code| {
                let msg = S1Code::device_message(&bound.digest(), code.step, None);
                ring_accepts(&e.key, &msg, &code.device_sig)
            })
            .unwrap();
        assert!(!code.verify_device(), "device key {}", hex::encode(e.key));
    }
}

#[test]
fn credentials_for_small_order_device_keys_are_not_issued() {
    let entries = entries();
    for e in &entries {
        assert!(
            credential(3, e.key).sign(&kp(1)).is_err(),
            "issued to {}",
            hex::encode(e.key)
        );
    }
    assert!(credential(3, public_key(&kp(2))).sign(&kp(1)).is_ok());
}

#[test]
fn device_signed_requests_with_small_order_keys_are_refused() {
    let entries = entries();
    let now = 1_800_000_000_000;
    for e in &entries {
        let body = b"{}";
        // The attacker picks the nonce so that ring alone accepts the keyless signature.
        let nonce = (0u128..4096)
            .map(|i| format!("{i:032x}"))
            .find(|n| {
                let msg = signing_message("POST", "/v1/devices", now, n, body);
                forges(&e.key, &msg)
            })
            .unwrap();
        let h = SignedHeaders {
            device: hex::encode(e.key),
            timestamp: now.to_string(),
            nonce,
            signature: hex::encode(keyless_signature()),
        };
        let r = request::verify(&h, "POST", "/v1/devices", body, now);
        assert_eq!(
            r,
            Err(RequestAuthError::WeakKey),
            "request by {}",
            hex::encode(e.key)
        );
    }
}
