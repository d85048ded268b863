//! Trusted time: the issuer's clock carried forward by a monotonic clock.
//!
//! The wall clock belongs to the user, who may set it forward to open a reveal
//! window early. So reveal decisions use a *proven lower bound* on the time:
//! the server time of the last sync plus the monotonic time elapsed since, or,
//! when the monotonic clock has restarted (a reboot, a new process), the highest
//! trusted time the wallet has ever seen. The wall clock is only used to draw
//! codes when nothing better is known (the gate checks their freshness anyway)
//! and to flag a manipulated clock. A clock source that can fail (the app's) is made
//! safe by [`FallbackClock`].

use std::sync::Arc;
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};

mod fallback;

pub use fallback::{FallbackClock, FallibleClock};

/// The device's wall clock (user-settable).
pub trait WallClock: Send + Sync {
    /// Milliseconds since the Unix epoch, as the device believes.
    fn now_unix_ms(&self) -> i64;
}

/// A clock that only moves forward, at real speed, and that the user cannot set.
///
/// Platforms with an elapsed-since-boot clock (Android `SystemClock.elapsedRealtime`,
/// `CLOCK_BOOTTIME`) should supply it so an anchor survives an app restart.
pub trait MonotonicClock: Send + Sync {
    /// Milliseconds since an arbitrary origin fixed for the whole `session`.
    fn elapsed_ms(&self) -> u64;
    /// Names the origin: it changes whenever the origin does (reboot, process restart).
    fn session(&self) -> String;
}

/// The system wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemWallClock;

impl WallClock for SystemWallClock {
    fn now_unix_ms(&self) -> i64 {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            // A wall clock before 1970 is simply wrong; the trusted clock ignores it.
            Err(_) => 0,
        }
    }
}

/// A monotonic clock local to this process: an anchor never outlives the process.
#[derive(Debug)]
pub struct ProcessMonotonicClock {
    origin: Instant,
    session: String,
}

impl ProcessMonotonicClock {
    /// Starts the clock; the session name is random so no two processes share one.
    pub fn new() -> Self {
        let mut b = [0u8; 16];
        // If the system RNG fails the session is merely less unique; a clash can at worst
        // reuse an anchor whose monotonic reading is then checked for going backwards.
        let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
        Self {
            origin: Instant::now(),
            session: format!("process-{}", hex::encode(b)),
        }
    }
}

impl Default for ProcessMonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl MonotonicClock for ProcessMonotonicClock {
    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
    fn session(&self) -> String {
        self.session.clone()
    }
}

/// FAKE for tests and demos: a wall clock and a monotonic clock moved by hand.
///
/// `advance` moves both (time passing); `set_wall` moves only the wall clock (a user
/// changing the phone's time); `reboot` restarts the monotonic clock under a new session.
#[derive(Debug, Clone)]
pub struct ManualClock {
    inner: Arc<Mutex<ManualState>>,
}

#[derive(Debug)]
struct ManualState {
    wall_ms: i64,
    mono_ms: u64,
    boots: u32,
}

impl ManualClock {
    /// A clock whose wall reads `unix_ms` and whose monotonic clock reads 0.
    pub fn new(unix_ms: i64) -> Self {
        Self {
            inner: Arc::new(Mutex::new(ManualState {
                wall_ms: unix_ms,
                mono_ms: 0,
                boots: 0,
            })),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut ManualState) -> R) -> R {
        // A poisoned lock only means another test thread panicked; the state is still valid.
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }

    /// Time passes: both clocks move forward by `ms`.
    pub fn advance(&self, ms: u64) {
        self.with(|s| {
            s.wall_ms = s
                .wall_ms
                .saturating_add(i64::try_from(ms).unwrap_or(i64::MAX));
            s.mono_ms = s.mono_ms.saturating_add(ms);
        });
    }

    /// The user sets the wall clock; the monotonic clock is untouched.
    pub fn set_wall(&self, unix_ms: i64) {
        self.with(|s| s.wall_ms = unix_ms);
    }

    /// The device reboots: the monotonic clock restarts at 0 under a new session.
    pub fn reboot(&self) {
        self.with(|s| {
            s.mono_ms = 0;
            s.boots += 1;
        });
    }
}

impl WallClock for ManualClock {
    fn now_unix_ms(&self) -> i64 {
        self.with(|s| s.wall_ms)
    }
}

impl MonotonicClock for ManualClock {
    fn elapsed_ms(&self) -> u64 {
        self.with(|s| s.mono_ms)
    }
    fn session(&self) -> String {
        self.with(|s| format!("manual-boot-{}", s.boots))
    }
}

