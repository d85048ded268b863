package dev.tessera.demo

/** What a developer changes to point the demo elsewhere. */
object Constants {
    /**
     * The issuer. `http://127.0.0.1:8080` is this phone's loopback, forwarded to port 8080 of
     * the development machine by `adb reverse tcp:8080 tcp:8080` (README). It works the same
     * on the emulator and on a phone plugged in over USB.
     *
     * Not `http://10.0.2.2:8080` (the emulator's alias for the host): the wallet accepts
     * plain HTTP to loopback only and refuses that URL with `WalletException.InsecureUrl`.
     * Any HTTPS issuer URL works as is.
     */
    const val ISSUER_URL = "http://127.0.0.1:8080"

    /** The wallet's SQLite file, in `Context.noBackupFilesDir`. */
    const val WALLET_FILE = "tessera-wallet.sqlite"

    /** The platform label sent at enrollment. */
    const val PLATFORM = "android"

    /** Android Keystore alias prefix of the key that wraps each wallet's KEK. */
    const val KEY_ALIAS_PREFIX = "tessera-kek-"

    /** Logcat tag of the library's log lines. */
    const val LOG_TAG = "tessera"
}
