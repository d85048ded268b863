import Darwin
import Foundation
import Tessera

/// The clocks the wallet opens reveal windows on: the issuer's time at the last sync plus
/// the time elapsed since, on a clock the user cannot set, valid while `bootId` is the same.
///
/// Elapsed time: `clock_gettime_nsec_np(CLOCK_MONOTONIC_RAW)`, which starts at boot and
/// **keeps counting while the phone sleeps** (Android's `elapsedRealtime()`). Not
/// `ProcessInfo.systemUptime` nor `mach_absolute_time()` (`CLOCK_UPTIME_RAW`): those stop
/// while the device sleeps, which an idle iPhone does most of the time, so trusted time
/// would fall behind by every minute of sleep and the doors would open late on screen.
///
/// Session: `kern.bootsessionuuid`, a UUID the kernel draws at each boot. Not
/// `kern.boottime` alone: XNU moves the recorded boot time whenever the wall clock is set
/// (network time, the user), and a session id that changes without a reboot throws the
/// time anchor away until the next sync. `kern.boottime` (seconds) is only the fallback.
final class SystemClockSource: ClockSource {
    private let session: String? = SystemClockSource.bootSession()

    /// Milliseconds since boot, sleep included; the views carry the wallet's time forward on it.
    static func monotonicMs() -> Int64 {
        Int64(clock_gettime_nsec_np(CLOCK_MONOTONIC_RAW) / 1_000_000)
    }

    func wallClockMs() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }

    func elapsedRealtimeMs() -> Int64 {
        Self.monotonicMs()
    }

    func bootId() throws -> String {
        // A throw makes the library use a per-process session: a window may then open
        // late (after a sync), never early.
        guard let session else { throw ClockUnavailable() }
        return session
    }

    private static func bootSession() -> String? {
        var size = 0
        if sysctlbyname("kern.bootsessionuuid", nil, &size, nil, 0) == 0, size > 1 {
            var buffer = [CChar](repeating: 0, count: size)
            if sysctlbyname("kern.bootsessionuuid", &buffer, &size, nil, 0) == 0 {
                return "ios-boot-" + String(cString: buffer)
            }
        }
        var boottime = timeval()
        var length = MemoryLayout<timeval>.size
        var mib: [Int32] = [CTL_KERN, KERN_BOOTTIME]
        if sysctl(&mib, 2, &boottime, &length, nil, 0) == 0, boottime.tv_sec > 0 {
            return "ios-boottime-\(boottime.tv_sec)"
        }
        return nil
    }
}

private struct ClockUnavailable: Error {}
