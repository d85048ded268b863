package dev.tessera.demo.ui

import android.os.SystemClock
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.State
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.produceState
import androidx.compose.runtime.remember
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.runtime.withFrameMillis
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import dev.tessera.core.Frame
import dev.tessera.core.RevealState
import dev.tessera.core.TicketSummary
import dev.tessera.core.Verification
import dev.tessera.Wallet
import dev.tessera.core.WalletException
import dev.tessera.demo.presentation.TimeAnchor
import dev.tessera.demo.presentation.countdownText
import dev.tessera.demo.presentation.frameIsStale
import dev.tessera.demo.presentation.msUntilOpen
import dev.tessera.demo.presentation.opensAtText
import dev.tessera.demo.presentation.seatLabel
import dev.tessera.demo.presentation.stateExplanation
import dev.tessera.demo.presentation.stepFractionLeft
import dev.tessera.demo.presentation.stepSecondsLeft
import java.time.ZoneId
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.delay
import kotlinx.coroutines.withContext

/**
 * One ticket: the countdown while it is locked, the rotating code once it is ready, or
 * what the holder can do about it. Everything it shows comes from `Wallet.watch`.
 */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun TicketScreen(wallet: Wallet, ticketId: String, onBack: () -> Unit) {
    SecureWindow()

    var summary by remember(ticketId) { mutableStateOf<TicketSummary?>(null) }
    LaunchedEffect(wallet, ticketId) {
        summary = try {
            withContext(Dispatchers.IO) { wallet.ticket(ticketId) }
        } catch (e: WalletException) {
            null // the watch below reports what is wrong with the ticket
        }
    }

    // The watch runs while this screen is in the composition: it reports the state at once
    // and at every change, and a fresh frame at every step boundary.
    val watch = remember(ticketId) { TicketWatch() }
    var watchError by remember(ticketId) { mutableStateOf<String?>(null) }
    DisposableEffect(wallet, ticketId) {
        val handle = try {
            wallet.watch(ticketId, watch)
        } catch (e: WalletException) {
            watchError = describe(e)
            null
        }
        onDispose {
            handle?.stop() // no callback starts after this returns
            handle?.close() // frees the native handle now rather than at garbage collection
        }
    }
    val state by watch.state.collectAsStateWithLifecycle()
    val frame by watch.frame.collectAsStateWithLifecycle()

    // Frames and windows are on the wallet's trusted time, not the phone's settable clock:
    // one reading per event, carried forward on elapsedRealtime (TimeAnchor).
    val anchor = remember(state, frame) {
        wallet.timeStatus().let { TimeAnchor(it.nowMs, it.provenMs, SystemClock.elapsedRealtime()) }
    }

    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text(summary?.event?.name ?: "Ticket") },
                navigationIcon = { TextButton(onClick = onBack) { Text("Back") } },
            )
        },
    ) { padding ->
        Column(
            Modifier.padding(padding).fillMaxSize().verticalScroll(rememberScrollState()).padding(24.dp),
            horizontalAlignment = Alignment.CenterHorizontally,
            verticalArrangement = Arrangement.spacedBy(16.dp),
        ) {
            summary?.let { t ->
                Text(seatLabel(t.seat), style = MaterialTheme.typography.titleMedium)
                t.holderName?.let { Text(it) }
            }
            val s = state
            when {
                watchError != null -> Text(watchError.orEmpty())
                s == null -> CircularProgressIndicator()
                s is RevealState.Ready -> ReadyCode(frame, anchor)
                s is RevealState.Locked -> LockedCountdown(s, anchor)
                else -> {
                    Text(stateExplanation(s), style = MaterialTheme.typography.bodyLarge)
                    Remedies(wallet, ticketId, s)
                }
            }
        }
    }
}

