package dev.tessera.demo.platform

import android.os.Build
import android.os.Looper
import androidx.biometric.BiometricManager
import androidx.biometric.BiometricManager.Authenticators.BIOMETRIC_STRONG
import androidx.biometric.BiometricManager.Authenticators.BIOMETRIC_WEAK
import androidx.biometric.BiometricManager.Authenticators.DEVICE_CREDENTIAL
import androidx.biometric.BiometricPrompt
import androidx.core.content.ContextCompat
import androidx.fragment.app.FragmentActivity
import dev.tessera.PresenceGate
import java.lang.ref.WeakReference
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean

/**
 * "Is the ticket holder here?" through BiometricPrompt: a strong biometric or the device
 * PIN/pattern/password.
 *
 * The library's `PresenceGate.confirm` is **synchronous**: it is called on the thread that
 * called `Wallet.confirmPresence` and must return the answer (API.md). BiometricPrompt is
 * asynchronous and lives on the main thread. So `confirm` posts the prompt to the main
 * thread and blocks its own thread on a latch until a callback answers. The app therefore
 * calls `confirmPresence` on `Dispatchers.IO` (TicketScreen); called on the main thread,
 * this would wait for a prompt the blocked main thread can never show, so it refuses.
 */
class BiometricPresenceGate : PresenceGate {
    @Volatile
    private var host: WeakReference<FragmentActivity>? = null

    /** The activity that shows prompts; MainActivity attaches itself in onCreate. */
    fun attach(activity: FragmentActivity) {
        host = WeakReference(activity)
    }

    fun detach(activity: FragmentActivity) {
        if (host?.get() === activity) host = null
    }

    override fun confirm(reason: String): Boolean {
        check(Looper.myLooper() != Looper.getMainLooper()) {
            "PresenceGate.confirm blocks until the user answers: call Wallet.confirmPresence off the main thread"
        }
        val activity = host?.get() ?: return false
        val answered = CountDownLatch(1)
        val passed = AtomicBoolean(false)
        val main = ContextCompat.getMainExecutor(activity)
        main.execute {
            val allowed = allowedAuthenticators()
            if (activity.isFinishing || activity.isDestroyed ||
                BiometricManager.from(activity).canAuthenticate(allowed) != BiometricManager.BIOMETRIC_SUCCESS
            ) {
                // No screen to ask on, or no biometric and no screen lock set up: not confirmed.
                answered.countDown()
                return@execute
            }
            val callback = object : BiometricPrompt.AuthenticationCallback() {
                override fun onAuthenticationSucceeded(result: BiometricPrompt.AuthenticationResult) {
                    passed.set(true)
                    answered.countDown()
                }

                // Cancelled, locked out, activity gone...: not confirmed.
                override fun onAuthenticationError(errorCode: Int, errString: CharSequence) {
                    answered.countDown()
                }
                // onAuthenticationFailed (a finger not recognised) is not an answer: the
                // prompt stays up for another try.
            }
            // Built here, on the main thread, as BiometricPrompt requires.
            BiometricPrompt(activity, main, callback).authenticate(
                BiometricPrompt.PromptInfo.Builder()
                    .setTitle("Confirm it's you")
                    .setSubtitle(reason) // from the library, e.g. "Show your ticket for <event>"
                    .setAllowedAuthenticators(allowed)
                    .build(),
            )
        }
        // Bounded, so a prompt that never answers cannot hold a library thread forever.
        return answered.await(PROMPT_TIMEOUT_MINUTES, TimeUnit.MINUTES) && passed.get()
    }

    /**
     * Biometric or screen lock. androidx.biometric cannot combine BIOMETRIC_STRONG with
     * DEVICE_CREDENTIAL on Android 9 and 10 (API 28-29), so those take BIOMETRIC_WEAK.
     */
    private fun allowedAuthenticators(): Int =
        if (Build.VERSION.SDK_INT in Build.VERSION_CODES.P..Build.VERSION_CODES.Q) {
            BIOMETRIC_WEAK or DEVICE_CREDENTIAL
        } else {
            BIOMETRIC_STRONG or DEVICE_CREDENTIAL
        }

    private companion object {
        const val PROMPT_TIMEOUT_MINUTES = 2L
    }
}
