//! Applying a sync answer to the wallet: every check first, then one transaction.
//!
//! Nothing from the issuer is written until the whole answer has passed: the server time
//! is plausible, every policy validates, every ticket is bound to this device, every S1
//! credential verifies under the issuer keys (which must include the ones this wallet
//! first saw), every sealed secret opens with this sync's key, and every size is bounded.
//! Then events, tickets (sealed under the wallet's key), release secrets, verifications,
//! moved tickets and the time anchor are written together, or not at all.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use zeroize::Zeroizing;

use crate::code::SignedCredential;
use crate::code::s1::MAX_SEAT_LEN;
use crate::ids::EventId;
use crate::policy::{EventPolicy, Verification};
use crate::sync::api::{IssuerKey, SyncResponse, SyncTicket, TimeProof};
use crate::sync::error::SyncError;
use crate::sync::signed_time::verify_time;
use crate::sync::transport::{TransportContext, TransportKey};
use crate::ticket::{Ticket, TicketSecrets};
use crate::wallet::{ValidRelease, ValidatedSync, Wallet};

/// The device key written into a ticket that moved to another device (transfer,
/// re-binding). No Ed25519 key pair has it as its public key, so the ticket reveals as
/// [`crate::RevealState::BoundElsewhere`] and stays listed, never deleted.
pub const MOVED_DEVICE_KEY: [u8; 32] = [0; 32];
/// Most tickets one sync may carry.
pub const MAX_SYNC_TICKETS: usize = 50_000;
/// Most events one sync may carry.
pub const MAX_SYNC_EVENTS: usize = 10_000;
/// Most issuer keys one sync may carry.
pub const MAX_ISSUER_KEYS: usize = 64;
/// Longest secret (seed, release secret) accepted, bytes.
pub const MAX_SECRET_LEN: usize = 128;
/// Longest holder or event name accepted, UTF-8 bytes.
pub const MAX_NAME_LEN: usize = 256;
/// Longest S1 credential accepted, bytes (its layout tops out well below).
const MAX_CREDENTIAL_LEN: usize = 512;
pub use crate::sync::signed_time::LATEST_SERVER_TIME_MS;
/// Where the issuer keys first seen are pinned (trust on first use).
const META_ISSUER_KEYS: &str = "sync_issuer_keys";

/// What one sync changed, for the app to show or log (counts only, no personal data).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncReport {
    /// The issuer's clock the wallet anchored to, Unix ms.
    pub server_time_ms: i64,
    /// Events written.
    pub events: u32,
    /// Tickets written (bound to this device).
    pub tickets: u32,
    /// Of those, revoked.
    pub revoked: u32,
    /// Tickets reported as moved to another device.
    pub moved: u32,
    /// Release secrets written (strict just-in-time events whose window is open).
    pub releases: u32,
    /// What this device has verified, per the issuer.
    pub verified: Vec<Verification>,
}

/// A count as a report carries it (u32 across the FFI; a sync never nears the limit).
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The `meta` row pinning `keys`, sorted by id.
fn pin_row(keys: &HashMap<u32, [u8; 32]>) -> Result<(&'static str, Vec<u8>), SyncError> {
    let mut normal: Vec<IssuerKey> = keys
        .iter()
        .map(|(id, pk)| IssuerKey {
            key_id: *id,
            public_key: hex::encode(pk),
        })
        .collect();
    normal.sort_by_key(|k| k.key_id);
    let json = serde_json::to_vec(&normal)
        .map_err(|e| SyncError::Wallet(crate::WalletError::storage(e.to_string())))?;
    Ok((META_ISSUER_KEYS, json))
}

fn malformed(what: impl Into<String>) -> SyncError {
    SyncError::MalformedResponse(what.into())
}

/// Decodes hex of at most `max` bytes into bytes.
fn unhex(text: &str, max: usize, what: &str) -> Result<Vec<u8>, SyncError> {
    if text.len() > max.saturating_mul(2) {
        return Err(malformed(format!("{what}: too long")));
    }
    hex::decode(text).map_err(|_| malformed(format!("{what}: not hex")))
}

