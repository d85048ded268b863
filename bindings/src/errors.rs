//! One error enum per surface: [`WalletError`] for the wallet and its issuer calls,
//! [`GateError`] for the gate verifier, [`VaultError`] for a foreign key vault. Each
//! variant is something an app can act on; texts are readable and never carry a secret.
//!
//! Field names avoid `message`, which clashes with the exception base classes of Kotlin
//! and Python: explanations are in `reason` or `detail`.

use tessera_core::sync::api::ApiErrorCode;
use tessera_core::sync::error::SyncError;
use tessera_core::{VaultError as CoreVaultError, WalletError as CoreWalletError};

use crate::types::{Verification, verifications};

/// Everything a wallet call can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
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
    /// The user-presence check failed, was cancelled, or no `PresenceGate` was given.
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
    /// The request conflicts with the issuer's state (already transferred, email in use…).
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
    /// The variant's name, for log lines: the text may quote the issuer, and a log line
    /// carries no more than the kind. Written out per variant (no wildcard), so a new
    /// variant must be given its kind here.
    pub(crate) fn kind(&self) -> &'static str {
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
}

impl From<CoreWalletError> for WalletError {
    fn from(e: CoreWalletError) -> Self {
        use CoreWalletError as C;
        match e {
            C::Locked { opens_at } => Self::Locked { opens_at },
            C::NeedsVerification { missing } => Self::NeedsVerification {
                missing: verifications(&missing),
                detail: String::new(),
            },
            C::NeedsSync => Self::NeedsSync,
            C::Expired => Self::Expired,
            C::Revoked => Self::Revoked,
            C::BoundElsewhere => Self::BoundElsewhere,
            C::NotFound(id) => Self::NotFound {
                what: format!("ticket {id}"),
            },
            C::Tampered { what } => Self::Tampered { what },
            C::KeyMissing => Self::KeyMissing,
            C::VaultUnavailable(reason) => Self::VaultUnavailable { reason },
            C::WalletLocked => Self::WalletLocked,
            C::PresenceDenied => Self::PresenceDenied,
            C::Storage(reason) => Self::Storage { reason },
            C::Invalid(reason) => Self::Invalid { reason },
        }
    }
}

impl From<SyncError> for WalletError {
    fn from(e: SyncError) -> Self {
        use SyncError as S;
        let bad = |e: &SyncError| Self::BadResponse {
            reason: e.to_string(),
        };
        match e {
            S::InvalidUrl(reason) => Self::InvalidUrl { reason },
            S::InsecureUrl(url) => Self::InsecureUrl { url },
            S::BadRootCertificate { .. } => Self::Invalid {
                reason: e.to_string(),
            },
            S::ClientSetup(reason) => Self::Internal { reason },
            S::Network(reason) => Self::Network { reason },
            S::Timeout => Self::Timeout,
            S::ResponseTooLarge { .. }
            | S::MalformedResponse(_)
            | S::SealedToAnotherKey { .. }
            | S::WrongDevice { .. }
            | S::InvalidPolicy(_) => bad(&e),
            S::BadServerTime { server_time_ms } => Self::BadServerTime { server_time_ms },
            S::BadSignature => Self::BadSignature,
            S::UnsignedTime => Self::UnsignedTime,
            S::NeedsVerification { message } => Self::NeedsVerification {
                missing: Vec::new(),
                detail: message,
            },
            S::ChangeBlocked { message } => Self::ChangeBlocked { detail: message },
            S::NotTransferable { message } => Self::NotTransferable { detail: message },
            S::RateLimited { retry_after_secs } => Self::RateLimited { retry_after_secs },
            S::CodeExpired => Self::CodeExpired,
            S::TooManyAttempts => Self::TooManyAttempts,
            S::WrongCode => Self::WrongCode,
            S::Unauthorized { code } => Self::Unauthorized {
                code: code_text(code),
            },
            // The session already re-anchored and retried once; a second refusal means
            // the issuer does not accept this device's requests.
            S::StaleRequest => Self::Unauthorized {
                code: ApiErrorCode::StaleRequest.to_string(),
            },
            S::NotFound { message } => Self::NotFound { what: message },
            S::Conflict { message } => Self::Conflict { detail: message },
            S::Server {
                status,
                code,
                message,
            } => Self::ServerError {
                status,
                code: code_text(code),
                detail: message,
            },
            S::Wallet(w) => w.into(),
        }
    }
}

/// The issuer's error code as the FFI records carry it: its wire string, or empty.
fn code_text(code: Option<ApiErrorCode>) -> String {
    code.map(|c| c.to_string()).unwrap_or_default()
}

impl From<tessera_core::ids::BadTicketId> for WalletError {
    fn from(_: tessera_core::ids::BadTicketId) -> Self {
        Self::Invalid {
            reason: "a ticket id is 32 hex digits".into(),
        }
    }
}

