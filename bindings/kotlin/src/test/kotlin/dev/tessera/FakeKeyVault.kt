package dev.tessera

import dev.tessera.core.*
import dev.tessera.gate.*
import java.security.SecureRandom
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicInteger
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * FAKE key vault for tests, written in Kotlin: wraps the wallet's key-encryption key
 * with AES-256-GCM under a key that lives only in this object's memory (one per wallet
 * id). A real app uses the Android Keystore; losing this object is a keystore reset.
 *
 * Wrapped blob: 12-byte nonce ‖ ciphertext ‖ 16-byte tag, with the wallet id as
 * associated data so a blob cannot be replayed for another wallet.
 */
class FakeKeyVault : KeyVault {
    private val keys = ConcurrentHashMap<String, SecretKey>()
    private val random = SecureRandom()

    /** How many times the library asked to wrap / unwrap (to show the vault is really used). */
    val wraps = AtomicInteger()
    val unwraps = AtomicInteger()

    override fun wrap(walletId: String, kek: ByteArray): ByteArray {
        wraps.incrementAndGet()
        val key = keys.computeIfAbsent(walletId) {
            KeyGenerator.getInstance("AES").apply { init(256, random) }.generateKey()
        }
        val nonce = ByteArray(NONCE_BYTES).also(random::nextBytes)
        return nonce + cipher(Cipher.ENCRYPT_MODE, key, nonce, walletId).doFinal(kek)
    }

    override fun unwrap(walletId: String, wrapped: ByteArray): ByteArray {
        unwraps.incrementAndGet()
        val key = keys[walletId] ?: throw VaultException.KeyNotFound()
        if (wrapped.size <= NONCE_BYTES) throw VaultException.Unavailable("wrapped key too short")
        val nonce = wrapped.copyOfRange(0, NONCE_BYTES)
        return try {
            cipher(Cipher.DECRYPT_MODE, key, nonce, walletId).doFinal(wrapped, NONCE_BYTES, wrapped.size - NONCE_BYTES)
        } catch (e: AEADBadTagException) {
            throw VaultException.Unavailable("wrapped key does not open")
        }
    }

    override fun delete(walletId: String) {
        keys.remove(walletId)
    }

    private fun cipher(mode: Int, key: SecretKey, nonce: ByteArray, walletId: String): Cipher =
        Cipher.getInstance("AES/GCM/NoPadding").apply {
            init(mode, key, GCMParameterSpec(TAG_BITS, nonce))
            updateAAD(walletId.toByteArray())
        }

    private companion object {
        const val NONCE_BYTES = 12
        const val TAG_BITS = 128
    }
}
