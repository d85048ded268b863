package dev.tessera.consumer

import com.sun.jna.Platform
import dev.tessera.GateVerifier
import dev.tessera.Wallet
import dev.tessera.memoryKeyVault
import dev.tessera.tesseraVersion
import dev.tessera.gate.RejectReason
import dev.tessera.gate.Verdict
import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.time.Duration
import java.util.concurrent.TimeUnit
import kotlin.system.exitProcess
import kotlinx.coroutines.runBlocking

/**
 * An app's view of the Tessera jar: only the artifact on the classpath, the native
 * library loaded by JNA from inside it. Starts the real reference issuer (argument 1),
 * sells a ticket whose window is already open, and with a wallet on a FAKE in-memory key
 * vault (`memoryKeyVault()`) enrolls, confirms the email, syncs and draws a frame; a
 * gate verifier on the issuer's signed bundle admits the frame, then rejects its replay
 * and a malformed code. Prints one line per step; any failure ends with exit code 1.
 */
fun main(args: Array<String>) {
    val issuerBinary = File(args.getOrNull(0) ?: fail("usage: Main <tessera-issuer binary>"))
    check(issuerBinary.canExecute()) { "no issuer binary at $issuerBinary" }

    // 1. Where the library comes from: the jar, nothing else.
    check(System.getProperty("jna.library.path") == null) { "jna.library.path is set" }
    check(System.getenv("LD_LIBRARY_PATH").isNullOrEmpty()) { "LD_LIBRARY_PATH is set" }
    val resource = "${Platform.RESOURCE_PREFIX}/${System.mapLibraryName("tessera_ffi")}"
    val url = Thread.currentThread().contextClassLoader.getResource(resource)
        ?: fail("no $resource on the classpath: the jar does not carry the native library")
    check(url.protocol == "jar" && "/dev/tessera/tessera/" in url.path) {
        "$resource does not come from the installed dev.tessera:tessera jar: $url"
    }
    println("consumer: native library resource $url")
    println("consumer: tessera ${tesseraVersion()} loaded")
    if (Platform.isLinux()) {
        // JNA extracts the resource to a temporary file, loads it and deletes it: no
        // mapped file may be a libtessera_ffi of the workspace or of a system directory.
        val mapped = File("/proc/self/maps").readLines()
            .mapNotNull { line -> line.trim().split(Regex("\\s+"), limit = 6).getOrNull(5) }
            .filter { it.startsWith("/") }
            .toSet()
        val ours = mapped.filter { "tessera_ffi" in it }
        check(ours.isEmpty()) { "the library was loaded from a file of its own name, not from the jar: $ours" }
        // (JNA's own libjnidispatch is extracted the same way: two such files.)
        val extracted = mapped.filter { it.substringAfterLast('/').matches(Regex("jna\\d+\\.tmp.*")) }
        println("consumer: loaded from JNA's extracted copies $extracted")
    }

    // 2. A frame and gate verdicts, against a real issuer.
    val dir = Files.createTempDirectory("tessera-consumer-")
    val issuer = Issuer.start(issuerBinary, dir.resolve("issuer").toFile())
    try {
        val event = 1L
        val now = System.currentTimeMillis() / 1000
        issuer.post(
            "/v1/admin/events",
            """{"event_id":$event,"name":"Consumer test","reveal_opens_at":${now - 60},
               "valid_until":${now + 3600},"period_secs":5,"format":"T1","totp_algorithm":"Sha1",
               "totp_digits":8,"strict_jit":false,"requires":["Email"],"personalised":false,
               "change_block":false,"reentry":false,"transferable":false}""",
        )
        val email = "consumer@example.com"
        val order = issuer.post(
            "/v1/admin/orders",
            """{"event_id":$event,"email":"$email","phone":null,"holder_name":null,"seats":["C-1"]}""",
        )
        val ticketId = Regex("\"tickets\"\\s*:\\s*\\[\\s*\"([0-9a-f]+)\"").find(order)?.groupValues?.get(1)
            ?: fail("no ticket id in $order")

        Wallet.open(dir.resolve("wallet.db").toString(), issuer.url, memoryKeyVault()).use { wallet ->
            runBlocking {
                wallet.enroll("jvm-consumer")
                wallet.requestEmail(email)
                val token = Regex("token=([0-9a-f]{64})").find(issuer.get("/v1/dev/outbox"))?.groupValues?.get(1)
                    ?: fail("no verification link in the dev outbox")
                wallet.confirmEmail(token)
                check(wallet.sync().tickets == 1u) { "the sync brought no ticket" }
            }
            val frame = wallet.frame(ticketId)
            check(frame.ticketId == ticketId && frame.payload.isNotEmpty())
            println("consumer: frame step ${frame.step}, ${frame.qrSize}x${frame.qrSize} QR, payload ${frame.payload.length} chars")

            val gateToken = Regex("\"token\"\\s*:\\s*\"([^\"]+)\"").find(
                issuer.post("/v1/admin/tokens", """{"role":"gate","event_id":$event,"gate_id":"consumer-gate"}"""),
            )?.groupValues?.get(1) ?: fail("no gate token")
            val bundle = issuer.get("/v1/gate/events/$event/bundle", gateToken)
            GateVerifier(bundle, "consumer-gate", dir.resolve("gate.db").toString()).use { gate ->
                val nowMs = System.currentTimeMillis()
                val admit = gate.verify(frame.payload, nowMs).verdict
                check(admit is Verdict.Admit && admit.ticketId == ticketId) { "expected Admit, got $admit" }
                println("consumer: gate verdict Admit (ticket ${admit.ticketId}, seat ${admit.seat})")
                val replay = gate.verify(frame.payload, nowMs).verdict
                check(replay == Verdict.Reject(RejectReason.REPLAY)) { "expected Reject(REPLAY), got $replay" }
                val malformed = gate.verify("not a tessera code", nowMs).verdict
                check(malformed == Verdict.Reject(RejectReason.MALFORMED)) { "expected Reject(MALFORMED), got $malformed" }
                println("consumer: gate verdicts $replay (the same code again), $malformed")
            }
        }
    } catch (e: Throwable) {
        System.err.println("consumer: FAILED: $e")
        e.printStackTrace()
        issuer.close()
        dir.toFile().deleteRecursively()
        exitProcess(1)
    }
    issuer.close()
    dir.toFile().deleteRecursively()
    println("consumer: OK")
    exitProcess(0)
}

