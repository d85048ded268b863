package dev.tessera

import dev.tessera.core.*
import dev.tessera.gate.*
import java.nio.file.Path
import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/**
 * The attendee journey from Kotlin against the real library and a real issuer: enroll
 * and sync, locked before the window, frames after, the gate verifier admits the frame
 * and rejects its replay; the wallet's key lives in a vault written in Kotlin.
 */
class JourneyTest : WithIssuer() {
    @Test
    fun `enroll and sync, locked before the window, frames after, the gate admits once`(@TempDir dir: Path) {
        val period = 5
        val opensAt = nowSecs() + 5
        val event = issuer.newEventId()
        issuer.createEvent(event, opensAt, periodSecs = period, requires = listOf("Email"))
        val email = "journey@example.com"
        val ticketId = issuer.order(event, email, listOf("A-1")).single()
        val vault = FakeKeyVault()

        openWallet(dir, issuer, vault).use { wallet ->
            // A new wallet makes its key and has the Kotlin vault wrap it.
            assertEquals(1, vault.wraps.get())

            runBlocking {
                val enrollment = wallet.enroll("jvm")
                assertEquals(wallet.devicePublicKeyHex(), enrollment.deviceId)
                // Until the emailed link is confirmed from this device, a sync brings nothing.
                assertEquals(0u, wallet.sync().tickets)
                assertTrue(wallet.tickets().isEmpty())
                wallet.requestEmail(email)
                val status = wallet.confirmEmail(issuer.emailToken(email))
                assertContains(status.verified, Verification.EMAIL)
                assertEquals(1u, wallet.sync().tickets)
            }

            val summary = wallet.tickets().single()
            assertEquals(ticketId, summary.ticketId)
            assertEquals("A-1", summary.seat)
            assertEquals(event.toULong(), summary.event.eventId)

            // Before the window: locked, with the opening time, and no barcode.
            assertEquals(RevealState.Locked(opensAt), summary.state)
            val locked = assertFailsWith<WalletException.Locked> { wallet.frame(ticketId) }
            assertEquals(opensAt, locked.opensAt)
            assertContains(locked.toString(), "locked until $opensAt")

            // Inside the window: a frame for the current step.
            sleepUntil(opensAt * 1000 + 200)
            assertIs<RevealState.Ready>(wallet.revealState(ticketId))
            val frame = wallet.frame(ticketId)
            val now = System.currentTimeMillis()
            assertEquals(ticketId, frame.ticketId)
            assertEquals(CodeFormat.T1, frame.format)
            assertEquals(period * 1000L, frame.endsAtMs - frame.startsAtMs)
            assertEquals(frame.startsAtMs / (period * 1000L), frame.step.toLong())
            assertTrue(now in frame.startsAtMs - 1000 until frame.endsAtMs + 1000, "frame is for now")
            assertEquals(frame.qrSize.toInt() * frame.qrSize.toInt(), frame.qrModules.size)
            assertTrue(frame.qrModules.all { it == 0.toByte() || it == 1.toByte() })
            assertContains(frame.qrSvg(4u), "<svg")

            // The door: admitted once, the same code again is a replay.
            GateVerifier(issuer.gateBundle(event), "gate-a", dir.resolve("gate-a.db").toString()).use { gate ->
                assertEquals(event.toULong(), gate.eventId())
                val first = gate.verify(frame.payload, now)
                val admit = assertIs<Verdict.Admit>(first.verdict)
                assertEquals(ticketId, admit.ticketId)
                assertEquals("A-1", admit.seat)
                assertEquals(frame.step, first.step)

                val replay = assertIs<Verdict.Reject>(gate.verify(frame.payload, now).verdict)
                assertEquals(RejectReason.REPLAY, replay.reason)
                assertEquals("replay", replay.reason.code())
                assertTrue(replay.reason.doorText().isNotBlank())
            }
        }

        // Reopened from its file (an app restart): the Kotlin vault unwraps the key, and
        // once time is anchored again in this clock session the ticket shows.
        val unwrapsBefore = vault.unwraps.get()
        openWallet(dir, issuer, vault).use { again ->
            assertTrue(vault.unwraps.get() > unwrapsBefore)
            assertEquals(listOf(ticketId), again.tickets().map { it.ticketId })
            runBlocking { again.refreshTime() }
            assertEquals(ticketId, again.frame(ticketId).ticketId)
        }

        // A vault that lost the key (keystore reset) cannot open the wallet.
        assertFailsWith<WalletException.KeyMissing> { openWallet(dir, issuer, FakeKeyVault()) }
    }
}
