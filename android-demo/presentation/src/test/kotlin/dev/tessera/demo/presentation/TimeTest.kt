package dev.tessera.demo.presentation

import java.time.ZoneId
import java.util.Locale
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test

class TimeTest {
    @Test
    fun `countdown rounds up so the last second still reads 0 01`() {
        assertEquals("0:01", countdownText(1))
        assertEquals("0:01", countdownText(999))
        assertEquals("0:01", countdownText(1_000))
        assertEquals("0:02", countdownText(1_001))
        assertEquals("0:00", countdownText(0))
        assertEquals("0:00", countdownText(-5_000))
    }

    @Test
    fun `countdown switches format at the hour and the day`() {
        assertEquals("59:59", countdownText(3_599_000))
        assertEquals("1:00:00", countdownText(3_600_000))
        assertEquals("23:59:59", countdownText(86_399_000))
        assertEquals("1d 00:00:00", countdownText(86_400_000))
        assertEquals("2d 03:04:05", countdownText(((2 * 24 + 3) * 3600L + 4 * 60 + 5) * 1000))
    }

    @Test
    fun `time until a window opens is on proven time and never negative`() {
        val opensAt = 1_800_000_000L
        assertEquals(1_500, msUntilOpen(opensAt, opensAt * 1000 - 1_500))
        assertEquals(0, msUntilOpen(opensAt, opensAt * 1000))
        assertEquals(0, msUntilOpen(opensAt, opensAt * 1000 + 60_000))
    }

    @Test
    fun `the step bar goes from full to empty across the step`() {
        val start = 1_000_000L
        val end = start + 10_000
        assertEquals(1f, stepFractionLeft(start, end, start))
        assertEquals(0.75f, stepFractionLeft(start, end, start + 2_500))
        assertEquals(0f, stepFractionLeft(start, end, end))
        // Outside the step (a late callback, a clock re-anchored): clamped, never beyond the bar.
        assertEquals(1f, stepFractionLeft(start, end, start - 5_000))
        assertEquals(0f, stepFractionLeft(start, end, end + 5_000))
        // A degenerate step does not divide by zero.
        assertEquals(0f, stepFractionLeft(start, start, start))
    }

    @Test
    fun `seconds left in the step round up`() {
        assertEquals(10, stepSecondsLeft(10_000, 0))
        assertEquals(10, stepSecondsLeft(10_000, 1))
        assertEquals(1, stepSecondsLeft(10_000, 9_999))
        assertEquals(0, stepSecondsLeft(10_000, 10_000))
        assertEquals(0, stepSecondsLeft(10_000, 12_000))
    }

    @Test
    fun `a frame goes stale only after the grace period past its step`() {
        val end = 1_000_000L
        assertEquals(false, frameIsStale(end, end - 1))
        assertEquals(false, frameIsStale(end, end + STALE_FRAME_GRACE_MS))
        assertEquals(true, frameIsStale(end, end + STALE_FRAME_GRACE_MS + 1))
    }

    @Test
    fun `the anchor carries trusted and proven time forward on the monotonic clock`() {
        val anchor = TimeAnchor(nowMs = 1_700_000_000_000, provenMs = 1_699_999_999_800, monotonicMs = 50_000)
        assertEquals(1_700_000_000_000, anchor.nowAt(50_000))
        assertEquals(1_700_000_002_500, anchor.nowAt(52_500))
        assertEquals(1_700_000_002_300, anchor.provenAt(52_500))
    }

    @Test
    fun `opening time is shown in the given zone`() {
        // 2026-11-21T17:30:00Z
        val secs = 1_795_282_200L
        assertEquals("Sat 21 Nov, 17:30", opensAtText(secs, ZoneId.of("UTC"), Locale.ENGLISH))
        assertEquals("Sat 21 Nov, 18:30", opensAtText(secs, ZoneId.of("Europe/Paris"), Locale.ENGLISH))
    }
}
