package dev.tessera

import dev.tessera.core.*
import dev.tessera.gate.*
import java.nio.file.Path
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/**
 * The cost of `Wallet.frame()` seen from Kotlin: the JNA call, the Rust work, and lifting
 * the Frame record (payload and QR modules) into Kotlin objects. Prints p50/p90/p99 of
 * 1,000 calls each timed alone; asserts only what the calls answered (budgets are
 * measured, not timed in tests). Same regimes as the Python figures in
 * docs/PERFORMANCE.md:
 * - cached: the same step again, the frame drawn by an earlier call (what the call at a
 *   step boundary costs, since a watch draws the next frame ahead);
 * - drawn: every call draws (unseal, code, QR matrix): the wallet is locked and
 *   unlocked, untimed, before each call;
 * - cached with a [JvmClockSource] written in Kotlin handed in as the wallet's clock (what an
 *   Android app does with `elapsedRealtime`): adds the clock callbacks into Kotlin.
 *
 * For the figure in docs/PERFORMANCE.md run it against the release build (README.md).
 */
class FrameCostTest : WithIssuer() {
    @Test
    fun `time 1,000 frame() calls`(@TempDir dir: Path) {
        // On the release build everything runs twice and the second round is printed:
        // the first one also pays for the JIT compiling JNA's and the bindings' paths.
        for (round in 1..ROUNDS) {
            val print = round == ROUNDS
            // The floor: a call that crosses the FFI and returns a short string.
            val floor = time { tesseraVersion().also { assertTrue(it.isNotEmpty()) } }
            if (print) report("FFI round trip, tesseraVersion()", floor)
            for (format in listOf("T1", "S1")) {
                readyWallet(dir, format, "$format-$round", clock = null).use { (wallet, ticketId) ->
                    val cached = time { wallet.frame(ticketId).also { assertEquals(ticketId, it.ticketId) } }
                    val drawn = time(before = { wallet.lock(); wallet.unlock() }) { wallet.frame(ticketId) }
                    if (print) report("$format cached", cached)
                    if (print) report("$format drawn", drawn)
                }
                readyWallet(dir, format, "$format-$round-clock", JvmClockSource()).use { (wallet, ticketId) ->
                    val cached = time { wallet.frame(ticketId) }
                    if (print) report("$format cached, clock from Kotlin", cached)
                }
            }
        }
    }

    /** A wallet on its own file with one synced, ready ticket of [format]. */
    private fun readyWallet(dir: Path, format: String, name: String, clock: ClockSource?): ReadyWallet {
        val event = issuer.newEventId()
        issuer.createEvent(event, nowSecs() - 10, periodSecs = 15, format = format)
        val email = "cost-${name.lowercase()}@example.com"
        val ticketId = issuer.order(event, email, listOf("C-1")).single()
        val wallet = Wallet.open(dir.resolve("cost-$name.db").toString(), issuer.url, FakeKeyVault(), clock = clock)
        assertEquals(1u, wallet.enrollVerifyAndSync(issuer, email))
        return ReadyWallet(wallet, ticketId)
    }

    private data class ReadyWallet(val wallet: Wallet, val ticketId: String) : AutoCloseable {
        override fun close() = wallet.close()
    }

    /** Times [CALLS] calls of [call], each after an untimed [before], after a warm-up; sorted ns. */
    private fun time(before: () -> Unit = {}, call: () -> Any): LongArray {
        repeat(WARM_UP) {
            before()
            call()
        }
        val nanos = LongArray(CALLS) {
            before()
            val start = System.nanoTime()
            call()
            System.nanoTime() - start
        }
        return nanos.apply { sort() }
    }

    private fun report(what: String, sorted: LongArray) {
        fun us(p: Int) = sorted[(sorted.size * p / 100).coerceAtMost(sorted.size - 1)] / 1000.0
        println(
            "frame() from Kotlin, %s (%s): p50 %.1f µs, p90 %.1f µs, p99 %.1f µs over %d calls".format(
                what, System.getProperty("jna.library.path"), us(50), us(90), us(99), sorted.size,
            )
        )
    }

    private companion object {
        /** Calls before timing: enough for the JIT on the release build; few on the slow debug build CI runs. */
        val RELEASE = System.getProperty("tessera.profile") == "release"
        val WARM_UP = if (RELEASE) 2000 else 100
        val ROUNDS = if (RELEASE) 2 else 1
        const val CALLS = 1000
    }
}
