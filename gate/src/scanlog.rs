//! The scan log: every scan a gate made, in SQLite, and the merge of other gates' logs.
//!
//! A row is a fact (“gate G, its scan number `seq`, at time T, saw ticket X at step S and
//! answered V”) and is never rewritten, so merging is a set union keyed by
//! `(gate_id, seq)`: merging the same export twice changes nothing, and the order of
//! merges does not matter. Which of two admissions of one ticket came first is derived
//! from the rows (earliest `at_ms`, then `gate_id`, then `seq`), never stored, so every
//! gate that holds the same rows flags the same later admission.

use std::io::{BufRead, Write};
use std::path::Path;
use std::str::FromStr;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use tessera_core::sqlite::{self, OpenError, Options, Schema};
use tessera_core::{EventId, TicketId};

use crate::GateError;
use crate::bundle::PublicKey;
use crate::signed_bundle::PinnedKeys;
use crate::verdict::RejectReason;

/// The scan log's migrations (append only), opened through [`tessera_core::sqlite`].
const SCHEMA: Schema = Schema::new(&[MIGRATION_1, MIGRATION_2]);

/// Each admission is a commit at the door, so the commit is made cheap (measured in
/// docs/PERFORMANCE.md § Gate): small pages (a row is ~100 bytes; page size only takes
/// effect on a new file) and one owner (exclusive locking skips the shared-memory index and
/// its locks per transaction). WAL + NORMAL, as every store: a commit survives the app being
/// killed; only a power cut can lose the last commits; no fsync per commit.
const OPTIONS: Options = Options {
    exclusive: true,
    page_size: Some(1024),
};

/// The gate's own error for a log that does not open; a newer schema keeps its variant.
fn open_error(e: OpenError) -> GateError {
    match e {
        OpenError::Sqlite(e) => e.into(),
        OpenError::NewerSchema { found, .. } => GateError::NewerSchema { version: found },
    }
}

const MIGRATION_1: &str = "
CREATE TABLE scans (
    gate_id TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    at_ms   INTEGER NOT NULL,
    ticket  TEXT,
    step    INTEGER,
    outcome TEXT NOT NULL,
    reentry INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (gate_id, seq)
) WITHOUT ROWID;
";

/// The gate's trust in its bundles: the issuer keys pinned when the gate was set up (its
/// first signed bundle), and per event the newest bundle sequence number used, so an older
/// bundle cannot be brought back.
const MIGRATION_2: &str = "
CREATE TABLE pinned_keys (key_id INTEGER PRIMARY KEY, public_key BLOB NOT NULL);
CREATE TABLE bundle_seq (event_id INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
";

/// What a scan ended in, as the log stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Outcome {
    /// Admitted.
    Admit,
    /// Refused, and why.
    Reject(RejectReason),
}

impl Outcome {
    /// `"admit"` or the reason's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admit => "admit",
            Self::Reject(r) => r.as_str(),
        }
    }

    /// Whether the code reached the replay check: genuine, in its window and fresh.
    /// Such a (ticket, step) must never be admitted again.
    pub fn code_was_genuine_and_fresh(self) -> bool {
        matches!(
            self,
            Self::Admit | Self::Reject(RejectReason::Replay | RejectReason::AlreadyAdmitted)
        )
    }
}

impl FromStr for Outcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "admit" {
            return Ok(Self::Admit);
        }
        RejectReason::from_str(s)
            .map(Self::Reject)
            .map_err(|_| "unknown outcome".to_owned())
    }
}

impl TryFrom<String> for Outcome {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Outcome> for String {
    fn from(o: Outcome) -> Self {
        o.as_str().to_owned()
    }
}

/// One scan, as exported and merged between gates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRecord {
    /// The gate that scanned.
    pub gate_id: String,
    /// That gate's scan number, from 1; `(gate_id, seq)` identifies the record.
    pub seq: u64,
    /// The gate's time of the scan, Unix ms.
    pub at_ms: i64,
    /// The ticket the code named, when it parsed.
    pub ticket: Option<TicketId>,
    /// The code's step, when it parsed.
    pub step: Option<u64>,
    /// Admit, or the reject reason.
    pub outcome: Outcome,
    /// The admission was one the event's re-entry rule allowed to repeat.
    pub reentry: bool,
}

