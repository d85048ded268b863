//! Looking for secrets in text that leaves a trust boundary (a gate bundle, `Debug`
//! output, a log line), in every form a secret could take there: hex in either case, a
//! list of byte values (Rust's `Debug` of a `Vec<u8>`, a JSON array; decimal or hex),
//! base32 and base64 (standard and URL-safe, at every byte alignment, so a secret inside a
//! longer encoded blob is found too), the raw bytes, and the bytes inside any token of the
//! text that decodes as hex, base32 or base64. Every 8-byte window of a secret is looked
//! for, so a part of a secret is found as well as the whole.
//!
//! [`issuer_secrets`] and [`wallet_secrets`] collect every secret the reference issuer's
//! database and a wallet's file (with its FAKE [`crate::FileKeyVault`]) hold.

use std::path::Path;

use data_encoding::{BASE32_NOPAD, BASE64_NOPAD, BASE64URL_NOPAD, Encoding};
use ring::digest::{SHA512, digest};
use ring::hmac;
use tessera_core::seal::{Kek, SealContext, open};

/// The length of the parts of a secret looked for (a secret shorter than this is looked
/// for whole). 8 random bytes turn up in a few kilobytes of unrelated text with a
/// probability far below 1e-9.
pub const WINDOW: usize = 8;

/// Named secrets to look for.
#[derive(Default)]
pub struct Secrets(Vec<(String, Vec<u8>)>);

impl Secrets {
    /// Adds a secret under a name that says what it is (never its value).
    /// A secret given as hex text (a bearer token) is added as text and as its bytes.
    pub fn add(&mut self, name: impl Into<String>, bytes: &[u8]) {
        let name = name.into();
        assert!(
            bytes.len() >= WINDOW,
            "{name}: a secret shorter than {WINDOW} bytes cannot be looked for reliably"
        );
        if let Ok(decoded) = hex::decode(bytes)
            && decoded.len() >= WINDOW
        {
            self.0.push((format!("{name} (as bytes)"), decoded));
        }
        self.0.push((name, bytes.to_vec()));
    }

    /// Adds every secret of `other`.
    pub fn extend(&mut self, other: Secrets) {
        self.0.extend(other.0);
    }

    /// These secrets but the one named `name` (one a bundle may hold by design), under
    /// whatever name it is also listed (a wallet's copy of an issuer's seed).
    pub fn except(&self, name: &str) -> Secrets {
        let value = self.get(name).to_vec();
        Secrets(
            self.0
                .iter()
                .filter(|(_, b)| *b != value)
                .cloned()
                .collect(),
        )
    }

    /// The secret named `name`.
    pub fn get(&self, name: &str) -> &[u8] {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
            .unwrap_or_else(|| panic!("no secret named {name}"))
    }

    /// How many secrets there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names, in the order they were added.
    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Panics when `text` holds any part of any secret in any form; `place` names the text.
    pub fn assert_none_in(&self, text: &str, place: &str) {
        for (name, bytes) in &self.0 {
            if let Some(form) = find(text, bytes) {
                panic!("{place} holds {name} ({form})");
            }
        }
    }
}

/// Panics when `text` holds any part of `secret` in any form.
pub fn assert_absent(text: &str, secret: &[u8], what: &str) {
    if let Some(form) = find(text, secret) {
        panic!("the text holds {what} ({form}): {text}");
    }
}

/// The first form in which some window of `secret` appears in `text`, if any.
pub fn find(text: &str, secret: &[u8]) -> Option<String> {
    let decoded = decoded_tokens(text);
    windows(secret).find_map(|w| {
        if contains(text.as_bytes(), w) {
            return Some("raw bytes".into());
        }
        if let Some((form, _)) = forms(w)
            .into_iter()
            .find(|(_, f)| text.contains(f.as_str()))
        {
            return Some(form.into());
        }
        decoded
            .iter()
            .find(|(_, bytes)| contains(bytes, w))
            .map(|(how, _)| format!("inside a token decoded as {how}"))
    })
}

