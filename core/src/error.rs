//! The wallet's error: one enum, every variant something an app can act on.

use crate::ids::TicketId;
use crate::keyvault::VaultError;
use crate::policy::Verification;
use crate::seal::SealError;
use crate::store::StoreError;
use crate::ticket::RevealState;

/// Everything a wallet call can fail with, local or at the issuer: the one error of the
/// wallet API (the bindings export it as it is). Each variant is something an app can act
/// on; texts are readable and never carry a secret. Field names avoid `message`, which
/// clashes with the exception base classes of Kotlin and Python.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Error))]
#[cfg_attr(feature = "uniffi", uniffi::export(Display))]
pub enum WalletError {
    /// The reveal window has not opened; show a countdown to `opens_at`.
    #[error("ticket locked until {opens_at} (Unix s)")]
    Locked {
        /// Unix seconds when the window opens.
        opens_at: i64,
    },
    /// The holder must verify first: `missing` lists what the wallet knows is missing
    /// (empty when the issuer refused without saying which; `detail` then explains).
    #[error("verification needed: {}", needs(missing, detail))]
    NeedsVerification {
        /// What is missing, when known.
        missing: Vec<Verification>,
        /// The issuer's explanation, or empty.
        detail: String,
    },
    /// Sync with the issuer, then try again (strict just-in-time: the ticket is released
    /// by a sync inside the window; after a reboot, `refresh_time` proves the time again).
    #[error("sync needed before this ticket can be shown")]
    NeedsSync,
    /// The event is over.
    #[error("ticket expired")]
    Expired,
    /// The issuer revoked the ticket.
    #[error("ticket revoked")]
    Revoked,
    /// The ticket now belongs to another device (transferred or re-bound).
    #[error("ticket is bound to another device")]
    BoundElsewhere,
    /// No such ticket in the wallet, or the issuer does not know what was asked for.
    #[error("not found: {what}")]
    NotFound {
        /// What was not found (a ticket id, or the issuer's explanation).
        what: String,
    },
    /// Stored data failed its integrity check; `what` names the place, never the content.
    /// A sync restores tickets; a damaged wallet key needs `wipe` and a fresh sync.
    #[error("stored data tampered with: {what}")]
    Tampered {
        /// Which row and column.
        what: String,
    },
    /// The key vault no longer holds this wallet's key (app reinstalled, keystore reset):
    /// wipe the wallet, then enroll, verify, rebind and sync to get the tickets back.
    #[error("the key vault no longer holds this wallet's key")]
    KeyMissing,
    /// The key vault failed or refused (for example the user cancelled an unlock prompt).
    #[error("key vault unavailable: {reason}")]
    VaultUnavailable {
        /// Why, as the vault said.
        reason: String,
    },
    /// The wallet was locked with `lock()`; call `unlock()`.
    #[error("wallet is locked")]
    WalletLocked,
    /// The user-presence check failed, was cancelled, or no presence gate was given.
    #[error("user presence not confirmed")]
    PresenceDenied,
    /// The event blocks holders from changing name or email; the box office can.
    #[error("change blocked: {detail}")]
    ChangeBlocked {
        /// The issuer's explanation.
        detail: String,
    },
    /// The event does not allow transfers (or this ticket cannot be transferred now).
    #[error("ticket not transferable: {detail}")]
    NotTransferable {
        /// The issuer's explanation.
        detail: String,
    },
    /// The request conflicts with the issuer's state (already transferred, email in use…),
    /// or a release object with what the wallet holds (an older release version).
    #[error("conflict: {detail}")]
    Conflict {
        /// The issuer's explanation.
        detail: String,
    },
    /// Too many requests; wait before trying again.
    #[error("rate limited (retry after {retry_after_secs:?} s)")]
    RateLimited {
        /// Seconds to wait, when the issuer said.
        retry_after_secs: Option<u64>,
    },
    /// The code or link expired (or was used); request a new one.
    #[error("code expired")]
    CodeExpired,
    /// Too many wrong codes; request a new one.
    #[error("too many attempts")]
    TooManyAttempts,
    /// The code was wrong; the user may try again.
    #[error("wrong code")]
    WrongCode,
    /// The issuer did not accept this device: not enrolled yet (call `enroll`), or a
    /// refused signature. `code` is the issuer's error code.
    #[error("unauthorized ({code})")]
    Unauthorized {
        /// `unauthorized`, `bad_signature`, `replayed_request`, `forbidden` or `stale_request`.
        code: String,
    },
    /// The issuer could not be reached or the connection broke. Everything already
    /// synced keeps working offline; try again later.
    #[error("network error: {reason}")]
    Network {
        /// What failed (no URL path, no secret).
        reason: String,
    },
    /// The issuer did not answer in time; try again later.
    #[error("the issuer did not answer in time")]
    Timeout,
    /// The issuer URL does not parse or cannot be used as a base URL.
    #[error("invalid issuer URL: {reason}")]
    InvalidUrl {
        /// Why.
        reason: String,
    },
    /// The issuer URL is plain HTTP to another machine: refused (HTTPS is required except
    /// on loopback).
    #[error("insecure issuer URL (HTTPS required except on loopback): {url}")]
    InsecureUrl {
        /// Scheme and host of the refused URL.
        url: String,
    },
    /// The issuer's clock is not plausible; nothing was applied.
    #[error("issuer time {server_time_ms} ms is not plausible")]
    BadServerTime {
        /// The time the issuer claimed, Unix ms.
        server_time_ms: i64,
    },
    /// A signature or issuer key in the answer does not verify; nothing was applied.
    #[error("issuer signature or key does not verify")]
    BadSignature,
    /// The issuer's time was not signed by a pinned issuer key over this request's nonce
    /// (a forged, replayed or proxied answer); nothing was applied.
    #[error("issuer time is not signed for this request by a pinned issuer key")]
    UnsignedTime,
    /// The issuer's answer broke the API's rules (malformed, too large, sealed to another
    /// key, a ticket of another device, an invalid policy); nothing was applied.
    #[error("bad answer from the issuer: {reason}")]
    BadResponse {
        /// What was wrong, naming the place, never a secret.
        reason: String,
    },
    /// Any other error answer from the issuer (5xx are worth retrying later).
    #[error("issuer error {status} {code}: {detail}")]
    ServerError {
        /// HTTP status.
        status: u16,
        /// The issuer's error code, or empty.
        code: String,
        /// The issuer's explanation, or empty.
        detail: String,
    },
    /// The wallet database failed (disk full, unreadable file, newer schema…).
    #[error("storage: {reason}")]
    Storage {
        /// Why.
        reason: String,
    },
    /// An argument was rejected; `reason` says which.
    #[error("invalid input: {reason}")]
    Invalid {
        /// Which argument and why.
        reason: String,
    },
    /// A failure inside the library (a bug); the text says where. Nothing secret.
    #[error("internal error: {reason}")]
    Internal {
        /// Where.
        reason: String,
    },
}

