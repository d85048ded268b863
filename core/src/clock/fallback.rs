//! Core's clocks over a clock source that can fail (the app's, handed in across FFI).
//!
//! What to do when a reading fails is a trusted-time decision, so it lives here and not
//! in the bindings: a failed reading must never let a reveal window open early, nor let
//! an anchor taken under a failing clock vouch for a working one later.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{MonotonicClock, ProcessMonotonicClock, SystemWallClock, WallClock};

/// Clock readings from a source that can fail, such as the app's clocks across FFI.
/// `None` means the reading failed (the app's callback threw).
pub trait FallibleClock: Send + Sync {
    /// The device wall clock, Unix ms (user-settable).
    fn try_wall_ms(&self) -> Option<i64>;
    /// Milliseconds since an origin fixed for the whole boot, at real speed and not
    /// settable by the user (Android `SystemClock.elapsedRealtime()`). A negative reading
    /// counts as 0.
    fn try_elapsed_ms(&self) -> Option<i64>;
    /// Names the origin of `try_elapsed_ms`: changes whenever the origin does (a reboot).
    fn try_boot_id(&self) -> Option<String>;
}

/// Core's [`WallClock`] and [`MonotonicClock`] over a [`FallibleClock`].
///
/// A failed wall reading falls back to the system clock: the wall clock opens nothing
/// (DECISIONS 1), it only draws codes when time is not anchored. A failed elapsed reading
/// reads 0 and the session read right after it names a failure of this process; a failed
/// boot id is a session of this process. Either way the reading does not match an anchor
/// taken with a working clock (so only the proven high-water mark counts), and an anchor
/// taken while the clock failed never matches a working clock later.
pub struct FallbackClock<S: ?Sized> {
    source: Arc<S>,
    /// Names sessions that belong to this clock object alone (random per instance).
    fallback: ProcessMonotonicClock,
    /// The last elapsed reading failed: the wallet reads the session right after it.
    elapsed_failed: AtomicBool,
}

impl<S: ?Sized + FallibleClock> FallbackClock<S> {
    /// Wraps `source`; its readings pass through while they succeed.
    pub fn new(source: Arc<S>) -> Self {
        Self {
            source,
            fallback: ProcessMonotonicClock::new(),
            elapsed_failed: AtomicBool::new(false),
        }
    }
}

impl<S: ?Sized + FallibleClock> WallClock for FallbackClock<S> {
    fn now_unix_ms(&self) -> i64 {
        self.source
            .try_wall_ms()
            .unwrap_or_else(|| SystemWallClock.now_unix_ms())
    }
}

impl<S: ?Sized + FallibleClock> MonotonicClock for FallbackClock<S> {
    fn elapsed_ms(&self) -> u64 {
        let reading = self.source.try_elapsed_ms();
        self.elapsed_failed
            .store(reading.is_none(), Ordering::SeqCst);
        reading.map_or(0, |ms| u64::try_from(ms).unwrap_or(0))
    }

