//! Rotating codes: the barcode formats of docs/PROTOCOL.md (T1, S1 and the compact C1)
//! and the pieces they share, and the release object a venue shows at the door (§14).

pub mod c1;
pub mod release;
pub mod release_object;
pub mod s1;
pub mod t1;
pub mod totp;

use data_encoding::BASE32_NOPAD;

pub use c1::C1Code;
pub use s1::{Credential, S1Code, SignedCredential};
pub use t1::T1Code;

/// Why a payload could not be parsed. Deliberately coarse: every malformed input is rejected alike.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not a Tessera code, or a field is out of range, or bytes are missing or left over.
    #[error("malformed code: {0}")]
    Malformed(&'static str),
}

/// The time step of `unix_ms` for a `period_secs` rotation (RFC 6238 with T0 = 0).
///
/// Times before 1970 are step 0: no real ticket lives there, and the gate rejects them as stale.
pub fn step_at(unix_ms: i64, period_secs: u8) -> u64 {
    let period_ms = i64::from(period_secs.max(1)) * 1000;
    u64::try_from(unix_ms.div_euclid(period_ms)).unwrap_or(0)
}

/// The Unix ms at which `step` begins.
pub fn step_start_ms(step: u64, period_secs: u8) -> i64 {
    let period_ms = i64::from(period_secs.max(1)) * 1000;
    i64::try_from(step)
        .unwrap_or(i64::MAX)
        .saturating_mul(period_ms)
}

/// A code of any format, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    /// A T1 (TOTP) code.
    T1(T1Code),
    /// An S1 (signed) code.
    S1(Box<S1Code>),
    /// A C1 (compact signed) code: its credential is in the gate's bundle.
    C1(C1Code),
}

impl Code {
    /// Parses QR payload text of either format.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        if let Some(rest) = text.strip_prefix(t1::PREFIX) {
            T1Code::from_bytes(&decode_body(rest)?).map(Code::T1)
        } else if let Some(rest) = text.strip_prefix(s1::PREFIX) {
            S1Code::from_bytes(&decode_body(rest)?).map(|c| Code::S1(Box::new(c)))
        } else if let Some(rest) = text.strip_prefix(c1::PREFIX) {
            C1Code::from_digits(rest).map(Code::C1)
        } else {
            Err(ParseError::Malformed("unknown prefix"))
        }
    }
}

/// Largest body a payload may carry; bounds parsing work on hostile input.
pub const MAX_BODY_LEN: usize = 1024;

pub(crate) fn encode_body(prefix: &str, body: &[u8]) -> String {
    let mut s = String::with_capacity(prefix.len() + BASE32_NOPAD.encode_len(body.len()));
    s.push_str(prefix);
    BASE32_NOPAD.encode_append(body, &mut s);
    s
}

pub(crate) fn decode_body(text: &str) -> Result<Vec<u8>, ParseError> {
    if text.len() > BASE32_NOPAD.encode_len(MAX_BODY_LEN) {
        return Err(ParseError::Malformed("too long"));
    }
    BASE32_NOPAD
        .decode(text.as_bytes())
        .map_err(|_| ParseError::Malformed("not base32"))
}

/// A cursor over payload bytes that fails instead of panicking on short input.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(ParseError::Malformed("length"))?;
        let s = self
            .bytes
            .get(self.pos..end)
            .ok_or(ParseError::Malformed("truncated"))?;
        self.pos = end;
        Ok(s)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], ParseError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, ParseError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, ParseError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, ParseError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn offset(&self) -> usize {
        self.pos
    }

    pub(crate) fn finish(&self) -> Result<(), ParseError> {
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(ParseError::Malformed("trailing bytes"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_follow_rfc6238_with_t0_zero() {
        assert_eq!(step_at(59_000, 30), 1);
        assert_eq!(step_at(29_999, 30), 0);
        assert_eq!(step_at(30_000, 30), 1);
        assert_eq!(step_at(1_111_111_109_000, 30), 0x023523EC);
        assert_eq!(step_at(-1, 30), 0);
        assert_eq!(step_start_ms(2, 15), 30_000);
        assert_eq!(step_at(step_start_ms(123_456, 7), 7), 123_456);
    }

    #[test]
    fn unknown_prefixes_and_bad_base32_are_malformed() {
        for t in ["", "X1:AAAA", "T1:", "T1:!!!", "S1:a", "t1:AAAA"] {
            assert!(Code::parse(t).is_err(), "{t}");
        }
        let huge = format!("S1:{}", "A".repeat(5000));
        assert_eq!(Code::parse(&huge), Err(ParseError::Malformed("too long")));
    }
}
