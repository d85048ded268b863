import CryptoKit
import Foundation
import Security
import Tessera

/// The wallet's key-encryption key (KEK), wrapped so that a copy of the wallet file taken
/// off the phone cannot be opened.
///
/// - On a device: by a P-256 key created in the **Secure Enclave**, whose private half never
///   leaves it (`SecKeyCreateEncryptedData`, ECIES with cofactor X9.63 SHA-256 AES-GCM).
/// - On the simulator (no Secure Enclave): AES-256-GCM under a random key kept as a
///   **Keychain item**. Only as good as the Keychain; for development.
///
/// Both keys are `…AfterFirstUnlockThisDeviceOnly`: never in a backup or on another phone,
/// and usable while the screen is locked (the wallet unwraps its key to draw codes; asking
/// for presence is the PresenceGate's job, per event). Blob: one scheme byte, then the
/// ciphertext. A missing key throws `VaultError.KeyNotFound`, which the library reports
/// as `WalletError.KeyMissing`; anything else thrown arrives as `VaultError.Unavailable`.
final class KeychainKeyVault: KeyVault {
    private static let label = "dev.tessera.demo.kek"
    private static let algorithm = SecKeyAlgorithm.eciesEncryptionCofactorX963SHA256AESGCM

    private enum Scheme: UInt8 {
        case secureEnclave = 1
        case keychainAES = 2
    }

    func wrap(walletId: String, kek: Data) throws -> Data {
        if SecureEnclave.isAvailable {
            guard let key = try enclaveKey(walletId, create: true), let publicKey = SecKeyCopyPublicKey(key) else {
                throw VaultError.Unavailable(reason: "no Secure Enclave key")
            }
            var error: Unmanaged<CFError>?
            guard let sealed = SecKeyCreateEncryptedData(publicKey, Self.algorithm, kek as CFData, &error) as Data? else {
                throw Self.unavailable(error)
            }
            return Data([Scheme.secureEnclave.rawValue]) + sealed
        }
        guard let key = try keychainKey(walletId, create: true),
              let sealed = try AES.GCM.seal(kek, using: key, authenticating: Data(walletId.utf8)).combined
        else { throw VaultError.Unavailable(reason: "no Keychain key") }
        return Data([Scheme.keychainAES.rawValue]) + sealed
    }

    func unwrap(walletId: String, wrapped: Data) throws -> Data {
        guard let first = wrapped.first, let scheme = Scheme(rawValue: first) else {
            throw VaultError.Unavailable(reason: "unknown wrapped-key format")
        }
        let body = Data(wrapped.dropFirst())
        switch scheme {
        case .secureEnclave:
            guard let key = try enclaveKey(walletId, create: false) else { throw VaultError.KeyNotFound }
            var error: Unmanaged<CFError>?
            guard let kek = SecKeyCreateDecryptedData(key, Self.algorithm, body as CFData, &error) as Data? else {
                throw Self.unavailable(error)
            }
            return kek
        case .keychainAES:
            guard let key = try keychainKey(walletId, create: false) else { throw VaultError.KeyNotFound }
            return try AES.GCM.open(AES.GCM.SealedBox(combined: body), using: key, authenticating: Data(walletId.utf8))
        }
    }

    func delete(walletId: String) throws {
        for query in [enclaveQuery(walletId), keychainQuery(walletId)] {
            let status = SecItemDelete(query as CFDictionary)
            guard status == errSecSuccess || status == errSecItemNotFound else {
                throw VaultError.Unavailable(reason: "Keychain delete failed (\(status))")
            }
        }
    }

    // MARK: Secure Enclave key (device)

    private func enclaveQuery(_ walletId: String) -> [String: Any] {
        [
            kSecClass as String: kSecClassKey,
            kSecAttrKeyType as String: kSecAttrKeyTypeECSECPrimeRandom,
            kSecAttrApplicationTag as String: Data("\(Self.label).\(walletId)".utf8),
        ]
    }

    private func enclaveKey(_ walletId: String, create: Bool) throws -> SecKey? {
        var query = enclaveQuery(walletId)
        query[kSecReturnRef as String] = true
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        if status == errSecSuccess, let item {
            return (item as! SecKey) // a CF type: this cast cannot fail
        }
        guard status == errSecItemNotFound else {
            throw VaultError.Unavailable(reason: "Keychain read failed (\(status))")
        }
        guard create else { return nil }

        var error: Unmanaged<CFError>?
        // .privateKeyUsage: the key may be used without a prompt; it still never leaves the enclave.
        guard let access = SecAccessControlCreateWithFlags(
            nil, kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly, .privateKeyUsage, &error
        ) else { throw Self.unavailable(error) }
        let attributes: [String: Any] = [
            kSecAttrKeyType as String: kSecAttrKeyTypeECSECPrimeRandom,
            kSecAttrKeySizeInBits as String: 256,
            kSecAttrTokenID as String: kSecAttrTokenIDSecureEnclave,
            kSecPrivateKeyAttrs as String: [
                kSecAttrIsPermanent as String: true,
                kSecAttrApplicationTag as String: Data("\(Self.label).\(walletId)".utf8),
                kSecAttrAccessControl as String: access,
            ] as [String: Any],
        ]
        guard let key = SecKeyCreateRandomKey(attributes as CFDictionary, &error) else { throw Self.unavailable(error) }
        return key
    }

    // MARK: Keychain item (simulator)

    private func keychainQuery(_ walletId: String) -> [String: Any] {
        [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: Self.label,
            kSecAttrAccount as String: walletId,
        ]
    }

    private func keychainKey(_ walletId: String, create: Bool) throws -> SymmetricKey? {
        var query = keychainQuery(walletId)
        query[kSecReturnData as String] = true
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        if status == errSecSuccess, let data = item as? Data {
            return SymmetricKey(data: data)
        }
        guard status == errSecItemNotFound else {
            throw VaultError.Unavailable(reason: "Keychain read failed (\(status))")
        }
        guard create else { return nil }

        let key = SymmetricKey(size: .bits256)
        var add = keychainQuery(walletId)
        add[kSecValueData as String] = key.withUnsafeBytes { Data($0) }
        add[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        let added = SecItemAdd(add as CFDictionary, nil)
        guard added == errSecSuccess else { throw VaultError.Unavailable(reason: "Keychain add failed (\(added))") }
        return key
    }

    private static func unavailable(_ error: Unmanaged<CFError>?) -> VaultError {
        .Unavailable(reason: error.map { ($0.takeRetainedValue() as Error).localizedDescription } ?? "Security framework error")
    }
}
