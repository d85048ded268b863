//! The CLI's error: every failure is shown as one line and maps to an exit code.

use tessera_core::qr::QrError;
use tessera_core::sync::error::SyncError;
use tessera_core::{VaultError, WalletError};
use tessera_gate::GateError;
use tessera_issuer::IssuerError;

use crate::admin::ApiCallError;

/// The exit codes, shown under `--help`.
pub const EXIT_CODES: &str = "Exit codes:
  0  success (gate scan: the code is admitted)
  1  a negative result: the gate rejected the code, or the demo did not see the
     admission and rejections it expects
  2  error: bad arguments, unreadable files, the issuer unreachable or refusing,
     the wallet refusing (for example a ticket still locked)";

/// Everything a command can fail with. The texts name the place, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An argument was accepted by the parser but makes no sense here.
    #[error("{0}")]
    Usage(String),
    /// A file or directory could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A device-signed call to the issuer failed (wallet commands, the demo).
    #[error("issuer: {0}")]
    Sync(#[from] SyncError),
    /// An admin or gate call to the issuer failed.
    #[error("issuer: {0}")]
    Api(#[from] ApiCallError),
    /// The embedded or served issuer could not start.
    #[error("issuer: {0}")]
    Issuer(#[from] IssuerError),
    /// The wallet refused or failed.
    #[error("wallet: {0}")]
    Wallet(#[from] WalletError),
    /// The key vault failed.
    #[error("key vault: {0}")]
    Vault(#[from] VaultError),
    /// `--vault keyring` on a machine without a usable OS keyring.
    #[error(
        "the OS keyring is unavailable ({0}); on a machine without one (CI), pass \
         --vault dev-file:PATH (an insecure fake)"
    )]
    NoKeyring(String),
    /// The ticket has no code to show yet; the text says until when.
    #[error("{0}")]
    NotReady(String),
    /// The gate could not load its bundle or scan log.
    #[error("gate: {0}")]
    Gate(#[from] GateError),
    /// A QR code could not be rendered.
    #[error("QR code: {0}")]
    Qr(#[from] QrError),
    /// The demo ran, but the gate did not answer as the demo expects; the text lists what differed.
    #[error("demo: {0}")]
    DemoFailed(String),
    /// Ctrl-C.
    #[error("interrupted")]
    Interrupted,
}

impl CliError {
    /// An I/O error while doing `what`.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }

    /// The process exit code: 1 for a negative result, 130 for Ctrl-C (the shell's
    /// convention), 2 for every error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::DemoFailed(_) => 1,
            Self::Interrupted => 130,
            _ => 2,
        }
    }
}
