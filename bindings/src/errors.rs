//! The errors apps catch: core's [`WalletError`] and [`VaultError`] and the gate's
//! [`GateError`], exported as they are (their UniFFI derives live beside them), and
//! [`CallbackError`], the one error that exists only at the FFI: an exception thrown by
//! app code inside a foreign trait method.

pub use tessera_core::{VaultError, WalletError};
pub use tessera_gate::{BundleDistrust, GateError};

/// An exception thrown by app code inside a foreign trait method (`PresenceGate`,
/// `FrameListener`, `Logger`, `ClockSource`). Apps do not need to throw it themselves:
/// any exception arrives as `Failed`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum CallbackError {
    /// The callback threw; `reason` is the exception's text.
    #[error("callback failed: {reason}")]
    Failed {
        /// The exception as the foreign language printed it.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for CallbackError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed { reason: e.reason }
    }
}
