//! Identifiers shared by the wallet, the gate and the issuer.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A ticket's identity: 16 random bytes chosen by the issuer, shown as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TicketId(pub [u8; 16]);

impl TicketId {
    /// The raw bytes, as they appear in a barcode payload.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// A fresh random id (used by issuers and tests).
    pub fn random() -> Result<Self, ring::error::Unspecified> {
        let mut b = [0u8; 16];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)?;
        Ok(Self(b))
    }
}

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TicketId({self})")
    }
}

/// Why a text is not a ticket id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a ticket id is 32 hex digits")]
pub struct BadTicketId;

impl FromStr for TicketId {
    type Err = BadTicketId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut b = [0u8; 16];
        hex::decode_to_slice(s, &mut b).map_err(|_| BadTicketId)?;
        Ok(Self(b))
    }
}

impl TryFrom<String> for TicketId {
    type Error = BadTicketId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<TicketId> for String {
    fn from(t: TicketId) -> String {
        t.to_string()
    }
}

// Across the FFI a ticket id is its 32 hex digits; a text that is not one is refused
// when it is lifted, before any Rust code sees it.
#[cfg(feature = "uniffi")]
uniffi::custom_type!(TicketId, String, {
    lower: |id| id.to_string(),
    try_lift: |text| Ok(text.trim().parse::<TicketId>()?),
});

/// An event's identity, chosen by the issuer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(pub u64);

#[cfg(feature = "uniffi")]
uniffi::custom_type!(EventId, u64, {
    lower: |id| id.0,
    try_lift: |n| Ok(EventId(n)),
});

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_id_round_trips_through_text() {
        let id = TicketId([0xab; 16]);
        let text = id.to_string();
        assert_eq!(text, "ab".repeat(16));
        assert_eq!(text.parse::<TicketId>(), Ok(id));
        assert_eq!("abc".parse::<TicketId>(), Err(BadTicketId));
        assert_eq!("zz".repeat(16).parse::<TicketId>(), Err(BadTicketId));
    }
}
