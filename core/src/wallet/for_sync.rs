//! The narrow interface `crate::sync` uses: a signed time it checked becomes the anchor,
//! a checked sync ([`ValidatedSync`], defined here so sync depends on the wallet and not
//! the reverse) is sealed and written in one transaction. Every mutator that only sync
//! may call is in the one block here, all `pub(crate)`: an app cannot write an anchor or
//! a sync by hand, and the facade and the sync code evolve without stepping on each other.

use std::collections::HashMap;

use zeroize::Zeroizing;

use super::{META_ANCHOR, META_HIGH_WATER, Session, Wallet, release_ctx};
use crate::clock::TimeAnchor;
use crate::error::{WalletError, sealed};
use crate::ids::{EventId, TicketId};
use crate::policy::{EventPolicy, Verification};
use crate::seal::{open, seal};
use crate::store::{Store, StoreError, StoredRelease};
use crate::ticket::{Ticket, TicketSecrets};

/// A held release secret, opened: its version and bytes.
pub(crate) type HeldRelease = (u32, Zeroizing<Vec<u8>>);

/// A release secret that opened.
pub(crate) struct ValidRelease {
    pub(crate) event: EventId,
    pub(crate) version: u32,
    pub(crate) secret: Zeroizing<Vec<u8>>,
}

/// A sync answer that passed every check, secrets opened, ready to be sealed and written.
pub(crate) struct ValidatedSync {
    pub(crate) server_time_ms: i64,
    /// The nonce the issuer signed `server_time_ms` with (still pending in the session).
    pub(crate) time_nonce: [u8; 32],
    pub(crate) events: Vec<EventPolicy>,
    pub(crate) tickets: Vec<(Ticket, TicketSecrets)>,
    pub(crate) releases: Vec<ValidRelease>,
    pub(crate) verified: Vec<Verification>,
    pub(crate) moved: Vec<TicketId>,
    /// Extra `meta` rows to write in the same transaction (pinned issuer keys).
    pub(crate) meta: Vec<(&'static str, Vec<u8>)>,
}

/// Sync support, driven by `crate::sync`.
impl Wallet {
    /// The store, for the sync code's read-only checks.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Writes one `meta` row of sync's own (the pinned issuer keys).
    pub(crate) fn write_sync_meta(&self, key: &str, value: &[u8]) -> Result<(), WalletError> {
        Ok(self.store.set_meta(&[(key, value)])?)
    }

    /// Whether `nonce` was handed out by [`Wallet::new_time_nonce`] and not used yet.
    pub(crate) fn is_pending_time_nonce(&self, nonce: &[u8; 32]) -> bool {
        self.session().pending_time_nonces.contains(nonce)
    }

    /// The anchor (and high-water mark) for an issuer time that passed every check: the
    /// signature of a trusted key over the nonce this wallet chose. Such a time is the
    /// issuer's clock now, so it replaces what was proven before, even a later time that
    /// got in some other way (a wallet recovers from a bad time at its next good sync).
    fn signed_time_rows(
        &self,
        server_unix_ms: i64,
        nonce: &[u8; 32],
    ) -> Result<(TimeAnchor, Vec<u8>), WalletError> {
        let mut s = self.session();
        let at = s.pending_time_nonces.iter().position(|n| n == nonce);
        let Some(at) = at else {
            return Err(WalletError::invalid("time nonce not pending"));
        };
        s.pending_time_nonces.remove(at);
        let anchor = TimeAnchor {
            server_unix_ms,
            mono_ms: self.mono.elapsed_ms(),
            session: self.mono.session(),
        };
        let json = serde_json::to_vec(&anchor).map_err(|e| WalletError::storage(e.to_string()))?;
        Ok((anchor, json))
    }

    /// Adopts a signed issuer time in the session once its rows are written.
    fn adopt_anchor(&self, s: &mut Session, anchor: TimeAnchor) {
        s.high_water_ms = anchor.server_unix_ms;
        s.high_water_saved_ms = anchor.server_unix_ms;
        s.anchor = Some(anchor);
        s.frames.clear();
    }

