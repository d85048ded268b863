//! tessera-ffi: the Tessera wallet and gate APIs for Kotlin, Swift and Python, exported
//! with UniFFI proc-macros.
//!
//! This crate only converts: types and errors in `types`, `errors` and `gate`, foreign
//! traits (key vault, presence prompt, frame listener, logger, clock) in `foreign`, the
//! wallet object in `wallet`, ticket watches in `watch`, and the one async runtime in
//! `runtime`. Every decision is `tessera-core`'s or `tessera-gate`'s. See bindings/API.md.

uniffi::setup_scaffolding!();

pub mod errors;
pub mod foreign;
pub mod gate;
mod runtime;
pub mod types;
pub mod wallet;
pub mod watch;

pub use errors::{CallbackError, GateError, VaultError, WalletError};
pub use foreign::{ClockSource, FrameListener, KeyVault, LogLevel, Logger, PresenceGate};
pub use gate::{Anomaly, GateVerifier, MergeReport, RejectReason, ScanResult, Verdict};
pub use types::{
    CodeFormat, EventPolicy, Frame, RevealState, SyncReport, TicketSummary, Verification,
};
pub use wallet::Wallet;
pub use watch::WatchHandle;

/// The library version (the workspace version), to show in an app's about screen.
#[uniffi::export]
pub fn tessera_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
