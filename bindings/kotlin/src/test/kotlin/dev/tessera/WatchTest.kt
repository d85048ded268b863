package dev.tessera

import dev.tessera.core.*
import dev.tessera.gate.*
import java.nio.file.Path
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNotEquals
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/** A [FrameListener] written in Kotlin: records what it is told and when. */
class RecordingListener : FrameListener {
    /** Each frame with the system time (Unix ms) it arrived. */
    val frames = LinkedBlockingQueue<Pair<Long, Frame>>()
    val states = LinkedBlockingQueue<RevealState>()

    override fun onFrame(frame: Frame) {
        frames.add(System.currentTimeMillis() to frame)
    }

    override fun onState(state: RevealState) {
        states.add(state)
    }
}

/**
 * `Wallet.watch` from Kotlin: the state when the watch starts and when the window opens,
 * then one frame per step delivered at the step boundary, until the handle is stopped
 * (`stop()`, or `close()` / `use {}`).
 */
class WatchTest : WithIssuer() {
    @Test
    fun `a watch gets the window opening, then a frame at every step boundary, until stopped`(@TempDir dir: Path) {
        val period = 5
        val periodMs = period * 1000L
        val opensAt = nowSecs() + 5
        val event = issuer.newEventId()
        issuer.createEvent(event, opensAt, periodSecs = period)
        val email = "watch@example.com"
        val ticketId = issuer.order(event, email, listOf("B-7")).single()

        openWallet(dir, issuer).use { wallet ->
            assertEquals(1u, wallet.enrollVerifyAndSync(issuer, email))
            val listener = RecordingListener()
            val handle = wallet.watch(ticketId, listener)
            try {
                assertTrue(handle.isActive())
                // The state now, then the window opening on its own (no call from us).
                assertEquals(RevealState.Locked(opensAt), listener.states.poll(2, TimeUnit.SECONDS))
                assertIs<RevealState.Ready>(listener.states.poll(8, TimeUnit.SECONDS))

                // The first frame comes when the window opens, mid-step; the next ones at
                // the boundaries, each for the step after the one before.
                val frames = List(3) {
                    assertNotNull(listener.frames.poll(periodMs + 2000, TimeUnit.MILLISECONDS), "frame ${it + 1}")
                }
                val (openedAt, first) = frames[0]
                assertTrue(openedAt >= opensAt * 1000, "no frame before the window opens")
                for (i in 1 until frames.size) {
                    val (arrivedAt, frame) = frames[i]
                    assertEquals(frames[i - 1].second.step + 1u, frame.step, "consecutive steps")
                    assertEquals(ticketId, frame.ticketId)
                    assertNotEquals(frames[i - 1].second.payload, frame.payload, "the code rotates")
                    // Near the boundary: not before it, and well within the step.
                    val late = arrivedAt - frame.startsAtMs
                    assertTrue(late >= -50, "frame ${frame.step} arrived ${-late} ms early")
                    assertTrue(late < 1000, "frame ${frame.step} arrived $late ms late")
                    println("watch: frame for step ${frame.step} arrived ${late} ms after its boundary")
                }
                assertEquals(first.step + 2u, frames[2].second.step)
            } finally {
                handle.stop()
            }
            assertFalse(handle.isActive())

            // A second watch, ended the Kotlin way: AutoCloseable.close() (`use {}`)
            // releases the handle, which stops the watch too.
            val second = RecordingListener()
            wallet.watch(ticketId, second).use {
                assertIs<RevealState.Ready>(second.states.poll(2, TimeUnit.SECONDS))
                assertNotNull(second.frames.poll(2, TimeUnit.SECONDS), "a ready ticket's frame at once")
            }

            // Both stopped: the next boundary passes with no frame for either.
            listener.frames.clear()
            second.frames.clear()
            assertNull(listener.frames.poll(periodMs + 1000, TimeUnit.MILLISECONDS), "frame after stop()")
            assertNull(second.frames.poll(0, TimeUnit.MILLISECONDS), "frame after close()")
        }
    }
}