    /// Writes a checked, signed issuer time (see `sync::signed_time`) as the anchor.
    pub(crate) fn anchor_signed_time(
        &self,
        server_unix_ms: i64,
        nonce: &[u8; 32],
    ) -> Result<(), WalletError> {
        let (anchor, json) = self.signed_time_rows(server_unix_ms, nonce)?;
        let mut s = self.session();
        self.store.set_meta(&[
            (META_ANCHOR, &json),
            (META_HIGH_WATER, &server_unix_ms.to_be_bytes()),
        ])?;
        self.adopt_anchor(&mut s, anchor);
        Ok(())
    }

    /// The release secret held for `event`, opened: its version and bytes. `None` when
    /// there is none or its row is damaged (a release object or a sync replaces it).
    pub(crate) fn held_release(&self, event: EventId) -> Result<Option<HeldRelease>, WalletError> {
        let r = match self.store.release(event) {
            Ok(Some(r)) => r,
            Ok(None) | Err(StoreError::Corrupt(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let row = event.0.to_be_bytes();
        let secret = self.with_kek(|kek| {
            open(kek, &release_ctx(&row, r.version), &r.sealed).map_err(sealed("release secret"))
        });
        match secret {
            Ok(s) => Ok(Some((r.version, s))),
            Err(WalletError::Tampered { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Seals and stores a release secret unless a newer version is held (checked in the
    /// write's transaction); returns whether it was written.
    pub(crate) fn store_release_unless_older(
        &self,
        event: EventId,
        version: u32,
        secret: &[u8],
    ) -> Result<bool, WalletError> {
        let row = event.0.to_be_bytes();
        let sealed_secret = self.with_kek(|kek| {
            seal(kek, &release_ctx(&row, version), secret).map_err(sealed("release secret"))
        })?;
        let written = self.store.put_release_unless_older(
            event,
            &StoredRelease {
                version,
                sealed: sealed_secret,
            },
        )?;
        if written {
            self.session().frames.clear();
        }
        Ok(written)
    }

    /// Notes the issuer's clock from an unsigned answer, for request timestamps only
    /// (`sync::session`, the HTTP client's).
    #[cfg(feature = "sync-client")]
    pub(crate) fn note_request_clock(&self, server_unix_ms: i64) {
        let wall = self.wall.now_unix_ms();
        self.session().request_clock_offset_ms = Some(server_unix_ms.saturating_sub(wall));
    }

    /// Seals a checked sync under the KEK and writes it, with the time anchor, in one
    /// transaction; only then does the session adopt the new anchor.
    pub(crate) fn commit_sync(&self, v: ValidatedSync) -> Result<(), WalletError> {
        let known: HashMap<EventId, &EventPolicy> =
            v.events.iter().map(|e| (e.event_id, e)).collect();
        let (rows, releases) = self.with_kek(|kek| {
            let rows = self.seal_tickets(kek, &known, v.tickets)?;
            let mut releases = Vec::with_capacity(v.releases.len());
            for r in &v.releases {
                let row = r.event.0.to_be_bytes();
                let sealed_secret = seal(kek, &release_ctx(&row, r.version), &r.secret)
                    .map_err(sealed("release secret"))?;
                releases.push((
                    r.event,
                    StoredRelease {
                        version: r.version,
                        sealed: sealed_secret,
                    },
                ));
            }
            Ok((rows, releases))
        })?;
        let (anchor, json) = self.signed_time_rows(v.server_time_ms, &v.time_nonce)?;
        let mut s = self.session();
        let high_water_bytes = v.server_time_ms.to_be_bytes();
        let mut meta: Vec<(&str, &[u8])> =
            vec![(META_ANCHOR, &json), (META_HIGH_WATER, &high_water_bytes)];
        meta.extend(v.meta.iter().map(|(k, b)| (*k, b.as_slice())));
        let verified: Vec<(Verification, i64)> =
            v.verified.iter().map(|k| (*k, v.server_time_ms)).collect();
        self.store
            .apply_sync(&v.events, &rows, &releases, &verified, &v.moved, &meta)?;
        self.adopt_anchor(&mut s, anchor);
        Ok(())
    }
}