    fn session(&self) -> String {
        match self.source.try_boot_id() {
            Some(_) if self.elapsed_failed.load(Ordering::SeqCst) => {
                format!("{}:elapsed-failed", self.fallback.session())
            }
            Some(id) => format!("app:{id}"),
            None => self.fallback.session(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{ManualClock, TimeAnchor, trusted_time};

    const T0: i64 = 1_800_000_000_000;

    /// FAKE: the manual clock as an app's clock source, each reading made to fail on demand.
    struct FailingSource {
        clock: ManualClock,
        wall_fails: AtomicBool,
        elapsed_fails: AtomicBool,
        boot_fails: AtomicBool,
    }

    impl FailingSource {
        fn new() -> Arc<Self> {
            let clock = ManualClock::new(T0);
            // Some uptime, so that a reading of 0 and a real one differ.
            clock.advance(10_000_000);
            clock.set_wall(T0);
            Arc::new(Self {
                clock,
                wall_fails: AtomicBool::new(false),
                elapsed_fails: AtomicBool::new(false),
                boot_fails: AtomicBool::new(false),
            })
        }
    }

    impl FallibleClock for FailingSource {
        fn try_wall_ms(&self) -> Option<i64> {
            (!self.wall_fails.load(Ordering::SeqCst)).then(|| self.clock.now_unix_ms())
        }
        fn try_elapsed_ms(&self) -> Option<i64> {
            (!self.elapsed_fails.load(Ordering::SeqCst))
                .then(|| i64::try_from(self.clock.elapsed_ms()).unwrap_or(i64::MAX))
        }
        fn try_boot_id(&self) -> Option<String> {
            (!self.boot_fails.load(Ordering::SeqCst)).then(|| self.clock.session())
        }
    }

    /// The anchor a sync would take now, at server time `T0`.
    fn anchor(c: &dyn MonotonicClock) -> TimeAnchor {
        TimeAnchor {
            server_unix_ms: T0,
            mono_ms: c.elapsed_ms(),
            session: c.session(),
        }
    }

    #[test]
    fn a_working_source_passes_through_and_a_reboot_is_a_new_session() {
        let s = FailingSource::new();
        let c = FallbackClock::new(s.clone());
        assert_eq!(c.now_unix_ms(), T0);
        assert_eq!(c.elapsed_ms(), 10_000_000);
        assert_eq!(c.session(), "app:manual-boot-0");
        let a = anchor(&c);
        s.clock.advance(5_000);
        let t = trusted_time(Some(&a), 0, &c, &c);
        assert!(t.anchored);
        assert_eq!(t.proven_ms, T0 + 5_000);
        s.clock.reboot();
        assert_eq!(c.session(), "app:manual-boot-1");
        assert!(!trusted_time(Some(&a), 0, &c, &c).anchored);
    }

    #[test]
    fn a_failed_wall_reading_is_the_system_clock_and_opens_nothing() {
        let s = FailingSource::new();
        let c = FallbackClock::new(s.clone());
        let a = anchor(&c);
        s.clock.set_wall(T0 + 86_400_000);
        s.wall_fails.store(true, Ordering::SeqCst);
        let before = SystemWallClock.now_unix_ms();
        let wall = c.now_unix_ms();
        assert!(
            (before..=SystemWallClock.now_unix_ms()).contains(&wall),
            "{wall}"
        );
        // Anchored time still follows the working elapsed clock, not the fallback wall.
        let t = trusted_time(Some(&a), 0, &c, &c);
        assert!(t.anchored);
        assert_eq!(t.proven_ms, T0);
    }

    #[test]
    fn an_anchor_taken_while_elapsed_failed_never_extends_later_readings() {
        let s = FailingSource::new();
        let c = FallbackClock::new(s.clone());
        s.elapsed_fails.store(true, Ordering::SeqCst);
        let a = anchor(&c);
        assert_eq!(a.mono_ms, 0);
        s.elapsed_fails.store(false, Ordering::SeqCst);
        // Working again: 10,000 s of uptime must not be added to the anchor.
        let t = trusted_time(Some(&a), 0, &c, &c);
        assert!(!t.anchored);
        assert_eq!(t.proven_ms, 0);
    }

    #[test]
    fn a_failing_elapsed_reading_does_not_match_an_anchor_taken_with_a_working_clock() {
        let s = FailingSource::new();
        let c = FallbackClock::new(s.clone());
        let a = TimeAnchor {
            mono_ms: 0,
            ..anchor(&c)
        };
        assert!(trusted_time(Some(&a), 0, &c, &c).anchored);
        s.elapsed_fails.store(true, Ordering::SeqCst);
        // A failed reading reads 0, which an anchor taken at 0 would otherwise accept.
        let t = trusted_time(Some(&a), T0 - 1, &c, &c);
        assert!(!t.anchored);
        assert_eq!(t.proven_ms, T0 - 1);
    }

    #[test]
    fn a_failed_boot_id_is_a_session_of_this_clock_alone() {
        let s = FailingSource::new();
        let c = FallbackClock::new(s.clone());
        let a = anchor(&c);
        s.boot_fails.store(true, Ordering::SeqCst);
        assert!(!trusted_time(Some(&a), 0, &c, &c).anchored);
        // Another process (another clock object) failing the same way is another session.
        let other = FallbackClock::new(s.clone());
        assert_ne!(c.session(), other.session());
        assert!(!c.session().starts_with("app:"));
    }

    /// FAKE: a source whose elapsed clock always reads the same value.
    struct Fixed(i64);

    impl FallibleClock for Fixed {
        fn try_wall_ms(&self) -> Option<i64> {
            Some(T0)
        }
        fn try_elapsed_ms(&self) -> Option<i64> {
            Some(self.0)
        }
        fn try_boot_id(&self) -> Option<String> {
            Some("boot".into())
        }
    }

    #[test]
    fn a_negative_elapsed_reading_reads_zero_in_the_same_session() {
        let c = FallbackClock::new(Arc::new(Fixed(-5)));
        assert_eq!(c.elapsed_ms(), 0);
        assert_eq!(c.session(), "app:boot");
    }
}
