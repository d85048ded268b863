package dev.tessera

import dev.tessera.core.Frame
import dev.tessera.core.RevealState
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow

/** What [Wallet.watchFlow] emits: the ticket's state changed, or the code to show now. */
sealed interface TicketUpdate {
    /** The ticket's state, when the watch starts and at every change. */
    data class State(val state: RevealState) : TicketUpdate

    /** The frame to show, at every step boundary while the ticket is [RevealState.Ready]. */
    data class Code(val frame: Frame) : TicketUpdate
}

/**
 * [Wallet.watch] as a cold [Flow]: each collector starts its own watch, and cancelling the
 * collector (leaving `collect`, `take`, `first`, the scope's end) stops it and releases the
 * listener. Emits the state first, then the changes and, while ready, a [TicketUpdate.Code]
 * per step. A bad ticket id fails the flow with [WalletException].
 *
 * The library calls back on its own thread and must not be blocked, so updates are
 * buffered without limit (at most a couple per step) and never dropped: a collector that
 * only wants the latest code can add `conflate()`.
 */
fun Wallet.watchFlow(ticketId: String): Flow<TicketUpdate> = callbackFlow {
    val listener = object : FrameListener {
        override fun onState(state: RevealState) {
            trySend(TicketUpdate.State(state))
        }

        override fun onFrame(frame: Frame) {
            trySend(TicketUpdate.Code(frame))
        }
    }
    val handle = watch(ticketId, listener)
    awaitClose {
        // stop() ends the watch at once; close() frees the handle.
        handle.stop()
        handle.close()
    }
}.buffer(Channel.UNLIMITED)
