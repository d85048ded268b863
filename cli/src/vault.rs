//! Where `tessera wallet` keeps its key-encryption key: the OS keyring, or an explicitly
//! insecure file for machines that have none (CI containers); and the note beside a
//! wallet's database that remembers which (`<db>.vault`), so `--vault` is needed once.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use tessera_core::keyvault::{KeyVault, KeyringVault, VaultError};
use zeroize::Zeroizing;

use crate::error::CliError;

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

impl std::fmt::Display for VaultChoice {
    /// As `--vault` takes it: `keyring` or `dev-file:PATH`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Keyring => f.write_str("keyring"),
            Self::DevFile(path) => write!(f, "dev-file:{}", path.display()),
        }
    }
}

/// First line of the note that remembers a wallet's vault.
const NOTE_HEADER: &str = "tessera wallet vault v1";

/// The note beside the wallet's database that remembers its vault: `<db>.vault`.
pub fn note_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".vault");
    PathBuf::from(p)
}

/// The vault the wallet at `db` was last opened with, from its note; `None` without one.
pub fn remembered(db: &Path) -> Result<Option<VaultChoice>, CliError> {
    let path = note_path(db);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CliError::io(format!("reading {}", path.display()), e)),
    };
    let mut lines = text.lines();
    match (lines.next(), lines.next().map(str::parse::<VaultChoice>)) {
        (Some(NOTE_HEADER), Some(Ok(choice))) => Ok(Some(choice)),
        _ => Err(CliError::Usage(format!(
            "{} is not a tessera vault note: delete it and pass --vault once",
            path.display()
        ))),
    }
}

/// Remembers `choice` for the wallet at `db` (a dev-file path made absolute, so the note
/// holds wherever the next command runs from). Written beside and renamed over, like the
/// dev-file vault. A path the note cannot hold (not UTF-8, a line break) is not
/// remembered: `--vault` is then needed every time, as before.
pub fn remember(db: &Path, choice: &VaultChoice) -> Result<(), CliError> {
    let choice = choice.absolute();
    let line = choice.to_string();
    if let VaultChoice::DevFile(p) = &choice
        && (p.to_str().is_none() || line.contains(['\n', '\r']))
    {
        return Ok(());
    }
    let path = note_path(db);
    let mut tmp = path.clone().into_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(&tmp)
        .and_then(|mut f| f.write_all(format!("{NOTE_HEADER}\n{line}\n").as_bytes()))
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| CliError::io(format!("writing {}", path.display()), e))
}

impl VaultChoice {
    /// The same choice with a dev-file path made absolute.
    pub fn absolute(&self) -> Self {
        match self {
            Self::Keyring => Self::Keyring,
            Self::DevFile(p) => Self::DevFile(std::path::absolute(p).unwrap_or_else(|_| p.clone())),
        }
    }

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
    VaultError::unavailable(format!("{}: {why}", path.display()))
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
    fn the_note_remembers_the_vault_with_an_absolute_path() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("w.db");
        assert_eq!(note_path(&db), dir.path().join("w.db.vault"));
        assert!(remembered(&db).unwrap().is_none());
        remember(&db, &VaultChoice::DevFile("rel/key".into())).unwrap();
        let abs = std::env::current_dir().unwrap().join("rel/key");
        assert_eq!(remembered(&db).unwrap(), Some(VaultChoice::DevFile(abs)));
        remember(&db, &VaultChoice::Keyring).unwrap();
        assert_eq!(remembered(&db).unwrap(), Some(VaultChoice::Keyring));
        std::fs::write(note_path(&db), "something else\n").unwrap();
        assert!(remembered(&db).is_err());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("w.db.vault")]);
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
