package dev.tessera.demo.platform

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import dev.tessera.KeyVault
import dev.tessera.core.VaultException
import dev.tessera.demo.Constants
import java.security.KeyStore
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * The wallet's key-encryption key (KEK), wrapped by an AES-256-GCM key that lives in the
 * Android Keystore (in the secure hardware, TEE, where the phone has it) and never leaves it.
 * A copy of the wallet file taken off the phone cannot be opened without this key.
 *
 * No user authentication on the key (`setUserAuthenticationRequired(false)`): the wallet
 * must unwrap its KEK to draw codes every few seconds, and presence before reveal is
 * asked by the library through [BiometricPresenceGate] where an event requires it.
 *
 * Blob: version byte 1 | 12-byte IV | ciphertext and 16-byte tag. The wallet id is the
 * GCM associated data, so a blob cannot be swapped between wallets.
 */
class KeystoreKeyVault : KeyVault {
    private val keyStore: KeyStore = KeyStore.getInstance(KEYSTORE).apply { load(null) }

    override fun wrap(walletId: String, kek: ByteArray): ByteArray {
        val key = existingKey(walletId) ?: createKey(walletId)
        val cipher = Cipher.getInstance(TRANSFORMATION)
        // The Keystore picks the IV (randomized encryption is enforced for its keys).
        cipher.init(Cipher.ENCRYPT_MODE, key)
        cipher.updateAAD(walletId.toByteArray())
        val iv = cipher.iv
        check(iv.size == IV_BYTES) { "unexpected GCM IV length ${iv.size}" }
        return byteArrayOf(VERSION) + iv + cipher.doFinal(kek)
    }

    override fun unwrap(walletId: String, wrapped: ByteArray): ByteArray {
        // The key is gone (app data cleared, Keystore reset): the library turns this into
        // WalletException.KeyMissing. Anything thrown below arrives as VaultError.Unavailable.
        val key = existingKey(walletId) ?: throw VaultException.KeyNotFound()
        if (wrapped.size < 1 + IV_BYTES + TAG_BITS / 8 || wrapped[0] != VERSION) {
            throw VaultException.Unavailable("unknown wrapped-key format")
        }
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(TAG_BITS, wrapped, 1, IV_BYTES))
        cipher.updateAAD(walletId.toByteArray())
        return cipher.doFinal(wrapped, 1 + IV_BYTES, wrapped.size - 1 - IV_BYTES)
    }

    override fun delete(walletId: String) {
        val alias = alias(walletId)
        if (keyStore.containsAlias(alias)) keyStore.deleteEntry(alias)
    }

    private fun existingKey(walletId: String): SecretKey? =
        keyStore.getKey(alias(walletId), null) as SecretKey?

    private fun createKey(walletId: String): SecretKey {
        val spec = KeyGenParameterSpec.Builder(
            alias(walletId),
            KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT,
        )
            .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
            .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
            .setKeySize(256)
            .setUserAuthenticationRequired(false)
            .build()
        return KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, KEYSTORE)
            .apply { init(spec) }
            .generateKey()
    }

    private fun alias(walletId: String) = Constants.KEY_ALIAS_PREFIX + walletId

    private companion object {
        const val KEYSTORE = "AndroidKeyStore"
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val VERSION: Byte = 1
        const val IV_BYTES = 12
        const val TAG_BITS = 128
    }
}