/// Where an admission is in the merged log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AdmissionRef {
    /// The admitting gate.
    pub gate_id: String,
    /// Its scan number.
    pub seq: u64,
    /// When, Unix ms (gate time).
    pub at_ms: i64,
}

/// A ticket admitted twice where re-entry was not allowed: `first` wins, `later` is flagged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DuplicateAdmission {
    /// The ticket (32 hex digits across the FFI).
    #[cfg_attr(feature = "uniffi", uniffi(name = "ticket_id"))]
    pub ticket: TicketId,
    /// The admission that counts (earliest time, then gate id, then seq).
    pub first: AdmissionRef,
    /// The admission that should not have happened.
    pub later: AdmissionRef,
}

/// What a merge did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MergeReport {
    /// Records new to this log.
    pub imported: u32,
    /// Records this log already held, identical.
    pub unchanged: u32,
    /// Records whose `(gate_id, seq)` this log held with other content (two gates sharing an
    /// id, or a tampered export); the smaller record is kept so that merges still commute.
    pub conflicts: u32,
    /// Every duplicate admission in the log after the merge.
    pub duplicate_admissions: Vec<DuplicateAdmission>,
}

/// A gate's own scan waiting to be written (the verifier batches them).
#[derive(Clone, Debug)]
pub(crate) struct PendingScan {
    pub(crate) seq: u64,
    pub(crate) at_ms: i64,
    pub(crate) ticket: Option<TicketId>,
    pub(crate) step: Option<u64>,
    pub(crate) outcome: Outcome,
    pub(crate) reentry: bool,
}

/// The scan log database (SQLite, WAL). The gate owns the file while it is open
/// (exclusive locking): export through [`ScanLog::records`] or [`ScanLog::export_jsonl`].
pub struct ScanLog {
    conn: Connection,
}

impl std::fmt::Debug for ScanLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanLog")
            .field("path", &self.conn.path())
            .finish()
    }
}

// SQLite integers are i64; a step is any u64 a code claims, so store its bits unchanged.
fn step_to_sql(step: u64) -> i64 {
    i64::from_be_bytes(step.to_be_bytes())
}

fn event_to_sql(event: EventId) -> Result<i64, GateError> {
    i64::try_from(event.0).map_err(|_| GateError::invalid_bundle("event id out of range"))
}

fn step_from_sql(v: i64) -> u64 {
    u64::from_be_bytes(v.to_be_bytes())
}

fn seq_to_sql(seq: u64) -> Result<i64, GateError> {
    i64::try_from(seq).map_err(|_| GateError::export("sequence number out of range"))
}

type RawRow = (String, i64, i64, Option<String>, Option<i64>, String, bool);

fn raw_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn record_from_raw(raw: RawRow) -> Result<ScanRecord, GateError> {
    let (gate_id, seq, at_ms, ticket, step, outcome, reentry) = raw;
    let corrupt = || GateError::storage("scan log row is corrupt");
    Ok(ScanRecord {
        gate_id,
        seq: u64::try_from(seq).map_err(|_| corrupt())?,
        at_ms,
        ticket: ticket
            .map(|t| t.parse::<TicketId>())
            .transpose()
            .map_err(|_| corrupt())?,
        step: step.map(step_from_sql),
        outcome: outcome.parse().map_err(|_| corrupt())?,
        reentry,
    })
}

const SELECT_RECORD: &str = "SELECT gate_id, seq, at_ms, ticket, step, outcome, reentry FROM scans";