fn key32(text: &str, what: &str) -> Result<[u8; 32], SyncError> {
    let mut k = [0u8; 32];
    hex::decode_to_slice(text, &mut k)
        .map_err(|_| malformed(format!("{what}: not 32 hex bytes")))?;
    Ok(k)
}

/// Whether hex text is a 32-byte key of small order or non-canonical (bad hex is not:
/// `key32` reports it where the key is used).
fn unusable_key(text: &str) -> bool {
    let mut k = [0u8; 32];
    hex::decode_to_slice(text, &mut k).is_ok() && crate::ed25519::check_public_key(&k).is_err()
}

/// Opens one transported secret, checking its size once open.
fn open_secret(
    key: &TransportKey,
    ctx: &TransportContext<'_>,
    sealed_hex: &str,
    what: &str,
) -> Result<Zeroizing<Vec<u8>>, SyncError> {
    // nonce (12) ‖ ciphertext ‖ tag (16)
    let sealed = unhex(sealed_hex, MAX_SECRET_LEN + 28, what)?;
    let secret = key
        .open(ctx, &sealed)
        .map_err(|_| SyncError::SealedToAnotherKey { what: what.into() })?;
    if secret.is_empty() || secret.len() > MAX_SECRET_LEN {
        return Err(malformed(format!("{what}: length")));
    }
    Ok(secret)
}

impl Wallet {
    /// Checks a sync answer completely and, if it passes, applies it in one transaction:
    /// events, tickets (their seeds sealed under this wallet's key), release secrets,
    /// verifications (the issuer's list replaces the wallet's), moved tickets (kept,
    /// marked bound elsewhere), and the trusted-time anchor. On any error the wallet is
    /// exactly as before.
    ///
    /// `key` is the transport key agreed for this sync and `time_nonce` the nonce its
    /// request carried ([`crate::sync::client::SyncOutcome`]; from
    /// [`Wallet::new_time_nonce`]). Apps with their own transport may call this directly.
    pub fn apply_sync(
        &self,
        response: &SyncResponse,
        key: &TransportKey,
        time_nonce: &[u8; 32],
    ) -> Result<SyncReport, SyncError> {
        let v = self.validate_sync(response, key, time_nonce)?;
        let report = SyncReport {
            server_time_ms: v.server_time_ms,
            events: count(v.events.len()),
            tickets: count(v.tickets.len()),
            revoked: count(v.tickets.iter().filter(|(t, _)| t.revoked).count()),
            moved: count(v.moved.len()),
            releases: count(v.releases.len()),
            verified: v.verified.clone(),
        };
        self.commit_sync(v)?;
        Ok(report)
    }

    /// The issuer keys this wallet pinned on its first sync that carried keys.
    pub fn pinned_issuer_keys(&self) -> Result<Vec<IssuerKey>, SyncError> {
        match self
            .store()
            .meta(META_ISSUER_KEYS)
            .map_err(crate::WalletError::from)?
        {
            None => Ok(Vec::new()),
            Some(json) => {
                let keys: Vec<IssuerKey> = serde_json::from_slice(&json).map_err(|_| {
                    SyncError::Wallet(crate::WalletError::Tampered {
                        what: format!("meta {META_ISSUER_KEYS}"),
                    })
                })?;
                // A small-order key pinned before keys were checked vouches for nothing
                // (anybody signs under it): ignored, so the next genuine answer is pinned.
                Ok(keys
                    .into_iter()
                    .filter(|k| !unusable_key(&k.public_key))
                    .collect())
            }
        }
    }

