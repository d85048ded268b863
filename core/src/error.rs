//! The wallet's error: one enum, every variant something an app can act on.

use crate::ids::TicketId;
use crate::keyvault::VaultError;
use crate::policy::Verification;
use crate::seal::SealError;
use crate::store::StoreError;
use crate::ticket::RevealState;

/// Everything a wallet call can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    /// The reveal window is not open yet; show a countdown to `opens_at` (Unix s).
    #[error("ticket locked until {opens_at}")]
    Locked {
        /// Unix seconds when the window opens.
        opens_at: i64,
    },
    /// The holder must verify these first.
    #[error("verification needed: {missing:?}")]
    NeedsVerification {
        /// What is missing.
        missing: Vec<Verification>,
    },
    /// Sync with the issuer, then try again (strict just-in-time release secret missing,
    /// or the time not proven since a reboot: `refresh_time` is enough then).
    #[error("sync needed before this ticket can be shown")]
    NeedsSync,
    /// The event is over.
    #[error("ticket expired")]
    Expired,
    /// The issuer revoked the ticket.
    #[error("ticket revoked")]
    Revoked,
    /// The ticket now belongs to another device.
    #[error("ticket is bound to another device")]
    BoundElsewhere,
    /// No ticket with this id in the wallet.
    #[error("no ticket {0}")]
    NotFound(TicketId),
    /// Stored data failed its integrity check; `what` names the place, never the content.
    #[error("stored data tampered with: {what}")]
    Tampered {
        /// Which row and column.
        what: String,
    },
    /// The key vault no longer has this wallet's key: its sealed data cannot be opened.
    /// Wipe the wallet and sync again to recover the tickets from the issuer.
    #[error("the key vault no longer holds this wallet's key")]
    KeyMissing,
    /// The key vault failed or refused (for example the user cancelled an unlock prompt).
    #[error("key vault unavailable: {0}")]
    VaultUnavailable(String),
    /// The wallet was locked with `lock()`; call `unlock()`.
    #[error("wallet is locked")]
    WalletLocked,
    /// The user-presence check failed or was cancelled.
    #[error("user presence not confirmed")]
    PresenceDenied,
    /// The database failed (disk full, file unreadable, newer schema…).
    #[error("storage: {0}")]
    Storage(String),
    /// An argument was rejected; the text says which.
    #[error("invalid input: {0}")]
    Invalid(String),
}

impl WalletError {
    /// The refusal matching a non-ready reveal state (None when Ready).
    pub fn from_state(state: &RevealState) -> Option<Self> {
        match state {
            RevealState::Ready { .. } => None,
            RevealState::Locked { opens_at } => Some(Self::Locked {
                opens_at: *opens_at,
            }),
            RevealState::NeedsVerification { missing } => Some(Self::NeedsVerification {
                missing: missing.clone(),
            }),
            RevealState::NeedsSync => Some(Self::NeedsSync),
            RevealState::Expired => Some(Self::Expired),
            RevealState::Revoked => Some(Self::Revoked),
            RevealState::BoundElsewhere => Some(Self::BoundElsewhere),
            RevealState::Tampered => Some(Self::Tampered {
                what: "ticket row".into(),
            }),
        }
    }
}

impl From<StoreError> for WalletError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Corrupt(what) => Self::Tampered { what },
            other => Self::Storage(other.to_string()),
        }
    }
}

impl From<VaultError> for WalletError {
    fn from(e: VaultError) -> Self {
        match e {
            VaultError::KeyNotFound => Self::KeyMissing,
            VaultError::Unavailable(why) => Self::VaultUnavailable(why),
        }
    }
}

/// Turns a seal failure at `what` into the wallet error.
pub(crate) fn sealed(what: &str) -> impl FnOnce(SealError) -> WalletError + '_ {
    move |e| match e {
        SealError::Tampered => WalletError::Tampered {
            what: what.to_owned(),
        },
        other => WalletError::Storage(other.to_string()),
    }
}
