//! FAKE key vault for crash tests: its wrapping key lives in a file, so a wallet opened by
//! a child process that is then killed can be reopened by the next one. Never for real use.

use std::path::PathBuf;

use tessera_core::keyvault::{KeyVault, VaultError};
use zeroize::Zeroizing;

/// A vault that keeps the KEK in a plain file (a FAKE: real vaults never do).
pub struct FileKeyVault {
    path: PathBuf,
}

impl FileKeyVault {
    /// A vault keeping its key at `path` (created on first wrap).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

impl KeyVault for FileKeyVault {
    fn wrap(&self, _wallet_id: &str, kek: &[u8]) -> Result<Vec<u8>, VaultError> {
        // The "wrapped" blob is a marker; the KEK itself sits in the file. Fine for a fake.
        std::fs::write(&self.path, kek).map_err(|e| VaultError::unavailable(e.to_string()))?;
        Ok(b"file".to_vec())
    }

    fn unwrap(&self, _wallet_id: &str, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        if wrapped != b"file" {
            return Err(VaultError::KeyNotFound);
        }
        std::fs::read(&self.path)
            .map(Zeroizing::new)
            .map_err(|_| VaultError::KeyNotFound)
    }

    fn delete(&self, _wallet_id: &str) -> Result<(), VaultError> {
        let _ = std::fs::remove_file(&self.path);
        Ok(())
    }
}

/// FAKE key vault that behaves like a platform keystore (Android Keystore aliases, Apple
/// Keychain items, the OS keyring): **one entry per wallet id**, each a file named after
/// the id in a directory, holding the KEK in plain hex. Never for real use.
///
/// Like those stores it writes an entry atomically (a new file renamed over the old one),
/// replaces the entry when `wrap` is called again for the same id, and takes a little
/// time per write (`write_delay`; hardware keystores take milliseconds, often more).
/// An entry whose wallet never finished being created stays behind as an orphan, which
/// [`KeystoreDirVault::entries`] lets a test see.
pub struct KeystoreDirVault {
    dir: PathBuf,
    write_delay: std::time::Duration,
}

/// The blob a wallet stores for a [`KeystoreDirVault`]: a reference to its entry.
const KEYSTORE_BLOB_PREFIX: &[u8] = b"keystore-dir-entry:";

impl KeystoreDirVault {
    /// A vault keeping one entry per wallet id in `dir` (created if missing), each write
    /// taking `write_delay` longer.
    pub fn new(dir: impl Into<PathBuf>, write_delay: std::time::Duration) -> Self {
        Self {
            dir: dir.into(),
            write_delay,
        }
    }

    /// The wallet ids this vault holds an entry for, sorted.
    pub fn entries(&self) -> Result<Vec<String>, VaultError> {
        let list = match std::fs::read_dir(&self.dir) {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(VaultError::unavailable(e.to_string())),
        };
        let mut ids = Vec::new();
        for entry in list {
            let name = entry
                .map_err(|e| VaultError::unavailable(e.to_string()))?
                .file_name();
            let name = name.to_string_lossy();
            if let Some(id) = name.strip_suffix(".key") {
                ids.push(id.to_owned());
            }
        }
        ids.sort();
        Ok(ids)
    }

    fn entry(&self, wallet_id: &str) -> Result<PathBuf, VaultError> {
        // Wallet ids are hex; anything else must not steer the path.
        if wallet_id.is_empty() || !wallet_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(VaultError::unavailable("wallet id is not a plain name"));
        }
        Ok(self.dir.join(format!("{wallet_id}.key")))
    }
}

impl KeyVault for KeystoreDirVault {
    fn wrap(&self, wallet_id: &str, kek: &[u8]) -> Result<Vec<u8>, VaultError> {
        let path = self.entry(wallet_id)?;
        let io = |e: std::io::Error| VaultError::unavailable(e.to_string());
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let tmp = self.dir.join(format!("{wallet_id}.tmp"));
        let text = Zeroizing::new(hex::encode(kek));
        std::fs::write(&tmp, text.as_bytes()).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        // The entry is stored; the call has not returned yet.
        std::thread::sleep(self.write_delay);
        let mut blob = KEYSTORE_BLOB_PREFIX.to_vec();
        blob.extend_from_slice(wallet_id.as_bytes());
        Ok(blob)
    }

    fn unwrap(&self, wallet_id: &str, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        if wrapped.strip_prefix(KEYSTORE_BLOB_PREFIX) != Some(wallet_id.as_bytes()) {
            return Err(VaultError::KeyNotFound);
        }
        let text = match std::fs::read_to_string(self.entry(wallet_id)?) {
            Ok(t) => Zeroizing::new(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(VaultError::KeyNotFound);
            }
            Err(e) => return Err(VaultError::unavailable(e.to_string())),
        };
        hex::decode(text.trim())
            .map(Zeroizing::new)
            .map_err(|_| VaultError::unavailable("entry is not hex"))
    }

    fn delete(&self, wallet_id: &str) -> Result<(), VaultError> {
        match std::fs::remove_file(self.entry(wallet_id)?) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(VaultError::unavailable(e.to_string())),
        }
    }
}
