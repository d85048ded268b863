package dev.tessera.demo.presentation

import dev.tessera.core.RevealState
import dev.tessera.core.Verification
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test

class LabelsTest {
    // Every variant of the generated RevealState (building them loads no native code).
    private val all = listOf(
        RevealState.Locked(1_800_000_000),
        RevealState.NeedsVerification(listOf(Verification.PHONE, Verification.PRESENCE)),
        RevealState.NeedsSync,
        RevealState.Ready(1_800_003_600),
        RevealState.Expired,
        RevealState.Revoked,
        RevealState.BoundElsewhere,
        RevealState.Tampered,
    )

    @Test
    fun `each state has its own chip with the right tone`() {
        val chips = all.map(::stateChip)
        assertEquals(all.size, chips.map { it.label }.toSet().size, "labels must differ: $chips")
        assertEquals(
            listOf(Tone.WAITING, Tone.ACTION, Tone.ACTION, Tone.READY, Tone.INACTIVE, Tone.INACTIVE, Tone.INACTIVE, Tone.ACTION),
            chips.map { it.tone },
        )
        assertEquals(StateChip("Ready", Tone.READY), stateChip(RevealState.Ready(0)))
    }

    @Test
    fun `the explanation lists what is missing, in the library's order`() {
        assertEquals(
            "Still needed: phone number, a check that it's you.",
            stateExplanation(RevealState.NeedsVerification(listOf(Verification.PHONE, Verification.PRESENCE))),
        )
        assertEquals(all.size, all.map(::stateExplanation).toSet().size)
    }

    @Test
    fun `general admission has no seat`() {
        assertEquals("General admission", seatLabel(""))
        assertEquals("General admission", seatLabel("  "))
        assertEquals("Row F, seat 12", seatLabel("Row F, seat 12"))
    }
}
