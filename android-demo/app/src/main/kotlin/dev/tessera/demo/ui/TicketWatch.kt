package dev.tessera.demo.ui

import dev.tessera.core.Frame
import dev.tessera.FrameListener
import dev.tessera.core.RevealState
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/**
 * A `Wallet.watch` listener that keeps the latest state and frame in StateFlows for Compose.
 *
 * The library calls it on one of its own threads, once per step at most. Setting a
 * StateFlow is thread-safe and returns at once, and Compose collects on the main thread,
 * which is exactly the "return quickly, hand over to the UI thread" API.md asks for.
 */
class TicketWatch : FrameListener {
    private val _state = MutableStateFlow<RevealState?>(null)
    private val _frame = MutableStateFlow<Frame?>(null)

    /** Null until the watch reports its first state. */
    val state: StateFlow<RevealState?> = _state.asStateFlow()

    /** The code to show now; null while the ticket is not ready. */
    val frame: StateFlow<Frame?> = _frame.asStateFlow()

    override fun onState(state: RevealState) {
        // A code must not outlive its state (window closed, revoked, moved to another phone).
        if (state !is RevealState.Ready) _frame.value = null
        _state.value = state
    }

    override fun onFrame(frame: Frame) {
        _frame.value = frame
    }
}
