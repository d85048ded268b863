package dev.tessera.demo

import android.app.Application
import dev.tessera.Wallet
import dev.tessera.demo.platform.BiometricPresenceGate
import dev.tessera.demo.platform.KeystoreKeyVault
import dev.tessera.demo.platform.LogcatLogger
import dev.tessera.demo.platform.SystemClockSource
import java.io.File
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import kotlinx.coroutines.withContext

/** Holds the app's one [Wallet] (it is thread-safe and meant to be shared). */
class TesseraDemoApp : Application() {
    /** Shared with MainActivity, which tells it which activity may show the prompt. */
    val presenceGate = BiometricPresenceGate()

    private val openLock = Mutex()

    @Volatile
    private var wallet: Wallet? = null

    /**
     * The wallet, opened on first use. `Wallet.open` blocks on SQLite and the Keystore, so it
     * runs on the IO dispatcher; the lock keeps two screens from opening the file twice.
     */
    suspend fun wallet(): Wallet = wallet ?: openLock.withLock {
        wallet ?: withContext(Dispatchers.IO) {
            Wallet.open(
                // noBackupFilesDir: the file is useless without this phone's Keystore key.
                dbPath = File(noBackupFilesDir, Constants.WALLET_FILE).path,
                issuerUrl = Constants.ISSUER_URL,
                vault = KeystoreKeyVault(),
                presence = presenceGate,
                clock = SystemClockSource(contentResolver),
                logger = LogcatLogger,
            )
        }.also { wallet = it }
    }
}
