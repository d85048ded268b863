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
use crate::ids::{EventId, TicketId};
use crate::policy::{CodeFormat, EventPolicy, Verification};
use crate::sync::api::{IssuerKey, SyncResponse, SyncTicket};
use crate::sync::error::SyncError;
use crate::sync::transport::{TransportContext, TransportKey};
use crate::ticket::{Ticket, TicketSecrets};
use crate::wallet::Wallet;

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
/// How far the issuer's clock may be behind the time this wallet has already proven.
pub const SERVER_TIME_SLACK_MS: i64 = 300_000;
/// The issuer's clock is absurd beyond 2200-01-01T00:00:00Z.
pub const LATEST_SERVER_TIME_MS: i64 = 7_258_118_400_000;
/// Where the issuer keys first seen are pinned (trust on first use).
const META_ISSUER_KEYS: &str = "sync_issuer_keys";

/// What one sync changed, for the app to show or log (counts only, no personal data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncReport {
    /// The issuer's clock the wallet anchored to, Unix ms.
    pub server_time_ms: i64,
    /// Events written.
    pub events: usize,
    /// Tickets written (bound to this device).
    pub tickets: usize,
    /// Of those, revoked.
    pub revoked: usize,
    /// Tickets reported as moved to another device.
    pub moved: usize,
    /// Release secrets written (strict just-in-time events whose window is open).
    pub releases: usize,
    /// What this device has verified, per the issuer.
    pub verified: Vec<Verification>,
}

/// A release secret that opened.
pub(crate) struct ValidRelease {
    pub(crate) event: EventId,
    pub(crate) version: u32,
    pub(crate) secret: Zeroizing<Vec<u8>>,
}

/// A sync answer that passed every check, secrets opened, ready to be sealed and written.
pub(crate) struct ValidatedSync {
    pub(crate) server_time_ms: i64,
    pub(crate) events: Vec<EventPolicy>,
    pub(crate) tickets: Vec<(Ticket, TicketSecrets)>,
    pub(crate) releases: Vec<ValidRelease>,
    pub(crate) verified: Vec<Verification>,
    pub(crate) moved: Vec<TicketId>,
    /// Extra `meta` rows to write in the same transaction (pinned issuer keys).
    pub(crate) meta: Vec<(&'static str, Vec<u8>)>,
}

/// Checks an issuer time against what the wallet has proven: not more than
/// [`SERVER_TIME_SLACK_MS`] before it (the wallet's proven time only ever came from the
/// issuer, so a clock far behind is a replayed or broken answer), not past the year 2200.
pub fn check_server_time(server_time_ms: i64, proven_ms: i64) -> Result<(), SyncError> {
    if server_time_ms <= 0
        || server_time_ms > LATEST_SERVER_TIME_MS
        || server_time_ms < proven_ms.saturating_sub(SERVER_TIME_SLACK_MS)
    {
        return Err(SyncError::BadServerTime { server_time_ms });
    }
    Ok(())
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
    /// `key` is the transport key agreed for this sync ([`crate::sync::client::SyncOutcome`]).
    /// Apps with their own transport may call this directly.
    pub fn apply_sync(
        &self,
        response: &SyncResponse,
        key: &TransportKey,
    ) -> Result<SyncReport, SyncError> {
        let v = self.validate_sync(response, key)?;
        let report = SyncReport {
            server_time_ms: v.server_time_ms,
            events: v.events.len(),
            tickets: v.tickets.len(),
            revoked: v.tickets.iter().filter(|(t, _)| t.revoked).count(),
            moved: v.moved.len(),
            releases: v.releases.len(),
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
            Some(json) => serde_json::from_slice(&json).map_err(|_| {
                SyncError::Wallet(crate::WalletError::Tampered {
                    what: format!("meta {META_ISSUER_KEYS}"),
                })
            }),
        }
    }

    /// Anchors trusted time to an issuer time that passed [`check_server_time`] (used
    /// with `GET /v1/time` and enrollment answers).
    pub fn anchor_checked(&self, server_time_ms: i64) -> Result<(), SyncError> {
        check_server_time(server_time_ms, self.trusted_time().proven_ms)?;
        self.anchor_time(server_time_ms)?;
        Ok(())
    }

    fn validate_sync(
        &self,
        r: &SyncResponse,
        key: &TransportKey,
    ) -> Result<ValidatedSync, SyncError> {
        check_server_time(r.server_time_ms, self.trusted_time().proven_ms)?;
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
            tickets.push(self.check_ticket_entry(st, &policy, &issuer_keys, key)?);
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

        Ok(ValidatedSync {
            server_time_ms: r.server_time_ms,
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
            if by_id.insert(k.key_id, pk).is_some() {
                return Err(malformed(format!("issuer key {} twice", k.key_id)));
            }
        }
        let pinned = self.pinned_issuer_keys()?;
        if pinned.is_empty() {
            if keys.is_empty() {
                return Ok((by_id, Vec::new()));
            }
            let mut normal: Vec<IssuerKey> = by_id
                .iter()
                .map(|(id, pk)| IssuerKey {
                    key_id: *id,
                    public_key: hex::encode(pk),
                })
                .collect();
            normal.sort_by_key(|k| k.key_id);
            let json = serde_json::to_vec(&normal)
                .map_err(|e| SyncError::Wallet(crate::WalletError::Storage(e.to_string())))?;
            return Ok((by_id, vec![(META_ISSUER_KEYS, json)]));
        }
        for p in &pinned {
            let pk = key32(&p.public_key, "pinned issuer key")?;
            if by_id.get(&p.key_id) != Some(&pk) {
                return Err(SyncError::BadSignature);
            }
        }
        Ok((by_id, Vec::new()))
    }

    /// Checks one ticket of the answer and opens its seeds.
    fn check_ticket_entry(
        &self,
        st: &SyncTicket,
        policy: &EventPolicy,
        issuer_keys: &HashMap<u32, [u8; 32]>,
        key: &TransportKey,
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
        let credential = match &st.credential {
            None if policy.format == CodeFormat::S1 => {
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
