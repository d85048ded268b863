package dev.tessera

import dev.tessera.core.*
import dev.tessera.gate.*
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import org.json.JSONObject

/** The harness itself: the real issuer starts, answers its admin API, and stops. */
class IssuerProcessTest {
    @Test
    fun startsServesAndStops() {
        val issuer = IssuerProcess.start()
        issuer.use {
            val opensAt = System.currentTimeMillis() / 1000 + 3
            val id = it.newEventId()
            assertEquals(opensAt, it.createEvent(id, opensAt).getLong("reveal_opens_at"))
            val tickets = it.order(id, "harness@example.com", listOf("A-1", "A-2"))
            assertEquals(2, tickets.size)
            assertTrue(tickets.all { t -> t.matches(Regex("[0-9a-f]{32}")) })
            // The issuer's signed document; the bundle is its payload.
            val signed = JSONObject(it.gateBundle(id))
            assertEquals(1, signed.getInt("tessera_bundle"))
            assertEquals(id, JSONObject(signed.getString("payload")).getLong("event"))
            // An address the outbox never wrote to is an error, not an empty body.
            assertFailsWith<IllegalStateException> { it.lastMessage("nobody@example.com") }
        }
        // Stopped: the port no longer answers.
        assertFailsWith<java.io.IOException> {
            java.net.URI.create(issuer.url + "/v1/time").toURL().openStream().use { s -> s.readAllBytes() }
        }
    }
}
