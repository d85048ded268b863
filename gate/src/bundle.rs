//! The gate bundle: everything a gate needs to judge codes offline, as one JSON document.
//!
//! An S1 bundle holds public material only: issuer public keys, revocations, policy and
//! holder names. T1 needs the ticket seeds, so they sit in [`GateBundle::t1`], an
//! `Option` that S1 bundles leave `None`; that a stolen scanner cannot mint S1 tickets
//! is then visible in the type. The one secret an S1 bundle may carry is the release
//! secret of a strict just-in-time event (see [`GateBundle::release_secrets`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tessera_core::code::SignedCredential;
use tessera_core::policy::{MAX_PERIOD_SECS, MIN_PERIOD_SECS};
use tessera_core::{EventId, TicketId, TotpAlgorithm};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::GateError;

macro_rules! hex32 {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; 32]);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), hex::encode(self.0))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&hex::encode(self.0))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                let mut b = [0u8; 32];
                hex::decode_to_slice(&s, &mut b)
                    .map_err(|_| serde::de::Error::custom("expected 64 hex digits"))?;
                Ok(Self(b))
            }
        }
    };
}

hex32!(
    /// A 32-byte Ed25519 public key (an issuer's), written as 64 hex digits.
    PublicKey
);
hex32!(
    /// SHA-256 of an S1 credential's signed bytes (`SignedCredential::digest`), written as 64 hex digits.
    CredentialDigest
);

/// Secret bytes (a TOTP seed or a release secret): wiped on drop, never printed.
///
/// Serialized as hex because the bundle is JSON; the transient hex text is wiped too.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps secret bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The bytes, for the HMAC that needs them; do not copy them elsewhere.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Whether there are no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        // Lengths are not secret; contents are compared without an early exit.
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

impl Eq for Secret {}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = Zeroizing::new(hex::encode(&self.0));
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Zeroizing::new(String::deserialize(d)?);
        hex::decode(text.as_bytes())
            .map(Self)
            .map_err(|_| serde::de::Error::custom("secret must be hex"))
    }
}

/// An issuer-signed S1 credential (credential ‖ issuer signature, hex in JSON) that a
/// compact C1 code names by its reference: public material, like an issuer key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompactCredential(pub SignedCredential);

impl Serialize for CompactCredential {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0.to_bytes()))
    }
}

impl<'de> Deserialize<'de> for CompactCredential {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(text.as_bytes())
            .map_err(|_| serde::de::Error::custom("credential must be hex"))?;
        SignedCredential::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| serde::de::Error::custom("not a signed S1 credential"))
    }
}

/// Whether a ticket already admitted may be admitted again (leave and come back).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ReentryPolicy {
    /// One admission per ticket.
    Deny,
    /// Every fresh code admits again (a replayed code still does not).
    Allow,
    /// Follow the re-entry flag the issuer signed into each S1 credential; T1 tickets get one admission.
    #[default]
    FollowCredential,
}

/// The T1 secrets: per-ticket TOTP seeds, and the TOTP parameters the gate insists on.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct T1Secrets {
    /// HMAC of the TOTP values; a code claiming another is rejected.
    pub algorithm: TotpAlgorithm,
    /// Digits of each TOTP value (6–9).
    pub digits: u8,
    /// Per-event seed, when the event's codes carry an event TOTP too.
    #[serde(default)]
    pub event_seed: Option<Secret>,
    /// Per-ticket seeds by ticket id.
    pub ticket_seeds: BTreeMap<TicketId, Secret>,
}

impl fmt::Debug for T1Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("T1Secrets")
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field(
                "event_seed",
                &self.event_seed.as_ref().map(|_| "<redacted>"),
            )
            .field("ticket_seeds", &self.ticket_seeds.len())
            .finish()
    }
}

