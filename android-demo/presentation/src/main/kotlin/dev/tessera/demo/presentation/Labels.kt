package dev.tessera.demo.presentation

import dev.tessera.core.RevealState
import dev.tessera.core.Verification

/** How a state chip is coloured; the app maps tones to theme colours. */
enum class Tone {
    /** The code can be shown. */
    READY,

    /** Nothing to do but wait (the window has not opened). */
    WAITING,

    /** The holder can fix it now (verify, sync). */
    ACTION,

    /** Over for this phone (expired, revoked, moved). */
    INACTIVE,
}

/** A ticket's state as a short chip in the ticket list. */
data class StateChip(val label: String, val tone: Tone)

/**
 * The chip for a [RevealState]. The `when` is exhaustive on purpose: a state added to the
 * library fails this build (here on the JVM, in CI) instead of showing nothing on a phone.
 */
fun stateChip(state: RevealState): StateChip = when (state) {
    is RevealState.Locked -> StateChip("Locked", Tone.WAITING)
    is RevealState.NeedsVerification -> StateChip("Verify", Tone.ACTION)
    RevealState.NeedsSync -> StateChip("Sync to unlock", Tone.ACTION)
    is RevealState.Ready -> StateChip("Ready", Tone.READY)
    RevealState.Expired -> StateChip("Expired", Tone.INACTIVE)
    RevealState.Revoked -> StateChip("Revoked", Tone.INACTIVE)
    RevealState.BoundElsewhere -> StateChip("On another phone", Tone.INACTIVE)
    RevealState.Tampered -> StateChip("Damaged: sync", Tone.ACTION)
}

/** One line under the title of the ticket screen when no code is shown. */
fun stateExplanation(state: RevealState): String = when (state) {
    is RevealState.Locked -> "The code appears when the doors open."
    is RevealState.NeedsVerification -> "Still needed: " + state.missing.joinToString(", ") { verificationLabel(it) } + "."
    RevealState.NeedsSync -> "The doors are open: sync once to unlock the code."
    is RevealState.Ready -> "Show this code at the gate."
    RevealState.Expired -> "This event is over."
    RevealState.Revoked -> "The issuer cancelled this ticket."
    RevealState.BoundElsewhere -> "This ticket now belongs to another phone."
    RevealState.Tampered -> "This ticket's data on the phone is damaged; a sync restores it."
}

/** What a missing verification is called on screen. */
fun verificationLabel(v: Verification): String = when (v) {
    Verification.EMAIL -> "email address"
    Verification.PHONE -> "phone number"
    Verification.PRESENCE -> "a check that it's you"
}

/** The seat line of a ticket; the library gives an empty seat for general admission. */
fun seatLabel(seat: String): String = seat.ifBlank { "General admission" }
