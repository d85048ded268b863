//! The gate side: bundles for the verifier (tessera-gate's `GateBundle`) and scan-log
//! uploads merged into the issuer's own copy of the scan log.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use tessera_core::code::SignedCredential;
use tessera_core::{CodeFormat, EventId};
use tessera_gate::{
    CompactCredential, CredentialDigest, DuplicateAdmission, GateBundle, GateError, PublicKey,
    ReentryPolicy, ScanLog, ScanRecord, Secret, T1Secrets,
};

use crate::error::ApiError;
use crate::events::{self, sql_id};
use crate::secrets::ISSUER_KEY_ID;
use crate::state::AppState;
use crate::tickets::{self, COLUMNS, TicketRow};

/// The bundle of one event, or with `since` an update holding only what changed after
/// that sequence number (a `since` the issuer has not reached yet gets the whole bundle).
/// S1 bundles hold public material only, plus the release secret of a strict-JIT event
/// from the release lead on (every wallet gets it too once the window opens).
pub(crate) fn bundle(
    st: &AppState,
    c: &Connection,
    id: EventId,
    since: Option<u64>,
) -> Result<GateBundle, ApiError> {
    let ev = events::require(c, id)?;
    let p = &ev.policy;
    let seq = current_seq(c, id)?;
    // A gate ahead of the issuer (restored database) starts again from a whole bundle.
    let since = since.filter(|s| *s <= seq);
    let mut b = GateBundle::new_s1(id, p.period_secs, p.reveal_opens_at, p.valid_until);
    b.seq = seq;
    b.issued_at_ms = st.now_ms();
    b.strict_jit = p.strict_jit;
    b.since_seq = since;
    b.issuer_keys = BTreeMap::from([(ISSUER_KEY_ID, PublicKey(st.secrets.public))]);
    b.reentry = if p.reentry {
        ReentryPolicy::Allow
    } else {
        ReentryPolicy::Deny
    };
    let after = since.map_or(Ok(-1), seq_to_sql)?;
    let all: Vec<TicketRow> = {
        let mut s = c.prepare(&format!(
            "SELECT {COLUMNS} FROM tickets WHERE event_id = ?1 AND gate_seq > ?2 ORDER BY id"
        ))?;
        s.query_map(params![sql_id(id)?, after], tickets::row)?
            .collect::<Result<_, _>>()?
    };
    let mut seeds = BTreeMap::new();
    for t in &all {
        if since.is_some() {
            b.changed.insert(t.id);
        }
        if t.revoked {
            b.revoked.insert(t.id);
        }
        if let (true, Some(name)) = (p.personalised, &t.holder_name) {
            b.holder_names.insert(t.id, name.clone());
        }
        if p.format == CodeFormat::T1 {
            if !t.seat.is_empty() {
                b.seats.insert(t.id, t.seat.clone());
            }
            seeds.insert(t.id, Secret::new(t.seed.to_vec()));
        }
    }
    b.revoked_credentials = ended_credentials(c, id, after)?;
    if p.format == CodeFormat::C1 {
        b.credentials = compact_credentials(c, id, after)?;
    }
    // From the lead on only: before it, a bundle (or a stolen gate token) must not be
    // able to unlock the event's codes.
    let lead_opens_ms = p
        .reveal_opens_at
        .saturating_mul(1000)
        .saturating_sub(st.release_secret_lead_ms);
    if p.strict_jit && st.now_ms() >= lead_opens_ms {
        b.release_secrets
            .insert(id, Secret::new(ev.release_secret.to_vec()));
    }
    if p.format == CodeFormat::T1 {
        b.t1 = Some(T1Secrets {
            algorithm: p.totp_algorithm,
            digits: p.totp_digits,
            event_seed: Some(Secret::new(ev.event_seed.to_vec())),
            ticket_seeds: seeds,
        });
    }
    b.validate().map_err(|_| ApiError::internal())?;
    Ok(b)
}

/// The event's bundle sequence number (kept by triggers, `crate::db` migration 6).
fn current_seq(c: &Connection, id: EventId) -> Result<u64, ApiError> {
    let seq: Option<i64> = c
        .query_row(
            "SELECT seq FROM gate_seq WHERE event_id = ?1",
            [sql_id(id)?],
            |r| r.get(0),
        )
        .optional()?;
    u64::try_from(seq.unwrap_or(0)).map_err(|_| ApiError::internal())
}

