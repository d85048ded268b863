package dev.tessera

import dev.tessera.core.*
import dev.tessera.gate.*
import java.nio.file.Path
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNotNull
import kotlin.test.assertTrue
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/** A [Logger] written in Kotlin that keeps every line. */
class RecordingLogger : Logger {
    val lines = LinkedBlockingQueue<String>()

    override fun log(level: LogLevel, message: String) {
        lines.add(message)
    }
}

/**
 * [Wallet.watchFlow], the watch as a Kotlin Flow: the state, the window opening and the
 * codes arrive in order, and cancelling the collector stops the watch in the library
 * (its "stopped" log line; no callback after).
 */
class WatchFlowTest : WithIssuer() {
    @Test
    fun `a collected flow gets the opening and the codes, and cancelling it stops the watch`(@TempDir dir: Path) {
        val opensAt = nowSecs() + 3
        val event = issuer.newEventId()
        issuer.createEvent(event, opensAt, periodSecs = 5)
        val email = "flow@example.com"
        val ticketId = issuer.order(event, email, listOf("F-1")).single()
        val logger = RecordingLogger()
        Wallet.open(dir.resolve("w.db").toString(), issuer.url, FakeKeyVault(), logger = logger).use { wallet ->
            assertEquals(1u, wallet.enrollVerifyAndSync(issuer, email))
            val updates = runBlocking {
                withTimeout(15_000) { wallet.watchFlow(ticketId).take(4).toList() }
            }
            assertEquals(TicketUpdate.State(RevealState.Locked(opensAt)), updates[0])
            assertIs<RevealState.Ready>(assertIs<TicketUpdate.State>(updates[1]).state)
            val first = assertIs<TicketUpdate.Code>(updates[2]).frame
            val second = assertIs<TicketUpdate.Code>(updates[3]).frame
            assertEquals(ticketId, first.ticketId)
            assertEquals(first.step + 1u, second.step, "one code per step, in order")

            // take(4) cancelled the collector: the library's watch ended with it.
            val stopped = generateSequence { logger.lines.poll(3, TimeUnit.SECONDS) }
                .firstOrNull { it.startsWith("watch ") && it.endsWith(": stopped") }
            assertNotNull(stopped, "the watch did not stop when the collector was cancelled")

            // Cold: a new collector starts a new watch (and gets the state at once).
            val again = runBlocking { withTimeout(5_000) { wallet.watchFlow(ticketId).first() } }
            assertIs<RevealState.Ready>(assertIs<TicketUpdate.State>(again).state)

            // A bad ticket id fails the flow with the library's error.
            assertFailsWith<WalletException> {
                runBlocking { wallet.watchFlow("not-a-ticket").first() }
            }
        }
        assertTrue(logger.lines.none { it.contains(email) }, "no personal data in log lines")
    }
}