/// A server time observed at a known monotonic reading (persisted by the wallet).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeAnchor {
    /// The issuer's clock, Unix ms, when the anchor was taken.
    pub server_unix_ms: i64,
    /// The monotonic clock at that moment.
    pub mono_ms: u64,
    /// The monotonic clock's session then.
    pub session: String,
}

/// What the wallet knows about the current time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrustedTime {
    /// Best estimate of now, Unix ms: what codes are drawn with.
    pub now_ms: i64,
    /// A time that has certainly been reached, Unix ms: what reveal windows are opened with.
    pub proven_ms: i64,
    /// Whether `now_ms` comes from a server anchor in the current monotonic session.
    pub anchored: bool,
    /// Wall clock minus trusted time, ms (0 when not anchored).
    pub wall_skew_ms: i64,
}

/// The wallet's view of the current time, as an app shows it (`Wallet::time_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TimeStatus {
    /// Best estimate of now, Unix ms: what codes are drawn with.
    pub now_ms: i64,
    /// A time certainly reached, Unix ms: what reveal windows open on.
    pub proven_ms: i64,
    /// Whether the time comes from an issuer anchor in the current clock session (false
    /// after a reboot until the next sync, enroll or `refresh_time`).
    pub anchored: bool,
    /// Whether the device clock disagrees with the issuer's beyond the tolerance (the user
    /// set it by hand); reveal windows ignore it either way.
    pub clock_manipulated: bool,
}

/// Skew beyond which the wall clock is reported as manipulated.
pub const DEFAULT_SKEW_TOLERANCE_MS: i64 = 120_000;

impl TrustedTime {
    /// Whether the device's clock disagrees with the issuer's beyond `tolerance_ms`.
    pub fn wall_clock_manipulated(&self, tolerance_ms: i64) -> bool {
        // unsigned_abs: a wall clock at i64::MIN gives a skew of i64::MIN, whose abs()
        // overflows (a panic, or a negative "no skew" in release builds).
        self.anchored && self.wall_skew_ms.unsigned_abs() > tolerance_ms.unsigned_abs()
    }
}

