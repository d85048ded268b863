//! Row authentication: every row the wallet reads for a reveal or a frame carries an
//! HMAC-SHA-256 tag under a key derived from the wallet's key-encryption key.
//!
//! Sealing protects secrets; this protects everything else a decision reads (reveal
//! window, verifications, time anchor, high-water mark, revocation, device key…). A
//! rooted phone can edit the file, but without the KEK it cannot make a tag that
//! verifies, so an edited, inserted or moved row reads as damaged, never as data.
//!
//! The tag covers the table name and every column value of the row, primary key
//! included, each typed and length-prefixed, so a value cannot migrate to another row,
//! column or table. What a per-row tag cannot see is a whole row deleted, or replaced by
//! an older authentic copy of itself (docs/SECURITY.md, "Known limits").

use ring::hmac;
use zeroize::Zeroizing;

use crate::seal::Kek;

/// Domain tag of the row key derivation.
const KEY_DOMAIN: &[u8] = b"tessera/v1/row-key\0";
/// Domain tag of every row message.
const ROW_DOMAIN: &[u8] = b"tessera/v1/row\0";
/// Length of a row tag.
pub const ROW_MAC_LEN: usize = 32;

/// One column value as the tag sees it.
#[derive(Clone, Copy, Debug)]
pub enum Field<'a> {
    /// SQL NULL.
    Null,
    /// An INTEGER column.
    Int(i64),
    /// A TEXT column.
    Text(&'a str),
    /// A BLOB column.
    Blob(&'a [u8]),
}

impl<'a> From<Option<&'a str>> for Field<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(Field::Null, Field::Text)
    }
}

impl<'a> From<Option<&'a [u8]>> for Field<'a> {
    fn from(v: Option<&'a [u8]>) -> Self {
        v.map_or(Field::Null, Field::Blob)
    }
}

/// The key rows are tagged with, derived from the KEK; wiped when dropped.
pub struct RowKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for RowKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RowKey(..)")
    }
}

impl RowKey {
    /// `HMAC-SHA-256(KEK, "tessera/v1/row-key\0")`: a key of its own, so a tag never
    /// doubles as anything the KEK seals.
    pub fn derive(kek: &Kek) -> Self {
        let k = hmac::Key::new(hmac::HMAC_SHA256, kek.expose());
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(hmac::sign(&k, KEY_DOMAIN).as_ref());
        Self(out)
    }

    fn message(table: &str, fields: &[Field<'_>]) -> Vec<u8> {
        let mut m = Vec::with_capacity(64 + 32 * fields.len());
        m.extend_from_slice(ROW_DOMAIN);
        m.extend_from_slice(table.as_bytes());
        m.push(0);
        // At most a dozen columns per table.
        m.push(u8::try_from(fields.len()).unwrap_or(u8::MAX));
        for f in fields {
            let (kind, bytes): (u8, &[u8]) = match f {
                Field::Null => (0, &[]),
                Field::Int(_) => (1, &[]),
                Field::Text(s) => (2, s.as_bytes()),
                Field::Blob(b) => (3, b),
            };
            m.push(kind);
            if let Field::Int(n) = f {
                m.extend_from_slice(&n.to_be_bytes());
            } else if kind != 0 {
                m.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
                m.extend_from_slice(bytes);
            }
        }
        m
    }

    /// The tag of a row of `table` whose columns hold `fields`, in schema order.
    pub fn tag(&self, table: &str, fields: &[Field<'_>]) -> Vec<u8> {
        let k = hmac::Key::new(hmac::HMAC_SHA256, &self.0[..]);
        hmac::sign(&k, &Self::message(table, fields))
            .as_ref()
            .to_vec()
    }

    /// Whether `mac` is the tag of this row (constant time). A missing tag never is.
    pub fn verifies(&self, table: &str, fields: &[Field<'_>], mac: Option<&[u8]>) -> bool {
        let Some(mac) = mac else {
            return false;
        };
        let k = hmac::Key::new(hmac::HMAC_SHA256, &self.0[..]);
        hmac::verify(&k, &Self::message(table, fields), mac).is_ok()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(b: u8) -> RowKey {
        let mut raw = [b; 32];
        RowKey::derive(&Kek::from_bytes(&mut raw).unwrap())
    }

    #[test]
    fn a_tag_binds_table_order_type_and_value() {
        let k = key(1);
        let row = [Field::Int(7), Field::Text("ab"), Field::Null];
        let t = k.tag("events", &row);
        assert_eq!(t.len(), ROW_MAC_LEN);
        assert!(k.verifies("events", &row, Some(&t)));
        assert!(!k.verifies("tickets", &row, Some(&t)));
        assert!(!k.verifies("events", &row, None));
        for other in [
            [Field::Int(8), Field::Text("ab"), Field::Null],
            [Field::Int(7), Field::Text("ab "), Field::Null],
            [Field::Int(7), Field::Blob(b"ab"), Field::Null],
            [Field::Int(7), Field::Text("ab"), Field::Blob(&[])],
            [Field::Text("ab"), Field::Int(7), Field::Null],
        ] {
            assert!(!k.verifies("events", &other, Some(&t)), "{other:?}");
        }
        // Length prefixes: moving bytes between two columns changes the tag.
        let a = k.tag("t", &[Field::Text("ab"), Field::Text("c")]);
        assert!(!k.verifies("t", &[Field::Text("a"), Field::Text("bc")], Some(&a)));
        // Another wallet's key never verifies.
        assert!(!key(2).verifies("events", &row, Some(&t)));
        assert_eq!(format!("{k:?}"), "RowKey(..)");
    }
}