/** The rotating code and the bar counting down to the next one. */
@Composable
private fun ReadyCode(frame: Frame?, anchor: TimeAnchor) {
    val now by rememberFrameNow(anchor)
    if (frame == null || frameIsStale(frame.endsAtMs, now)) {
        CircularProgressIndicator()
        Text("Waiting for the code…")
        return
    }
    QrCode(frame, Modifier.fillMaxWidth())
    LinearProgressIndicator(
        progress = { stepFractionLeft(frame.startsAtMs, frame.endsAtMs, now) },
        modifier = Modifier.fillMaxWidth(),
    )
    Text("New code in ${stepSecondsLeft(frame.endsAtMs, now)} s", style = MaterialTheme.typography.bodyMedium)
}

/** Until the window opens. When it does the watch reports Ready and the code replaces this. */
@Composable
private fun LockedCountdown(state: RevealState.Locked, anchor: TimeAnchor) {
    val proven by rememberProvenNow(anchor)
    Text("Opens in", style = MaterialTheme.typography.titleMedium)
    Text(countdownText(msUntilOpen(state.opensAt, proven)), style = MaterialTheme.typography.displayMedium)
    Text(opensAtText(state.opensAt, ZoneId.systemDefault()))
    Text(stateExplanation(state), style = MaterialTheme.typography.bodyMedium)
}

/** What the holder can do about a state: confirm presence or phone, sync. */
@Composable
private fun Remedies(wallet: Wallet, ticketId: String, state: RevealState) {
    val actions = rememberActionRunner()
    when (state) {
        is RevealState.NeedsVerification -> {
            if (Verification.PRESENCE in state.missing) {
                Button(
                    enabled = !actions.busy,
                    // Off the main thread: the library blocks this call until the prompt is answered.
                    onClick = { actions.launch { withContext(Dispatchers.IO) { wallet.confirmPresence(ticketId) }; null } },
                ) { Text("Confirm it's you") }
            }
            if (Verification.PHONE in state.missing) PhoneVerification(wallet, actions)
        }
        RevealState.NeedsSync, RevealState.Tampered ->
            Button(enabled = !actions.busy, onClick = { actions.launch { wallet.sync(); null } }) { Text("Sync now") }
        else -> Unit
    }
    if (actions.busy) CircularProgressIndicator()
    actions.message?.let { Text(it, color = MaterialTheme.colorScheme.error) }
}

/** The SMS code, for events that require a verified phone. The watch wakes when it counts. */
@Composable
private fun PhoneVerification(wallet: Wallet, actions: ActionRunner) {
    var phone by rememberSaveable { mutableStateOf("") }
    var code by rememberSaveable { mutableStateOf("") }
    OutlinedTextField(
        phone, { phone = it },
        label = { Text("Phone of the order (+33…)") },
        singleLine = true,
        keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Phone),
    )
    Button(enabled = !actions.busy && phone.isNotBlank(), onClick = {
        actions.launch { wallet.requestPhone(phone.trim()); "Code sent by SMS." }
    }) { Text("Send code") }
    OutlinedTextField(
        code, { code = it },
        label = { Text("6-digit code") },
        singleLine = true,
        keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.NumberPassword),
    )
    Button(enabled = !actions.busy && code.length == 6, onClick = {
        actions.launch { wallet.confirmPhone(code); null }
    }) { Text("Confirm code") }
}

/** Trusted "now", every display frame: the step bar moves smoothly, and stops when not drawn. */
@Composable
private fun rememberFrameNow(anchor: TimeAnchor): State<Long> =
    produceState(anchor.nowAt(SystemClock.elapsedRealtime()), anchor) {
        while (true) withFrameMillis { value = anchor.nowAt(SystemClock.elapsedRealtime()) }
    }

/** Proven time four times a second: enough for a countdown in whole seconds. */
@Composable
private fun rememberProvenNow(anchor: TimeAnchor): State<Long> =
    produceState(anchor.provenAt(SystemClock.elapsedRealtime()), anchor) {
        while (true) {
            value = anchor.provenAt(SystemClock.elapsedRealtime())
            delay(250)
        }
    }