/// Why a foreign [`crate::foreign::KeyVault`] could not wrap or unwrap the wallet key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum VaultError {
    /// The vault no longer has the key (app reinstalled, keystore reset, entry deleted).
    #[error("the key vault no longer holds this wallet's key")]
    KeyNotFound,
    /// The vault is there but refused or failed; `reason` says why (never key material).
    /// Any other exception thrown by a vault arrives here too.
    #[error("key vault unavailable: {reason}")]
    Unavailable {
        /// Why.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for VaultError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Unavailable { reason: e.reason }
    }
}

impl From<VaultError> for CoreVaultError {
    fn from(e: VaultError) -> Self {
        match e {
            VaultError::KeyNotFound => Self::KeyNotFound,
            VaultError::Unavailable { reason } => Self::Unavailable(reason),
        }
    }
}

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

/// Everything around gate verification can fail with (verdicts are never errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum GateError {
    /// The bundle is not valid JSON or breaks an invariant; `reason` names it. Fetch the
    /// bundle from the issuer again.
    #[error("invalid gate bundle: {reason}")]
    InvalidBundle {
        /// What is wrong.
        reason: String,
    },
    /// The bundle is not the issuer's: unsigned, altered after signing, or signed by a
    /// key this gate did not pin. Do not use it; fetch the bundle from the issuer again.
    #[error("untrusted gate bundle: {reason}")]
    UntrustedBundle {
        /// Which check failed.
        reason: String,
    },
    /// The bundle is older than one this gate already used (it would bring back revoked
    /// tickets and old phones).
    #[error("the bundle (sequence {got}) is older than the one this gate used ({have})")]
    BundleRolledBack {
        /// The newest sequence number this gate used.
        have: u64,
        /// The offered bundle's.
        got: u64,
    },
    /// The scan log database failed (disk full, unreadable, already open elsewhere…).
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
    /// A scan export could not be written or read (a line that is not a scan record).
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

impl From<tessera_gate::GateError> for GateError {
    fn from(e: tessera_gate::GateError) -> Self {
        use tessera_gate::GateError as G;
        match e {
            G::InvalidBundle(reason) => Self::InvalidBundle {
                reason: reason.to_owned(),
            },
            e @ (G::UnsignedBundle | G::BundleSignature | G::BundleKeyNotPinned(_)) => {
                Self::UntrustedBundle {
                    reason: e.to_string(),
                }
            }
            G::BundleRolledBack { have, got } => Self::BundleRolledBack { have, got },
            G::Storage(reason) => Self::Storage { reason },
            G::NewerSchema(version) => Self::NewerSchema { version },
            G::Export(reason) => Self::Export { reason },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_errors_map_to_what_an_app_acts_on() {
        let m = |e: SyncError| WalletError::from(e);
        assert_eq!(m(SyncError::Timeout), WalletError::Timeout);
        assert_eq!(
            m(SyncError::RateLimited {
                retry_after_secs: Some(30)
            }),
            WalletError::RateLimited {
                retry_after_secs: Some(30)
            }
        );
        assert_eq!(
            m(SyncError::StaleRequest),
            WalletError::Unauthorized {
                code: "stale_request".into()
            }
        );
        assert!(matches!(
            m(SyncError::MalformedResponse("tickets[3]".into())),
            WalletError::BadResponse { reason } if reason.contains("tickets[3]")
        ));
        assert_eq!(
            m(SyncError::Wallet(CoreWalletError::Locked { opens_at: 5 })),
            WalletError::Locked { opens_at: 5 }
        );
        assert_eq!(
            m(SyncError::Server {
                status: 503,
                code: None,
                message: String::new()
            }),
            WalletError::ServerError {
                status: 503,
                code: String::new(),
                detail: String::new()
            }
        );
    }

    #[test]
    fn issuer_codes_reach_the_ffi_as_their_wire_strings() {
        let m = |e: SyncError| WalletError::from(e);
        assert_eq!(
            m(SyncError::Unauthorized {
                code: Some(ApiErrorCode::BadSignature)
            }),
            WalletError::Unauthorized {
                code: "bad_signature".into()
            }
        );
        assert_eq!(
            m(SyncError::Unauthorized { code: None }),
            WalletError::Unauthorized {
                code: String::new()
            }
        );
        assert_eq!(
            m(SyncError::Server {
                status: 502,
                code: Some(ApiErrorCode::DeliveryFailed),
                message: "later".into()
            }),
            WalletError::ServerError {
                status: 502,
                code: "delivery_failed".into(),
                detail: "later".into()
            }
        );
        assert_eq!(
            m(SyncError::Server {
                status: 418,
                code: Some(ApiErrorCode::Other("teapot_busy".into())),
                message: String::new()
            }),
            WalletError::ServerError {
                status: 418,
                code: "teapot_busy".into(),
                detail: String::new()
            }
        );
    }

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
        let v: tessera_core::VaultError = VaultError::KeyNotFound.into();
        assert_eq!(
            WalletError::from(CoreWalletError::from(v)),
            WalletError::KeyMissing
        );
    }
}
