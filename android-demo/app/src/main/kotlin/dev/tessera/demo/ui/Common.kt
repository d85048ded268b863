package dev.tessera.demo.ui

import android.app.Activity
import android.content.Context
import android.content.ContextWrapper
import android.view.WindowManager
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.platform.LocalContext
import dev.tessera.core.WalletException
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.launch

/** The text to show for a failure: the library's own readable message where there is one. */
fun describe(e: Throwable): String = when (e) {
    is WalletException -> e.toString()
    else -> e.message ?: e.javaClass.simpleName
}

/**
 * Runs one user action at a time (a button press) and keeps what the screen shows about
 * it: busy while it runs, then its success text or its error.
 */
class ActionRunner(private val scope: CoroutineScope) {
    var busy by mutableStateOf(false)
        private set
    var message by mutableStateOf<String?>(null)

    /** Runs [block]; the text it returns (if any) is shown when it succeeds. */
    fun launch(block: suspend () -> String?) {
        if (busy) return
        busy = true
        message = null
        scope.launch {
            try {
                message = block()
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                message = describe(e)
            } finally {
                busy = false
            }
        }
    }
}

@Composable
fun rememberActionRunner(): ActionRunner {
    val scope = rememberCoroutineScope()
    return remember(scope) { ActionRunner(scope) }
}

/**
 * While the calling screen is shown: FLAG_SECURE (no screenshots, no screen recording, a
 * blank thumbnail in Recents), the screen kept on and at full brightness for the gate's
 * scanner. All of it is undone when the screen leaves.
 */
@Composable
fun SecureWindow() {
    val activity = LocalContext.current.findActivity() ?: return
    DisposableEffect(activity) {
        val window = activity.window
        val brightnessBefore = window.attributes.screenBrightness
        window.addFlags(WindowManager.LayoutParams.FLAG_SECURE or WindowManager.LayoutParams.FLAG_KEEP_SCREEN_ON)
        window.attributes = window.attributes.apply { screenBrightness = 1f }
        onDispose {
            window.clearFlags(WindowManager.LayoutParams.FLAG_SECURE or WindowManager.LayoutParams.FLAG_KEEP_SCREEN_ON)
            window.attributes = window.attributes.apply { screenBrightness = brightnessBefore }
        }
    }
}

private tailrec fun Context.findActivity(): Activity? = when (this) {
    is Activity -> this
    is ContextWrapper -> baseContext.findActivity()
    else -> null
}
