//! Tessera gate verifier: checks T1 and S1 rotating codes offline at the door.
//!
//! A gate loads a [`GateBundle`] (issuer public keys, revocations, policy and, for T1
//! only, the ticket seeds), opens its [`ScanLog`], and asks a [`Verifier`] for a
//! [`Verdict`] on every scanned payload. Time is always passed in, never read from the
//! system clock, so the checks are reproducible in tests. See docs/GATE.md.

pub mod bundle;
pub mod scanlog;
pub mod signed_bundle;
pub mod verdict;
pub mod verifier;

pub use bundle::{CredentialDigest, GateBundle, PublicKey, ReentryPolicy, Secret, T1Secrets};
pub use scanlog::{AdmissionRef, DuplicateAdmission, MergeReport, Outcome, ScanLog, ScanRecord};
pub use signed_bundle::PinnedKeys;
pub use verdict::{Anomaly, RejectReason, ScanResult, Verdict};
pub use verifier::{DEFAULT_MAX_BUNDLE_AGE_MS, FlushPolicy, Verifier, VerifierConfig};

/// Everything that can go wrong around verification (never a verdict: those are [`Verdict`]s).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    /// The bundle breaks an invariant the verifier relies on; the text names it.
    #[error("invalid gate bundle: {0}")]
    InvalidBundle(&'static str),
    /// The bundle is not an issuer-signed document (a bare bundle, or not a bundle at all).
    #[error("the bundle is not signed by the issuer: fetch it with `tessera gate bundle`")]
    UnsignedBundle,
    /// The bundle's signature does not verify: it was altered after the issuer signed it,
    /// or was not made by the issuer.
    #[error("the bundle's signature does not verify: it was altered or not made by the issuer")]
    BundleSignature,
    /// The bundle is signed by a key this gate did not pin when it was set up.
    #[error("the bundle is signed by issuer key {0}, which this gate has not pinned")]
    BundleKeyNotPinned(u32),
    /// The bundle is older than one this gate already used (a rollback would bring back
    /// revoked tickets and old phones).
    #[error("the bundle (sequence {got}) is older than the one this gate already used ({have})")]
    BundleRolledBack {
        /// The newest sequence number this gate has used.
        have: u64,
        /// The offered bundle's.
        got: u64,
    },
    /// The scan log database failed (disk full, file unreadable, locked…).
    #[error("scan log storage: {0}")]
    Storage(String),
    /// The scan log was written by a newer version of this library.
    #[error("scan log schema {0} is newer than this library understands")]
    NewerSchema(u32),
    /// An export could not be written or read back (I/O or a line that is not a scan record).
    #[error("scan log export: {0}")]
    Export(String),
}

impl From<rusqlite::Error> for GateError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Storage(e.to_string())
    }
}
