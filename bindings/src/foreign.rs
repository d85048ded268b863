//! Traits the app implements in Kotlin, Swift or Python, and the adapters that plug them
//! into core's traits.
//!
//! Every foreign method returns a `Result`: an exception thrown by app code arrives as
//! [`CallbackError`] instead of a Rust panic (which is what UniFFI makes of a throw from
//! a method declared infallible). The adapters then take the safe way out (presence
//! denied, log line dropped, watch goes on, system clock), since core's traits are
//! infallible there. Implementations need not declare the throw: Kotlin has no checked
//! exceptions and a non-throwing Swift method satisfies a `throws` requirement.

use std::sync::Arc;

use tessera_core::clock::{FallbackClock, FallibleClock};
use zeroize::Zeroizing;

use crate::errors::{CallbackError, VaultError};
use crate::types::{Frame, RevealState};

/// The platform key store that protects the wallet's key-encryption key (KEK): Android
/// Keystore, the iOS Secure Enclave or Keychain, a desktop keyring.
///
/// The wallet stores only what `wrap` returns. A hardware-backed vault encrypts the KEK
/// under a key that never leaves the hardware, so a copied database cannot be opened.
#[uniffi::export(with_foreign)]
pub trait KeyVault: Send + Sync {
    /// Protects `kek` (32 random bytes) for the wallet `wallet_id`; returns the blob the
    /// wallet stores. Throw (or return `VaultError`) when the vault cannot.
    fn wrap(&self, wallet_id: String, kek: Vec<u8>) -> Result<Vec<u8>, VaultError>;
    /// Recovers the KEK from a blob `wrap` returned. `VaultError.KeyNotFound` when the
    /// vault's key is gone (the wallet then reports `WalletError.KeyMissing`).
    fn unwrap(&self, wallet_id: String, wrapped: Vec<u8>) -> Result<Vec<u8>, VaultError>;
    /// Forgets the key of `wallet_id` (wallet wipe). A missing key is not an error.
    fn delete(&self, wallet_id: String) -> Result<(), VaultError>;
}

/// Asks the person holding the phone to prove presence (biometrics, device passcode)
/// before a ticket of an event that requires it reveals.
#[uniffi::export(with_foreign)]
pub trait PresenceGate: Send + Sync {
    /// Shows the platform prompt with `reason` and blocks until the user answers; true
    /// when the user passed it. Called on the thread that called
    /// `Wallet.confirm_presence`. A throw counts as "not confirmed".
    fn confirm(&self, reason: String) -> Result<bool, CallbackError>;
}

/// Receives a watched ticket's frames and state changes (`Wallet.watch`).
///
/// Called on a library thread: return quickly and hand the work to your UI thread.
/// A throw is logged and the watch goes on.
#[uniffi::export(with_foreign)]
pub trait FrameListener: Send + Sync {
    /// The frame to show from now until `frame.ends_at_ms`; called at every step boundary
    /// while the ticket is ready.
    fn on_frame(&self, frame: Frame) -> Result<(), CallbackError>;
    /// The ticket's state: called when the watch starts and whenever it changes (the
    /// window opens or closes, the ticket is revoked, verified, synced…).
    fn on_state(&self, state: RevealState) -> Result<(), CallbackError>;
}

/// How much a log line matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something unexpected that the library worked around.
    Warn,
    /// A notable step (wallet opened, sync done, watch started).
    Info,
    /// Detail for debugging.
    Debug,
}

/// Where the library's log lines go (Logcat, os_log, Python `logging`).
///
/// Lines name operations, counts, error kinds and ticket ids; never a secret (seed, key,
/// code, token) and never personal data (names, email addresses, phone numbers).
#[uniffi::export(with_foreign)]
pub trait Logger: Send + Sync {
    /// One log line. Called from any thread; a throw is ignored.
    fn log(&self, level: LogLevel, message: String) -> Result<(), CallbackError>;
}

/// The clocks the wallet reads, handed in by the app (Android's `elapsedRealtime`) or
/// by a test that fakes time. Without one the wallet uses the system clocks.
///
/// Reveal windows open on trusted time: the issuer's clock at the last sync plus the
/// elapsed-realtime clock since, valid while `boot_id` stays the same. The wall clock is
/// only used to draw codes when nothing better is known and to flag a clock set by hand.
#[uniffi::export(with_foreign)]
pub trait ClockSource: Send + Sync {
    /// The device wall clock, Unix ms (user-settable).
    fn wall_clock_ms(&self) -> Result<i64, CallbackError>;
    /// Milliseconds since an origin fixed for the whole `boot_id`, moving at real speed
    /// and not settable by the user (Android `SystemClock.elapsedRealtime()`).
    fn elapsed_realtime_ms(&self) -> Result<i64, CallbackError>;
    /// Names the origin of `elapsed_realtime_ms`: must change whenever the origin does
    /// (a reboot; Android: `Settings.Global.BOOT_COUNT`).
    fn boot_id(&self) -> Result<String, CallbackError>;
}

/// Core's key vault backed by a foreign [`KeyVault`].
pub(crate) struct VaultAdapter(pub(crate) Arc<dyn KeyVault>);

impl tessera_core::KeyVault for VaultAdapter {
    fn wrap(&self, wallet_id: &str, kek: &[u8]) -> Result<Vec<u8>, tessera_core::VaultError> {
        // The copy handed to the foreign vault leaves Rust's control once lowered; the
        // platform's vault API holds its own copy anyway. Ours is the one we can wipe.
        self.0.wrap(wallet_id.to_owned(), kek.to_vec())
    }

