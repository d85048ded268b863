//! The verifier: judges one payload against the bundle and what this gate has seen.
//!
//! Check order (first failure wins, docs/GATE.md):
//! 1. parse → `Malformed`; a compact C1 code whose reference the bundle lacks →
//!    `UnknownTicket` (its credential is then looked up: the S1 checks below apply to it)
//! 2. event (and the event's period) → `WrongEvent`
//! 3. key: S1 issuer key id / T1 ticket seed → `UnknownKey`
//! 4. signatures: S1 issuer signature → `BadSignature`, then device signature → `WrongDevice`;
//!    T1 TOTP (ticket and event value) → `BadSignature`
//! 5. release MAC of a strict just-in-time event → `NotReleased`
//! 6. window (bundle's, and the S1 credential's) → `NotYetValid` / `Expired`
//! 7. freshness: code step within ±1 of the gate's step → `Stale`
//! 8. revocation (ticket, or S1 credential digest) → `Revoked`
//! 9. replay: this (ticket, step) seen before → `Replay`
//! 10. admission: ticket admitted before and re-entry not allowed → `AlreadyAdmitted`
//!
//! Cryptography comes before anything that depends on the payload's claims, so a forged
//! code learns nothing about the gate's state. Replay and admission use an in-memory index
//! loaded from the scan log at start and kept in step with it; only the log writes touch disk.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hint::black_box;

use tessera_core::TicketId;
use tessera_core::code::c1::reference_of;
use tessera_core::code::release::MAC_LEN;
use tessera_core::code::release::{ReleaseContext, verify_release_mac};
use tessera_core::code::totp::hotp;
use tessera_core::code::{C1Code, Code, S1Code, SignedCredential, T1Code, step_at};

use crate::GateError;
use crate::bundle::{CredentialDigest, GateBundle, ReentryPolicy};
use crate::scanlog::{MergeReport, Outcome, PendingScan, ScanLog, ScanRecord};
use crate::signed_bundle::{self, PinnedKeys};
use crate::verdict::{Anomaly, RejectReason, ScanResult, Verdict};

/// When the verifier writes its scans to the scan log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushPolicy {
    /// Commit every scan before [`Verifier::verify`] returns (the default): whatever
    /// verdict the app shows is in the log first, so a gate killed right after showing a
    /// refusal still has its row. Costs one SQLite commit per scan.
    EveryScan,
    /// Commit at every admission (and whenever `max_pending` refusals have piled up), so
    /// no admission is lost if the app dies; a refusal already shown may be. Costs one
    /// SQLite commit per admission.
    EveryAdmission {
        /// Refusals kept in memory before a commit.
        max_pending: usize,
    },
    /// Commit every `max_pending` scans (and on [`Verifier::flush`] / drop): fastest, but a
    /// crash forgets up to that many scans, admissions included.
    Batched {
        /// Scans kept in memory before a commit.
        max_pending: usize,
    },
}

/// Thresholds of the anomaly flags and the log policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierConfig {
    /// A genuine scan at another gate this recently raises `SeenAtOtherGate`, ms.
    pub other_gate_window_ms: i64,
    /// Refusals of one ticket within `burst_window_secs` that raise `FailureBurst`.
    pub burst_failures: u32,
    /// The burst window, seconds.
    pub burst_window_secs: u32,
    /// Consecutive ±1 offsets of the same sign (one ticket) that raise `DeviceClockSkew`.
    pub skew_consistent_scans: u32,
    /// Recent genuine scans (all tickets) looked at for `GateClockSkew`.
    pub gate_skew_sample: usize,
    /// How many of them must be off the same way.
    pub gate_skew_threshold: usize,
    /// When scans reach the disk.
    pub flush: FlushPolicy,
    /// A bundle older than this raises `BundleStale` with every verdict, ms.
    pub max_bundle_age_ms: i64,
}

/// Default [`VerifierConfig::max_bundle_age_ms`]: 30 minutes. A transfer or rebind reaches
/// a gate only with a newer bundle; gates online refresh every few minutes.
pub const DEFAULT_MAX_BUNDLE_AGE_MS: i64 = 30 * 60 * 1000;

