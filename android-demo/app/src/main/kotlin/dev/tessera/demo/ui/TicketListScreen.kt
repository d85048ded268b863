package dev.tessera.demo.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.shape.RoundedCornerShape
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import dev.tessera.core.RevealState
import dev.tessera.core.TicketSummary
import dev.tessera.Wallet
import dev.tessera.demo.Constants
import dev.tessera.demo.presentation.StateChip
import dev.tessera.demo.presentation.Tone
import dev.tessera.demo.presentation.opensAtText
import dev.tessera.demo.presentation.seatLabel
import dev.tessera.demo.presentation.stateChip
import dev.tessera.demo.presentation.verifyEmailToken
import java.time.ZoneId
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.delay
import kotlinx.coroutines.withContext

/**
 * The wallet's tickets. With none yet, the setup: enroll this phone, get the email link,
 * confirm it, sync. [pendingLink] is a verify-email link opened on the phone (MainActivity).
 */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun TicketListScreen(
    wallet: Wallet,
    pendingLink: String?,
    onLinkHandled: () -> Unit,
    onOpen: (ticketId: String) -> Unit,
) {
    val actions = rememberActionRunner()
    var tickets by remember { mutableStateOf<List<TicketSummary>?>(null) }
    val reload: suspend () -> Unit = { tickets = withContext(Dispatchers.IO) { wallet.tickets() } }

    // tickets() is offline and cheap: re-read it now and then so the chips follow reveal
    // windows opening and closing while the list is on screen.
    LaunchedEffect(wallet) {
        while (true) {
            try {
                reload()
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                actions.message = describe(e)
            }
            delay(30_000)
        }
    }

    LaunchedEffect(pendingLink) {
        val link = pendingLink ?: return@LaunchedEffect
        onLinkHandled()
        actions.launch { confirmEmailAndSync(wallet, link, reload) }
    }

    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text("Tickets") },
                actions = {
                    TextButton(enabled = !actions.busy, onClick = {
                        actions.launch {
                            // Idempotent; also re-anchors trusted time (after a reboot, say).
                            wallet.enroll(Constants.PLATFORM)
                            val report = wallet.sync()
                            reload()
                            "Synced: ${report.tickets} ticket(s)."
                        }
                    }) { Text("Sync") }
                },
            )
        },
    ) { padding ->
        Column(
            Modifier.padding(padding).fillMaxSize().padding(16.dp),
            verticalArrangement = Arrangement.spacedBy(12.dp),
        ) {
            val list = tickets
            when {
                list == null -> CircularProgressIndicator()
                list.isEmpty() -> Setup(wallet, actions, reload)
                else -> LazyColumn(Modifier.weight(1f), verticalArrangement = Arrangement.spacedBy(8.dp)) {
                    items(list, key = { it.ticketId }) { TicketRow(it, onClick = { onOpen(it.ticketId) }) }
                }
            }
            if (actions.busy) CircularProgressIndicator()
            actions.message?.let { Text(it, style = MaterialTheme.typography.bodyMedium) }
        }
    }
}

@Composable
private fun TicketRow(ticket: TicketSummary, onClick: () -> Unit) {
    Card(Modifier.fillMaxWidth().clickable(onClick = onClick)) {
        Row(Modifier.padding(16.dp), verticalAlignment = Alignment.CenterVertically) {
            Column(Modifier.weight(1f)) {
                Text(ticket.event.name, style = MaterialTheme.typography.titleMedium)
                Text(seatLabel(ticket.seat), style = MaterialTheme.typography.bodyMedium)
                val state = ticket.state
                if (state is RevealState.Locked) {
                    Text("Opens " + opensAtText(state.opensAt, ZoneId.systemDefault()), style = MaterialTheme.typography.bodySmall)
                }
            }
            StateChipView(stateChip(ticket.state))
        }
    }
}

@Composable
private fun StateChipView(chip: StateChip) {
    val color = when (chip.tone) {
        Tone.READY -> Color(0xFFC8E6C9)
        Tone.WAITING -> Color(0xFFFFF3C4)
        Tone.ACTION -> Color(0xFFFFD7B5)
        Tone.INACTIVE -> MaterialTheme.colorScheme.surfaceVariant
    }
    Surface(color = color, shape = RoundedCornerShape(50)) {
        Text(chip.label, Modifier.padding(horizontal = 10.dp, vertical = 4.dp), style = MaterialTheme.typography.labelMedium)
    }
}

/** First run: the order's email address, the link the issuer emails, then a sync. */
@Composable
private fun Setup(wallet: Wallet, actions: ActionRunner, reload: suspend () -> Unit) {
    var email by rememberSaveable { mutableStateOf("") }
    var link by rememberSaveable { mutableStateOf("") }
    Text("No tickets yet", style = MaterialTheme.typography.titleLarge)
    Text("Enter the email address of your order. The issuer emails a link: open it on this phone, or paste it here.")
    OutlinedTextField(
        email, { email = it },
        label = { Text("Email") },
        singleLine = true,
        keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Email),
        modifier = Modifier.fillMaxWidth(),
    )
    Button(enabled = !actions.busy && email.isNotBlank(), onClick = {
        actions.launch {
            wallet.enroll(Constants.PLATFORM) // once per phone, before any other issuer call
            wallet.requestEmail(email.trim())
            "Link sent. Open it on this phone, or paste it below."
        }
    }) { Text("Send link") }
    OutlinedTextField(
        link, { link = it },
        label = { Text("Link or token") },
        singleLine = true,
        modifier = Modifier.fillMaxWidth(),
    )
    Button(enabled = !actions.busy && verifyEmailToken(link) != null, onClick = {
        actions.launch { confirmEmailAndSync(wallet, link, reload) }
    }) { Text("Confirm") }
}

/** Confirms a verify-email link from this phone, then syncs: the account's tickets bind here. */
private suspend fun confirmEmailAndSync(wallet: Wallet, link: String, reload: suspend () -> Unit): String {
    val token = verifyEmailToken(link) ?: return "Not a verification link: $link"
    wallet.confirmEmail(token)
    val report = wallet.sync()
    reload()
    return if (report.tickets == 0u) "Email confirmed, but no tickets for it yet." else "Email confirmed: ${report.tickets} ticket(s)."
}
