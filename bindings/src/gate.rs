//! The gate surface: `GateVerifier` for the door app, and its records.

use std::sync::{Arc, Mutex, MutexGuard};

use tessera_gate::signed_bundle::ISSUER_KEY_ID;
use tessera_gate::{PinnedKeys, PublicKey, ScanLog, Verifier, VerifierConfig};

use crate::errors::GateError;

/// Why a code was refused. `door_text()` gives the instruction for the door person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum RejectReason {
    /// Not a Tessera code.
    Malformed,
    /// S1: an issuer key this gate does not have; T1: no seed for the ticket.
    UnknownKey,
    /// Forged or damaged code (S1 issuer signature, T1 TOTP value).
    BadSignature,
    /// S1: a genuine ticket shown from another phone than the one it is bound to.
    WrongDevice,
    /// A code of another event.
    WrongEvent,
    /// Admission has not opened yet.
    NotYetValid,
    /// Admission has closed.
    Expired,
    /// More than one step away from the gate's time: an old or screenshot code, or a
    /// wrong clock.
    Stale,
    /// This exact code was scanned before.
    Replay,
    /// The ticket has already entered and the event does not allow re-entry.
    AlreadyAdmitted,
    /// The issuer revoked the ticket (or this device binding of it).
    Revoked,
    /// Strict just-in-time: the code was made before the ticket was released.
    NotReleased,
}

impl From<tessera_gate::RejectReason> for RejectReason {
    fn from(r: tessera_gate::RejectReason) -> Self {
        use tessera_gate::RejectReason as R;
        match r {
            R::Malformed => Self::Malformed,
            R::UnknownKey => Self::UnknownKey,
            R::BadSignature => Self::BadSignature,
            R::WrongDevice => Self::WrongDevice,
            R::WrongEvent => Self::WrongEvent,
            R::NotYetValid => Self::NotYetValid,
            R::Expired => Self::Expired,
            R::Stale => Self::Stale,
            R::Replay => Self::Replay,
            R::AlreadyAdmitted => Self::AlreadyAdmitted,
            R::Revoked => Self::Revoked,
            R::NotReleased => Self::NotReleased,
        }
    }
}

impl From<RejectReason> for tessera_gate::RejectReason {
    fn from(r: RejectReason) -> Self {
        use tessera_gate::RejectReason as R;
        match r {
            RejectReason::Malformed => R::Malformed,
            RejectReason::UnknownKey => R::UnknownKey,
            RejectReason::BadSignature => R::BadSignature,
            RejectReason::WrongDevice => R::WrongDevice,
            RejectReason::WrongEvent => R::WrongEvent,
            RejectReason::NotYetValid => R::NotYetValid,
            RejectReason::Expired => R::Expired,
            RejectReason::Stale => R::Stale,
            RejectReason::Replay => R::Replay,
            RejectReason::AlreadyAdmitted => R::AlreadyAdmitted,
            RejectReason::Revoked => R::Revoked,
            RejectReason::NotReleased => R::NotReleased,
        }
    }
}

#[uniffi::export]
impl RejectReason {
    /// A short instruction for the person at the door (English).
    pub fn door_text(&self) -> String {
        tessera_gate::RejectReason::from(*self)
            .door_text()
            .to_owned()
    }

    /// The stable lower-case name stored in scan logs (`stale`, `replay`…).
    pub fn code(&self) -> String {
        tessera_gate::RejectReason::from(*self).as_str().to_owned()
    }
}

/// The answer for one scan.
#[derive(Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Verdict {
    /// Let the holder in: show the seat, and check the name against an ID when there is one.
    Admit {
        /// The ticket admitted (32 hex digits).
        ticket_id: String,
        /// Seat label, when known.
        seat: Option<String>,
        /// Holder's name for a personalised ticket.
        holder_name: Option<String>,
    },
    /// Do not let the holder in; `reason.door_text()` says what to do.
    Reject {
        /// Why.
        reason: RejectReason,
    },
}

impl std::fmt::Debug for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The holder's name is personal data: for the screen, not for logs.
            Self::Admit {
                ticket_id, seat, ..
            } => f
                .debug_struct("Admit")
                .field("ticket_id", ticket_id)
                .field("seat", seat)
                .finish_non_exhaustive(),
            Self::Reject { reason } => f.debug_struct("Reject").field("reason", reason).finish(),
        }
    }
}

impl From<tessera_gate::Verdict> for Verdict {
    fn from(v: tessera_gate::Verdict) -> Self {
        match v {
            tessera_gate::Verdict::Admit {
                ticket,
                seat,
                holder_name,
            } => Self::Admit {
                ticket_id: ticket.to_string(),
                seat,
                holder_name,
            },
            tessera_gate::Verdict::Reject { reason } => Self::Reject {
                reason: reason.into(),
            },
        }
    }
}