    /// Pins issuer keys the app ships with (before the first sync): then no answer from
    /// any server is trusted for time or credentials unless these keys are in it, and
    /// only they sign time. Without it the keys of the first sync are pinned (trust on
    /// first use). Refused once keys are pinned, unless they are the same.
    pub fn pin_issuer_keys(&self, keys: &[IssuerKey]) -> Result<(), SyncError> {
        let mut by_id = HashMap::with_capacity(keys.len());
        for k in keys {
            let pk = key32(&k.public_key, &format!("issuer key {}", k.key_id))?;
            crate::ed25519::check_public_key(&pk).map_err(|_| SyncError::BadSignature)?;
            by_id.insert(k.key_id, pk);
        }
        if by_id.is_empty() || by_id.len() != keys.len() {
            return Err(SyncError::Wallet(crate::WalletError::invalid(
                "issuer keys: none, or an id twice",
            )));
        }
        let pinned = self.pinned_key_map()?;
        if !pinned.is_empty() {
            return if pinned == by_id {
                Ok(())
            } else {
                Err(SyncError::Wallet(crate::WalletError::invalid(
                    "other issuer keys are pinned already",
                )))
            };
        }
        let (key, json) = pin_row(&by_id)?;
        self.write_sync_meta(key, &json)?;
        Ok(())
    }

    /// The pinned issuer keys by id (empty before the first sync).
    pub(crate) fn pinned_key_map(&self) -> Result<HashMap<u32, [u8; 32]>, SyncError> {
        let mut m = HashMap::new();
        for p in self.pinned_issuer_keys()? {
            m.insert(p.key_id, key32(&p.public_key, "pinned issuer key")?);
        }
        Ok(m)
    }

    /// Anchors trusted time to a signed issuer time (`GET /v1/time?nonce=…`): accepted
    /// only for a nonce from [`Wallet::new_time_nonce`] and a signature by a pinned issuer
    /// key. On any failure nothing changes ([`SyncError::UnsignedTime`]).
    pub fn accept_signed_time(
        &self,
        nonce: &[u8; 32],
        server_time_ms: i64,
        proof: &TimeProof,
    ) -> Result<(), SyncError> {
        if !self.is_pending_time_nonce(nonce) {
            return Err(SyncError::UnsignedTime);
        }
        let pinned = self.pinned_key_map()?;
        verify_time(&pinned, nonce, server_time_ms, proof)?;
        self.anchor_signed_time(server_time_ms, nonce)?;
        Ok(())
    }

