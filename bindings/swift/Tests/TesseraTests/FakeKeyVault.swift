import CryptoKit
import Foundation
import Tessera

/// FAKE key vault for tests, written in Swift: wraps the wallet's key-encryption key with
/// AES-256-GCM (CryptoKit) under a key that lives only in this object's memory (one per
/// wallet id). A real app uses the Secure Enclave or the Keychain; losing this object is
/// a keystore reset. Mirrors the Kotlin tests' FakeKeyVault.
///
/// Wrapped blob: CryptoKit's combined form (12-byte nonce ‖ ciphertext ‖ 16-byte tag),
/// with the wallet id as associated data.
final class FakeKeyVault: KeyVault, @unchecked Sendable {
    private let lock = NSLock()
    private var keys: [String: SymmetricKey] = [:]
    private var wrapCount = 0
    private var unwrapCount = 0

    /// How many times the library asked to wrap / unwrap (to show the vault is really used).
    var wraps: Int { locked { wrapCount } }
    var unwraps: Int { locked { unwrapCount } }

    func wrap(walletId: String, kek: Data) throws -> Data {
        let key: SymmetricKey = locked {
            wrapCount += 1
            if let key = keys[walletId] { return key }
            let key = SymmetricKey(size: .bits256)
            keys[walletId] = key
            return key
        }
        let box = try AES.GCM.seal(kek, using: key, authenticating: Data(walletId.utf8))
        guard let combined = box.combined else { throw VaultError.Unavailable(reason: "no combined form") }
        return combined
    }

    func unwrap(walletId: String, wrapped: Data) throws -> Data {
        let key: SymmetricKey? = locked {
            unwrapCount += 1
            return keys[walletId]
        }
        guard let key else { throw VaultError.KeyNotFound }
        do {
            let box = try AES.GCM.SealedBox(combined: wrapped)
            return try AES.GCM.open(box, using: key, authenticating: Data(walletId.utf8))
        } catch {
            throw VaultError.Unavailable(reason: "wrapped key does not open")
        }
    }

    func delete(walletId: String) throws {
        locked { keys[walletId] = nil }
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }
}