fn seq_to_sql(seq: u64) -> Result<i64, ApiError> {
    i64::try_from(seq).map_err(|_| ApiError::bad_request("since is out of range"))
}

/// Which of a changed ticket's credentials to read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Credentials {
    /// Every one: current and ended bindings, and those a sync replaced.
    All,
    /// Those no longer valid: ended bindings and those a sync replaced.
    NoLongerValid,
}

/// The signed credentials of tickets of event `id` changed after `after`, in digest
/// order, each once: the ended and replaced ones (`crate::db` migrations 6 and 7) are
/// still signed, so gates must be told they are no longer valid.
fn credentials(
    c: &Connection,
    id: EventId,
    after: i64,
    which: Credentials,
) -> Result<Vec<SignedCredential>, ApiError> {
    let mut s = c.prepare(
        "SELECT b.credential FROM bindings b JOIN tickets t ON t.id = b.ticket_id
         WHERE t.event_id = ?1 AND t.gate_seq > ?2 AND b.credential IS NOT NULL
           AND (?3 OR b.ended_ms IS NOT NULL)
         UNION ALL
         SELECT s.credential FROM superseded_credentials s JOIN tickets t ON t.id = s.ticket_id
         WHERE t.event_id = ?1 AND t.gate_seq > ?2",
    )?;
    let all = which == Credentials::All;
    let rows: Vec<Vec<u8>> = s
        .query_map(params![sql_id(id)?, after, all], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = rows
        .iter()
        .map(|bytes| SignedCredential::from_bytes(bytes).map_err(|_| ApiError::internal()))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by_key(SignedCredential::digest);
    out.dedup_by_key(|c| c.digest());
    Ok(out)
}

/// Digests of the credentials of tickets changed after `after` that are no longer valid.
fn ended_credentials(
    c: &Connection,
    id: EventId,
    after: i64,
) -> Result<std::collections::BTreeSet<CredentialDigest>, ApiError> {
    Ok(credentials(c, id, after, Credentials::NoLongerValid)?
        .iter()
        .map(|s| CredentialDigest(s.digest()))
        .collect())
}

/// Every credential of tickets changed after `after`, for the compact C1 codes that name
/// them (docs/PROTOCOL.md §7.7): public material. Ended and replaced ones are listed
/// too, so that an old phone's compact code is found and refused as `revoked` (its digest
/// is in `revoked_credentials`) rather than not found. In digest order, the order
/// `GateBundle::apply_update` keeps.
fn compact_credentials(
    c: &Connection,
    id: EventId,
    after: i64,
) -> Result<Vec<CompactCredential>, ApiError> {
    Ok(credentials(c, id, after, Credentials::All)?
        .into_iter()
        .map(CompactCredential)
        .collect())
}

/// The bundle (or update) signed with the issuer key: the document gates store.
pub(crate) fn signed_bundle(
    st: &AppState,
    c: &Connection,
    id: EventId,
    since: Option<u64>,
) -> Result<String, ApiError> {
    let b = bundle(st, c, id, since)?;
    tessera_gate::signed_bundle::sign(&b, ISSUER_KEY_ID, &st.secrets.signing)
        .map_err(|_| ApiError::internal())
}

/// What a scan upload did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanUploadResponse {
    /// Records new to the issuer's log.
    pub imported: u32,
    /// Records it already held.
    pub unchanged: u32,
    /// Records whose `(gate_id, seq)` it held with other content.
    pub conflicts: u32,
    /// Every ticket admitted twice where re-entry was not allowed, in the merged log.
    pub duplicate_admissions: Vec<DuplicateAdmission>,
}