    fn validate_sync(
        &self,
        r: &SyncResponse,
        key: &TransportKey,
        time_nonce: &[u8; 32],
    ) -> Result<ValidatedSync, SyncError> {
        if !self.is_pending_time_nonce(time_nonce) {
            return Err(SyncError::UnsignedTime);
        }
        if r.tickets.len() > MAX_SYNC_TICKETS
            || r.moved.len() > MAX_SYNC_TICKETS
            || r.events.len() > MAX_SYNC_EVENTS
            || r.releases.len() > MAX_SYNC_EVENTS
            || r.issuer_keys.len() > MAX_ISSUER_KEYS
        {
            return Err(malformed("too many entries"));
        }
        let (issuer_keys, meta) = self.check_issuer_keys(&r.issuer_keys)?;

        let mut events: HashMap<EventId, EventPolicy> = HashMap::with_capacity(r.events.len());
        for e in &r.events {
            e.validate()
                .map_err(|why| SyncError::InvalidPolicy(format!("event {}: {why}", e.event_id)))?;
            if e.name.len() > MAX_NAME_LEN {
                return Err(SyncError::InvalidPolicy(format!(
                    "event {}: name",
                    e.event_id
                )));
            }
            if events.insert(e.event_id, e.clone()).is_some() {
                return Err(malformed(format!("event {} twice", e.event_id)));
            }
        }
        // Tickets and releases may name events synced before and not repeated.
        let mut stored: HashMap<EventId, Option<EventPolicy>> = HashMap::new();
        let mut policy_of = |id: EventId| -> Result<EventPolicy, SyncError> {
            if let Some(p) = events.get(&id) {
                return Ok(p.clone());
            }
            let known = match stored.entry(id) {
                Entry::Occupied(e) => e.get().clone(),
                Entry::Vacant(e) => e
                    .insert(self.store().event(id).map_err(crate::WalletError::from)?)
                    .clone(),
            };
            known.ok_or_else(|| malformed(format!("unknown event {id}")))
        };

        let mut seen = HashSet::with_capacity(r.tickets.len());
        let mut tickets = Vec::with_capacity(r.tickets.len());
        for st in &r.tickets {
            if !seen.insert(st.ticket_id) {
                return Err(malformed(format!("ticket {} twice", st.ticket_id)));
            }
            let policy = policy_of(st.event_id)?;
            tickets.push(self.check_ticket_entry(st, &policy, &issuer_keys, key, &r.verified)?);
        }

        let mut moved = Vec::with_capacity(r.moved.len());
        let mut moved_seen = HashSet::with_capacity(r.moved.len());
        for id in &r.moved {
            if seen.contains(id) {
                return Err(malformed(format!("ticket {id} both held and moved")));
            }
            if moved_seen.insert(*id) {
                moved.push(*id);
            }
        }

        let mut releases = Vec::with_capacity(r.releases.len());
        let mut release_seen = HashSet::with_capacity(r.releases.len());
        for rel in &r.releases {
            if !release_seen.insert(rel.event_id) {
                return Err(malformed(format!(
                    "release of event {} twice",
                    rel.event_id
                )));
            }
            policy_of(rel.event_id)?;
            let row = rel.event_id.0.to_be_bytes();
            let ctx = TransportContext {
                column: "release_secret",
                row: &row,
                version: rel.version,
            };
            let what = format!("release_secret of event {}", rel.event_id);
            let secret = open_secret(key, &ctx, &rel.sealed, &what)?;
            releases.push(ValidRelease {
                event: rel.event_id,
                version: rel.version,
                secret,
            });
        }

        // Presence is proven per session on the device, never by the issuer.
        let mut verified: Vec<Verification> = r
            .verified
            .iter()
            .copied()
            .filter(|v| *v != Verification::Presence)
            .collect();
        verified.sort();
        verified.dedup();

        // Time is trusted from pinned keys only: an answer may add keys, but a key it
        // added itself proves nothing about the clock. Before any pin, the keys this
        // answer pins (trust on first use).
        let pinned = self.pinned_key_map()?;
        let time_keys = if pinned.is_empty() {
            &issuer_keys
        } else {
            &pinned
        };
        verify_time(time_keys, time_nonce, r.server_time_ms, &r.time_proof)?;

        Ok(ValidatedSync {
            server_time_ms: r.server_time_ms,
            time_nonce: *time_nonce,
            events: r.events.clone(),
            tickets,
            releases,
            verified,
            moved,
            meta,
        })
    }