impl Default for VerifierConfig {
    fn default() -> Self {
        Self {
            other_gate_window_ms: 5 * 60 * 1000,
            burst_failures: 3,
            burst_window_secs: 60,
            skew_consistent_scans: 2,
            gate_skew_sample: 32,
            gate_skew_threshold: 24,
            flush: FlushPolicy::EveryScan,
            max_bundle_age_ms: DEFAULT_MAX_BUNDLE_AGE_MS,
        }
    }
}

/// What the stateless checks (1–8) found.
struct Inspection {
    ticket: Option<TicketId>,
    step: Option<u64>,
    /// Code step minus gate step, once the step is authenticated (checks 1–4 passed).
    offset: Option<i64>,
    outcome: Result<Passed, RejectReason>,
}

struct Passed {
    seat: Option<String>,
    reentry: bool,
}

impl Inspection {
    fn malformed() -> Self {
        Self {
            ticket: None,
            step: None,
            offset: None,
            outcome: Err(RejectReason::Malformed),
        }
    }
}

/// Where a ticket's first admission is, for ordering admissions merged from other gates.
type AdmissionKey = (i64, u32, u64);

/// Judges scanned payloads for one gate; see the module doc for the check order.
pub struct Verifier {
    bundle: GateBundle,
    config: VerifierConfig,
    log: ScanLog,
    /// Gate ids by index; index 0 is this gate.
    gates: Vec<String>,
    gate_index: HashMap<String, u32>,
    next_seq: u64,
    pending: Vec<PendingScan>,
    seen: HashSet<(TicketId, u64)>,
    admitted: HashMap<TicketId, AdmissionKey>,
    last_genuine: HashMap<TicketId, (u32, i64)>,
    failures: HashMap<TicketId, VecDeque<i64>>,
    skew_runs: HashMap<TicketId, (i8, u32)>,
    recent_offsets: VecDeque<i8>,
    /// The bundle's credentials by C1 reference, each with its issuer checks (key id,
    /// signature, device key) made once per bundle: a C1 scan costs a lookup and one
    /// Ed25519 verification, the device's.
    compact: CompactIndex,
}

/// C1 reference → (index in `bundle.credentials`, outcome of its issuer checks).
type CompactIndex = HashMap<u32, Vec<(usize, Result<(), RejectReason>)>>;

/// The issuer-side checks of a credential against a bundle (S1.3, S1.4): the key id is
/// in the bundle, its signature verifies, the device key is usable.
fn issuer_check(b: &GateBundle, signed: &SignedCredential) -> Result<(), RejectReason> {
    let key = b
        .issuer_keys
        .get(&signed.credential.key_id)
        .ok_or(RejectReason::UnknownKey)?;
    // `verify` also refuses a credential binding a device key of small order or a
    // non-canonical one (nobody holds its private key): `BadSignature`, a forgery.
    if signed.verify(&key.0) {
        Ok(())
    } else {
        Err(RejectReason::BadSignature)
    }
}

fn compact_index(b: &GateBundle) -> CompactIndex {
    let mut index: HashMap<u32, Vec<_>> = HashMap::with_capacity(b.credentials.len());
    for (i, c) in b.credentials.iter().enumerate() {
        index
            .entry(reference_of(&c.0))
            .or_default()
            .push((i, issuer_check(b, &c.0)));
    }
    index
}

/// A signed code (S1, or C1 with its credential looked up), ready for the checklist.
struct SignedCode<'a> {
    signed: &'a SignedCredential,
    step: u64,
    release_mac: Option<&'a [u8; MAC_LEN]>,
    /// The issuer checks, when already made for this bundle (C1).
    issuer: Option<Result<(), RejectReason>>,
    /// Whether the device signature verifies (computed only after the issuer checks).
    device_ok: &'a dyn Fn() -> bool,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("gate_id", &self.gates.first())
            .field("event", &self.bundle.event)
            .field("pending", &self.pending.len())
            .field("admitted", &self.admitted.len())
            .finish_non_exhaustive()
    }
}