/// The windows of `secret` looked for: every `WINDOW`-byte slice, or the whole secret.
fn windows(secret: &[u8]) -> impl Iterator<Item = &[u8]> {
    let n = WINDOW.min(secret.len());
    secret.windows(n)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Every text form of `w` that `text` is searched for.
fn forms(w: &[u8]) -> Vec<(&'static str, String)> {
    let list = |sep: &str, hex: bool| {
        w.iter()
            .map(|b| if hex { format!("{b:x}") } else { b.to_string() })
            .collect::<Vec<_>>()
            .join(sep)
    };
    let mut out = vec![
        ("hex", hex::encode(w)),
        ("HEX", hex::encode_upper(w)),
        ("decimal list", list(", ", false)),
        ("decimal list", list(",", false)),
        ("decimal list", list(" ", false)),
        ("hex list", list(", ", true)),
    ];
    for s in aligned(&BASE64_NOPAD, 6, w) {
        out.push(("base64", s));
    }
    for s in aligned(&BASE64URL_NOPAD, 6, w) {
        out.push(("base64url", s));
    }
    for s in aligned(&BASE32_NOPAD, 5, w) {
        out.push(("base32 lower case", s.to_ascii_lowercase()));
        out.push(("base32", s));
    }
    out
}

/// The characters that encode `w` and nothing else, at each byte offset `w` can have
/// inside a longer encoded blob (base64: 3, base32: 5).
fn aligned(enc: &Encoding, bits: usize, w: &[u8]) -> Vec<String> {
    let group = if bits == 6 { 3 } else { 5 };
    (0..group)
        .map(|k| {
            let mut buf = vec![0u8; k];
            buf.extend_from_slice(w);
            let e = enc.encode(&buf);
            let start = (8 * k).div_ceil(bits);
            let end = 8 * (k + w.len()) / bits;
            e[start..end].to_owned()
        })
        .collect()
}

/// The bytes of every token of `text` (a run of base64/base32/hex characters, at least 12
/// long) that decodes as hex, base32 or base64.
fn decoded_tokens(text: &str) -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let is_token = |c: char| c.is_ascii_alphanumeric() || "+/-_".contains(c);
    for token in text.split(|c: char| !is_token(c)).filter(|t| t.len() >= 12) {
        if let Ok(b) = hex::decode(token) {
            out.push(("hex", b));
        }
        for (how, enc) in [
            ("base64", &BASE64_NOPAD),
            ("base64url", &BASE64URL_NOPAD),
            ("base32", &BASE32_NOPAD),
        ] {
            let t = if how == "base32" {
                token.to_ascii_uppercase()
            } else {
                token.to_owned()
            };
            // Drop a trailing partial character so any length decodes.
            let bits = if how == "base32" { 5 } else { 6 };
            let whole = t.len() * bits / 8 * 8 / bits;
            for end in [whole, whole.saturating_sub(1)] {
                if let Ok(b) = enc.decode(&t.as_bytes()[..end]) {
                    out.push((how, b));
                    break;
                }
            }
        }
    }
    out
}

/// Every secret the reference issuer of `h` keeps in its database (the SQLite file in its
/// data dir, or its PostgreSQL database): its signing seed (and both halves of the
/// SHA-512 expansion Ed25519 derives from it), every `meta` value (admin token, the SMS
/// code key), every event seed and release secret, every ticket seed, every stored SMS
/// code MAC and token hash.
pub fn issuer_secrets(h: &crate::Harness) -> Secrets {
    let mut s = Secrets::default();
    // (name, key column, secret column, table), the key as text, the secret as bytes.
    let queries = [
        ("issuer signing seed", "key_id", "seed", "issuer_keys"),
        ("issuer meta", "key", "value", "meta"),
        ("event seed", "event_id", "event_seed", "events"),
        ("release secret", "event_id", "release_secret", "events"),
        ("ticket seed", "id", "seed", "tickets"),
        ("SMS code MAC", "device", "code_mac", "sms_codes"),
        ("bearer token hash", "role", "token_hash", "tokens"),
    ];
    for (name, key, secret, table) in queries {
        for (k, v) in stored_rows(h, key, secret, table) {
            s.add(format!("{name} {k}"), &v);
        }
    }
    let seeds: Vec<(String, Vec<u8>)> =
        s.0.iter()
            .filter(|(n, _)| n.starts_with("issuer signing seed"))
            .cloned()
            .collect();
    assert!(!seeds.is_empty(), "the issuer has a signing key");
    for (n, seed) in seeds {
        let h = digest(&SHA512, &seed);
        s.add(format!("{n}: Ed25519 scalar half"), &h.as_ref()[..32]);
        s.add(format!("{n}: Ed25519 prefix half"), &h.as_ref()[32..]);
    }
    s
}

