//! The gate surface: the `GateVerifier` object for the door app. Its records, enums and
//! error are the gate crate's, exported as they are.

use std::sync::{Arc, Mutex, MutexGuard};

use tessera_gate::signed_bundle::ISSUER_KEY_ID;
use tessera_gate::{
    GateError, MergeReport, PinnedKeys, PublicKey, ScanLog, ScanResult, Verdict, Verifier,
    VerifierConfig,
};

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
        self.lock().verify(&payload, now_ms)
    }

    /// The verdict `verify` would give, without recording the scan (a second look).
    pub fn check(&self, payload: String, now_ms: i64) -> Verdict {
        self.lock().check(&payload, now_ms)
    }

    /// Writes scans kept in memory to the scan log now (also done on admissions, in
    /// batches, and when the verifier is dropped).
    pub fn flush(&self) -> Result<(), GateError> {
        self.lock().flush()
    }

    /// Every scan in the log (this gate's and merged ones) as JSON lines, for the issuer
    /// (`POST /v1/gate/scans`) or another gate's `merge`. No names, no secrets.
    pub fn export_scans(&self) -> Result<String, GateError> {
        let mut v = self.lock();
        v.flush()?;
        let mut out = Vec::new();
        v.scan_log().export_jsonl(&mut out)?;
        String::from_utf8(out).map_err(|_| GateError::export("export is not UTF-8"))
    }

    /// Merges another gate's `export_scans` into this log and this verifier's memory, so
    /// a ticket admitted there is `AlreadyAdmitted` here.
    pub fn merge(&self, jsonl: String) -> Result<MergeReport, GateError> {
        let records = ScanLog::read_jsonl(jsonl.as_bytes())?;
        self.lock().merge(&records)
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
        self.lock().refresh_bundle(&document)
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
            Verifier::open_signed(document, pins, gate_id, log, VerifierConfig::default())?;
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