// Folds a difference without branching on where it is, so timing says nothing about the secret.
fn ct_eq_u32(a: u32, b: u32) -> bool {
    black_box(a ^ b) == 0
}

fn offset_steps(code_step: u64, gate_step: u64) -> i64 {
    let d = i128::from(code_step) - i128::from(gate_step);
    i64::try_from(d).unwrap_or(if d < 0 { i64::MIN } else { i64::MAX })
}

fn secs_to_ms(s: i64) -> i64 {
    s.saturating_mul(1000)
}

impl Verifier {
    /// A verifier for `gate_id` with the default thresholds; loads the replay and admission
    /// index from `scan_log` (which may already hold merged scans of other gates).
    pub fn new(bundle: GateBundle, gate_id: &str, scan_log: ScanLog) -> Result<Self, GateError> {
        Self::with_config(bundle, gate_id, scan_log, VerifierConfig::default())
    }

    /// As [`new`](Self::new), with explicit thresholds and flush policy.
    pub fn with_config(
        bundle: GateBundle,
        gate_id: &str,
        scan_log: ScanLog,
        config: VerifierConfig,
    ) -> Result<Self, GateError> {
        bundle.validate()?;
        if gate_id.is_empty() {
            return Err(GateError::invalid_bundle("gate id must not be empty"));
        }
        let next_seq = scan_log.max_seq(gate_id)?.unwrap_or(0).saturating_add(1);
        let records = scan_log.records()?;
        let mut v = Self {
            bundle,
            config,
            log: scan_log,
            gates: vec![gate_id.to_owned()],
            gate_index: HashMap::from([(gate_id.to_owned(), 0)]),
            next_seq,
            pending: Vec::new(),
            seen: HashSet::new(),
            admitted: HashMap::new(),
            last_genuine: HashMap::new(),
            failures: HashMap::new(),
            skew_runs: HashMap::new(),
            recent_offsets: VecDeque::new(),
            compact: HashMap::new(),
        };
        v.compact = compact_index(&v.bundle);
        for r in &records {
            v.index_record(r);
        }
        Ok(v)
    }

    /// A verifier for `gate_id` with the issuer-signed bundle document `document` (as
    /// `GET /v1/gate/events/{id}/bundle` serves it, optionally followed by updates, one per
    /// line). The document must verify under the issuer keys this gate pinned: `pins` if
    /// given (an operator who knows the issuer key), else those the scan log pinned at the
    /// gate's first bundle; a log without pins pins `pins` or, lacking them, the keys the
    /// first document names (trust on first use). A bundle older than one this gate used
    /// before is refused ([`GateError::BundleRolledBack`]).
    pub fn open_signed(
        document: &str,
        pins: Option<&PinnedKeys>,
        gate_id: &str,
        mut scan_log: ScanLog,
        config: VerifierConfig,
    ) -> Result<Self, GateError> {
        let pinned = scan_log.pinned_keys()?;
        let (bundle, keys) = match (pins, pinned.is_empty()) {
            (Some(p), _) => (signed_bundle::open(document, p)?, p.clone()),
            (None, false) => (signed_bundle::open(document, &pinned)?, pinned),
            (None, true) => signed_bundle::open_first(document)?,
        };
        scan_log.pin_keys(&keys)?;
        scan_log.note_bundle_seq(bundle.event, bundle.seq)?;
        Self::with_config(bundle, gate_id, scan_log, config)
    }

    /// Applies a signed update fetched with `?since=` (the bundle's [`GateBundle::seq`]),
    /// or replaces the bundle with a signed whole one, checked against the keys this
    /// gate's log pinned. Scans already judged stay in the log; a refused document changes
    /// nothing.
    pub fn refresh_bundle(&mut self, document: &str) -> Result<(), GateError> {
        let pins = self.log.pinned_keys()?;
        if pins.is_empty() {
            return Err(GateError::not_pinned(0));
        }
        let got = signed_bundle::open_line(document.trim_end(), &pins)?;
        let mut next = if got.is_update() {
            let mut b = self.bundle.clone();
            b.apply_update(got)?;
            b
        } else {
            signed_bundle::open(document, &pins)?
        };
        if next.event != self.bundle.event {
            return Err(GateError::invalid_bundle("a bundle for another event"));
        }
        next.validate()?;
        self.log.note_bundle_seq(next.event, next.seq)?;
        self.compact = compact_index(&next);
        std::mem::swap(&mut self.bundle, &mut next);
        Ok(())
    }

