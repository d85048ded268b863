package dev.tessera

import dev.tessera.core.*
import dev.tessera.gate.*
import java.util.UUID

/**
 * A [ClockSource] written in Kotlin over the JVM's clocks, as an Android app hands in
 * `System.currentTimeMillis()` and `SystemClock.elapsedRealtime()`. `System.nanoTime()`
 * has an arbitrary origin fixed for this JVM, so the boot id names this JVM.
 */
class JvmClockSource : ClockSource {
    private val jvm = "jvm-" + UUID.randomUUID()

    override fun wallClockMs(): Long = System.currentTimeMillis()

    override fun elapsedRealtimeMs(): Long = System.nanoTime() / 1_000_000

    override fun bootId(): String = jvm
}
