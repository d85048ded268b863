package dev.tessera

import dev.tessera.core.*
import dev.tessera.gate.*
import java.nio.file.Path
import org.json.JSONObject
import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/** Failures reach Kotlin as typed exceptions carrying their fields and a readable message. */
class ErrorsTest : WithIssuer() {
    @Test
    fun `plain HTTP to another host is refused`(@TempDir dir: Path) {
        val e = assertFailsWith<WalletException.InsecureUrl> {
            Wallet.open(dir.resolve("w.db").toString(), "http://tickets.example.com", FakeKeyVault())
        }
        assertContains(e.url, "tickets.example.com")
        // toString() is the library's readable message.
        assertContains(e.toString(), "HTTPS required")
    }

    @Test
    fun `an issuer nobody answers for is a network error, and local calls still work`(@TempDir dir: Path) {
        Wallet.open(dir.resolve("w.db").toString(), "http://127.0.0.1:9", FakeKeyVault()).use { wallet ->
            assertFailsWith<WalletException.Network> { runBlocking { wallet.enroll("jvm") } }
            assertTrue(wallet.tickets().isEmpty())
        }
    }

    @Test
    fun `bad and unknown ticket ids`(@TempDir dir: Path) {
        openWallet(dir, issuer).use { wallet ->
            val bad = assertFailsWith<WalletException.Invalid> { wallet.frame("not-a-ticket") }
            assertContains(bad.reason, "32 hex")
            val unknown = "00".repeat(16)
            val missing = assertFailsWith<WalletException.NotFound> { wallet.revealState(unknown) }
            assertContains(missing.what, unknown)
        }
    }

    @Test
    fun `issuer refusals arrive typed from suspend functions`(@TempDir dir: Path) {
        openWallet(dir, issuer).use { wallet ->
            // Any issuer call before enrolling: the device is unknown.
            val e = assertFailsWith<WalletException.Unauthorized> { runBlocking { wallet.sync() } }
            assertEquals("unauthorized", e.code)
            runBlocking { wallet.enroll("jvm") }
            // A phone request before the email is confirmed.
            assertFailsWith<WalletException.NeedsVerification> {
                runBlocking { wallet.requestPhone("+33600000000") }
            }
        }
    }

    @Test
    fun `a vault that throws makes the wallet report the vault as unavailable`(@TempDir dir: Path) {
        val broken = object : KeyVault {
            override fun wrap(walletId: String, kek: ByteArray): ByteArray = throw IllegalStateException("keystore busy")
            override fun unwrap(walletId: String, wrapped: ByteArray): ByteArray = throw VaultException.KeyNotFound()
            override fun delete(walletId: String) = Unit
        }
        val e = assertFailsWith<WalletException.VaultUnavailable> { openWallet(dir, issuer, broken) }
        assertContains(e.reason, "keystore busy")
    }

    @Test
    fun `the gate refuses a bundle that is not one`(@TempDir dir: Path) {
        val e = assertFailsWith<GateException.UntrustedBundle> {
            GateVerifier("{\"not\":\"a bundle\"}", "gate-x", dir.resolve("g.db").toString())
        }
        assertIs<BundleDistrust.Unsigned>(e.why)
        assertContains(e.toString(), "not signed")
    }

    @Test
    fun `the gate refuses a bundle altered after the issuer signed it`(@TempDir dir: Path) {
        val event = issuer.newEventId()
        issuer.createEvent(event, nowSecs() - 10)
        val served = JSONObject(issuer.gateBundle(event))
        val payload = served.getString("payload")
        // The admission window stretched by hand: the signature no longer matches.
        val altered = served.put("payload", payload.replace("\"valid_until\":", "\"valid_until\":9"))
        val e = assertFailsWith<GateException.UntrustedBundle> {
            GateVerifier(altered.toString(), "gate-x", dir.resolve("g.db").toString())
        }
        assertIs<BundleDistrust.BadSignature>(e.why)
        assertContains(e.toString(), "signature")
        // Pinned to another key, the genuine bundle is refused too.
        val other = "11".repeat(32)
        val pinned = assertFailsWith<GateException.UntrustedBundle> {
            GateVerifier.withIssuerKey(served.put("payload", payload).toString(), other, "gate-x", dir.resolve("h.db").toString())
        }
        assertEquals(1u, assertIs<BundleDistrust.KeyNotPinned>(pinned.why).keyId)
    }

    @Test
    fun `the gate rejects a payload that is not a code`(@TempDir dir: Path) {
        val event = issuer.newEventId()
        issuer.createEvent(event, nowSecs() - 10)
        GateVerifier(issuer.gateBundle(event), "gate-x", dir.resolve("g.db").toString()).use { gate ->
            val verdict = gate.verify("hello", System.currentTimeMillis()).verdict
            assertEquals(RejectReason.MALFORMED, assertIs<Verdict.Reject>(verdict).reason)
        }
    }
}