    /// The bundle in use.
    pub fn bundle(&self) -> &GateBundle {
        &self.bundle
    }

    /// This gate's id.
    pub fn gate_id(&self) -> &str {
        self.gates.first().map_or("", String::as_str)
    }

    /// The scan log (for export); call [`flush`](Self::flush) first to include every scan.
    pub fn scan_log(&self) -> &ScanLog {
        &self.log
    }

    /// Scans not yet written to the log.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Judges a scanned payload at gate time `now_unix_ms`, records the scan and returns
    /// the verdict with any anomaly flags.
    ///
    /// Record, then show: under the default [`FlushPolicy::EveryScan`] the scan's row is
    /// committed before this returns, whatever the verdict. If that commit fails the
    /// result carries [`Anomaly::LogNotPersisted`] (the row stays pending and is retried
    /// at the next write); the verdict is then not on disk yet.
    pub fn verify(&mut self, payload: &str, now_unix_ms: i64) -> ScanResult {
        let ins = self.inspect(payload, now_unix_ms);
        self.decide(ins, now_unix_ms)
    }

    /// As [`verify`](Self::verify) for raw scanner bytes: the scanner-input layer
    /// (docs/PROTOCOL.md §10.1). One trailing line terminator (CR LF, LF or CR), which
    /// keyboard-wedge scanners append, is dropped; bytes that are not UTF-8 are `Malformed`.
    /// [`verify`](Self::verify) and [`check`](Self::check) take the payload exactly.
    pub fn verify_bytes(&mut self, payload: &[u8], now_unix_ms: i64) -> ScanResult {
        let ins = match std::str::from_utf8(strip_line_terminator(payload)) {
            Ok(text) => self.inspect(text, now_unix_ms),
            Err(_) => Inspection::malformed(),
        };
        self.decide(ins, now_unix_ms)
    }

    /// The verdict [`verify`](Self::verify) would give, without recording the scan or
    /// raising anomalies (a supervisor's second look; benchmarks).
    pub fn check(&self, payload: &str, now_unix_ms: i64) -> Verdict {
        let ins = self.inspect(payload, now_unix_ms);
        match (ins.outcome, ins.ticket, ins.step) {
            (Err(reason), _, _) => Verdict::Reject { reason },
            (Ok(passed), Some(ticket), Some(step)) => match self.stateful(ticket, step, &passed) {
                Err(reason) => Verdict::Reject { reason },
                Ok(()) => self.admit_verdict(ticket, passed),
            },
            _ => Verdict::Reject {
                reason: RejectReason::Malformed,
            },
        }
    }