/// Everything a gate needs to judge the codes of one event offline.
///
/// Gates receive it signed by the issuer ([`crate::signed_bundle`]), never as bare JSON.
/// The same type carries an update: with [`since_seq`](Self::since_seq) set it lists only
/// the tickets that changed after that sequence number ([`GateBundle::apply_update`]).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateBundle {
    /// The event this gate admits to; codes for any other event are `WrongEvent`.
    pub event: EventId,
    /// The issuer's change sequence number of the event when this was issued: it only
    /// grows, so a gate can tell a newer bundle from an older one and ask for what
    /// changed since.
    #[serde(default)]
    pub seq: u64,
    /// When the issuer made this bundle, Unix ms: a gate reports its bundle's age with
    /// every verdict and warns when it is old.
    #[serde(default)]
    pub issued_at_ms: i64,
    /// The event is strict just-in-time: every code must carry a release MAC. Carried so
    /// that a bundle fetched before the release secret (which comes only shortly before
    /// the window) refuses T1 codes without a MAC instead of admitting them.
    #[serde(default)]
    pub strict_jit: bool,
    /// An update, not a whole bundle: the sequence number it follows. Per-ticket entries
    /// are then given only for the tickets in [`changed`](Self::changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_seq: Option<u64>,
    /// In an update, the tickets whose entries (revocation, name, seat, seed) it replaces:
    /// a changed ticket absent from a map has lost that entry.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub changed: BTreeSet<TicketId>,
    /// Rotation period of the event's codes, seconds (5–60).
    pub period_secs: u8,
    /// Unix seconds from which the event admits (an S1 credential's own window applies too).
    pub valid_from: i64,
    /// Unix seconds at which admission ends.
    pub valid_until: i64,
    /// Issuer Ed25519 public keys by key id (the S1 credential names its key id).
    pub issuer_keys: BTreeMap<u32, PublicKey>,
    /// Revoked tickets.
    #[serde(default)]
    pub revoked: BTreeSet<TicketId>,
    /// Revoked S1 credentials, for a ticket rebound to another phone: the old binding's
    /// credential still carries a valid issuer signature, so it is revoked by digest.
    #[serde(default)]
    pub revoked_credentials: BTreeSet<CredentialDigest>,
    /// Whether a ticket may enter more than once.
    #[serde(default)]
    pub reentry: ReentryPolicy,
    /// Holder names of personalised tickets, shown on admission for an ID check (personal data).
    #[serde(default)]
    pub holder_names: BTreeMap<TicketId, String>,
    /// Seat labels of tickets whose codes carry none (T1); S1 codes carry their signed seat.
    #[serde(default)]
    pub seats: BTreeMap<TicketId, String>,
    /// Release secrets of strict just-in-time events, by event id. A code of an event
    /// listed here must carry a valid release MAC. This is the one secret an S1 bundle may
    /// hold: every wallet receives it when the reveal window opens, and it cannot make a
    /// code on its own (an S1 code still needs the issuer's and the device's signatures).
    #[serde(default)]
    pub release_secrets: BTreeMap<EventId, Secret>,
    /// T1 only: the ticket seeds. S1 bundles leave this `None`.
    #[serde(default)]
    pub t1: Option<T1Secrets>,
    /// The issuer-signed credentials of the event's bindings, which compact C1 codes name
    /// by a reference (docs/PROTOCOL.md §7.7): the code carries the reference, the gate
    /// the credential. Public material, in digest order. A ticket rebound or transferred
    /// has its new credential here too; the old one is revoked by digest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<CompactCredential>,
}

impl fmt::Debug for GateBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Counts only: names are personal data and seeds are secrets.
        f.debug_struct("GateBundle")
            .field("event", &self.event)
            .field("seq", &self.seq)
            .field("issued_at_ms", &self.issued_at_ms)
            .field("strict_jit", &self.strict_jit)
            .field("since_seq", &self.since_seq)
            .field("changed", &self.changed.len())
            .field("period_secs", &self.period_secs)
            .field("valid_from", &self.valid_from)
            .field("valid_until", &self.valid_until)
            .field("issuer_keys", &self.issuer_keys)
            .field("revoked", &self.revoked.len())
            .field("revoked_credentials", &self.revoked_credentials.len())
            .field("reentry", &self.reentry)
            .field("holder_names", &self.holder_names.len())
            .field("seats", &self.seats.len())
            .field("release_secrets", &self.release_secrets.len())
            .field("t1", &self.t1)
            .field("credentials", &self.credentials.len())
            .finish()
    }
}

