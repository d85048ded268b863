//! The small-order Ed25519 keys of `small_order.json` (issue 9, item 1) and the keyless
//! signature an attacker "signs" with, for every Rust test that attacks with them (core's
//! sync and signature tests, the gate, the issuer) and for `gen_small_order`, which writes
//! the file.
//!
//! Included with `#[path]` rather than put in a crate: core, the gate and the issuer each
//! need it in their own tests, and no crate they can all depend on holds test code. The
//! file is read at run time, not compiled in, so the generator builds before it exists.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use ring::signature::{ED25519, UnparsedPublicKey};

/// `tests/vectors/small_order.json`. Every crate that includes this module sits one level
/// below the workspace root.
pub fn path() -> PathBuf {
    [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "tests",
        "vectors",
        "small_order.json",
    ]
    .iter()
    .collect()
}

/// The file, parsed.
pub fn document() -> serde_json::Value {
    let path = path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run the gen_small_order example)", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// One encoding of the file with the forgery plain ring accepts for it.
pub struct Entry {
    /// The public key encoding.
    pub key: [u8; 32],
    /// Whether the encoding is canonical (RFC 8032).
    pub canonical: bool,
    /// A message whose keyless signature ring accepts under `key`.
    pub message: Vec<u8>,
    /// That signature (always [`keyless_signature`]).
    pub signature: Vec<u8>,
}

/// Every encoding of the file, in its order.
pub fn entries() -> Vec<Entry> {
    document()["encodings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut key = [0u8; 32];
            hex::decode_to_slice(e["public_key_hex"].as_str().unwrap(), &mut key).unwrap();
            Entry {
                key,
                canonical: e["canonical"].as_bool().unwrap(),
                message: hex::decode(e["forgery"]["message_hex"].as_str().unwrap()).unwrap(),
                signature: hex::decode(e["forgery"]["signature_hex"].as_str().unwrap()).unwrap(),
            }
        })
        .collect()
}

/// The file's blocklist (one `y` per small-order point), hex.
pub fn blocklist() -> Vec<String> {
    document()["blocklist_hex"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// Every small-order encoding, canonical or not: all 14, or the test would attack with
/// fewer keys than it claims.
pub fn small_order_keys() -> Vec<[u8; 32]> {
    let keys: Vec<[u8; 32]> = entries().iter().map(|e| e.key).collect();
    assert_eq!(keys.len(), 14);
    keys
}

/// R = identity, S = 0: a signature made without any private key.
pub fn keyless_signature() -> [u8; 64] {
    let mut s = [0u8; 64];
    s[0] = 1;
    s
}

/// Whether plain ring (without Tessera's checks) accepts `sig` over `msg` under `pk`.
pub fn ring_accepts(pk: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    UnparsedPublicKey::new(&ED25519, pk)
        .verify(msg, sig)
        .is_ok()
}

/// Whether plain ring accepts the keyless signature over `msg` under `pk`: for a
/// small-order key, true for about one message in the point's order, which the attacker
/// finds by trying.
pub fn forges(pk: &[u8; 32], msg: &[u8]) -> bool {
    ring_accepts(pk, msg, &keyless_signature())
}