/// Something worth a supervisor's look, raised beside (never instead of) a verdict.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Anomaly {
    /// The same ticket showed a genuine code at another gate shortly before.
    SeenAtOtherGate {
        /// The other gate's id.
        other_gate: String,
        /// Milliseconds between the two scans.
        apart_ms: i64,
    },
    /// Several refused scans of one ticket in a short time: someone may be trying codes.
    FailureBurst {
        /// Refusals inside the window, this one included.
        failures: u32,
        /// The window, seconds.
        within_secs: u32,
    },
    /// The phone's clock is off (code step minus gate step).
    DeviceClockSkew {
        /// Code step minus gate step.
        offset_steps: i64,
    },
    /// Most recent genuine codes are off the same way: this gate's own clock is suspect.
    GateClockSkew {
        /// +1 when codes run ahead of the gate (gate clock slow), -1 when behind.
        direction: i8,
    },
    /// The scan is not in the scan log yet (kept in memory, retried at the next write).
    LogNotPersisted,
    /// The gate's bundle is older than the maximum age (30 min): transfers, rebinds and
    /// revocations since are unknown to it. Fetch the bundle again.
    BundleStale {
        /// The bundle's age, seconds.
        age_secs: i64,
    },
}

impl From<tessera_gate::Anomaly> for Anomaly {
    fn from(a: tessera_gate::Anomaly) -> Self {
        use tessera_gate::Anomaly as A;
        match a {
            A::SeenAtOtherGate {
                other_gate,
                apart_ms,
            } => Self::SeenAtOtherGate {
                other_gate,
                apart_ms,
            },
            A::FailureBurst {
                failures,
                within_secs,
            } => Self::FailureBurst {
                failures,
                within_secs,
            },
            A::DeviceClockSkew { offset_steps } => Self::DeviceClockSkew { offset_steps },
            A::GateClockSkew { direction } => Self::GateClockSkew { direction },
            A::LogNotPersisted => Self::LogNotPersisted,
            A::BundleStale { age_secs } => Self::BundleStale { age_secs },
        }
    }
}

/// A verdict with what the gate learned on the way.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ScanResult {
    /// Admit or reject.
    pub verdict: Verdict,
    /// The ticket the code names, once parsed (not authenticated when the verdict is a
    /// signature failure).
    pub ticket_id: Option<String>,
    /// The code's step, once parsed.
    pub step: Option<u64>,
    /// Flags for a supervisor; usually empty.
    pub anomalies: Vec<Anomaly>,
    /// How old the gate's bundle was at this scan, ms.
    pub bundle_age_ms: i64,
}

impl From<tessera_gate::ScanResult> for ScanResult {
    fn from(r: tessera_gate::ScanResult) -> Self {
        Self {
            verdict: r.verdict.into(),
            ticket_id: r.ticket.map(|t| t.to_string()),
            step: r.step,
            anomalies: r.anomalies.into_iter().map(Anomaly::from).collect(),
            bundle_age_ms: r.bundle_age_ms,
        }
    }
}

/// A ticket admitted twice where re-entry was not allowed: the first admission counts.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DuplicateAdmission {
    /// The ticket (32 hex digits).
    pub ticket_id: String,
    /// Gate of the admission that counts.
    pub first_gate: String,
    /// Its gate time, Unix ms.
    pub first_at_ms: i64,
    /// Gate of the admission that should not have happened.
    pub later_gate: String,
    /// Its gate time, Unix ms.
    pub later_at_ms: i64,
}

/// What merging another gate's scans did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MergeReport {
    /// Records new to this log.
    pub imported: u32,
    /// Records this log already held.
    pub unchanged: u32,
    /// Records that clashed with different content under the same gate id and number.
    pub conflicts: u32,
    /// Every duplicate admission in the log after the merge.
    pub duplicate_admissions: Vec<DuplicateAdmission>,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl From<tessera_gate::MergeReport> for MergeReport {
    fn from(r: tessera_gate::MergeReport) -> Self {
        Self {
            imported: count(r.imported),
            unchanged: count(r.unchanged),
            conflicts: count(r.conflicts),
            duplicate_admissions: r
                .duplicate_admissions
                .into_iter()
                .map(|d| DuplicateAdmission {
                    ticket_id: d.ticket.to_string(),
                    first_gate: d.first.gate_id,
                    first_at_ms: d.first.at_ms,
                    later_gate: d.later.gate_id,
                    later_at_ms: d.later.at_ms,
                })
                .collect(),
        }
    }
}

/// A door scanner's verifier: checks T1 and S1 codes offline against an event's gate
/// bundle and keeps a scan log (SQLite) that gates exchange to catch double admissions.
///
/// Thread-safe; scans are judged one at a time.
#[derive(uniffi::Object)]
pub struct GateVerifier {
    inner: Mutex<Verifier>,
}

impl std::fmt::Debug for GateVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GateVerifier").finish_non_exhaustive()
    }
}