impl GateBundle {
    /// An S1 bundle with no keys, revocations or names yet: public material only.
    pub fn new_s1(event: EventId, period_secs: u8, valid_from: i64, valid_until: i64) -> Self {
        Self {
            event,
            seq: 0,
            issued_at_ms: 0,
            strict_jit: false,
            since_seq: None,
            changed: BTreeSet::new(),
            period_secs,
            valid_from,
            valid_until,
            issuer_keys: BTreeMap::new(),
            revoked: BTreeSet::new(),
            revoked_credentials: BTreeSet::new(),
            reentry: ReentryPolicy::default(),
            holder_names: BTreeMap::new(),
            seats: BTreeMap::new(),
            release_secrets: BTreeMap::new(),
            t1: None,
            credentials: Vec::new(),
        }
    }

    /// Whether the bundle carries any secret (T1 seeds or a release secret).
    pub fn holds_private_material(&self) -> bool {
        self.t1.is_some() || !self.release_secrets.is_empty()
    }

    /// The bundle as JSON (what an issuer hands to its gates).
    pub fn to_json(&self) -> Result<String, GateError> {
        serde_json::to_string(self).map_err(|e| GateError::export(e.to_string()))
    }

    /// Reads and validates a bundle from bare JSON: for test vectors and tools. A gate
    /// never does this with what it receives: it opens the issuer's signed document
    /// ([`crate::signed_bundle`]), which refuses a bare bundle.
    pub fn from_json(text: &str) -> Result<Self, GateError> {
        // A JSON object only: serde would also read a struct from an array of its fields.
        if !text.trim_start().starts_with('{') {
            return Err(GateError::invalid_bundle("a bundle is a JSON object"));
        }
        let b: Self = serde_json::from_str(text).map_err(|e| {
            // serde_json's message quotes no input for these types, but say only where.
            GateError::invalid_bundle(format!(
                "bundle JSON at line {} column {}",
                e.line(),
                e.column()
            ))
        })?;
        b.validate()?;
        Ok(b)
    }

    /// Whether this is an update (a part of a bundle) rather than a whole bundle.
    pub fn is_update(&self) -> bool {
        self.since_seq.is_some()
    }

    /// Applies an update the issuer made for this bundle's sequence number or an earlier
    /// one: the event-wide fields are replaced, the changed tickets' entries replaced,
    /// revoked credentials added. An update for another event, one that skips changes
    /// this bundle does not have, or one older than this bundle is refused, and the
    /// bundle is left as it was.
    pub fn apply_update(&mut self, update: GateBundle) -> Result<(), GateError> {
        let Some(since) = update.since_seq else {
            return Err(GateError::invalid_bundle("not an update"));
        };
        if update.event != self.event {
            return Err(GateError::invalid_bundle("an update for another event"));
        }
        if since > self.seq {
            return Err(GateError::invalid_bundle(
                "the update skips changes this bundle lacks: fetch the whole bundle",
            ));
        }
        if update.seq < self.seq {
            return Err(GateError::BundleRolledBack {
                have: self.seq,
                got: update.seq,
            });
        }
        let mut next = self.clone();
        next.credentials
            .retain(|c| !update.changed.contains(&c.0.credential.ticket));
        for id in &update.changed {
            next.revoked.remove(id);
            next.holder_names.remove(id);
            next.seats.remove(id);
            if let Some(t1) = &mut next.t1 {
                t1.ticket_seeds.remove(id);
            }
        }
        let GateBundle {
            seq,
            issued_at_ms,
            strict_jit,
            period_secs,
            valid_from,
            valid_until,
            issuer_keys,
            revoked,
            revoked_credentials,
            reentry,
            holder_names,
            seats,
            release_secrets,
            t1,
            credentials,
            ..
        } = update;
        // A changed ticket's credentials are replaced by the update's, kept in digest order.
        next.credentials.extend(credentials);
        next.credentials.sort_by_key(|c| c.0.digest());
        // One entry per credential: a digest names its bytes (§7.5: a key id is one key).
        next.credentials.dedup_by_key(|c| c.0.digest());
        next.seq = seq;
        next.issued_at_ms = issued_at_ms;
        next.strict_jit = strict_jit;
        next.period_secs = period_secs;
        next.valid_from = valid_from;
        next.valid_until = valid_until;
        next.issuer_keys = issuer_keys;
        next.revoked.extend(revoked);
        next.revoked_credentials.extend(revoked_credentials);
        next.reentry = reentry;
        next.holder_names.extend(holder_names);
        next.seats.extend(seats);
        next.release_secrets = release_secrets;
        next.t1 = match (next.t1.take(), t1) {
            (Some(mut have), Some(got)) => {
                have.algorithm = got.algorithm;
                have.digits = got.digits;
                have.event_seed = got.event_seed;
                have.ticket_seeds.extend(got.ticket_seeds);
                Some(have)
            }
            (None, None) => None,
            _ => {
                return Err(GateError::invalid_bundle(
                    "the update changes the event's code format: fetch the whole bundle",
                ));
            }
        };
        next.validate()?;
        *self = next;
        Ok(())
    }

