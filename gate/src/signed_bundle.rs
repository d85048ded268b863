//! The issuer-signed bundle document: what a gate downloads and stores.
//!
//! One JSON object per line:
//!
//! ```text
//! {"tessera_bundle":1,"key_id":1,"payload":"<GateBundle JSON>","signature":"<128 hex>"}
//! ```
//!
//! The signature is the issuer's Ed25519 signature over [`BUNDLE_DOMAIN`] followed by the
//! payload's UTF-8 bytes, exactly as they stand in the document (no re-serialisation, so
//! no canonical form is needed). The first line is a whole bundle; each further line is an
//! update ([`GateBundle::apply_update`]) fetched with `?since=`. Every line must verify
//! under a key the gate pinned when it was set up; a bare bundle, an edited payload or a
//! signature by another key is refused before any code is judged (docs/PROTOCOL.md §11).

use std::collections::BTreeMap;

use ring::signature::Ed25519KeyPair;
use serde::{Deserialize, Serialize};

use crate::GateError;
use crate::bundle::{GateBundle, PublicKey};

/// Domain separation for bundle signatures: no other signed Tessera message starts so.
pub const BUNDLE_DOMAIN: &[u8] = b"tessera/v2/bundle\0";

/// The key id the reference issuer signs with (its one key so far).
pub const ISSUER_KEY_ID: u32 = 1;

/// The document format this library writes and reads.
const FORMAT: u32 = 1;

/// One signed line.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    tessera_bundle: u32,
    key_id: u32,
    payload: String,
    signature: String,
}

/// The issuer keys a gate trusts for bundles, by key id: pinned when the gate was set up.
pub type PinnedKeys = BTreeMap<u32, PublicKey>;

/// Signs `bundle` (a whole bundle or an update) as one document line (the issuer's side).
pub fn sign(bundle: &GateBundle, key_id: u32, key: &Ed25519KeyPair) -> Result<String, GateError> {
    let payload = bundle.to_json()?;
    let signature = key.sign(&message(&payload));
    serde_json::to_string(&Envelope {
        tessera_bundle: FORMAT,
        key_id,
        payload,
        signature: hex::encode(signature.as_ref()),
    })
    .map_err(|e| GateError::export(e.to_string()))
}

/// Opens a document (a whole bundle, then any updates, one per line) with the keys the
/// gate pinned: every line must be signed by one of them. Answers the bundle with the
/// updates applied.
pub fn open(text: &str, pinned: &PinnedKeys) -> Result<GateBundle, GateError> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().ok_or(GateError::UNSIGNED)?;
    let mut bundle = open_line(first, pinned)?;
    if bundle.is_update() {
        return Err(GateError::invalid_bundle(
            "the document starts with an update, not a whole bundle",
        ));
    }
    for line in lines {
        bundle.apply_update(open_line(line, pinned)?)?;
    }
    Ok(bundle)
}

/// Opens a document for a gate being set up, which has no pinned keys yet: the first line
/// must verify under one of the issuer keys its own payload lists, and those keys are
/// returned for the gate to pin. This trusts the first document as fetched from the
/// issuer (over HTTPS, with the gate's token); every later one is checked against the pin.
pub fn open_first(text: &str) -> Result<(GateBundle, PinnedKeys), GateError> {
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .ok_or(GateError::UNSIGNED)?;
    let unverified = parse_envelope(first)?;
    let claimed = GateBundle::from_json(&unverified.payload)?;
    let pins = claimed.issuer_keys;
    Ok((open(text, &pins)?, pins))
}

/// Opens one line: signature first, then the payload.
pub fn open_line(line: &str, pinned: &PinnedKeys) -> Result<GateBundle, GateError> {
    let env = parse_envelope(line)?;
    let key = pinned
        .get(&env.key_id)
        .ok_or(GateError::not_pinned(env.key_id))?;
    let sig = hex::decode(&env.signature).map_err(|_| GateError::BAD_SIGNATURE)?;
    if !tessera_core::ed25519::verify(&key.0, &message(&env.payload), &sig) {
        // Say which failure it is: a document of another issuer (its payload names
        // another key under this id) is a set-up mistake, an edited one an attack.
        let other_issuer = GateBundle::from_json(&env.payload)
            .ok()
            .and_then(|b| b.issuer_keys.get(&env.key_id).copied())
            .is_some_and(|claimed| claimed != *key);
        return Err(if other_issuer {
            GateError::not_pinned(env.key_id)
        } else {
            GateError::BAD_SIGNATURE
        });
    }
    GateBundle::from_json(&env.payload)
}

