package dev.tessera.demo.platform

import android.content.ContentResolver
import android.os.SystemClock
import android.provider.Settings
import dev.tessera.ClockSource

/**
 * The clocks the wallet opens reveal windows on. Trusted time is the issuer's time at the
 * last sync plus the time elapsed since on a clock the user cannot set:
 * `SystemClock.elapsedRealtime()` (counts deep sleep, restarts at boot). Its origin is
 * named by the boot count, so after a reboot the wallet knows the old anchor no longer
 * holds and waits for the next sync instead of opening a window early.
 */
class SystemClockSource(private val resolver: ContentResolver) : ClockSource {
    // Read once: it only changes across a reboot, which this process does not survive.
    // `lazy` retries if the read throws; a throw makes the library fall back to a
    // per-process session (a window may then open late, never early).
    private val bootCount: Int by lazy { Settings.Global.getInt(resolver, Settings.Global.BOOT_COUNT) }

    override fun wallClockMs(): Long = System.currentTimeMillis()

    override fun elapsedRealtimeMs(): Long = SystemClock.elapsedRealtime()

    override fun bootId(): String = "android-boot-$bootCount"
}
