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
        std::fs::write(&self.path, kek).map_err(|e| VaultError::Unavailable(e.to_string()))?;
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
