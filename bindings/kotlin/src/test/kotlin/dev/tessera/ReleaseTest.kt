package dev.tessera

import dev.tessera.core.*
import dev.tessera.gate.*
import java.nio.file.Path
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/**
 * Release objects from Kotlin against the real library and a real issuer (issue 14 item
 * 3): a strict just-in-time ticket synced before its window needs a sync once it opens;
 * the object the issuer publishes then (the text of the venue's QR code) unlocks it
 * through `applyRelease`, with no sync, and the gate admits the frame. An edited object
 * is refused and changes nothing; `fetchRelease` before the window is `NotFound`.
 */
class ReleaseTest : WithIssuer() {
    @Test
    fun `a release object unlocks a strict ticket without a sync and the gate admits`(@TempDir dir: Path) {
        val opensAt = nowSecs() + 3
        val event = issuer.newEventId()
        issuer.createEvent(event, opensAt, format = "S1", strictJit = true)
        val email = "release@example.com"
        val ticketId = issuer.order(event, email, listOf("K-3")).single()

        openWallet(dir, issuer).use { wallet ->
            assertEquals(1u, wallet.enrollVerifyAndSync(issuer, email))
            assertIs<RevealState.Locked>(wallet.revealState(ticketId))
            // Before the window nothing is published, and fetching says so.
            assertEquals(404, issuer.publicRelease(event).first)
            assertFailsWith<WalletException.NotFound> { runBlocking { wallet.fetchRelease(event.toULong()) } }
            val bundle = issuer.gateBundle(event)

            sleepUntil(opensAt * 1000 + 200)
            assertEquals(RevealState.NeedsSync, wallet.revealState(ticketId))
            val (status, text) = issuer.publicRelease(event)
            assertEquals(200, status)
            assertTrue(text.startsWith("R1:"))

            // An edited digit: refused, the ticket still waits.
            val i = text.length - 10
            val edited = text.substring(0, i) + (if (text[i] == '1') '2' else '1') + text.substring(i + 1)
            assertFailsWith<WalletException.BadSignature> { wallet.applyRelease(edited) }
            assertFailsWith<WalletException.Invalid> { wallet.applyRelease("hello") }
            assertEquals(RevealState.NeedsSync, wallet.revealState(ticketId))

            val applied = wallet.applyRelease(text)
            assertEquals(ReleaseApplied(event.toULong(), 1u, opensAt, true, 1u), applied)
            assertIs<RevealState.Ready>(wallet.revealState(ticketId))
            val frame = wallet.frame(ticketId)

            GateVerifier(bundle, "door-k", dir.resolve("door-k.db").toString()).use { gate ->
                val admit = assertIs<Verdict.Admit>(gate.verify(frame.payload, System.currentTimeMillis()).verdict)
                assertEquals(ticketId, admit.ticketId)
                assertEquals("K-3", admit.seat)
            }
            // The static URL serves the same object: held already.
            assertFalse(runBlocking { wallet.fetchRelease(event.toULong()) }.updated)
        }
    }
}
