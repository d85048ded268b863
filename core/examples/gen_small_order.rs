//! Writes `tests/vectors/small_order.json`: every encoding of a small-order Ed25519 point
//! that `tessera_core::ed25519` refuses (libsodium's blocklist, both signs of `x`,
//! non-canonical encodings included), each with a keyless forgery that plain ring accepts.
//!
//! Deterministic (the forgery's message is the first 4-byte counter that works). Run:
//!
//! ```text
//! cargo run -p tessera-core --example gen_small_order
//! ```
//!
//! `tests/vectors/test_small_order.py` proves with its own curve arithmetic that the list is
//! exactly the small-order encodings; `core/tests/small_order.rs` checks the file matches
//! the Rust blocklist and that `ed25519::verify` refuses every forgery.

#[path = "../../tests/vectors/small_order.rs"]
mod vectors;

use std::error::Error;

use serde_json::{Value, json};
use tessera_core::ed25519::{SMALL_ORDER_BLOCKLIST, is_canonical_point, small_order_encodings};
use vectors::{forges, keyless_signature};

/// RFC 8032 canonical: `y < p`, and not `x = 0` with the sign bit set. `x = 0` only for
/// `y = 1` and `y = p − 1` (blocklist entries 1 and 4).
fn canonical(pk: &[u8; 32]) -> bool {
    let mut y = *pk;
    y[31] &= 0x7f;
    let x_is_zero = y == SMALL_ORDER_BLOCKLIST[1] || y == SMALL_ORDER_BLOCKLIST[4];
    is_canonical_point(pk) && !(x_is_zero && pk[31] & 0x80 != 0)
}

fn main() -> Result<(), Box<dyn Error>> {
    let sig = keyless_signature();
    let mut encodings = Vec::new();
    for pk in small_order_encodings() {
        // [k]A is the identity for about one message in ord(A): the first such counter.
        let message = (0u32..4096)
            .map(u32::to_be_bytes)
            .find(|m| forges(&pk, m))
            .ok_or_else(|| format!("ring accepts no keyless forgery for {}", hex::encode(pk)))?;
        encodings.push(json!({
            "public_key_hex": hex::encode(pk),
            "canonical": canonical(&pk),
            "forgery": {
                "message_hex": hex::encode(message),
                "signature_hex": hex::encode(sig),
            },
        }));
    }
    let value: Value = json!({
        "format": "ed25519-small-order",
        "generator": "cargo run -p tessera-core --example gen_small_order",
        "spec": "core/src/ed25519.rs; docs/DECISIONS.md",
        "blocklist_hex": SMALL_ORDER_BLOCKLIST.iter().map(hex::encode).collect::<Vec<_>>(),
        "encodings": encodings,
    });
    let path = vectors::path();
    let mut text = serde_json::to_string_pretty(&value)?;
    text.push('\n');
    std::fs::write(&path, text)?;
    println!("wrote {}", path.display());
    Ok(())
}
