package dev.tessera.demo.presentation

import java.time.Instant
import java.time.ZoneId
import java.time.format.DateTimeFormatter
import java.util.Locale
import kotlin.math.ceil

/**
 * The wallet's time (`Wallet.timeStatus()`) read once, carried forward on a monotonic clock.
 *
 * Frames (`startsAtMs`/`endsAtMs`) and reveal windows are on the wallet's trusted time, not on
 * the phone's wall clock, which the user can set. Asking the library 60 times a second for the
 * time is wasteful, so the UI takes one reading per event and adds the monotonic time elapsed
 * since (Android: `SystemClock.elapsedRealtime()`, which is what the wallet's own clock runs on).
 */
data class TimeAnchor(
    /** `TimeStatus.nowMs` at the reading: what codes are drawn with. */
    val nowMs: Long,
    /** `TimeStatus.provenMs` at the reading: what reveal windows open on. */
    val provenMs: Long,
    /** The monotonic clock at the reading, ms. */
    val monotonicMs: Long,
) {
    /** Trusted "now" at monotonic time [monotonicNowMs]; for the step bar. */
    fun nowAt(monotonicNowMs: Long): Long = nowMs + (monotonicNowMs - monotonicMs)

    /** Proven time at [monotonicNowMs]; for the countdown to a window that opens on it. */
    fun provenAt(monotonicNowMs: Long): Long = provenMs + (monotonicNowMs - monotonicMs)
}

/**
 * A countdown for [remainingMs]: `0:42`, `12:05`, `3:04:05`, `2d 03:04:05`.
 *
 * Rounded **up** to the second, so it reads `0:01` until the moment the window opens and
 * `0:00` never shows while the ticket is still locked. Negative values read `0:00`.
 */
fun countdownText(remainingMs: Long): String {
    val secs = if (remainingMs <= 0) 0L else ceil(remainingMs / 1000.0).toLong()
    val d = secs / 86_400
    val h = secs % 86_400 / 3_600
    val m = secs % 3_600 / 60
    val s = secs % 60
    return when {
        d > 0 -> "%dd %02d:%02d:%02d".format(Locale.ROOT, d, h, m, s)
        h > 0 -> "%d:%02d:%02d".format(Locale.ROOT, h, m, s)
        else -> "%d:%02d".format(Locale.ROOT, m, s)
    }
}

/** Milliseconds until a window that opens at [opensAtSecs] (Unix seconds, as in `RevealState.Locked`). */
fun msUntilOpen(opensAtSecs: Long, provenNowMs: Long): Long = (opensAtSecs * 1000 - provenNowMs).coerceAtLeast(0)

/**
 * How much of the current step is left, from 1 (the frame just started) to 0 (the next
 * frame is due): the bar under the code that counts down to the next step.
 */
fun stepFractionLeft(startsAtMs: Long, endsAtMs: Long, nowMs: Long): Float {
    val length = endsAtMs - startsAtMs
    if (length <= 0) return 0f
    return ((endsAtMs - nowMs).toDouble() / length).coerceIn(0.0, 1.0).toFloat()
}

/** Whole seconds until the next step (rounded up, never negative), shown beside the bar. */
fun stepSecondsLeft(endsAtMs: Long, nowMs: Long): Long =
    if (endsAtMs <= nowMs) 0 else ceil((endsAtMs - nowMs) / 1000.0).toLong()

/** When a window opens, for the ticket list: `Sat 21 Nov, 18:30` in [zone]. */
fun opensAtText(opensAtSecs: Long, zone: ZoneId, locale: Locale = Locale.getDefault()): String =
    DateTimeFormatter.ofPattern("EEE d MMM, HH:mm", locale).format(Instant.ofEpochSecond(opensAtSecs).atZone(zone))

/** How long past its step a frame may stay on screen while the next one is late. */
const val STALE_FRAME_GRACE_MS = 2_000L

/**
 * Whether a frame is too old to show. The watch delivers the next frame at each step
 * boundary; if none came (the wallet was locked, the app was frozen), the old code would be
 * refused at the gate anyway, so the screen shows "waiting" rather than a dead code.
 */
fun frameIsStale(endsAtMs: Long, nowMs: Long): Boolean = nowMs > endsAtMs + STALE_FRAME_GRACE_MS