fn parse_envelope(line: &str) -> Result<Envelope, GateError> {
    // An object, as PROTOCOL §10.2.1 says: serde would also read the four values from a
    // JSON array, a second spelling no other gate implementation need accept.
    if !line.trim_start().starts_with('{') {
        return Err(GateError::UNSIGNED);
    }
    match serde_json::from_str::<Envelope>(line) {
        Ok(env) if env.tessera_bundle == FORMAT => Ok(env),
        Ok(_) => Err(GateError::invalid_bundle("unknown bundle document format")),
        // A bare bundle (or anything else) is not a signed document.
        Err(_) => Err(GateError::UNSIGNED),
    }
}

fn message(payload: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(BUNDLE_DOMAIN.len() + payload.len());
    m.extend_from_slice(BUNDLE_DOMAIN);
    m.extend_from_slice(payload.as_bytes());
    m
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tessera_core::{EventId, TicketId};

    fn key(seed: u8) -> (Ed25519KeyPair, PinnedKeys) {
        let k = Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap();
        let mut pk = [0u8; 32];
        pk.copy_from_slice(ring::signature::KeyPair::public_key(&k).as_ref());
        (k, BTreeMap::from([(1, PublicKey(pk))]))
    }

    fn bundle(pins: &PinnedKeys, seq: u64) -> GateBundle {
        let mut b = GateBundle::new_s1(EventId(3), 15, 0, 100);
        b.issuer_keys = pins.clone();
        b.seq = seq;
        b
    }

    #[test]
    fn a_signed_bundle_opens_only_with_the_pinned_key_and_unaltered() {
        let (k, pins) = key(1);
        let text = sign(&bundle(&pins, 4), 1, &k).unwrap();
        assert_eq!(open(&text, &pins).unwrap().seq, 4);
        let (other_key, other) = key(2);
        // Another issuer's document: named as such, not as an edit.
        let foreign = sign(&bundle(&other, 4), 1, &other_key).unwrap();
        assert_eq!(open(&foreign, &pins), Err(GateError::not_pinned(1)));
        // This issuer's document at a gate pinned to the other: also not pinned.
        assert_eq!(open(&text, &other), Err(GateError::not_pinned(1)));
        assert_eq!(open(&text, &BTreeMap::new()), Err(GateError::not_pinned(1)));
        let altered = text.replacen("\\\"seq\\\":4", "\\\"seq\\\":5", 1);
        assert_ne!(altered, text);
        assert_eq!(open(&altered, &pins), Err(GateError::BAD_SIGNATURE));
        let bare = bundle(&pins, 4).to_json().unwrap();
        assert_eq!(open(&bare, &pins), Err(GateError::UNSIGNED));
        assert_eq!(open("", &pins), Err(GateError::UNSIGNED));
        let (b, pinned) = open_first(&text).unwrap();
        assert_eq!((b.seq, pinned), (4, pins));
    }

    #[test]
    fn updates_follow_in_order_and_never_go_back() {
        let (k, pins) = key(1);
        let t = TicketId([7; 16]);
        let mut whole = bundle(&pins, 4);
        whole.holder_names.insert(t, "Ada".into());
        let mut update = bundle(&pins, 6);
        update.since_seq = Some(4);
        update.changed.insert(t);
        update.revoked.insert(t);
        let text = format!(
            "{}\n{}\n",
            sign(&whole, 1, &k).unwrap(),
            sign(&update, 1, &k).unwrap()
        );
        let b = open(&text, &pins).unwrap();
        assert_eq!(b.seq, 6);
        assert!(b.revoked.contains(&t));
        assert!(
            b.holder_names.is_empty(),
            "the changed ticket lost its name"
        );
        // An update cannot start a document, skip changes, or go back.
        assert!(open(&sign(&update, 1, &k).unwrap(), &pins).is_err());
        let mut gap = update.clone();
        gap.since_seq = Some(5);
        let mut b = whole.clone();
        assert!(b.apply_update(gap).is_err());
        let mut old = update.clone();
        old.seq = 3;
        old.since_seq = Some(2);
        assert_eq!(
            b.apply_update(old),
            Err(GateError::BundleRolledBack { have: 4, got: 3 })
        );
        assert_eq!(b, whole, "a refused update changes nothing");
    }
}
