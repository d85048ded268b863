//! Counters exposed at `GET /metrics` in the Prometheus text format (version 0.0.4).
//!
//! Kept in memory: Prometheus expects counters to restart at zero with the process.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use axum::response::Response;

use crate::error::RefusedCode;

/// The issuer's counters.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    syncs: AtomicU64,
    scans_admitted: AtomicU64,
    duplicate_admissions: AtomicU64,
    scans_rejected: Labelled,
    failed_verifications: Labelled,
    replays: Labelled,
    refused: Labelled,
}

/// A counter family with one label.
#[derive(Debug, Default)]
struct Labelled(Mutex<BTreeMap<String, u64>>);

impl Labelled {
    fn inc(&self, label: &str, by: u64) {
        let mut m = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match m.get_mut(label) {
            Some(n) => *n += by,
            None => {
                m.insert(label.to_owned(), by);
            }
        }
    }

    fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A count a database transaction makes: applied by `crate::db` once the transaction has
/// committed, so a transaction PostgreSQL runs again is counted once.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counted {
    /// A sync answered.
    Sync,
    /// A failed verification of this kind.
    FailedVerification(&'static str),
}

impl Metrics {
    /// Applies a count a committed transaction made.
    pub(crate) fn apply(&self, c: Counted) {
        match c {
            Counted::Sync => self.sync(),
            Counted::FailedVerification(kind) => self.failed_verification(kind),
        }
    }

    /// A sync answered.
    pub(crate) fn sync(&self) {
        self.syncs.fetch_add(1, Ordering::Relaxed);
    }

    /// A gate scan uploaded for the first time, by outcome (`admit` or a reject reason).
    pub(crate) fn scan(&self, outcome: tessera_gate::Outcome) {
        match outcome {
            tessera_gate::Outcome::Admit => {
                self.scans_admitted.fetch_add(1, Ordering::Relaxed);
            }
            tessera_gate::Outcome::Reject(r) => {
                self.scans_rejected.inc(r.as_str(), 1);
                match r {
                    tessera_gate::RejectReason::BadSignature
                    | tessera_gate::RejectReason::WrongDevice
                    | tessera_gate::RejectReason::NotReleased => {
                        self.failed_verifications.inc("scan", 1);
                    }
                    tessera_gate::RejectReason::Replay => self.replays.inc("scan", 1),
                    _ => {}
                }
            }
        }
    }

    /// Admissions the merged scan log flags as second entries.
    pub(crate) fn duplicate_admissions(&self, n: u64) {
        self.duplicate_admissions.fetch_add(n, Ordering::Relaxed);
    }

    /// Something failed to verify: `request_signature`, `email_token`, `sms_code`.
    pub(crate) fn failed_verification(&self, kind: &'static str) {
        self.failed_verifications.inc(kind, 1);
    }

    /// A device request was replayed.
    pub(crate) fn replayed_request(&self) {
        self.replays.inc("request", 1);
    }

    /// The Prometheus text.
    pub(crate) fn render(&self) -> String {
        let mut s = String::new();
        single(
            &mut s,
            "tessera_syncs_total",
            "Sync requests answered.",
            self.syncs.load(Ordering::Relaxed),
        );
        single(
            &mut s,
            "tessera_scans_admitted_total",
            "Gate scans that admitted, from uploaded scan logs.",
            self.scans_admitted.load(Ordering::Relaxed),
        );
        family(
            &mut s,
            "tessera_scans_rejected_total",
            "Gate scans rejected, by reason, from uploaded scan logs.",
            "reason",
            &self.scans_rejected.snapshot(),
        );
        single(
            &mut s,
            "tessera_duplicate_admissions_total",
            "Second admissions of one ticket found when merging scan logs.",
            self.duplicate_admissions.load(Ordering::Relaxed),
        );
        family(
            &mut s,
            "tessera_failed_verifications_total",
            "Failed verifications: request signatures, email tokens, SMS codes, scanned codes.",
            "kind",
            &self.failed_verifications.snapshot(),
        );
        family(
            &mut s,
            "tessera_replays_total",
            "Replays: device requests sent twice, codes scanned twice.",
            "kind",
            &self.replays.snapshot(),
        );
        family(
            &mut s,
            "tessera_requests_refused_total",
            "Requests answered with an error, by error code.",
            "code",
            &self.refused.snapshot(),
        );
        s
    }
}

fn single(s: &mut String, name: &str, help: &str, v: u64) {
    // Writing to a String cannot fail.
    let _ = write!(
        s,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}\n"
    );
}

fn family(s: &mut String, name: &str, help: &str, label: &str, values: &BTreeMap<String, u64>) {
    let _ = write!(s, "# HELP {name} {help}\n# TYPE {name} counter\n");
    for (k, v) in values {
        let _ = writeln!(s, "{name}{{{label}=\"{k}\"}} {v}");
    }
}

/// Counts a refused answer by its code.
pub(crate) fn count_refusal(m: &Metrics, resp: &Response) {
    if let Some(RefusedCode(code)) = resp.extensions().get::<RefusedCode>() {
        m.refused.inc(code.as_str(), 1);
    }
}
