//! tessera-ffi: the Tessera wallet and gate APIs for Kotlin, Swift and Python, exported
//! with UniFFI proc-macros.
//!
//! The records, enums and errors apps see are tessera-core's and tessera-gate's own
//! (their `uniffi` feature derives the FFI traits beside them); this crate holds only
//! what exists because of the FFI: the objects that own the runtime and the session
//! (`Wallet` in `wallet`, `GateVerifier` in `gate`, ticket watches in `watch`), the
//! foreign traits and their adapters (`foreign`), the error a foreign callback throws
//! (`errors`), and the one async runtime (`runtime`). Every decision is core's or the
//! gate's. See bindings/API.md.

uniffi::setup_scaffolding!();

pub mod errors;
pub mod foreign;
pub mod gate;
mod runtime;
pub mod types;
pub mod wallet;
pub mod watch;

pub use errors::{BundleDistrust, CallbackError, GateError, VaultError, WalletError};
pub use foreign::{ClockSource, FrameListener, KeyVault, LogLevel, Logger, PresenceGate};
pub use gate::GateVerifier;
pub use tessera_gate::{
    AdmissionRef, Anomaly, DuplicateAdmission, MergeReport, RejectReason, ScanResult, Verdict,
};
pub use types::{
    CodeFormat, Enrollment, EventPolicy, Frame, ReleaseApplied, RevealState, SyncReport,
    TicketSummary, TimeStatus, TotpAlgorithm, Verification, VerificationStatus,
};
pub use wallet::Wallet;
pub use watch::WatchHandle;

/// The library version (the workspace version), to show in an app's about screen.
#[uniffi::export]
pub fn tessera_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