#[uniffi::export]
impl GateVerifier {
    /// A verifier for gate `gate_id` with the signed bundle document the issuer serves
    /// (`GET /v1/gate/events/{id}/bundle`), keeping its scan log at `scan_log_path`
    /// (created if missing; scans already there, this gate's and merged ones, count for
    /// replay and re-entry). The log pins the issuer key of the first bundle it is opened
    /// with; a bundle that is unsigned, altered, signed by another key or older than one
    /// used before is refused. Prefer [`GateVerifier::with_issuer_key`] when the app knows
    /// the issuer key.
    #[uniffi::constructor]
    pub fn new(
        bundle_json: String,
        gate_id: String,
        scan_log_path: String,
    ) -> Result<Arc<Self>, GateError> {
        Self::open(&bundle_json, None, &gate_id, &scan_log_path)
    }

    /// As [`GateVerifier::new`], pinning `issuer_key_hex` (64 hex digits, the issuer's key
    /// id 1 as `tessera issuer serve` prints it) instead of trusting the first bundle.
    #[uniffi::constructor]
    pub fn with_issuer_key(
        bundle_json: String,
        issuer_key_hex: String,
        gate_id: String,
        scan_log_path: String,
    ) -> Result<Arc<Self>, GateError> {
        let mut key = [0u8; 32];
        hex::decode_to_slice(issuer_key_hex.trim(), &mut key).map_err(|_| GateError::Invalid {
            reason: "issuer_key_hex must be 64 hex digits".into(),
        })?;
        let pins = PinnedKeys::from([(ISSUER_KEY_ID, PublicKey(key))]);
        Self::open(&bundle_json, Some(&pins), &gate_id, &scan_log_path)
    }

    /// Judges a scanned payload at gate time `now_ms` (Unix ms), records the scan and
    /// returns the verdict with any anomaly flags.
    pub fn verify(&self, payload: String, now_ms: i64) -> ScanResult {
        self.lock().verify(&payload, now_ms).into()
    }

    /// The verdict `verify` would give, without recording the scan (a second look).
    pub fn check(&self, payload: String, now_ms: i64) -> Verdict {
        self.lock().check(&payload, now_ms).into()
    }

    /// Writes scans kept in memory to the scan log now (also done on admissions, in
    /// batches, and when the verifier is dropped).
    pub fn flush(&self) -> Result<(), GateError> {
        Ok(self.lock().flush()?)
    }

    /// Every scan in the log (this gate's and merged ones) as JSON lines, for the issuer
    /// (`POST /v1/gate/scans`) or another gate's `merge`. No names, no secrets.
    pub fn export_scans(&self) -> Result<String, GateError> {
        let mut v = self.lock();
        v.flush()?;
        let mut out = Vec::new();
        v.scan_log().export_jsonl(&mut out)?;
        String::from_utf8(out).map_err(|_| GateError::Export {
            reason: "export is not UTF-8".into(),
        })
    }

    /// Merges another gate's `export_scans` into this log and this verifier's memory, so
    /// a ticket admitted there is `AlreadyAdmitted` here.
    pub fn merge(&self, jsonl: String) -> Result<MergeReport, GateError> {
        let records = ScanLog::read_jsonl(jsonl.as_bytes())?;
        Ok(self.lock().merge(&records)?.into())
    }

    /// This gate's id.
    pub fn gate_id(&self) -> String {
        self.lock().gate_id().to_owned()
    }

    /// The event the bundle admits to.
    pub fn event_id(&self) -> u64 {
        self.lock().bundle().event.0
    }
}

#[uniffi::export]
impl GateVerifier {
    /// The sequence number of the bundle in use: fetch
    /// `GET /v1/gate/events/{id}/bundle?since={seq}` for what changed since.
    pub fn bundle_seq(&self) -> u64 {
        self.lock().bundle().seq
    }

    /// When the issuer made the bundle in use (Unix ms); every `ScanResult` carries its age.
    pub fn bundle_issued_at_ms(&self) -> i64 {
        self.lock().bundle().issued_at_ms
    }

    /// Applies what the issuer answered to `?since=`: a signed update, or a whole bundle.
    /// It must be signed by the pinned issuer key and not older than the bundle in use;
    /// a refused document changes nothing.
    pub fn refresh_bundle(&self, document: String) -> Result<(), GateError> {
        Ok(self.lock().refresh_bundle(&document)?)
    }
}

impl GateVerifier {
    fn open(
        document: &str,
        pins: Option<&PinnedKeys>,
        gate_id: &str,
        scan_log_path: &str,
    ) -> Result<Arc<Self>, GateError> {
        let log = ScanLog::open(scan_log_path)?;
        let verifier =
            Verifier::open_signed(document, pins, gate_id, log, VerifierConfig::default())
                .map_err(|e| match e {
                    // A bundle that does not parse is an invalid bundle, whatever core names it.
                    tessera_gate::GateError::Export(reason) => GateError::InvalidBundle { reason },
                    other => other.into(),
                })?;
        Ok(Arc::new(Self {
            inner: Mutex::new(verifier),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Verifier> {
        // A panic elsewhere while holding the lock leaves the verifier consistent: each
        // scan is judged and recorded in one step.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}