/// Computes trusted time from the anchor, the highest trusted time seen (`high_water_ms`)
/// and the two clocks. Pure, so every case is testable.
pub fn trusted_time(
    anchor: Option<&TimeAnchor>,
    high_water_ms: i64,
    wall: &dyn WallClock,
    mono: &dyn MonotonicClock,
) -> TrustedTime {
    let wall_ms = wall.now_unix_ms();
    if let Some(a) = anchor {
        let now_mono = mono.elapsed_ms();
        if a.session == mono.session() && now_mono >= a.mono_ms {
            let elapsed = i64::try_from(now_mono - a.mono_ms).unwrap_or(i64::MAX);
            let t = a.server_unix_ms.saturating_add(elapsed).max(high_water_ms);
            return TrustedTime {
                now_ms: t,
                proven_ms: t,
                anchored: true,
                wall_skew_ms: wall_ms.saturating_sub(t),
            };
        }
    }
    // No usable anchor: only the high-water mark is proven. The wall clock is used for
    // drawing codes, never earlier than a time already proven.
    TrustedTime {
        now_ms: wall_ms.max(high_water_ms),
        proven_ms: high_water_ms,
        anchored: false,
        wall_skew_ms: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000_000;

    fn anchor_at(clock: &ManualClock, server_ms: i64) -> TimeAnchor {
        TimeAnchor {
            server_unix_ms: server_ms,
            mono_ms: clock.elapsed_ms(),
            session: clock.session(),
        }
    }

    #[test]
    fn anchored_time_follows_the_monotonic_clock_not_the_wall() {
        let c = ManualClock::new(T0);
        let a = anchor_at(&c, T0);
        c.advance(5_000);
        c.set_wall(T0 + 86_400_000); // user moves the clock a day ahead
        let t = trusted_time(Some(&a), 0, &c, &c);
        assert!(t.anchored);
        assert_eq!(t.now_ms, T0 + 5_000);
        assert_eq!(t.proven_ms, T0 + 5_000);
        assert_eq!(t.wall_skew_ms, 86_400_000 - 5_000);
        assert!(t.wall_clock_manipulated(DEFAULT_SKEW_TOLERANCE_MS));
    }

    /// A foreign clock may answer anything: the ends of the i64 range are a manipulated
    /// clock, never a panic and never "no skew".
    #[test]
    fn a_wall_clock_at_the_ends_of_the_range_is_flagged() {
        for wall in [i64::MIN, i64::MIN + 1, i64::MAX] {
            let c = ManualClock::new(T0);
            let a = anchor_at(&c, T0);
            c.set_wall(wall);
            let t = trusted_time(Some(&a), 0, &c, &c);
            assert_eq!(t.now_ms, T0);
            assert!(
                t.wall_clock_manipulated(DEFAULT_SKEW_TOLERANCE_MS),
                "{wall}"
            );
        }
    }

    #[test]
    fn a_wall_clock_set_backward_is_flagged_too() {
        let c = ManualClock::new(T0);
        let a = anchor_at(&c, T0);
        c.set_wall(T0 - 3_600_000);
        let t = trusted_time(Some(&a), 0, &c, &c);
        assert_eq!(t.now_ms, T0);
        assert!(t.wall_clock_manipulated(DEFAULT_SKEW_TOLERANCE_MS));
        c.set_wall(T0 + 1_000);
        assert!(
            !trusted_time(Some(&a), 0, &c, &c).wall_clock_manipulated(DEFAULT_SKEW_TOLERANCE_MS)
        );
    }

    #[test]
    fn a_skew_of_exactly_the_tolerance_is_not_flagged() {
        let c = ManualClock::new(T0);
        let a = anchor_at(&c, T0);
        for (wall, flagged) in [
            (T0 + DEFAULT_SKEW_TOLERANCE_MS, false),
            (T0 - DEFAULT_SKEW_TOLERANCE_MS, false),
            (T0 + DEFAULT_SKEW_TOLERANCE_MS + 1, true),
            (T0 - DEFAULT_SKEW_TOLERANCE_MS - 1, true),
        ] {
            c.set_wall(wall);
            let t = trusted_time(Some(&a), 0, &c, &c);
            assert_eq!(
                t.wall_clock_manipulated(DEFAULT_SKEW_TOLERANCE_MS),
                flagged,
                "{}",
                wall - T0
            );
        }
        // Unanchored time has no skew to speak of, however far the wall clock is.
        c.reboot();
        c.set_wall(T0 + 86_400_000);
        assert!(!trusted_time(Some(&a), T0, &c, &c).wall_clock_manipulated(0));
    }

    #[test]
    fn after_a_reboot_only_the_high_water_mark_is_proven() {
        let c = ManualClock::new(T0);
        let a = anchor_at(&c, T0);
        c.advance(10_000);
        c.reboot();
        c.set_wall(T0 + 86_400_000);
        let t = trusted_time(Some(&a), T0 + 10_000, &c, &c);
        assert!(!t.anchored);
        assert_eq!(t.proven_ms, T0 + 10_000);
        assert_eq!(t.now_ms, T0 + 86_400_000);
    }

    #[test]
    fn a_wall_clock_behind_the_high_water_mark_never_draws_older_codes() {
        let c = ManualClock::new(T0 - 1_000_000);
        let t = trusted_time(None, T0, &c, &c);
        assert_eq!(t.now_ms, T0);
        assert_eq!(t.proven_ms, T0);
    }

    #[test]
    fn high_water_mark_floors_an_anchored_time() {
        let c = ManualClock::new(T0);
        let a = anchor_at(&c, T0 - 50_000); // server says earlier than something already proven
        assert_eq!(trusted_time(Some(&a), T0, &c, &c).proven_ms, T0);
    }

    #[test]
    fn an_anchor_taken_late_in_the_session_adds_only_the_time_since() {
        let c = ManualClock::new(T0);
        c.advance(10_000); // the monotonic clock reads 10 s when the anchor is taken
        let a = anchor_at(&c, T0 + 10_000);
        assert_eq!(a.mono_ms, 10_000);
        c.advance(5_000);
        let t = trusted_time(Some(&a), 0, &c, &c);
        assert_eq!(t.now_ms, T0 + 15_000);
        assert_eq!(t.proven_ms, T0 + 15_000);
        assert_eq!(t.wall_skew_ms, 0);
        // A monotonic reading below the anchor's (a clock that went back) proves nothing.
        let future = TimeAnchor {
            mono_ms: 60_000,
            ..a
        };
        let t = trusted_time(Some(&future), T0, &c, &c);
        assert!(!t.anchored);
        assert_eq!(t.proven_ms, T0);
    }

    #[test]
    fn the_process_clock_advances_with_real_time() {
        let c = ProcessMonotonicClock::new();
        let before = c.elapsed_ms();
        std::thread::sleep(std::time::Duration::from_millis(30));
        let after = c.elapsed_ms();
        assert!(after >= before + 25, "{before} -> {after}");
        assert!(after < before + 10_000);
    }

    #[test]
    fn process_clock_is_monotonic_and_sessions_differ() {
        let a = ProcessMonotonicClock::new();
        let b = ProcessMonotonicClock::new();
        assert_ne!(a.session(), b.session());
        let x = a.elapsed_ms();
        assert!(a.elapsed_ms() >= x);
        assert!(SystemWallClock.now_unix_ms() > 1_600_000_000_000);
    }
}
