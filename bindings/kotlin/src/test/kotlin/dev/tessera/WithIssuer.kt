package dev.tessera

import dev.tessera.core.*
import dev.tessera.gate.*
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.TestInstance

/**
 * A test class whose tests share one real issuer process ([IssuerProcess]): started before
 * the first test, stopped after the last. Each test creates its own event
 * ([IssuerProcess.newEventId]), so tests do not see each other's data.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class WithIssuer {
    protected lateinit var issuer: IssuerProcess

    @BeforeAll
    fun startIssuer() {
        issuer = IssuerProcess.start()
    }

    @AfterAll
    fun stopIssuer() = issuer.close()
}