private fun fail(message: String): Nothing = throw IllegalStateException(message)

/** The reference issuer in a child process (`--dev`: admin token printed, dev outbox). */
private class Issuer(private val process: Process, val url: String, private val adminToken: String) {
    private val http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()

    companion object {
        fun start(binary: File, dataDir: File): Issuer {
            dataDir.mkdirs()
            val process = ProcessBuilder(binary.path, "--dev", "--data-dir", dataDir.resolve("data").path, "--port", "0")
                .redirectError(dataDir.resolve("stderr.log"))
                .start()
            // The issuer prints exactly these two lines at start-up (issuer/src/main.rs).
            val lines = process.inputStream.bufferedReader()
            val url = lines.readLine()?.substringAfter("listening on ", "")
            val token = lines.readLine()?.substringAfter("admin token: ", "")
            if (url.isNullOrEmpty() || token.isNullOrEmpty()) {
                process.destroyForcibly()
                fail("the issuer did not start: ${dataDir.resolve("stderr.log").readText()}")
            }
            return Issuer(process, url, token)
        }
    }

    fun post(path: String, json: String): String = send(
        HttpRequest.newBuilder(URI.create(url + path))
            .header("content-type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json)),
        adminToken,
    )

    fun get(path: String, token: String = adminToken): String =
        send(HttpRequest.newBuilder(URI.create(url + path)).GET(), token)

    private fun send(request: HttpRequest.Builder, token: String): String {
        val built = request.header("authorization", "Bearer $token").timeout(Duration.ofSeconds(10)).build()
        val response = http.send(built, HttpResponse.BodyHandlers.ofString())
        check(response.statusCode() in 200..299) { "${built.method()} ${built.uri().path}: ${response.statusCode()} ${response.body()}" }
        return response.body()
    }

    fun close() {
        process.destroy()
        if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly().waitFor()
    }
}
