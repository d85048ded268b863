//! The wallet's keys: the key-encryption key (KEK) the vault wraps, the device key
//! sealed under it, and locking, unlocking and wiping them.

use ring::signature::Ed25519KeyPair;
use zeroize::Zeroizing;

use super::{
    ADOPTED_META, DROPPED_META, META_DEVICE_PK, META_DEVICE_SEED, META_WALLET_ID, META_WRAPPED_KEK,
    Wallet,
};
use crate::device;
use crate::error::{WalletError, sealed};
use crate::ids::TicketId;
use crate::keyvault::KeyVault;
use crate::seal::{Kek, SealContext, open, seal};
use crate::store::{RowKey, Store};

fn device_ctx(wallet_id: &str) -> SealContext<'_> {
    SealContext {
        table: "meta",
        column: META_DEVICE_SEED,
        row: wallet_id.as_bytes(),
        version: 1,
    }
}

impl Wallet {
    pub(super) fn create(
        store: &Store,
        vault: &dyn KeyVault,
    ) -> Result<(String, Kek, [u8; 32]), WalletError> {
        if store.ticket_count()? > 0 || store.meta_untrusted(META_DEVICE_SEED)?.is_some() {
            // Rows without a key: the key row was deleted. Never overwrite what is there.
            return Err(WalletError::Tampered {
                what: "meta wrapped_kek".into(),
            });
        }
        // The wallet id is committed before the vault sees it, so a creation cut short
        // resumes under the same id (and the same vault entry) instead of starting a
        // second wallet beside a key the vault already holds.
        let id = match store.meta_untrusted(META_WALLET_ID)? {
            Some(b) => String::from_utf8(b).map_err(|_| WalletError::Tampered {
                what: format!("meta {META_WALLET_ID}"),
            })?,
            None => {
                let id = TicketId::random()
                    .map_err(|_| WalletError::storage("random"))?
                    .to_string();
                store.put_pending_wallet_id(META_WALLET_ID, &id)?;
                id
            }
        };
        let kek = Kek::generate().map_err(sealed("kek"))?;
        let wrapped = vault.wrap(&id, kek.expose())?;
        store.set_row_key(RowKey::derive(&kek));
        let seed = device::generate_seed().map_err(|e| WalletError::storage(e.to_string()))?;
        let pk =
            device::public_key_of(&seed[..]).map_err(|e| WalletError::storage(e.to_string()))?;
        let sealed_seed =
            seal(&kek, &device_ctx(&id), &seed[..]).map_err(sealed("meta device_seed"))?;
        store.set_meta(&[
            (META_WALLET_ID, id.as_bytes()),
            (META_WRAPPED_KEK, &wrapped),
            (META_DEVICE_SEED, &sealed_seed),
            (META_DEVICE_PK, &pk),
        ])?;
        Ok((id, kek, pk))
    }

    pub(super) fn unlock_existing(
        store: &Store,
        vault: &dyn KeyVault,
        wrapped: &[u8],
    ) -> Result<(String, Kek, [u8; 32]), WalletError> {
        let corrupt = |what: &str| WalletError::Tampered {
            what: format!("meta {what}"),
        };
        let id = store
            .meta_untrusted(META_WALLET_ID)?
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| corrupt(META_WALLET_ID))?;
        let kek = Self::unwrap_kek(vault, &id, wrapped)?;
        store.set_row_key(RowKey::derive(&kek));
        if store.holds_untagged_rows()? {
            store.adopt_untagged(ADOPTED_META, DROPPED_META)?;
        }
        // The two rows read before the key are checked now that it is known.
        if store.meta(META_WALLET_ID)?.as_deref() != Some(id.as_bytes())
            || store.meta(META_WRAPPED_KEK)?.as_deref() != Some(wrapped)
        {
            return Err(corrupt(META_WALLET_ID));
        }
        let sealed_seed = store
            .meta(META_DEVICE_SEED)?
            .ok_or_else(|| corrupt(META_DEVICE_SEED))?;
        let seed =
            open(&kek, &device_ctx(&id), &sealed_seed).map_err(sealed("meta device_seed"))?;
        let pk = device::public_key_of(&seed).map_err(|_| corrupt(META_DEVICE_SEED))?;
        let stored_pk = store
            .meta(META_DEVICE_PK)?
            .ok_or_else(|| corrupt(META_DEVICE_PK))?;
        if stored_pk != pk {
            return Err(corrupt(META_DEVICE_PK));
        }
        Ok((id, kek, pk))
    }

    fn unwrap_kek(vault: &dyn KeyVault, id: &str, wrapped: &[u8]) -> Result<Kek, WalletError> {
        let mut raw = vault.unwrap(id, wrapped)?;
        Kek::from_bytes(&mut raw).map_err(|_| WalletError::KeyMissing)
    }

    /// Forgets the key-encryption key and every drawn frame; codes fail with `WalletLocked` until `unlock`.
    pub fn lock(&self) {
        *self.kek.write().unwrap_or_else(|e| e.into_inner()) = None;
        let mut s = self.session();
        s.frames.clear();
        s.presence.clear();
    }

    /// Unwraps the key-encryption key again through the vault.
    pub fn unlock(&self) -> Result<(), WalletError> {
        let wrapped = self
            .store
            .meta(META_WRAPPED_KEK)?
            .ok_or(WalletError::KeyMissing)?;
        let kek = Self::unwrap_kek(self.vault.as_ref(), &self.wallet_id, &wrapped)?;
        *self.kek.write().unwrap_or_else(|e| e.into_inner()) = Some(kek);
        Ok(())
    }

    pub(super) fn with_kek<R>(
        &self,
        f: impl FnOnce(&Kek) -> Result<R, WalletError>,
    ) -> Result<R, WalletError> {
        let g = self.kek.read().unwrap_or_else(|e| e.into_inner());
        f(g.as_ref().ok_or(WalletError::WalletLocked)?)
    }

    pub(super) fn device_key(&self, kek: &Kek) -> Result<Ed25519KeyPair, WalletError> {
        let sealed_seed =
            self.store
                .meta(META_DEVICE_SEED)?
                .ok_or_else(|| WalletError::Tampered {
                    what: "meta device_seed".into(),
                })?;
        let seed: Zeroizing<Vec<u8>> = open(kek, &device_ctx(&self.wallet_id), &sealed_seed)
            .map_err(sealed("meta device_seed"))?;
        device::keypair(&seed).map_err(|_| WalletError::Tampered {
            what: "meta device_seed".into(),
        })
    }

    /// Signs `message` with the device key (sync uses it for proof of possession).
    pub fn sign_with_device_key(&self, message: &[u8]) -> Result<[u8; 64], WalletError> {
        self.with_kek(|kek| {
            let mut sig = [0u8; 64];
            sig.copy_from_slice(self.device_key(kek)?.sign(message).as_ref());
            Ok(sig)
        })
    }

    /// Erases the wallet: every row of the database and the key-encryption key in the
    /// vault. Whatever SQLite leaves in free pages was sealed under that key, so it can
    /// no longer be opened. This instance is unusable afterwards; open the file again for
    /// a fresh wallet (new device key: enroll again, then sync).
    pub fn wipe(&self) -> Result<(), WalletError> {
        *self.kek.write().unwrap_or_else(|e| e.into_inner()) = None;
        {
            let mut s = self.session();
            s.frames.clear();
            s.presence.clear();
            s.anchor = None;
        }
        self.store.wipe()?;
        self.vault.delete(&self.wallet_id)?;
        Ok(())
    }
}
