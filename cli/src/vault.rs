//! Where `tessera wallet` keeps its key-encryption key: the OS keyring, or an explicitly
//! insecure file for machines that have none (CI containers).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use tessera_core::keyvault::{KeyVault, KeyringVault, VaultError};
use zeroize::Zeroizing;

/// The keyring service name the CLI's wallets use.
const KEYRING_SERVICE: &str = "tessera-cli";

/// The blob a wallet stores for a dev-file vault: only a marker, the key is in the file.
const DEV_FILE_BLOB: &[u8] = b"tessera-dev-file-vault-v1";

/// First line of a dev-file vault, so a wrong file is recognised instead of misread.
const DEV_FILE_HEADER: &str =
    "tessera dev-file vault v1 (INSECURE: the key below unlocks the wallet)";

/// The `--vault` choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultChoice {
    /// The OS credential store through core's `KeyringVault`.
    Keyring,
    /// The FAKE vault: the key in a plain file at this path.
    DevFile(PathBuf),
}

impl FromStr for VaultChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "keyring" {
            return Ok(Self::Keyring);
        }
        match s.strip_prefix("dev-file:") {
            Some(path) if !path.is_empty() => Ok(Self::DevFile(path.into())),
            _ => Err("expected `keyring` or `dev-file:PATH`".into()),
        }
    }
}

impl VaultChoice {
    /// The vault; warns on stderr when it is the insecure file.
    pub fn open(&self) -> Arc<dyn KeyVault> {
        match self {
            Self::Keyring => Arc::new(KeyringVault::new(KEYRING_SERVICE)),
            Self::DevFile(path) => {
                eprintln!(
                    "warning: dev-file vault: the wallet's key is stored UNPROTECTED in {} \
                     (a FAKE for machines without an OS keyring; never for real tickets)",
                    path.display()
                );
                Arc::new(DevFileVault { path: path.clone() })
            }
        }
    }
}

/// A dev-file vault's content: the wallet id it belongs to, and the key.
type StoredKey = (String, Zeroizing<Vec<u8>>);

/// FAKE key vault: the key-encryption key sits in a plain file next to nothing that
/// protects it. Anyone who can read the file and the wallet database can open the
/// wallet, which is exactly what a real vault prevents. For CI and throwaway machines.
pub struct DevFileVault {
    path: PathBuf,
}

impl DevFileVault {
    /// Reads the file: the wallet id it was written for and the key. `None` when absent.
    fn read(&self) -> Result<Option<StoredKey>, VaultError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => Zeroizing::new(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(unavailable(&self.path, &e.to_string())),
        };
        let mut lines = text.lines();
        let (Some(DEV_FILE_HEADER), Some(id), Some(key)) =
            (lines.next(), lines.next(), lines.next())
        else {
            return Err(unavailable(&self.path, "not a dev-file vault"));
        };
        let key = hex::decode(key)
            .map(Zeroizing::new)
            .map_err(|_| unavailable(&self.path, "key is not hex"))?;
        Ok(Some((id.to_owned(), key)))
    }
}

/// A vault error naming the file (never its content).
fn unavailable(path: &Path, why: &str) -> VaultError {
    VaultError::Unavailable(format!("{}: {why}", path.display()))
}

impl KeyVault for DevFileVault {
    fn wrap(&self, wallet_id: &str, kek: &[u8]) -> Result<Vec<u8>, VaultError> {
        // One file, one wallet: overwriting would destroy another wallet's only key.
        if let Some((other, _)) = self.read()?
            && other != wallet_id
        {
            return Err(unavailable(&self.path, "holds another wallet's key"));
        }
        let text = Zeroizing::new(format!(
            "{DEV_FILE_HEADER}\n{wallet_id}\n{}\n",
            hex::encode(kek)
        ));
        // Written beside the file, then renamed over it: a process killed mid-write leaves
        // the old file or the new one, never a truncated file that no later wrap accepts.
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        // Owner-only, so at least other users of the machine cannot read the key.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options
            .open(&tmp)
            .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(|e| unavailable(&self.path, &e.to_string()))?;
        Ok(DEV_FILE_BLOB.to_vec())
    }

    fn unwrap(&self, wallet_id: &str, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        if wrapped != DEV_FILE_BLOB {
            // The wallet was created with another vault (the keyring, say).
            return Err(VaultError::KeyNotFound);
        }
        match self.read()? {
            Some((id, key)) if id == wallet_id => Ok(key),
            _ => Err(VaultError::KeyNotFound),
        }
    }

    fn delete(&self, wallet_id: &str) -> Result<(), VaultError> {
        if let Some((id, _)) = self.read()?
            && id == wallet_id
        {
            std::fs::remove_file(&self.path)
                .map_err(|e| unavailable(&self.path, &e.to_string()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_two_vault_choices() {
        assert_eq!("keyring".parse(), Ok(VaultChoice::Keyring));
        assert_eq!(
            "dev-file:/tmp/k".parse(),
            Ok(VaultChoice::DevFile("/tmp/k".into()))
        );
        assert!("dev-file:".parse::<VaultChoice>().is_err());
        assert!("memory".parse::<VaultChoice>().is_err());
    }

    #[test]
    fn dev_file_vault_round_trips_and_keeps_one_wallet_per_file() {
        let dir = tempfile::tempdir().unwrap();
        let v = DevFileVault {
            path: dir.path().join("key"),
        };
        let blob = v.wrap("w1", &[7u8; 32]).unwrap();
        assert_eq!(&v.unwrap("w1", &blob).unwrap()[..], &[7u8; 32]);
        assert_eq!(v.unwrap("w2", &blob), Err(VaultError::KeyNotFound));
        assert_eq!(v.unwrap("w1", b"other"), Err(VaultError::KeyNotFound));
        assert!(v.wrap("w2", &[8u8; 32]).is_err());
        v.delete("w1").unwrap();
        assert_eq!(v.unwrap("w1", &blob), Err(VaultError::KeyNotFound));
    }

    #[test]
    fn wrapping_again_for_the_same_wallet_replaces_its_key() {
        // A wallet creation cut short resumes under the same id with a new key.
        let dir = tempfile::tempdir().unwrap();
        let v = DevFileVault {
            path: dir.path().join("key"),
        };
        v.wrap("w1", &[7u8; 32]).unwrap();
        let blob = v.wrap("w1", &[8u8; 32]).unwrap();
        assert_eq!(&v.unwrap("w1", &blob).unwrap()[..], &[8u8; 32]);
        // Written by rename: nothing left beside the file.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("key")]);
    }
}