    /// Checks the invariants the verifier relies on.
    pub fn validate(&self) -> Result<(), GateError> {
        if !(MIN_PERIOD_SECS..=MAX_PERIOD_SECS).contains(&self.period_secs) {
            return Err(GateError::invalid_bundle("period must be 5–60 s"));
        }
        if self.valid_until <= self.valid_from {
            return Err(GateError::invalid_bundle("window closes before it opens"));
        }
        // A small-order issuer key "signs" credentials without any private key; a
        // non-canonical one is another key's alias. Refuse the bundle, not each scan.
        if self
            .issuer_keys
            .values()
            .any(|k| tessera_core::ed25519::check_public_key(&k.0).is_err())
        {
            return Err(GateError::invalid_bundle(
                "issuer key of small order or non-canonical",
            ));
        }
        if self.since_seq.is_none() && !self.changed.is_empty() {
            return Err(GateError::invalid_bundle(
                "a whole bundle lists changed tickets",
            ));
        }
        // A reference names one credential of this event; one of another event (or a
        // device key nobody holds) in the bundle is the issuer's mistake: refuse it whole.
        if self.credentials.iter().any(|c| {
            c.0.credential.event != self.event
                || tessera_core::ed25519::check_public_key(&c.0.credential.device_public_key)
                    .is_err()
        }) {
            return Err(GateError::invalid_bundle(
                "a compact credential of another event or with an unusable device key",
            ));
        }
        if self.release_secrets.values().any(Secret::is_empty) {
            return Err(GateError::invalid_bundle("empty release secret"));
        }
        if let Some(t1) = &self.t1 {
            if !(6..=9).contains(&t1.digits) {
                return Err(GateError::invalid_bundle("T1 digits must be 6–9"));
            }
            if t1.ticket_seeds.values().any(Secret::is_empty)
                || t1.event_seed.as_ref().is_some_and(Secret::is_empty)
            {
                return Err(GateError::invalid_bundle("empty T1 seed"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_secrets_or_names() {
        let mut b = GateBundle::new_s1(EventId(1), 15, 0, 10);
        b.holder_names
            .insert(TicketId([1; 16]), "Ada Lovelace".into());
        b.release_secrets
            .insert(EventId(1), Secret::new(b"release-secret".to_vec()));
        b.t1 = Some(T1Secrets {
            algorithm: TotpAlgorithm::Sha1,
            digits: 8,
            event_seed: Some(Secret::new(vec![0xAB; 20])),
            ticket_seeds: [(TicketId([1; 16]), Secret::new(vec![0xCD; 20]))].into(),
        });
        let text = format!("{b:?}");
        assert!(!text.contains("Ada"), "{text}");
        assert!(!text.contains("abab") && !text.contains("cdcd"), "{text}");
        assert!(!text.contains("release-secret"), "{text}");
    }
}
