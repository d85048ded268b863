package dev.tessera.demo

import android.content.Intent
import android.os.Bundle
import androidx.activity.compose.BackHandler
import androidx.activity.compose.setContent
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.fragment.app.FragmentActivity
import dev.tessera.Wallet
import dev.tessera.demo.ui.TicketListScreen
import dev.tessera.demo.ui.TicketScreen
import dev.tessera.demo.ui.describe
import kotlinx.coroutines.flow.MutableStateFlow

/**
 * The only activity. A FragmentActivity (not a plain ComponentActivity) because
 * BiometricPrompt attaches a fragment to it.
 */
class MainActivity : FragmentActivity() {
    /** A tessera://verify-email link this activity was opened with, until the list handles it. */
    private val pendingLink = MutableStateFlow<String?>(null)

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val app = application as TesseraDemoApp
        app.presenceGate.attach(this)
        if (savedInstanceState == null) takeLink(intent)
        setContent {
            MaterialTheme {
                Surface(Modifier.fillMaxSize()) {
                    val link by pendingLink.collectAsState()
                    DemoApp(app, link, onLinkHandled = { pendingLink.value = null })
                }
            }
        }
    }

    override fun onNewIntent(intent: Intent) {
        super.onNewIntent(intent)
        takeLink(intent)
    }

    override fun onDestroy() {
        (application as TesseraDemoApp).presenceGate.detach(this)
        super.onDestroy()
    }

    private fun takeLink(intent: Intent?) {
        intent?.data?.let { pendingLink.value = it.toString() }
    }
}

/** Opens the wallet, then the list or one ticket (two screens: no navigation library). */
@Composable
private fun DemoApp(app: TesseraDemoApp, pendingLink: String?, onLinkHandled: () -> Unit) {
    var wallet by remember { mutableStateOf<Wallet?>(null) }
    var openError by remember { mutableStateOf<String?>(null) }
    LaunchedEffect(Unit) {
        try {
            wallet = app.wallet()
        } catch (e: Exception) {
            openError = describe(e)
        }
    }
    var openTicket by rememberSaveable { mutableStateOf<String?>(null) }
    // A verify-email link opened on the phone is handled by the list: go there.
    LaunchedEffect(pendingLink) { if (pendingLink != null) openTicket = null }

    val w = wallet
    val ticketId = openTicket
    when {
        openError != null -> Box(Modifier.fillMaxSize().padding(24.dp), contentAlignment = Alignment.Center) {
            Text("Cannot open the wallet: $openError")
        }
        w == null -> Box(Modifier.fillMaxSize(), contentAlignment = Alignment.Center) { CircularProgressIndicator() }
        ticketId == null -> TicketListScreen(w, pendingLink, onLinkHandled, onOpen = { openTicket = it })
        else -> {
            BackHandler { openTicket = null }
            TicketScreen(w, ticketId, onBack = { openTicket = null })
        }
    }
}
