//! The gate side: bundles for the verifier (tessera-gate's `GateBundle`) and scan-log
//! uploads merged into the issuer's own copy of the scan log.

use std::collections::BTreeMap;

use std::path::Path;

use crate::db::{Conn, Db, DbError, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};
use tessera_core::code::SignedCredential;
use tessera_core::{CodeFormat, EventId, TicketId};
use tessera_gate::{
    CompactCredential, CredentialDigest, DuplicateAdmission, GateBundle, Outcome, PublicKey,
    ReentryPolicy, ScanLog, ScanRecord, Secret, T1Secrets,
};

use crate::error::{ApiError, IssuerError};
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
    c: &Conn<'_>,
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
    let all: Vec<TicketRow> = c.query_map(
        &format!("SELECT {COLUMNS} FROM tickets WHERE event_id = ?1 AND gate_seq > ?2 ORDER BY id"),
        params![sql_id(id)?, after],
        tickets::row,
    )?;
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
fn current_seq(c: &Conn<'_>, id: EventId) -> Result<u64, ApiError> {
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
    c: &Conn<'_>,
    id: EventId,
    after: i64,
    which: Credentials,
) -> Result<Vec<SignedCredential>, ApiError> {
    let sql = "SELECT b.credential FROM bindings b JOIN tickets t ON t.id = b.ticket_id
         WHERE t.event_id = ?1 AND t.gate_seq > ?2 AND b.credential IS NOT NULL
           AND (?3 OR b.ended_ms IS NOT NULL)
         UNION ALL
         SELECT s.credential FROM superseded_credentials s JOIN tickets t ON t.id = s.ticket_id
         WHERE t.event_id = ?1 AND t.gate_seq > ?2";
    let all = which == Credentials::All;
    let rows: Vec<Vec<u8>> = c.query_map(sql, params![sql_id(id)?, after, all], |r| r.get(0))?;
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
    c: &Conn<'_>,
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
    c: &Conn<'_>,
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
    c: &Conn<'_>,
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
    c: &Conn<'_>,
    event: EventId,
    records: &[ScanRecord],
) -> Result<(), ApiError> {
    let of_event = |ticket: &TicketId| {
        c.query_row(
            "SELECT event_id FROM tickets WHERE id = ?1",
            [&ticket.0[..]],
            |row| row.get::<i64>(0),
        )
        .optional()
    };
    for r in records {
        if !r.outcome.code_was_genuine_and_fresh() {
            continue;
        }
        let Some(ticket) = r.ticket else {
            return Err(ApiError::bad_request("an admission without a ticket"));
        };
        if of_event(&ticket)? != Some(sql_id(event)?) {
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
    c: &Conn<'_>,
    event: EventId,
    answer: &mut ScanUploadResponse,
) -> Result<(), ApiError> {
    let want = sql_id(event)?;
    let mut kept = Vec::with_capacity(answer.duplicate_admissions.len());
    for d in answer.duplicate_admissions.drain(..) {
        let e: Option<i64> = c
            .query_row(
                "SELECT event_id FROM tickets WHERE id = ?1",
                [&d.ticket.0[..]],
                |row| row.get(0),
            )
            .optional()?;
        if e == Some(want) {
            kept.push(d);
        }
    }
    answer.duplicate_admissions = kept;
    Ok(())
}

/// What a merge changed, for the metrics (counted once the transaction has committed, so a
/// transaction run again is not counted twice).
pub(crate) struct Merged {
    /// The answer to the upload.
    pub answer: ScanUploadResponse,
    /// Outcomes of the records new to the log.
    pub new_outcomes: Vec<Outcome>,
    /// Duplicate admissions the merge added.
    pub new_duplicates: u64,
}

/// Columns of `scan_records` in [`record`]'s order.
const SCAN_COLUMNS: &str = "gate_id, seq, at_ms, ticket, step, outcome, reentry";

/// Merges uploaded records into the issuer's scan log (`scan_records`, the rules of
/// tessera-gate's `ScanLog::merge`: a `(gate_id, seq)` is stored once, a clash keeps the
/// smaller record), in the database every instance shares, so an upload sent to two
/// instances is merged once.
pub(crate) fn merge(c: &Conn<'_>, records: &[ScanRecord]) -> Result<Merged, ApiError> {
    let before = duplicates(c)?.len();
    let mut answer = ScanUploadResponse {
        imported: 0,
        unchanged: 0,
        conflicts: 0,
        duplicate_admissions: Vec::new(),
    };
    let mut new_outcomes = Vec::new();
    // All checked before any is stored: a refused upload stores nothing.
    let rejected = || ApiError::bad_request("scan records rejected by the scan log");
    if records
        .iter()
        .any(|r| r.gate_id.is_empty() || i64::try_from(r.seq).is_err())
    {
        return Err(rejected());
    }
    for r in records {
        let seq = i64::try_from(r.seq).map_err(|_| rejected())?;
        let values = params![
            r.gate_id,
            seq,
            r.at_ms,
            r.ticket.map(|t| t.to_string()),
            r.step.map(|s| i64::from_be_bytes(s.to_be_bytes())),
            r.outcome.as_str(),
            r.reentry,
        ];
        let inserted = c.execute(
            &format!(
                "INSERT INTO scan_records ({SCAN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT DO NOTHING"
            ),
            values,
        )?;
        if inserted == 1 {
            answer.imported = answer.imported.saturating_add(1);
            new_outcomes.push(r.outcome);
            continue;
        }
        let have = c.query_row(
            &format!("SELECT {SCAN_COLUMNS} FROM scan_records WHERE gate_id = ?1 AND seq = ?2"),
            params![r.gate_id, seq],
            record,
        )?;
        if have == *r {
            answer.unchanged = answer.unchanged.saturating_add(1);
            continue;
        }
        answer.conflicts = answer.conflicts.saturating_add(1);
        if r.wins_conflict_over(&have) {
            c.execute(
                "UPDATE scan_records SET at_ms = ?3, ticket = ?4, step = ?5, outcome = ?6,
                 reentry = ?7 WHERE gate_id = ?1 AND seq = ?2",
                values,
            )?;
        }
    }
    answer.duplicate_admissions = duplicates(c)?;
    let new_duplicates = answer.duplicate_admissions.len().saturating_sub(before);
    Ok(Merged {
        answer,
        new_outcomes,
        new_duplicates: u64::try_from(new_duplicates).unwrap_or(u64::MAX),
    })
}

/// Every duplicate admission in the issuer's scan log.
fn duplicates(c: &Conn<'_>) -> Result<Vec<DuplicateAdmission>, ApiError> {
    let admissions = c.query_map(
        &format!(
            "SELECT {SCAN_COLUMNS} FROM scan_records WHERE outcome = 'admit' AND ticket IS NOT NULL
             ORDER BY ticket, at_ms, gate_id, seq"
        ),
        (),
        record,
    )?;
    Ok(tessera_gate::duplicate_admissions_among(admissions))
}

/// A scan record from a row of [`SCAN_COLUMNS`].
fn record(r: &Row) -> Result<ScanRecord, DbError> {
    let ticket: Option<String> = r.get(3)?;
    let outcome: String = r.get(5)?;
    Ok(ScanRecord {
        gate_id: r.get(0)?,
        seq: r.get(1)?,
        at_ms: r.get(2)?,
        ticket: ticket
            .map(|t| t.parse::<TicketId>())
            .transpose()
            .map_err(|_| DbError::Type)?,
        step: r
            .get::<Option<i64>>(4)?
            .map(|s| u64::from_be_bytes(s.to_be_bytes())),
        outcome: outcome.parse().map_err(|_| DbError::Type)?,
        reentry: r.get(6)?,
    })
}

/// Moves the scan log an issuer before issue 14 kept in its own file (`scans.sqlite`)
/// into the database, once: the file is renamed when its records are in.
pub(crate) fn adopt_scan_file(db: &Db, path: &Path) -> Result<(), IssuerError> {
    if !path.exists() {
        return Ok(());
    }
    let log = ScanLog::open(path).map_err(|e| IssuerError::ScanLog(e.to_string()))?;
    let records = log
        .records()
        .map_err(|e| IssuerError::ScanLog(e.to_string()))?;
    drop(log);
    db.blocking(|c| merge(c, &records).map(|_| ()))
        .map_err(|e| IssuerError::ScanLog(e.message))?;
    std::fs::rename(path, path.with_extension("sqlite.adopted"))?;
    Ok(())
}

/// Parses an event id from a URL path segment.
pub(crate) fn parse_event_id(text: &str) -> Result<EventId, ApiError> {
    text.parse::<u64>()
        .map(EventId)
        .map_err(|_| ApiError::bad_request("an event id is a decimal number"))
}