/// Parses an upload: the JSON-lines export of `ScanLog::export_jsonl`, or a JSON array.
pub(crate) fn parse_upload(body: &[u8]) -> Result<Vec<ScanRecord>, ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let records: Vec<ScanRecord> = if first == Some(&b'[') {
        serde_json::from_slice(body)
            .map_err(|_| ApiError::bad_request("body is not a JSON array of scan records"))?
    } else {
        ScanLog::read_jsonl(body).map_err(|_| {
            ApiError::bad_request("body is not a scan-log export (one JSON record per line)")
        })?
    };
    if records.iter().any(|r| r.seq == 0) {
        return Err(ApiError::bad_request("scan numbers start at 1"));
    }
    Ok(records)
}

/// Refuses (403) an upload whose admissions (or replays and repeats of admitted codes,
/// which only a genuine code reaches) name a ticket outside `event`: a gate token of one
/// event must not pre-empt another event's first admission. Refusals may name any ticket
/// (a code of another event is refused as `wrong_event` with its ticket id).
pub(crate) fn check_records_event(
    c: &Connection,
    event: EventId,
    records: &[ScanRecord],
) -> Result<(), ApiError> {
    let mut of_event = c.prepare_cached("SELECT event_id FROM tickets WHERE id = ?1")?;
    for r in records {
        if !r.outcome.code_was_genuine_and_fresh() {
            continue;
        }
        let Some(ticket) = r.ticket else {
            return Err(ApiError::bad_request("an admission without a ticket"));
        };
        let e: Option<i64> = of_event
            .query_row([&ticket.0[..]], |row| row.get(0))
            .optional()?;
        if e != Some(sql_id(event)?) {
            return Err(ApiError::forbidden(
                "an admission of a ticket outside this token's event",
            ));
        }
    }
    Ok(())
}

/// Keeps, in an upload's answer, only the duplicate admissions of `event`'s tickets: a
/// gate learns nothing about other events.
pub(crate) fn keep_event_duplicates(
    c: &Connection,
    event: EventId,
    answer: &mut ScanUploadResponse,
) -> Result<(), ApiError> {
    let mut of_event = c.prepare_cached("SELECT event_id FROM tickets WHERE id = ?1")?;
    let want = sql_id(event)?;
    let mut kept = Vec::with_capacity(answer.duplicate_admissions.len());
    for d in answer.duplicate_admissions.drain(..) {
        let e: Option<i64> = of_event
            .query_row([&d.ticket.0[..]], |row| row.get(0))
            .optional()?;
        if e == Some(want) {
            kept.push(d);
        }
    }
    answer.duplicate_admissions = kept;
    Ok(())
}

/// Merges uploaded records into the issuer's scan log and counts the new ones.
pub(crate) fn merge(
    st: &AppState,
    c: &mut Connection,
    records: &[ScanRecord],
) -> Result<ScanUploadResponse, ApiError> {
    let report = {
        let mut log = st
            .scans
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = log
            .duplicate_admissions()
            .map_err(|_| ApiError::internal())?
            .len();
        let report = log.merge(records).map_err(|e| match e {
            // A record the log cannot take (no gate id, seq out of range) is the caller's.
            GateError::Export { .. } => {
                ApiError::bad_request("scan records rejected by the scan log")
            }
            _ => ApiError::internal(),
        })?;
        let new_dups = report.duplicate_admissions.len().saturating_sub(before);
        st.metrics
            .duplicate_admissions(u64::try_from(new_dups).unwrap_or(0));
        report
    };
    // Count each (gate, seq) once in the metrics, however often it is uploaded.
    let tx = c.transaction()?;
    for r in records {
        let seq = i64::try_from(r.seq).map_err(|_| ApiError::bad_request("seq out of range"))?;
        let new = tx.execute(
            "INSERT OR IGNORE INTO scans_counted (gate_id, seq) VALUES (?1, ?2)",
            params![r.gate_id, seq],
        )?;
        if new == 1 {
            st.metrics.scan(r.outcome);
        }
    }
    tx.commit()?;
    Ok(ScanUploadResponse {
        imported: report.imported,
        unchanged: report.unchanged,
        conflicts: report.conflicts,
        duplicate_admissions: report.duplicate_admissions,
    })
}

/// Parses an event id from a URL path segment.
pub(crate) fn parse_event_id(text: &str) -> Result<EventId, ApiError> {
    text.parse::<u64>()
        .map(EventId)
        .map_err(|_| ApiError::bad_request("an event id is a decimal number"))
}
