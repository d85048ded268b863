package dev.tessera

import dev.tessera.core.*
import dev.tessera.gate.*
import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.nio.file.Path
import java.time.Duration
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicLong
import org.json.JSONArray
import org.json.JSONObject

/**
 * The real reference issuer (`target/<profile>/tessera-issuer`) in a child process on a
 * free loopback port with a temporary data dir, and a small client of its admin API
 * (docs/API.md). Runs on the system clock, like the wallets under test.
 *
 * The binary comes from the system property `tessera.issuer` (set by the pom).
 */
class IssuerProcess private constructor(
    private val process: Process,
    private val dataDir: Path,
    /** Base URL, e.g. `http://127.0.0.1:41234`. */
    val url: String,
    /** Bearer token of the admin role, printed by the issuer at start-up. */
    val adminToken: String,
) : AutoCloseable {
    private val http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()
    private val nextEventId = AtomicLong(1)

    companion object {
        /** Starts the issuer and waits (at most 20 s) for its URL and admin token. */
        fun start(): IssuerProcess {
            val binary = File(
                System.getProperty("tessera.issuer")
                    ?: error("system property tessera.issuer is not set (run the tests through Maven)")
            )
            check(binary.canExecute()) { "no issuer binary at $binary: run `cargo build -p tessera-issuer` first" }
            val dir = Files.createTempDirectory("tessera-issuer-")
            val process = ProcessBuilder(binary.path, "--dev", "--data-dir", dir.resolve("data").toString(), "--port", "0")
                .redirectError(dir.resolve("stderr.log").toFile())
                .start()
            // The issuer prints exactly these two lines (issuer/src/main.rs), then serves until killed.
            val startup = CompletableFuture.supplyAsync {
                val lines = process.inputStream.bufferedReader()
                val url = lines.readLine()?.substringAfter("listening on ", "")
                val token = lines.readLine()?.substringAfter("admin token: ", "")
                url to token
            }
            val (url, token) = try {
                startup.get(20, TimeUnit.SECONDS)
            } catch (e: Exception) {
                process.destroyForcibly()
                throw IllegalStateException("issuer did not start; see ${dir.resolve("stderr.log")}", e)
            }
            if (url.isNullOrEmpty() || token.isNullOrEmpty()) {
                process.destroyForcibly()
                error("unexpected issuer start-up output; see ${dir.resolve("stderr.log")}")
            }
            return IssuerProcess(process, dir, url, token)
        }
    }

    /** A fresh event id on this issuer. */
    fun newEventId(): Long = nextEventId.getAndIncrement()

    /**
     * Creates an event (an `EventPolicy`, core/src/policy.rs) whose reveal window opens at
     * [opensAt] (Unix seconds) and lasts six hours; answers the policy the issuer stored.
     */
    fun createEvent(
        id: Long,
        opensAt: Long,
        periodSecs: Int = 5,
        format: String = "T1",
        requires: List<String> = emptyList(),
        strictJit: Boolean = false,
    ): JSONObject {
        val policy = JSONObject()
            .put("event_id", id)
            .put("name", "Event $id")
            .put("reveal_opens_at", opensAt)
            .put("valid_until", opensAt + 6 * 3600)
            .put("period_secs", periodSecs)
            .put("format", format)
            .put("totp_algorithm", "Sha1")
            .put("totp_digits", 8)
            .put("strict_jit", strictJit)
            .put("requires", JSONArray(requires))
            .put("personalised", false)
            .put("change_block", false)
            .put("reentry", false)
            .put("transferable", false)
        return JSONObject(post("/v1/admin/events", policy))
    }

    /** Sells one ticket per seat of event [eventId] to [email]; answers the ticket ids (hex). */
    fun order(eventId: Long, email: String, seats: List<String>, phone: String? = null): List<String> {
        val body = JSONObject()
            .put("event_id", eventId)
            .put("email", email)
            .put("phone", phone ?: JSONObject.NULL)
            .put("holder_name", JSONObject.NULL)
            .put("seats", JSONArray(seats))
        val ids = JSONObject(post("/v1/admin/orders", body)).getJSONArray("tickets")
        return List(ids.length()) { ids.getString(it) }
    }

    /** A gate token for gate [gateId] at event [eventId] (a gate token reaches that event only; a gate id belongs to one event). */
    fun mintGateToken(eventId: Long, gateId: String = "kotlin-gate-$eventId"): String {
        val scope = JSONObject().put("role", "gate").put("event_id", eventId).put("gate_id", gateId)
        return JSONObject(post("/v1/admin/tokens", scope)).getString("token")
    }

    /** The gate bundle of an event, as the JSON text a gate downloads. */
    fun gateBundle(eventId: Long): String = get("/v1/gate/events/$eventId/bundle", mintGateToken(eventId))

    /** The body of the last message the dev outbox holds for [to] (an address or a number). */
    fun lastMessage(to: String): String {
        val all = JSONArray(get("/v1/dev/outbox"))
        return (all.length() - 1 downTo 0)
            .map { all.getJSONObject(it) }
            .firstOrNull { it.getString("to") == to }
            ?.getString("body")
            ?: error("no message to $to in the outbox")
    }

    /** The one-time token of the last verification link emailed to [email]. */
    fun emailToken(email: String): String =
        Regex("token=([0-9a-f]{64})").find(lastMessage(email))?.groupValues?.get(1)
            ?: error("no token in the last email to $email")

    /**
     * `GET /v1/events/{id}/release` with no token, as a CDN or the venue's screen would:
     * the status and the body (the release object's text from the window's opening on).
     */
    fun publicRelease(eventId: Long): Pair<Int, String> {
        val request = HttpRequest.newBuilder(URI.create("$url/v1/events/$eventId/release"))
            .timeout(Duration.ofSeconds(10))
            .GET()
            .build()
        val response = http.send(request, HttpResponse.BodyHandlers.ofString())
        return response.statusCode() to response.body()
    }

    private fun post(path: String, body: JSONObject): String = send(
        HttpRequest.newBuilder(URI.create(url + path))
            .header("content-type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body.toString())),
        adminToken,
    )

    private fun get(path: String, token: String = adminToken): String =
        send(HttpRequest.newBuilder(URI.create(url + path)).GET(), token)

    private fun send(request: HttpRequest.Builder, token: String): String {
        val built = request.header("authorization", "Bearer $token").timeout(Duration.ofSeconds(10)).build()
        val response = http.send(built, HttpResponse.BodyHandlers.ofString())
        check(response.statusCode() in 200..299) {
            "${built.method()} ${built.uri().path}: ${response.statusCode()} ${response.body()}"
        }
        return response.body()
    }

    /** Stops the issuer and deletes its data dir. */
    override fun close() {
        process.destroy()
        if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly().waitFor()
        dataDir.toFile().deleteRecursively()
    }
}