/// "email, phone", then the issuer's explanation when there is one.
fn needs(missing: &[Verification], detail: &str) -> String {
    let names: Vec<&str> = missing
        .iter()
        .map(|v| match v {
            Verification::Email => "email",
            Verification::Phone => "phone",
            Verification::Presence => "presence",
        })
        .collect();
    match (names.is_empty(), detail.is_empty()) {
        (false, true) => names.join(", "),
        (true, false) => detail.to_owned(),
        (false, false) => format!("{} ({detail})", names.join(", ")),
        (true, true) => "unspecified".to_owned(),
    }
}

impl WalletError {
    /// No ticket `id` in this wallet.
    pub fn not_found(id: &TicketId) -> Self {
        Self::NotFound {
            what: format!("ticket {id}"),
        }
    }

    /// The database failed; `reason` says how.
    pub fn storage(reason: impl Into<String>) -> Self {
        Self::Storage {
            reason: reason.into(),
        }
    }

    /// An argument was rejected; `reason` says which and why.
    pub fn invalid(reason: impl Into<String>) -> Self {
        Self::Invalid {
            reason: reason.into(),
        }
    }

    /// The variant's name, for log lines: the text may quote the issuer, and a log line
    /// carries no more than the kind. Written out per variant (no wildcard), so a new
    /// variant must be given its kind here.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Locked { .. } => "Locked",
            Self::NeedsVerification { .. } => "NeedsVerification",
            Self::NeedsSync => "NeedsSync",
            Self::Expired => "Expired",
            Self::Revoked => "Revoked",
            Self::BoundElsewhere => "BoundElsewhere",
            Self::NotFound { .. } => "NotFound",
            Self::Tampered { .. } => "Tampered",
            Self::KeyMissing => "KeyMissing",
            Self::VaultUnavailable { .. } => "VaultUnavailable",
            Self::WalletLocked => "WalletLocked",
            Self::PresenceDenied => "PresenceDenied",
            Self::ChangeBlocked { .. } => "ChangeBlocked",
            Self::NotTransferable { .. } => "NotTransferable",
            Self::Conflict { .. } => "Conflict",
            Self::RateLimited { .. } => "RateLimited",
            Self::CodeExpired => "CodeExpired",
            Self::TooManyAttempts => "TooManyAttempts",
            Self::WrongCode => "WrongCode",
            Self::Unauthorized { .. } => "Unauthorized",
            Self::Network { .. } => "Network",
            Self::Timeout => "Timeout",
            Self::InvalidUrl { .. } => "InvalidUrl",
            Self::InsecureUrl { .. } => "InsecureUrl",
            Self::BadServerTime { .. } => "BadServerTime",
            Self::BadSignature => "BadSignature",
            Self::UnsignedTime => "UnsignedTime",
            Self::BadResponse { .. } => "BadResponse",
            Self::ServerError { .. } => "ServerError",
            Self::Storage { .. } => "Storage",
            Self::Invalid { .. } => "Invalid",
            Self::Internal { .. } => "Internal",
        }
    }

    /// The refusal matching a non-ready reveal state (None when Ready).
    pub fn from_state(state: &RevealState) -> Option<Self> {
        match state {
            RevealState::Ready { .. } => None,
            RevealState::Locked { opens_at } => Some(Self::Locked {
                opens_at: *opens_at,
            }),
            RevealState::NeedsVerification { missing } => Some(Self::NeedsVerification {
                missing: missing.clone(),
                detail: String::new(),
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
            other => Self::storage(other.to_string()),
        }
    }
}

impl From<VaultError> for WalletError {
    fn from(e: VaultError) -> Self {
        match e {
            VaultError::KeyNotFound => Self::KeyMissing,
            VaultError::Unavailable { reason } => Self::VaultUnavailable { reason },
        }
    }
}

/// Turns a seal failure at `what` into the wallet error.
pub(crate) fn sealed(what: &str) -> impl FnOnce(SealError) -> WalletError + '_ {
    move |e| match e {
        SealError::Tampered => WalletError::Tampered {
            what: what.to_owned(),
        },
        other => WalletError::storage(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One value of every variant, in declaration order.
    fn one_of_each() -> Vec<WalletError> {
        let s = || "alice@example.com said (no) {x}".to_owned();
        vec![
            WalletError::Locked { opens_at: 1 },
            WalletError::NeedsVerification {
                missing: vec![Verification::Email],
                detail: s(),
            },
            WalletError::NeedsSync,
            WalletError::Expired,
            WalletError::Revoked,
            WalletError::BoundElsewhere,
            WalletError::NotFound { what: s() },
            WalletError::Tampered { what: s() },
            WalletError::KeyMissing,
            WalletError::VaultUnavailable { reason: s() },
            WalletError::WalletLocked,
            WalletError::PresenceDenied,
            WalletError::ChangeBlocked { detail: s() },
            WalletError::NotTransferable { detail: s() },
            WalletError::Conflict { detail: s() },
            WalletError::RateLimited {
                retry_after_secs: Some(2),
            },
            WalletError::CodeExpired,
            WalletError::TooManyAttempts,
            WalletError::WrongCode,
            WalletError::Unauthorized { code: s() },
            WalletError::Network { reason: s() },
            WalletError::Timeout,
            WalletError::InvalidUrl { reason: s() },
            WalletError::InsecureUrl { url: s() },
            WalletError::BadServerTime { server_time_ms: 3 },
            WalletError::BadSignature,
            WalletError::UnsignedTime,
            WalletError::BadResponse { reason: s() },
            WalletError::ServerError {
                status: 500,
                code: s(),
                detail: s(),
            },
            WalletError::Storage { reason: s() },
            WalletError::Invalid { reason: s() },
            WalletError::Internal { reason: s() },
        ]
    }

    /// The variant's place in the declaration: exhaustive, so a new variant does not
    /// compile until it is placed here (and then `one_of_each` must list it).
    fn ordinal(e: &WalletError) -> usize {
        use WalletError as W;
        match e {
            W::Locked { .. } => 0,
            W::NeedsVerification { .. } => 1,
            W::NeedsSync => 2,
            W::Expired => 3,
            W::Revoked => 4,
            W::BoundElsewhere => 5,
            W::NotFound { .. } => 6,
            W::Tampered { .. } => 7,
            W::KeyMissing => 8,
            W::VaultUnavailable { .. } => 9,
            W::WalletLocked => 10,
            W::PresenceDenied => 11,
            W::ChangeBlocked { .. } => 12,
            W::NotTransferable { .. } => 13,
            W::Conflict { .. } => 14,
            W::RateLimited { .. } => 15,
            W::CodeExpired => 16,
            W::TooManyAttempts => 17,
            W::WrongCode => 18,
            W::Unauthorized { .. } => 19,
            W::Network { .. } => 20,
            W::Timeout => 21,
            W::InvalidUrl { .. } => 22,
            W::InsecureUrl { .. } => 23,
            W::BadServerTime { .. } => 24,
            W::BadSignature => 25,
            W::UnsignedTime => 26,
            W::BadResponse { .. } => 27,
            W::ServerError { .. } => 28,
            W::Storage { .. } => 29,
            W::Invalid { .. } => 30,
            W::Internal { .. } => 31,
        }
    }

    #[test]
    fn every_variant_has_its_own_kind_naming_it() {
        let all = one_of_each();
        let ordinals: Vec<usize> = all.iter().map(ordinal).collect();
        assert_eq!(ordinals, (0..all.len()).collect::<Vec<_>>(), "one of each");
        let mut kinds = std::collections::BTreeSet::new();
        for e in &all {
            let kind = e.kind();
            assert!(kinds.insert(kind), "{kind} used twice");
            // The kind is the variant's own name: what `Debug` starts with.
            let debug = format!("{e:?}");
            assert!(
                debug.starts_with(kind)
                    && !debug[kind.len()..].starts_with(|c: char| c.is_alphanumeric()),
                "{kind} for {debug}"
            );
            assert!(kind.chars().all(|c| c.is_ascii_alphabetic()), "{kind}");
        }
    }

    #[test]
    fn messages_are_readable_and_kinds_are_bare_names() {
        let e = WalletError::NeedsVerification {
            missing: vec![Verification::Email, Verification::Phone],
            detail: String::new(),
        };
        assert_eq!(e.to_string(), "verification needed: email, phone");
        assert_eq!(e.kind(), "NeedsVerification");
        let e = WalletError::Network {
            reason: "reset by alice@example.com's proxy".into(),
        };
        assert_eq!(e.kind(), "Network");
        assert_eq!(WalletError::Timeout.kind(), "Timeout");
        assert_eq!(
            WalletError::from(VaultError::KeyNotFound),
            WalletError::KeyMissing
        );
        assert_eq!(
            WalletError::not_found(&TicketId([0xab; 16])).to_string(),
            format!("not found: ticket {}", "ab".repeat(16))
        );
    }
}
