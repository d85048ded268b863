//! The attendee sync: binds the account's unbound tickets to the calling device (first
//! device wins) and answers with everything that device may hold, secrets sealed to the
//! request's ephemeral X25519 key with a fresh issuer ephemeral key (docs/DESIGN.md §3).

use std::collections::BTreeMap;

use crate::db::{Conn, params};
use tessera_core::sync::api::{IssuerKey, SyncRelease, SyncResponse, SyncTicket};
use tessera_core::sync::signed_time::sign_time;
use tessera_core::sync::transport::{Ephemeral, TransportContext, TransportKey};
use tessera_core::{CodeFormat, EventId, Ticket, TicketId, Verification};

use crate::accounts;
use crate::error::ApiError;
use crate::events::{self, EventRow};
use crate::metrics::Counted;
use crate::secrets::ISSUER_KEY_ID;
use crate::state::AppState;
use crate::tickets::{self, COLUMNS, TicketRow};
use crate::verification;

fn seal(
    key: &TransportKey,
    column: &str,
    row: &[u8],
    version: u32,
    secret: &[u8],
) -> Result<String, ApiError> {
    key.seal(
        &TransportContext {
            column,
            row,
            version,
        },
        secret,
    )
    .map(hex::encode)
    .map_err(|_| ApiError::internal())
}

/// Parses the wallet's ephemeral public key.
pub(crate) fn parse_ephemeral(text: &str) -> Result<[u8; 32], ApiError> {
    let mut k = [0u8; 32];
    hex::decode_to_slice(text, &mut k)
        .map_err(|_| ApiError::bad_request("ephemeral_public_key must be 64 hex digits"))?;
    Ok(k)
}

/// Whether the device proved every verification the event requires that the issuer can
/// check (presence is proven on the phone itself). Without them it gets no seed,
/// credential or release secret of the event (docs/DECISIONS.md).
fn proven(ev: &EventRow, verified: &[Verification]) -> bool {
    ev.policy
        .requires
        .iter()
        .all(|r| *r == Verification::Presence || verified.contains(r))
}

/// Whether a strict-JIT event's release secret may go to a device now.
fn release_allowed(ev: &EventRow, verified: &[Verification], now_ms: i64) -> bool {
    let now_s = now_ms.div_euclid(1000);
    let p = &ev.policy;
    p.strict_jit && p.reveal_opens_at <= now_s && now_s < p.valid_until && proven(ev, verified)
}