impl ScanLog {
    /// Opens (or creates) the log at `path`, migrating it to the current schema.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, GateError> {
        let opened = sqlite::open(path.as_ref(), SCHEMA, OPTIONS).map_err(open_error)?;
        Ok(Self { conn: opened.conn })
    }

    /// A log that lives only in memory (tests, dry runs).
    pub fn open_in_memory() -> Result<Self, GateError> {
        let opened = sqlite::open_in_memory(SCHEMA, OPTIONS).map_err(open_error)?;
        Ok(Self { conn: opened.conn })
    }

    /// The issuer keys this gate pinned (empty before its first signed bundle).
    pub fn pinned_keys(&self) -> Result<PinnedKeys, GateError> {
        let mut st = self
            .conn
            .prepare("SELECT key_id, public_key FROM pinned_keys")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
        let mut keys = PinnedKeys::new();
        for row in rows {
            let (id, pk) = row?;
            let corrupt = || GateError::storage("pinned key row is corrupt");
            let id = u32::try_from(id).map_err(|_| corrupt())?;
            let pk: [u8; 32] = pk.try_into().map_err(|_| corrupt())?;
            keys.insert(id, PublicKey(pk));
        }
        Ok(keys)
    }

    /// Pins `keys` the first time this gate opens a bundle; once keys are pinned, only
    /// the same keys are accepted.
    pub fn pin_keys(&mut self, keys: &PinnedKeys) -> Result<(), GateError> {
        let have = self.pinned_keys()?;
        if !have.is_empty() {
            return match keys.iter().find(|(id, pk)| have.get(id) != Some(pk)) {
                None => Ok(()),
                Some((id, _)) => Err(GateError::not_pinned(*id)),
            };
        }
        let tx = self.conn.transaction()?;
        for (id, pk) in keys {
            tx.execute(
                "INSERT INTO pinned_keys (key_id, public_key) VALUES (?1, ?2)",
                params![id, &pk.0[..]],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The newest bundle sequence number this gate used for `event`.
    pub fn bundle_seq(&self, event: EventId) -> Result<Option<u64>, GateError> {
        let v: Option<i64> = self
            .conn
            .query_row(
                "SELECT seq FROM bundle_seq WHERE event_id = ?1",
                [event_to_sql(event)?],
                |r| r.get(0),
            )
            .optional()?;
        v.map(|s| u64::try_from(s).map_err(|_| GateError::storage("negative bundle seq")))
            .transpose()
    }

    /// Records that this gate now uses `event`'s bundle of sequence `seq`; refuses one
    /// older than a bundle it used before.
    pub fn note_bundle_seq(&mut self, event: EventId, seq: u64) -> Result<(), GateError> {
        if let Some(have) = self.bundle_seq(event)?
            && seq < have
        {
            return Err(GateError::BundleRolledBack { have, got: seq });
        }
        self.conn.execute(
            "INSERT INTO bundle_seq (event_id, seq) VALUES (?1, ?2)
             ON CONFLICT (event_id) DO UPDATE SET seq = excluded.seq",
            params![event_to_sql(event)?, seq_to_sql(seq)?],
        )?;
        Ok(())
    }

    /// The highest scan number stored for `gate_id`.
    pub fn max_seq(&self, gate_id: &str) -> Result<Option<u64>, GateError> {
        let v: Option<i64> = self.conn.query_row(
            "SELECT MAX(seq) FROM scans WHERE gate_id = ?1",
            [gate_id],
            |r| r.get(0),
        )?;
        v.map(|s| u64::try_from(s).map_err(|_| GateError::storage("negative seq")))
            .transpose()
    }

    /// Number of records.
    pub fn len(&self) -> Result<u64, GateError> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM scans", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Whether the log has no record.
    pub fn is_empty(&self) -> Result<bool, GateError> {
        Ok(self.len()? == 0)
    }

    /// Writes a gate's own scans in one transaction.
    pub(crate) fn append_own(
        &mut self,
        gate_id: &str,
        rows: &[PendingScan],
    ) -> Result<(), GateError> {
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO scans (gate_id, seq, at_ms, ticket, step, outcome, reentry)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for r in rows {
                st.execute(params![
                    gate_id,
                    seq_to_sql(r.seq)?,
                    r.at_ms,
                    r.ticket.map(|t| t.to_string()),
                    r.step.map(step_to_sql),
                    r.outcome.as_str(),
                    r.reentry,
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Every record, oldest first (by time, then gate id, then seq).
    pub fn records(&self) -> Result<Vec<ScanRecord>, GateError> {
        let mut st = self
            .conn
            .prepare(&format!("{SELECT_RECORD} ORDER BY at_ms, gate_id, seq"))?;
        let raws = st.query_map([], raw_row)?.collect::<Result<Vec<_>, _>>()?;
        raws.into_iter().map(record_from_raw).collect()
    }

    /// Writes every record as one JSON object per line; returns how many.
    pub fn export_jsonl(&self, mut out: impl Write) -> Result<usize, GateError> {
        let records = self.records()?;
        for r in &records {
            serde_json::to_writer(&mut out, r).map_err(|e| GateError::export(e.to_string()))?;
            out.write_all(b"\n")
                .map_err(|e| GateError::export(e.to_string()))?;
        }
        out.flush().map_err(|e| GateError::export(e.to_string()))?;
        Ok(records.len())
    }

    /// Reads an export written by [`export_jsonl`](Self::export_jsonl); blank lines are skipped.
    pub fn read_jsonl(input: impl BufRead) -> Result<Vec<ScanRecord>, GateError> {
        let mut out = Vec::new();
        for (n, line) in input.lines().enumerate() {
            let line = line.map_err(|e| GateError::export(e.to_string()))?;
            if line.trim().is_empty() {
                continue;
            }
            let rec = serde_json::from_str(&line)
                .map_err(|_| GateError::export(format!("line {} is not a scan record", n + 1)))?;
            out.push(rec);
        }
        Ok(out)
    }

    /// Merges another gate's export; see the module doc for why this is idempotent and commutative.
    pub fn merge(&mut self, records: &[ScanRecord]) -> Result<MergeReport, GateError> {
        Ok(self.merge_stored(records)?.0)
    }

    /// Merges and also returns the indices of the records now stored as given.
    pub(crate) fn merge_stored(
        &mut self,
        records: &[ScanRecord],
    ) -> Result<(MergeReport, Vec<usize>), GateError> {
        let mut report = MergeReport::default();
        let mut stored = Vec::new();
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO scans (gate_id, seq, at_ms, ticket, step, outcome, reentry)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            let mut existing =
                tx.prepare_cached(&format!("{SELECT_RECORD} WHERE gate_id = ?1 AND seq = ?2"))?;
            let mut replace = tx.prepare_cached(
                "UPDATE scans SET at_ms = ?3, ticket = ?4, step = ?5, outcome = ?6, reentry = ?7
                 WHERE gate_id = ?1 AND seq = ?2",
            )?;
            for (i, r) in records.iter().enumerate() {
                if r.gate_id.is_empty() {
                    return Err(GateError::export("record without a gate id"));
                }
                let seq = seq_to_sql(r.seq)?;
                let values = params![
                    r.gate_id,
                    seq,
                    r.at_ms,
                    r.ticket.map(|t| t.to_string()),
                    r.step.map(step_to_sql),
                    r.outcome.as_str(),
                    r.reentry,
                ];
                if insert.execute(values)? == 1 {
                    report.imported = report.imported.saturating_add(1);
                    stored.push(i);
                    continue;
                }
                let raw = existing
                    .query_row(params![r.gate_id, seq], raw_row)
                    .optional()?;
                let Some(raw) = raw else { continue };
                let have = record_from_raw(raw)?;
                if have == *r {
                    report.unchanged = report.unchanged.saturating_add(1);
                    continue;
                }
                report.conflicts = report.conflicts.saturating_add(1);
                if r.wins_conflict_over(&have) {
                    replace.execute(values)?;
                    stored.push(i);
                }
            }
        }
        tx.commit()?;
        report.duplicate_admissions = self.duplicate_admissions()?;
        Ok((report, stored))
    }

    /// Every admission that came after an earlier admission of the same ticket where
    /// re-entry was not allowed. Derived from the rows, so every gate agrees.
    pub fn duplicate_admissions(&self) -> Result<Vec<DuplicateAdmission>, GateError> {
        let mut st = self.conn.prepare(&format!(
            "{SELECT_RECORD} WHERE outcome = 'admit' AND ticket IS NOT NULL
             ORDER BY ticket, at_ms, gate_id, seq"
        ))?;
        let raws = st.query_map([], raw_row)?.collect::<Result<Vec<_>, _>>()?;
        let records = raws
            .into_iter()
            .map(record_from_raw)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(duplicate_admissions_among(records))
    }
}

/// Every admission that came after an earlier admission of the same ticket where re-entry
/// was not allowed, among admissions ordered by ticket, time, gate id and scan number (the
/// order a merged log, here or in the issuer's database, reads them in). Records without
/// a ticket are skipped.
pub fn duplicate_admissions_among(
    admissions: impl IntoIterator<Item = ScanRecord>,
) -> Vec<DuplicateAdmission> {
    let mut out = Vec::new();
    let mut first: Option<(TicketId, AdmissionRef)> = None;
    for r in admissions {
        let Some(ticket) = r.ticket else { continue };
        let here = AdmissionRef {
            gate_id: r.gate_id,
            seq: r.seq,
            at_ms: r.at_ms,
        };
        match &first {
            Some((t, winner)) if *t == ticket => {
                if !r.reentry {
                    out.push(DuplicateAdmission {
                        ticket,
                        first: winner.clone(),
                        later: here,
                    });
                }
            }
            _ => first = Some((ticket, here)),
        }
    }
    out
}

impl ScanRecord {
    /// Of two records under one `(gate_id, seq)`, whether this is the one every merged log
    /// keeps (the smaller content), so that merges commute wherever they happen.
    pub fn wins_conflict_over(&self, other: &ScanRecord) -> bool {
        conflict_key(self) < conflict_key(other)
    }
}

/// Total order on a record's content, so two gates resolve a `(gate_id, seq)` clash alike.
fn conflict_key(r: &ScanRecord) -> (i64, Option<TicketId>, Option<u64>, &'static str, bool) {
    (r.at_ms, r.ticket, r.step, r.outcome.as_str(), r.reentry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_text_round_trips() {
        for o in [
            Outcome::Admit,
            Outcome::Reject(RejectReason::Replay),
            Outcome::Reject(RejectReason::NotReleased),
        ] {
            assert_eq!(o.as_str().parse::<Outcome>(), Ok(o));
        }
        assert!("nope".parse::<Outcome>().is_err());
    }

    #[test]
    fn huge_steps_survive_storage() {
        for s in [0, 1, u64::MAX, 1 << 63] {
            assert_eq!(step_from_sql(step_to_sql(s)), s);
        }
    }

    /// The gate owns its log while it is open: another connection cannot even read it,
    /// until the gate closes it.
    #[test]
    #[allow(clippy::unwrap_used)]
    fn an_open_log_keeps_its_file_to_itself() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scans.sqlite");
        let log = ScanLog::open(&path).unwrap();
        let other = Connection::open(&path).unwrap();
        // Refused at once rather than after rusqlite's default wait.
        other.busy_timeout(std::time::Duration::ZERO).unwrap();
        let version = || other.pragma_query_value(None, "user_version", |r| r.get::<_, u32>(0));
        assert!(version().is_err());
        drop(log);
        assert_eq!(version().unwrap(), SCHEMA.version());
    }
}