/// `(key, secret)` of every row of `table`, read beside the issuer: the key as text (bytes
/// in hex), the secret's bytes.
fn stored_rows(h: &crate::Harness, key: &str, secret: &str, table: &str) -> Vec<(String, Vec<u8>)> {
    if let Some(url) = h.database_url() {
        let sql = format!("SELECT {key}::text, encode({secret}, 'hex') FROM {table}");
        return crate::harness::psql(url, &sql)
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (k, v) = l.rsplit_once('|').unwrap();
                // A bytea key reads `\\x0a1b…`: named as SQLite's hex() names it.
                let k = k
                    .strip_prefix("\\x")
                    .map_or_else(|| k.to_owned(), str::to_uppercase);
                (k, hex::decode(v).unwrap())
            })
            .collect();
    }
    let c = rusqlite::Connection::open_with_flags(
        h.data_dir().join("issuer.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut st = c
        .prepare(&format!("SELECT {key}, {secret} FROM {table}"))
        .unwrap();
    st.query_map([], |r| {
        let k = match r.get::<_, rusqlite::types::Value>(0)? {
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Text(t) => t,
            rusqlite::types::Value::Blob(b) => hex::encode_upper(b),
            other => format!("{other:?}"),
        };
        Ok((k, r.get(1)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// A ticket row's id, version and sealed seeds.
type SealedSeeds = (Vec<u8>, u32, Vec<u8>, Option<Vec<u8>>);

/// A wallet's secrets, from its file and the KEK its FAKE [`crate::FileKeyVault`] keeps
/// in `vault_file`: the KEK, the row key derived from it, the device signing seed
/// (checked against the wallet's device public key), and every ticket seed, event seed
/// and release secret it holds (opened with the KEK).
pub fn wallet_secrets(db: &Path, vault_file: &Path) -> Secrets {
    let mut raw = std::fs::read(vault_file).unwrap();
    let mut s = Secrets::default();
    s.add("wallet KEK", &raw);
    let row_key = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &raw),
        b"tessera/v1/row-key\0",
    );
    s.add("wallet row key", row_key.as_ref());
    let kek = Kek::from_bytes(&mut raw).unwrap();
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    let meta = |k: &str| -> Vec<u8> {
        c.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
            .unwrap()
    };
    let wallet_id = String::from_utf8(meta("wallet_id")).unwrap();
    let sealed = meta("device_seed");
    let seed = open(
        &kek,
        &SealContext {
            table: "meta",
            column: "device_seed",
            row: wallet_id.as_bytes(),
            version: 1,
        },
        &sealed,
    )
    .unwrap();
    let kp = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
    assert_eq!(
        ring::signature::KeyPair::public_key(&kp).as_ref(),
        &meta("device_public_key")[..],
        "the device seed opened is the wallet's"
    );
    s.add("device signing seed", &seed);
    let h = digest(&SHA512, &seed);
    s.add("device Ed25519 scalar half", &h.as_ref()[..32]);
    // Every seed and release secret the wallet holds, opened with its KEK.
    let mut st = c
        .prepare("SELECT ticket_id, version, sealed_ticket_seed, sealed_event_seed FROM tickets")
        .unwrap();
    let rows: Vec<SealedSeeds> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (id, version, ticket_seed, event_seed) in rows {
        for (column, sealed) in [
            ("ticket_seed", Some(ticket_seed)),
            ("event_seed", event_seed),
        ] {
            // A ticket moved to another phone keeps its row, not its seeds.
            let Some(sealed) = sealed.filter(|b| !b.is_empty()) else {
                continue;
            };
            let ctx = SealContext {
                table: "tickets",
                column,
                row: &id,
                version,
            };
            let plain = open(&kek, &ctx, &sealed).unwrap();
            s.add(
                format!("wallet {column} {}", hex::encode_upper(&id)),
                &plain,
            );
        }
    }
    let mut st = c
        .prepare("SELECT event_id, version, sealed FROM release_secrets")
        .unwrap();
    let rows: Vec<(i64, u32, Vec<u8>)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (event, version, sealed) in rows {
        let row = (event as u64).to_be_bytes();
        let ctx = SealContext {
            table: "release_secrets",
            column: "sealed",
            row: &row,
            version,
        };
        let plain = open(&kek, &ctx, &sealed).unwrap();
        s.add(format!("wallet release secret {event}"), &plain);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: [u8; 32] = [
        0x9f, 0x11, 0x02, 0xe4, 0x37, 0x80, 0x5a, 0xc6, 0x0d, 0x73, 0xb9, 0x2e, 0x41, 0xf8, 0x06,
        0x9c, 0x55, 0xaa, 0x18, 0xd2, 0x6b, 0x3f, 0xe0, 0x27, 0x84, 0x01, 0xcd, 0x70, 0x5e, 0xb3,
        0x29, 0x66,
    ];

    #[test]
    fn finds_a_secret_in_every_form_and_at_every_offset() {
        let half = &SECRET[..16];
        let mut cases: Vec<String> = vec![
            hex::encode(SECRET),
            hex::encode_upper(half),
            format!("Seed({:?})", SECRET.to_vec()),
            format!(
                "{{\"seed\":{}}}",
                serde_json::to_string(&SECRET.to_vec()).unwrap()
            ),
            format!("{:x?}", &SECRET[3..20]),
        ];
        for prefix in 0..5usize {
            let mut blob = vec![0x42u8; prefix];
            blob.extend_from_slice(&SECRET);
            blob.extend_from_slice(b"trailer");
            cases.push(format!("x = \"{}\"", BASE64_NOPAD.encode(&blob)));
            cases.push(format!("x = {}", data_encoding::BASE64.encode(&blob)));
            cases.push(BASE64URL_NOPAD.encode(&blob));
            cases.push(BASE32_NOPAD.encode(&blob).to_ascii_lowercase());
            cases.push(data_encoding::BASE32.encode(&blob));
        }
        for text in &cases {
            assert!(find(text, &SECRET).is_some(), "missed in {text}");
        }
    }

    #[test]
    fn does_not_flag_other_bytes() {
        let mut other = SECRET;
        for (i, b) in other.iter_mut().enumerate() {
            if i % 7 == 3 {
                *b ^= 0x01;
            }
        }
        let text = format!(
            "{} {:?} {} {}",
            hex::encode(other),
            other.to_vec(),
            BASE64_NOPAD.encode(&other),
            BASE32_NOPAD.encode(&other)
        );
        assert_eq!(find(&text, &SECRET), None, "{text}");
        assert_eq!(find("Kek(..)", &SECRET), None);
    }
}