/// Runs one sync for `device`, sealing to `wallet_public`.
pub(crate) fn sync(
    st: &AppState,
    c: &Conn<'_>,
    device: &[u8; 32],
    wallet_public: [u8; 32],
    time_nonce: &[u8; 32],
    now_ms: i64,
) -> Result<SyncResponse, ApiError> {
    let eph = Ephemeral::generate().map_err(|_| ApiError::internal())?;
    let issuer_public = eph.public_key();
    let key = eph
        .agree(&wallet_public, &issuer_public, &wallet_public)
        .map_err(|_| ApiError::bad_request("ephemeral_public_key is not a usable X25519 key"))?;

    let tx = c.transaction()?;
    if let Some(account) = accounts::of_device(&tx, device)? {
        let unbound: Vec<(Vec<u8>, u32)> = tx.query_map(
            "SELECT id, version FROM tickets WHERE account_id = ?1 AND device IS NULL AND revoked = 0",
            [account],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        for (id, version) in unbound {
            let id = TicketId(id.try_into().map_err(|_: Vec<u8>| ApiError::internal())?);
            tickets::bind(&tx, &id, device, version, now_ms)?;
        }
    }
    let held: Vec<TicketRow> = tx.query_map(
        &format!("SELECT {COLUMNS} FROM tickets WHERE device = ?1 ORDER BY id"),
        [&device[..]],
        tickets::row,
    )?;
    let verified = verification::verified(&tx, device)?;
    let mut evs: BTreeMap<EventId, EventRow> = BTreeMap::new();
    let mut out = Vec::with_capacity(held.len());
    for t in &held {
        let ev = match evs.entry(t.event_id) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(events::require(&tx, t.event_id)?)
            }
        };
        let withheld = !proven(ev, &verified);
        out.push(sync_ticket(st, &tx, &key, t, ev, device, withheld)?);
    }
    let moved: Vec<TicketId> = tx.query_map(
        "SELECT DISTINCT b.ticket_id FROM bindings b WHERE b.device = ?1 AND b.ended_ms IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.id = b.ticket_id AND t.device = ?1)
         ORDER BY b.ticket_id",
        [&device[..]],
        |r| r.get::<[u8; 16]>(0).map(TicketId),
    )?;
    let mut releases = Vec::new();
    for (id, ev) in &evs {
        if release_allowed(ev, &verified, now_ms) {
            releases.push(SyncRelease {
                event_id: *id,
                version: ev.release_version,
                sealed: seal(
                    &key,
                    "release_secret",
                    &id.0.to_be_bytes(),
                    ev.release_version,
                    &ev.release_secret,
                )?,
            });
        }
    }
    tx.commit()?;
    c.count(Counted::Sync);
    Ok(SyncResponse {
        server_time_ms: now_ms,
        time_proof: sign_time(&st.secrets.signing, ISSUER_KEY_ID, time_nonce, now_ms),
        server_ephemeral_public_key: hex::encode(issuer_public),
        issuer_keys: vec![IssuerKey {
            key_id: ISSUER_KEY_ID,
            public_key: hex::encode(st.secrets.public),
        }],
        verified,
        events: evs.into_values().map(|e| e.policy).collect(),
        tickets: out,
        moved,
        releases,
    })
}

/// One ticket of the answer. `withheld`: the device lacks a verification the event
/// requires, so the ticket goes without its secrets (no credential, an empty
/// `sealed_ticket_seed`, no event seed); the wallet shows it as needing verification.
fn sync_ticket(
    st: &AppState,
    tx: &Conn<'_>,
    key: &TransportKey,
    t: &TicketRow,
    ev: &EventRow,
    device: &[u8; 32],
    withheld: bool,
) -> Result<SyncTicket, ApiError> {
    let row = &t.id.0[..];
    if withheld {
        return Ok(SyncTicket {
            ticket_id: t.id,
            event_id: t.event_id,
            seat: t.seat.clone(),
            holder_name: t.holder_name.clone(),
            device_public_key: hex::encode(device),
            credential: None,
            revoked: t.revoked,
            version: t.version,
            sealed_ticket_seed: String::new(),
            sealed_event_seed: None,
        });
    }
    let credential = if ev.policy.format.is_signed() {
        let ticket = Ticket {
            id: t.id,
            event_id: t.event_id,
            seat: t.seat.clone(),
            holder_name: t.holder_name.clone(),
            device_public_key: *device,
            credential: None,
            revoked: t.revoked,
            version: t.version,
        };
        let signed = ticket
            .credential_for(&ev.policy, ISSUER_KEY_ID)
            .sign(&st.secrets.signing)
            .map_err(|_| ApiError::internal())?;
        let bytes = signed.to_bytes();
        // Kept with the binding so gates can revoke it by digest once the binding ends.
        tx.execute(
            "UPDATE bindings SET credential = ?3 WHERE ticket_id = ?1 AND device = ?2 AND ended_ms IS NULL",
            params![row, &device[..], bytes],
        )?;
        Some(hex::encode(bytes))
    } else {
        None
    };
    let sealed_event_seed = if ev.policy.format == CodeFormat::T1 {
        Some(seal(key, "event_seed", row, t.version, &ev.event_seed)?)
    } else {
        None
    };
    Ok(SyncTicket {
        ticket_id: t.id,
        event_id: t.event_id,
        seat: t.seat.clone(),
        holder_name: t.holder_name.clone(),
        device_public_key: hex::encode(device),
        credential,
        revoked: t.revoked,
        version: t.version,
        sealed_ticket_seed: seal(key, "ticket_seed", row, t.version, &t.seed)?,
        sealed_event_seed,
    })
}
