//! Tessera gate verifier: checks T1 and S1 rotating codes offline at the door.
//!
//! A gate loads a [`GateBundle`] (issuer public keys, revocations, policy and, for T1
//! only, the ticket seeds), opens its [`ScanLog`], and asks a [`Verifier`] for a
//! [`Verdict`] on every scanned payload. Time is always passed in, never read from the
//! system clock, so the checks are reproducible in tests. See docs/GATE.md.

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

pub mod bundle;
pub mod scanlog;
pub mod signed_bundle;
pub mod verdict;
pub mod verifier;

pub use bundle::{
    CompactCredential, CredentialDigest, GateBundle, PublicKey, ReentryPolicy, Secret, T1Secrets,
};
pub use scanlog::{
    AdmissionRef, DuplicateAdmission, MergeReport, Outcome, ScanLog, ScanRecord,
    duplicate_admissions_among,
};
pub use signed_bundle::PinnedKeys;

pub use verdict::{Anomaly, RejectReason, ScanResult, Verdict};
pub use verifier::{DEFAULT_MAX_BUNDLE_AGE_MS, FlushPolicy, Verifier, VerifierConfig};

/// Everything that can go wrong around verification (never a verdict: those are
/// [`Verdict`]s). The bindings export it as it is; field names avoid `message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Error))]
#[cfg_attr(feature = "uniffi", uniffi::export(Display))]
pub enum GateError {
    /// The bundle is not valid JSON or breaks an invariant the verifier relies on;
    /// `reason` names it. Fetch the bundle from the issuer again.
    #[error("invalid gate bundle: {reason}")]
    InvalidBundle {
        /// What is wrong.
        reason: String,
    },
    /// The bundle is not the issuer's: unsigned, altered after signing, or signed by a
    /// key this gate did not pin. Do not use it; fetch the bundle from the issuer again.
    #[error("{why}")]
    UntrustedBundle {
        /// Which check failed.
        why: BundleDistrust,
    },
    /// The bundle is older than one this gate already used (a rollback would bring back
    /// revoked tickets and old phones).
    #[error("the bundle (sequence {got}) is older than the one this gate already used ({have})")]
    BundleRolledBack {
        /// The newest sequence number this gate has used.
        have: u64,
        /// The offered bundle's.
        got: u64,
    },
    /// The scan log database failed (disk full, file unreadable, already open elsewhere…).
    #[error("scan log storage: {reason}")]
    Storage {
        /// Why.
        reason: String,
    },
    /// The scan log was written by a newer version of this library.
    #[error("scan log schema {version} is newer than this library understands")]
    NewerSchema {
        /// The schema version found.
        version: u32,
    },
    /// A scan export could not be written or read back (I/O, or a line that is not a
    /// scan record).
    #[error("scan log export: {reason}")]
    Export {
        /// Why.
        reason: String,
    },
    /// An argument was rejected; `reason` says which.
    #[error("invalid input: {reason}")]
    Invalid {
        /// Which argument and why.
        reason: String,
    },
}

/// Why a bundle document is not trusted as the issuer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum BundleDistrust {
    /// Not an issuer-signed document (a bare bundle, or not a bundle at all).
    #[error("the bundle is not signed by the issuer: fetch it with `tessera gate bundle`")]
    Unsigned,
    /// The signature does not verify: altered after the issuer signed it, or not made by
    /// the issuer.
    #[error("the bundle's signature does not verify: it was altered or not made by the issuer")]
    BadSignature,
    /// Signed by a key this gate did not pin when it was set up.
    #[error("the bundle is signed by issuer key {key_id}, which this gate has not pinned")]
    KeyNotPinned {
        /// The key id the document names.
        key_id: u32,
    },
}

impl GateError {
    /// The bundle breaks an invariant; `reason` names it.
    pub fn invalid_bundle(reason: impl Into<String>) -> Self {
        Self::InvalidBundle {
            reason: reason.into(),
        }
    }

    /// The scan log's storage failed; `reason` says how.
    pub fn storage(reason: impl Into<String>) -> Self {
        Self::Storage {
            reason: reason.into(),
        }
    }

    /// An export could not be written or read; `reason` says why.
    pub fn export(reason: impl Into<String>) -> Self {
        Self::Export {
            reason: reason.into(),
        }
    }

    /// The document is not signed by the issuer.
    pub const UNSIGNED: Self = Self::UntrustedBundle {
        why: BundleDistrust::Unsigned,
    };

    /// The document's signature does not verify.
    pub const BAD_SIGNATURE: Self = Self::UntrustedBundle {
        why: BundleDistrust::BadSignature,
    };

    /// The document is signed by `key_id`, which this gate did not pin.
    pub fn not_pinned(key_id: u32) -> Self {
        Self::UntrustedBundle {
            why: BundleDistrust::KeyNotPinned { key_id },
        }
    }
}

impl From<rusqlite::Error> for GateError {
    fn from(e: rusqlite::Error) -> Self {
        Self::storage(e.to_string())
    }
}