    /// Writes pending scans to the log in one transaction.
    pub fn flush(&mut self) -> Result<(), GateError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let gate_id = self.gates.first().map_or("", String::as_str);
        self.log.append_own(gate_id, &self.pending)?;
        self.pending.clear();
        Ok(())
    }

    /// Flushes and hands back the scan log.
    pub fn into_scan_log(mut self) -> Result<ScanLog, GateError> {
        self.flush()?;
        let log = std::mem::replace(&mut self.log, ScanLog::open_in_memory()?);
        Ok(log)
    }

    /// Merges another gate's export into the log and into this verifier's index, so a
    /// ticket admitted elsewhere is `AlreadyAdmitted` here from now on.
    pub fn merge(&mut self, records: &[ScanRecord]) -> Result<MergeReport, GateError> {
        self.flush()?;
        let (report, stored) = self.log.merge_stored(records)?;
        // An export may carry rows under this gate's own id (its own log restored
        // elsewhere and sent back): never reuse their numbers.
        if let Some(max) = self.log.max_seq(self.gate_id())? {
            self.next_seq = self.next_seq.max(max.saturating_add(1));
        }
        for i in stored {
            if let Some(r) = records.get(i) {
                self.index_record(r);
            }
        }
        Ok(report)
    }

    fn gate_idx(&mut self, gate_id: &str) -> u32 {
        if let Some(i) = self.gate_index.get(gate_id) {
            return *i;
        }
        let i = u32::try_from(self.gates.len()).unwrap_or(u32::MAX);
        self.gates.push(gate_id.to_owned());
        self.gate_index.insert(gate_id.to_owned(), i);
        i
    }

    fn index_record(&mut self, r: &ScanRecord) {
        let (Some(ticket), Some(step)) = (r.ticket, r.step) else {
            return;
        };
        if !r.outcome.code_was_genuine_and_fresh() {
            return;
        }
        let g = self.gate_idx(&r.gate_id);
        self.seen.insert((ticket, step));
        if r.outcome == Outcome::Admit {
            let key = (r.at_ms, g, r.seq);
            self.admitted
                .entry(ticket)
                .and_modify(|k| {
                    // Ties by time go to the smaller gate id, as in the merged log.
                    let cur = (k.0, self.gates.get(k.1 as usize), k.2);
                    if (key.0, self.gates.get(key.1 as usize), key.2) < cur {
                        *k = key;
                    }
                })
                .or_insert(key);
        }
        let newer = self
            .last_genuine
            .get(&ticket)
            .is_none_or(|(_, at)| r.at_ms >= *at);
        if newer {
            self.last_genuine.insert(ticket, (g, r.at_ms));
        }
    }

    // Checks 1–8: everything that depends only on the payload, the bundle and the time.
    fn inspect(&self, payload: &str, now_ms: i64) -> Inspection {
        // The payload exactly: any byte outside the prefix and the base32 alphabet (a CR or
        // LF included) is malformed. Only `verify_bytes` drops a scanner's line terminator.
        match Code::parse(payload) {
            Err(_) => Inspection::malformed(),
            Ok(Code::T1(c)) => self.inspect_t1(&c, now_ms),
            Ok(Code::S1(c)) => self.inspect_s1(&c, now_ms),
            Ok(Code::C1(c)) => self.inspect_c1(&c, now_ms),
        }
    }

    fn inspect_c1(&self, code: &C1Code, now_ms: i64) -> Inspection {
        let credential = |i: usize| self.bundle.credentials.get(i).map(|c| &c.0);
        // The code carries the step's low bits: the step is the one nearest the gate's
        // (a code further than a step away is stale whichever step it meant).
        let step = code.step_near(step_at(now_ms, self.bundle.period_secs));
        let candidates = self
            .compact
            .get(&code.reference)
            .map_or(&[][..], Vec::as_slice);
        // Usually one credential per reference; two bindings of the event whose digests
        // share four bytes are tried in turn (the code's signature picks its own).
        let mut chosen = None;
        for &(i, issuer) in candidates {
            if let Some(signed) = credential(i) {
                let device_ok = code.verify_device(signed, step);
                if device_ok || chosen.is_none() {
                    chosen = Some((signed, issuer, device_ok));
                }
                if device_ok {
                    break;
                }
            }
        }
        let Some((signed, issuer, device_ok)) = chosen else {
            // Not in this bundle: bound after it was made (or not a ticket at all). The
            // holder's full code carries its credential.
            return Inspection {
                ticket: None,
                step: Some(step),
                offset: None,
                outcome: Err(RejectReason::UnknownTicket),
            };
        };
        self.inspect_signed(
            &SignedCode {
                signed,
                step,
                release_mac: code.release_mac.as_ref(),
                issuer: Some(issuer),
                device_ok: &|| device_ok,
            },
            now_ms,
        )
    }

    fn inspect_s1(&self, code: &S1Code, now_ms: i64) -> Inspection {
        let device_ok = || code.verify_device();
        self.inspect_signed(
            &SignedCode {
                signed: &code.signed,
                step: code.step,
                release_mac: code.release_mac.as_ref(),
                issuer: None,
                device_ok: &device_ok,
            },
            now_ms,
        )
    }

    // S1.2–S1.9 (C1 after its lookup): the credential, then the step.
    fn inspect_signed(&self, code: &SignedCode<'_>, now_ms: i64) -> Inspection {
        let cred = &code.signed.credential;
        let mut ins = Inspection {
            ticket: Some(cred.ticket),
            step: Some(code.step),
            offset: None,
            outcome: Err(RejectReason::Malformed),
        };
        let b = &self.bundle;
        ins.outcome = (|| {
            if cred.event != b.event || cred.period_secs != b.period_secs {
                return Err(RejectReason::WrongEvent);
            }
            match code.issuer {
                Some(checked) => checked?,
                None => issuer_check(b, code.signed)?,
            }
            // The device signature covers the credential digest, the step and the MAC.
            if !(code.device_ok)() {
                return Err(RejectReason::WrongDevice);
            }
            let digest = code.signed.digest();
            let gate_step = step_at(now_ms, b.period_secs);
            let offset = offset_steps(code.step, gate_step);
            ins.offset = Some(offset);
            let secret = b.release_secrets.get(&cred.event);
            if cred.strict_jit || b.strict_jit || secret.is_some() {
                let ok = match (secret, code.release_mac) {
                    (Some(s), Some(mac)) => {
                        // Bound to the event and to this exact credential (protocol revision 2).
                        let ctx = ReleaseContext::S1 {
                            event: cred.event,
                            ticket: cred.ticket,
                            credential_digest: digest,
                        };
                        verify_release_mac(s.expose(), &ctx, code.step, mac)
                    }
                    _ => false,
                };
                if !ok {
                    return Err(RejectReason::NotReleased);
                }
            }
            let from = b.valid_from.max(cred.reveal_opens_at);
            let until = b.valid_until.min(cred.valid_until);
            check_window(now_ms, from, until)?;
            if offset.unsigned_abs() > 1 {
                return Err(RejectReason::Stale);
            }
            if b.revoked.contains(&cred.ticket)
                || (!b.revoked_credentials.is_empty()
                    && b.revoked_credentials.contains(&CredentialDigest(digest)))
            {
                return Err(RejectReason::Revoked);
            }
            let reentry = match b.reentry {
                ReentryPolicy::Deny => false,
                ReentryPolicy::Allow => true,
                ReentryPolicy::FollowCredential => cred.reentry,
            };
            let seat = if cred.seat.is_empty() {
                b.seats.get(&cred.ticket).cloned()
            } else {
                Some(cred.seat.clone())
            };
            Ok(Passed { seat, reentry })
        })();
        ins
    }

    fn inspect_t1(&self, code: &T1Code, now_ms: i64) -> Inspection {
        let mut ins = Inspection {
            ticket: Some(code.ticket),
            step: Some(code.step),
            offset: None,
            outcome: Err(RejectReason::Malformed),
        };
        let b = &self.bundle;
        ins.outcome = (|| {
            if code.event != b.event || code.period_secs != b.period_secs {
                return Err(RejectReason::WrongEvent);
            }
            let t1 = b.t1.as_ref().ok_or(RejectReason::UnknownKey)?;
            let seed = t1
                .ticket_seeds
                .get(&code.ticket)
                .ok_or(RejectReason::UnknownKey)?;
            // The gate's parameters decide; a code claiming others is not one of ours.
            if code.algorithm != t1.algorithm || code.digits != t1.digits {
                return Err(RejectReason::BadSignature);
            }
            let mut ok = ct_eq_u32(
                hotp(t1.algorithm, seed.expose(), code.step, t1.digits),
                code.ticket_code,
            );
            // Every byte of an admitted T1 code is checked: a part the gate cannot verify
            // (an event code without an event seed, a MAC without a release secret) is refused,
            // so no variant of a genuine code passes as another code.
            ok &= match (&t1.event_seed, code.event_code) {
                (Some(seed), Some(c)) => {
                    ct_eq_u32(hotp(t1.algorithm, seed.expose(), code.step, t1.digits), c)
                }
                (None, None) => true,
                _ => false,
            };
            let secret = b.release_secrets.get(&code.event);
            // A MAC the gate cannot check is refused, except on a strict event, where a
            // missing secret means the bundle predates the release: `NotReleased` below.
            ok &= secret.is_some() || b.strict_jit || code.release_mac.is_none();
            if !ok {
                return Err(RejectReason::BadSignature);
            }
            let offset = offset_steps(code.step, step_at(now_ms, b.period_secs));
            ins.offset = Some(offset);
            if secret.is_some() || b.strict_jit {
                // Without the secret (a bundle fetched before the release lead) no code
                // of a strict event is admitted: never a code without a MAC.
                let released = match (secret, &code.release_mac) {
                    (Some(s), Some(mac)) => {
                        verify_release_mac(s.expose(), &code.release_context(), code.step, mac)
                    }
                    _ => false,
                };
                if !released {
                    return Err(RejectReason::NotReleased);
                }
            }
            check_window(now_ms, b.valid_from, b.valid_until)?;
            if offset.unsigned_abs() > 1 {
                return Err(RejectReason::Stale);
            }
            if b.revoked.contains(&code.ticket) {
                return Err(RejectReason::Revoked);
            }
            Ok(Passed {
                seat: b.seats.get(&code.ticket).cloned(),
                reentry: b.reentry == ReentryPolicy::Allow,
            })
        })();
        ins
    }

    // Checks 9–10.
    fn stateful(&self, ticket: TicketId, step: u64, passed: &Passed) -> Result<(), RejectReason> {
        if self.seen.contains(&(ticket, step)) {
            return Err(RejectReason::Replay);
        }
        if !passed.reentry && self.admitted.contains_key(&ticket) {
            return Err(RejectReason::AlreadyAdmitted);
        }
        Ok(())
    }

    fn admit_verdict(&self, ticket: TicketId, passed: Passed) -> Verdict {
        Verdict::Admit {
            ticket,
            seat: passed.seat,
            holder_name: self.bundle.holder_names.get(&ticket).cloned(),
        }
    }

    fn decide(&mut self, ins: Inspection, now_ms: i64) -> ScanResult {
        let mut anomalies = Vec::new();
        let Inspection {
            ticket,
            step,
            offset,
            outcome,
        } = ins;
        let mut reentry = false;
        let verdict = match (outcome, ticket, step) {
            (Ok(passed), Some(t), Some(s)) => {
                reentry = passed.reentry;
                let v = match self.stateful(t, s, &passed) {
                    Err(reason) => Verdict::Reject { reason },
                    Ok(()) => self.admit_verdict(t, passed),
                };
                // Fresh and genuine: this (ticket, step) must never pass again.
                self.seen.insert((t, s));
                v
            }
            (Err(reason), _, _) => Verdict::Reject { reason },
            _ => Verdict::Reject {
                reason: RejectReason::Malformed,
            },
        };
        if let (Some(t), Some(off)) = (ticket, offset) {
            self.note_genuine(t, off, now_ms, &mut anomalies);
        }
        if let (Some(t), Some(_)) = (ticket, verdict.reason()) {
            self.note_failure(t, now_ms, &mut anomalies);
        }
        let outcome = match &verdict {
            Verdict::Admit { .. } => Outcome::Admit,
            Verdict::Reject { reason } => Outcome::Reject(*reason),
        };
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        if let (Outcome::Admit, Some(t)) = (outcome, ticket) {
            self.admitted.entry(t).or_insert((now_ms, 0, seq));
        }
        self.pending.push(PendingScan {
            seq,
            at_ms: now_ms,
            ticket,
            step,
            outcome,
            reentry: reentry && outcome == Outcome::Admit,
        });
        let due = match self.config.flush {
            FlushPolicy::EveryScan => true,
            FlushPolicy::EveryAdmission { max_pending } => {
                outcome == Outcome::Admit || self.pending.len() >= max_pending
            }
            FlushPolicy::Batched { max_pending } => self.pending.len() >= max_pending,
        };
        if due && self.flush().is_err() {
            anomalies.push(Anomaly::LogNotPersisted);
        }
        let bundle_age_ms = now_ms.saturating_sub(self.bundle.issued_at_ms);
        if bundle_age_ms > self.config.max_bundle_age_ms {
            anomalies.push(Anomaly::BundleStale {
                age_secs: bundle_age_ms / 1000,
            });
        }
        ScanResult {
            verdict,
            ticket,
            step,
            anomalies,
            bundle_age_ms,
        }
    }

    // Anomalies that need an authenticated ticket and step: other gate, clock skew.
    fn note_genuine(&mut self, ticket: TicketId, offset: i64, now_ms: i64, out: &mut Vec<Anomaly>) {
        if let Some((g, at)) = self.last_genuine.get(&ticket)
            && *g != 0
            && now_ms.saturating_sub(*at).unsigned_abs()
                <= self.config.other_gate_window_ms.unsigned_abs()
        {
            out.push(Anomaly::SeenAtOtherGate {
                other_gate: self.gates.get(*g as usize).cloned().unwrap_or_default(),
                apart_ms: now_ms.saturating_sub(*at),
            });
        }
        self.last_genuine.insert(ticket, (0, now_ms));

        let sign = offset.signum() as i8;
        if offset.unsigned_abs() > 1 {
            out.push(Anomaly::DeviceClockSkew {
                offset_steps: offset,
            });
            self.skew_runs.remove(&ticket);
        } else if sign == 0 {
            self.skew_runs.remove(&ticket);
        } else {
            let run = self.skew_runs.entry(ticket).or_insert((sign, 0));
            if run.0 != sign {
                *run = (sign, 0);
            }
            run.1 = run.1.saturating_add(1);
            if run.1 >= self.config.skew_consistent_scans {
                out.push(Anomaly::DeviceClockSkew {
                    offset_steps: offset,
                });
            }
        }

        // Only codes the gate would still call fresh-ish say anything about the gate's clock.
        if offset.unsigned_abs() <= 2 {
            self.recent_offsets.push_back(sign);
            while self.recent_offsets.len() > self.config.gate_skew_sample {
                self.recent_offsets.pop_front();
            }
            if self.recent_offsets.len() >= self.config.gate_skew_sample && sign != 0 {
                let same = self.recent_offsets.iter().filter(|s| **s == sign).count();
                if same >= self.config.gate_skew_threshold {
                    out.push(Anomaly::GateClockSkew { direction: sign });
                }
            }
        }
    }

    fn note_failure(&mut self, ticket: TicketId, now_ms: i64, out: &mut Vec<Anomaly>) {
        let window_ms = i64::from(self.config.burst_window_secs) * 1000;
        // Payloads can name any ticket id: bound the map so junk cannot grow it forever.
        if self.failures.len() >= 10_000 && !self.failures.contains_key(&ticket) {
            self.failures.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now_ms.saturating_sub(*t) <= window_ms)
            });
            if self.failures.len() >= 10_000 {
                return;
            }
        }
        let times = self.failures.entry(ticket).or_default();
        times.push_back(now_ms);
        while times
            .front()
            .is_some_and(|t| now_ms.saturating_sub(*t) > window_ms)
        {
            times.pop_front();
        }
        let n = u32::try_from(times.len()).unwrap_or(u32::MAX);
        if n >= self.config.burst_failures {
            out.push(Anomaly::FailureBurst {
                failures: n,
                within_secs: self.config.burst_window_secs,
            });
        }
    }
}

/// The scanner-input layer: drops one trailing line terminator (CR LF, LF or CR).
fn strip_line_terminator(raw: &[u8]) -> &[u8] {
    raw.strip_suffix(b"\r\n")
        .or_else(|| raw.strip_suffix(b"\n"))
        .or_else(|| raw.strip_suffix(b"\r"))
        .unwrap_or(raw)
}

fn check_window(now_ms: i64, from_secs: i64, until_secs: i64) -> Result<(), RejectReason> {
    if now_ms < secs_to_ms(from_secs) {
        Err(RejectReason::NotYetValid)
    } else if now_ms >= secs_to_ms(until_secs) {
        Err(RejectReason::Expired)
    } else {
        Ok(())
    }
}

impl Drop for Verifier {
    fn drop(&mut self) {
        // Best effort: a failure here has nowhere to go, and the rows were already answered.
        let _ = self.flush();
    }
}