    /// Decodes the answer's issuer keys and checks them against the pinned ones: every
    /// pinned key must still be there with the same bytes. Returns the keys by id, and
    /// the `meta` row pinning them when this is the first answer that carries keys.
    #[allow(clippy::type_complexity)]
    fn check_issuer_keys(
        &self,
        keys: &[IssuerKey],
    ) -> Result<(HashMap<u32, [u8; 32]>, Vec<(&'static str, Vec<u8>)>), SyncError> {
        let mut by_id = HashMap::with_capacity(keys.len());
        for k in keys {
            let pk = key32(&k.public_key, &format!("issuer key {}", k.key_id))?;
            // Small order or non-canonical: anybody can "sign" under it (crate::ed25519).
            crate::ed25519::check_public_key(&pk).map_err(|_| SyncError::BadSignature)?;
            if by_id.insert(k.key_id, pk).is_some() {
                return Err(malformed(format!("issuer key {} twice", k.key_id)));
            }
        }
        let pinned = self.pinned_issuer_keys()?;
        if pinned.is_empty() {
            if keys.is_empty() {
                return Ok((by_id, Vec::new()));
            }
            let row = pin_row(&by_id)?;
            return Ok((by_id, vec![row]));
        }
        for p in &pinned {
            let pk = key32(&p.public_key, "pinned issuer key")?;
            if by_id.get(&p.key_id) != Some(&pk) {
                return Err(SyncError::BadSignature);
            }
        }
        Ok((by_id, Vec::new()))
    }

    /// Checks one ticket of the answer and opens its seeds. A ticket whose secrets the
    /// issuer withheld (an empty `sealed_ticket_seed`, no credential, no event seed) is
    /// accepted only while `verified`, the answer's list, lacks a verification its event
    /// requires: it is stored without secrets and reveals as `NeedsVerification`.
    fn check_ticket_entry(
        &self,
        st: &SyncTicket,
        policy: &EventPolicy,
        issuer_keys: &HashMap<u32, [u8; 32]>,
        key: &TransportKey,
        verified: &[Verification],
    ) -> Result<(Ticket, TicketSecrets), SyncError> {
        let id = st.ticket_id;
        let device = key32(&st.device_public_key, &format!("ticket {id} device key"))?;
        if device != self.device_public_key() {
            return Err(SyncError::WrongDevice { ticket: id });
        }
        if st.seat.len() > MAX_SEAT_LEN
            || st
                .holder_name
                .as_ref()
                .is_some_and(|n| n.len() > MAX_NAME_LEN)
        {
            return Err(malformed(format!(
                "ticket {id}: seat or holder name too long"
            )));
        }
        crate::text::check_ticket_text(&st.seat, st.holder_name.as_deref())
            .map_err(|e| malformed(format!("ticket {id}: {e}")))?;
        if st.sealed_ticket_seed.is_empty() {
            let lacking = policy
                .requires
                .iter()
                .any(|v| *v != Verification::Presence && !verified.contains(v));
            if !lacking || st.credential.is_some() || st.sealed_event_seed.is_some() {
                return Err(malformed(format!(
                    "ticket {id}: secrets withheld without a missing verification"
                )));
            }
            let ticket = Ticket {
                id,
                event_id: st.event_id,
                seat: st.seat.clone(),
                holder_name: st.holder_name.clone(),
                device_public_key: device,
                credential: None,
                revoked: st.revoked,
                version: st.version,
            };
            return Ok((ticket, TicketSecrets::withheld()));
        }
        let credential = match &st.credential {
            None if policy.format.is_signed() => {
                return Err(malformed(format!(
                    "ticket {id}: S1 event without credential"
                )));
            }
            None => None,
            Some(hex_cred) => {
                let bytes = unhex(
                    hex_cred,
                    MAX_CREDENTIAL_LEN,
                    &format!("ticket {id} credential"),
                )?;
                let c = SignedCredential::from_bytes(&bytes)
                    .map_err(|_| malformed(format!("ticket {id}: credential does not parse")))?;
                let issuer = issuer_keys
                    .get(&c.credential.key_id)
                    .ok_or(SyncError::BadSignature)?;
                if !c.verify(issuer) {
                    return Err(SyncError::BadSignature);
                }
                let f = &c.credential;
                // The gate reads these from the signed credential: a ticket or policy that
                // disagrees would draw codes every gate rejects.
                if f.ticket != id || f.device_public_key != device || f.seat != st.seat {
                    return Err(malformed(format!(
                        "ticket {id}: credential names another ticket, device or seat"
                    )));
                }
                if f.event != policy.event_id
                    || f.period_secs != policy.period_secs
                    || f.strict_jit != policy.strict_jit
                    || f.reveal_opens_at != policy.reveal_opens_at
                    || f.valid_until != policy.valid_until
                {
                    return Err(malformed(format!(
                        "ticket {id}: credential disagrees with the event policy"
                    )));
                }
                Some(c)
            }
        };
        let ctx = |column| TransportContext {
            column,
            row: id.as_bytes(),
            version: st.version,
        };
        let ticket_seed = open_secret(
            key,
            &ctx("ticket_seed"),
            &st.sealed_ticket_seed,
            &format!("ticket_seed of ticket {id}"),
        )?;
        let event_seed = st
            .sealed_event_seed
            .as_ref()
            .map(|s| {
                open_secret(
                    key,
                    &ctx("event_seed"),
                    s,
                    &format!("event_seed of ticket {id}"),
                )
            })
            .transpose()?;
        let ticket = Ticket {
            id,
            event_id: st.event_id,
            seat: st.seat.clone(),
            holder_name: st.holder_name.clone(),
            device_public_key: device,
            credential,
            revoked: st.revoked,
            version: st.version,
        };
        Ok((
            ticket,
            TicketSecrets {
                ticket_seed,
                event_seed,
            },
        ))
    }
}
