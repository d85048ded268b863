package dev.tessera

import dev.tessera.core.*
import dev.tessera.gate.*
import java.nio.file.Path
import kotlinx.coroutines.runBlocking

/** Unix seconds now, on the system clock (the issuer's and the wallets' clock here). */
fun nowSecs(): Long = System.currentTimeMillis() / 1000

/** Sleeps until the system clock reaches [unixMs]. */
fun sleepUntil(unixMs: Long) {
    val wait = unixMs - System.currentTimeMillis()
    if (wait > 0) Thread.sleep(wait)
}

/** Opens a wallet on a SQLite file in [dir], with [vault], for [issuer]. */
fun openWallet(dir: Path, issuer: IssuerProcess, vault: KeyVault = FakeKeyVault(), name: String = "wallet"): Wallet =
    Wallet.open(dir.resolve("$name.db").toString(), issuer.url, vault)

/**
 * What a user does after buying: enroll the device, confirm the emailed link (read from
 * the issuer's dev outbox) and sync. Answers how many tickets the sync brought.
 */
fun Wallet.enrollVerifyAndSync(issuer: IssuerProcess, email: String): UInt = runBlocking {
    enroll("jvm")
    requestEmail(email)
    confirmEmail(issuer.emailToken(email))
    sync().tickets
}
