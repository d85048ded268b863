//! The issuer's clock. Everything time-dependent (request freshness, code expiry, reveal
//! windows, server time in sync answers) reads it here, so tests can inject time.

use std::time::{SystemTime, UNIX_EPOCH};

/// A source of "now" in Unix milliseconds.
///
/// Any `Fn() -> i64 + Send + Sync` is a clock, so a test can pass a closure over an
/// atomic it moves forward.
pub trait Clock: Send + Sync {
    /// Now, Unix ms.
    fn now_ms(&self) -> i64;
}

impl<F: Fn() -> i64 + Send + Sync> Clock for F {
    fn now_ms(&self) -> i64 {
        self()
    }
}

/// The system wall clock (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        // A clock before 1970 is a broken host; 0 makes every window look closed.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}