    fn unwrap(
        &self,
        wallet_id: &str,
        wrapped: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, tessera_core::VaultError> {
        Ok(Zeroizing::new(
            self.0.unwrap(wallet_id.to_owned(), wrapped.to_vec())?,
        ))
    }

    fn delete(&self, wallet_id: &str) -> Result<(), tessera_core::VaultError> {
        self.0.delete(wallet_id.to_owned())
    }
}

/// Core's presence gate backed by a foreign [`PresenceGate`].
pub(crate) struct PresenceAdapter(pub(crate) Arc<dyn PresenceGate>);

impl tessera_core::PresenceGate for PresenceAdapter {
    fn confirm(&self, reason: &str) -> bool {
        self.0.confirm(reason.to_owned()).unwrap_or(false)
    }
}

/// Core's clocks backed by a foreign [`ClockSource`]. What a throwing clock reads is
/// trusted-time policy, so core's [`FallbackClock`] decides it (never an early window);
/// here the foreign trait is only adapted to core's [`FallibleClock`].
pub(crate) type ClockAdapter = FallbackClock<dyn ClockSource>;

impl FallibleClock for dyn ClockSource {
    fn try_wall_ms(&self) -> Option<i64> {
        self.wall_clock_ms().ok()
    }

    fn try_elapsed_ms(&self) -> Option<i64> {
        self.elapsed_realtime_ms().ok()
    }

    fn try_boot_id(&self) -> Option<String> {
        self.boot_id().ok()
    }
}

/// The app's logger, or nothing. Clone freely.
#[derive(Clone, Default)]
pub(crate) struct Log(Option<Arc<dyn Logger>>);

impl Log {
    pub(crate) fn new(logger: Option<Arc<dyn Logger>>) -> Self {
        Self(logger)
    }

    pub(crate) fn at(&self, level: LogLevel, message: impl FnOnce() -> String) {
        if let Some(l) = &self.0 {
            let line = message();
            // A logger that throws loses its line, nothing more.
            let _ = l.log(level, line);
        }
    }

    pub(crate) fn info(&self, message: impl FnOnce() -> String) {
        self.at(LogLevel::Info, message);
    }

    pub(crate) fn warn(&self, message: impl FnOnce() -> String) {
        self.at(LogLevel::Warn, message);
    }

    pub(crate) fn debug(&self, message: impl FnOnce() -> String) {
        self.at(LogLevel::Debug, message);
    }
}

/// FAKE for tests and demos: a software key vault whose wrapping key lives only in this
/// process's memory (a restarted process cannot open the wallet again). Use the
/// platform's key store in apps.
#[uniffi::export]
pub fn memory_key_vault() -> Result<Arc<dyn KeyVault>, VaultError> {
    let inner = tessera_core::MemoryKeyVault::new()?;
    Ok(Arc::new(MemoryVault(inner)))
}

/// The Rust-side implementation behind [`memory_key_vault`].
struct MemoryVault(tessera_core::MemoryKeyVault);

impl KeyVault for MemoryVault {
    fn wrap(&self, wallet_id: String, kek: Vec<u8>) -> Result<Vec<u8>, VaultError> {
        let kek = Zeroizing::new(kek);
        tessera_core::KeyVault::wrap(&self.0, &wallet_id, &kek)
    }

    fn unwrap(&self, wallet_id: String, wrapped: Vec<u8>) -> Result<Vec<u8>, VaultError> {
        tessera_core::KeyVault::unwrap(&self.0, &wallet_id, &wrapped).map(|k| k.to_vec())
    }

    fn delete(&self, wallet_id: String) -> Result<(), VaultError> {
        tessera_core::KeyVault::delete(&self.0, &wallet_id)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use tessera_core::clock::{MonotonicClock, TimeAnchor, trusted_time};

    use super::*;

    /// A clock whose elapsed reading can be made to fail.
    struct Flaky {
        fail: Mutex<bool>,
    }

    impl ClockSource for Flaky {
        fn wall_clock_ms(&self) -> Result<i64, CallbackError> {
            Ok(2_000_000_000_000)
        }
        fn elapsed_realtime_ms(&self) -> Result<i64, CallbackError> {
            if *self.fail.lock().unwrap_or_else(|e| e.into_inner()) {
                Err(CallbackError::Failed {
                    reason: "no clock".into(),
                })
            } else {
                Ok(10_000_000)
            }
        }
        fn boot_id(&self) -> Result<String, CallbackError> {
            Ok("boot-1".into())
        }
    }

    fn anchor(c: &ClockAdapter) -> TimeAnchor {
        TimeAnchor {
            server_unix_ms: 1_000,
            mono_ms: c.elapsed_ms(),
            session: c.session(),
        }
    }

    #[test]
    fn an_anchor_taken_while_the_clock_failed_never_extends_later_readings() {
        let source = Arc::new(Flaky {
            fail: Mutex::new(true),
        });
        let c = ClockAdapter::new(source.clone());
        let a = anchor(&c);
        *source.fail.lock().unwrap_or_else(|e| e.into_inner()) = false;
        // Working again: 10,000 s of uptime must not be added to the anchor.
        let t = trusted_time(Some(&a), 0, &c, &c);
        assert!(!t.anchored);
        assert_eq!(t.proven_ms, 0);
    }

    #[test]
    fn a_failing_reading_does_not_match_an_anchor_taken_with_a_working_clock() {
        let source = Arc::new(Flaky {
            fail: Mutex::new(false),
        });
        let c = ClockAdapter::new(source.clone());
        let a = anchor(&c);
        assert!(trusted_time(Some(&a), 0, &c, &c).anchored);
        *source.fail.lock().unwrap_or_else(|e| e.into_inner()) = true;
        assert!(!trusted_time(Some(&a), 0, &c, &c).anchored);
    }
}
