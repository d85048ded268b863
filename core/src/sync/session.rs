//! The high-level API apps use: one wallet talking to one issuer.
//!
//! Offline first: reading tickets and drawing frames never touch the network, so with the
//! issuer unreachable everything already synced keeps working; only the calls that need
//! the issuer fail, with [`SyncError::Network`] or [`SyncError::Timeout`].

use std::sync::Arc;

use crate::code::release_object::{ReleaseObject, ReleaseObjectError};
use crate::ids::{EventId, TicketId};
use crate::policy::Verification;
use crate::sync::api::{
    EnrollResponse, OrderResponse, ProfileUpdate, TransferResponse, VerificationStatus,
};
use crate::sync::apply::SyncReport;
use crate::sync::client::IssuerClient;
use crate::sync::error::SyncError;
use crate::sync::release::ReleaseApplied;
use crate::ticket::{Frame, TicketSummary};
use crate::wallet::Wallet;

/// A wallet and the issuer it syncs with. Cheap to clone; share it between tasks.
#[derive(Clone)]
pub struct WalletSync {
    wallet: Arc<Wallet>,
    client: IssuerClient,
}

impl std::fmt::Debug for WalletSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Ids only: nothing secret or personal.
        f.debug_struct("WalletSync")
            .field("wallet_id", &self.wallet.wallet_id())
            .field("client", &self.client)
            .finish()
    }
}

impl WalletSync {
    /// Pairs `wallet` with the issuer `client`.
    pub fn new(wallet: Arc<Wallet>, client: IssuerClient) -> Self {
        Self { wallet, client }
    }

    /// The wallet (for frames, presence, locking…).
    pub fn wallet(&self) -> &Arc<Wallet> {
        &self.wallet
    }

    /// The issuer client.
    pub fn client(&self) -> &IssuerClient {
        &self.client
    }

    /// Enrolls this device with the issuer (idempotent on the issuer's side; required once
    /// before any other attendee call). The answer's clock is unsigned: it only corrects
    /// request timestamps; trusted time comes from the first sync.
    pub async fn enroll(&self, platform: &str) -> Result<EnrollResponse, SyncError> {
        let r = self
            .signed(|| self.client.enroll(&self.wallet, platform))
            .await?;
        self.wallet.note_request_clock(r.server_time_ms);
        Ok(r)
    }

    /// Asks the issuer to email a confirmation link to the order's address.
    pub async fn request_email(&self, email: &str) -> Result<VerificationStatus, SyncError> {
        self.signed(|| self.client.request_email(&self.wallet, email))
            .await
    }

    /// Confirms the link's token from this device; on success email verification counts
    /// at once, without waiting for the next sync.
    pub async fn confirm_email(&self, token: &str) -> Result<VerificationStatus, SyncError> {
        let s = self
            .signed(|| self.client.confirm_email(&self.wallet, token))
            .await?;
        self.record(&s)?;
        Ok(s)
    }

    /// Asks the issuer to text a 6-digit code to the order's phone (E.164).
    pub async fn request_phone(&self, phone: &str) -> Result<VerificationStatus, SyncError> {
        self.signed(|| self.client.request_phone(&self.wallet, phone))
            .await
    }

    /// Confirms the SMS code; on success phone verification counts at once.
    pub async fn confirm_phone(&self, code: &str) -> Result<VerificationStatus, SyncError> {
        let s = self
            .signed(|| self.client.confirm_phone(&self.wallet, code))
            .await?;
        self.record(&s)?;
        Ok(s)
    }

    /// Syncs: fetches this device's tickets, policies, release secrets and verifications,
    /// checks the whole answer and applies it in one transaction (see
    /// [`Wallet::apply_sync`]). Retried on connection trouble; on any error the wallet is
    /// unchanged.
    pub async fn sync(&self) -> Result<SyncReport, SyncError> {
        let outcome = self.signed(|| self.client.sync(&self.wallet)).await?;
        let wallet = Arc::clone(&self.wallet);
        // Sealing a thousand seeds and one SQLite transaction: off the async threads.
        tokio::task::spawn_blocking(move || {
            wallet.apply_sync(&outcome.response, &outcome.key, &outcome.time_nonce)
        })
        .await
        .map_err(|e| SyncError::Wallet(crate::WalletError::storage(e.to_string())))?
    }

    /// Fetches the event's release object from the issuer's static URL
    /// (`GET /v1/events/{id}/release`, which any cache or CDN may serve) and applies it
    /// ([`Wallet::apply_release`]): at doors open this unlocks a strict just-in-time
    /// event's tickets without a full sync. [`SyncError::NotFound`] before the window
    /// opens (the issuer publishes nothing yet: sync or fetch again later). A hostile or
    /// broken answer changes nothing: [`SyncError::BadSignature`] when it is not signed by
    /// a pinned issuer key, [`SyncError::MalformedResponse`] for anything that is not a
    /// release object of this event, [`SyncError::ResponseTooLarge`] beyond 4 KiB. It does
    /// not anchor time: a ticket that reads `NeedsSync` because its clock session changed
    /// (a reboot) needs [`WalletSync::refresh_time`] or a sync.
    pub async fn fetch_release(&self, event: EventId) -> Result<ReleaseApplied, SyncError> {
        let text = self.client.release_object(event).await?;
        let object = ReleaseObject::parse(text.trim_matches(|c: char| c.is_ascii_whitespace()))
            .map_err(|e| match e {
                ReleaseObjectError::Malformed(why) => {
                    SyncError::MalformedResponse(format!("release object: {why}"))
                }
                ReleaseObjectError::UnknownKey { .. } | ReleaseObjectError::BadSignature => {
                    SyncError::BadSignature
                }
            })?;
        if object.event != event {
            return Err(SyncError::MalformedResponse(format!(
                "release object of event {} where {event} was asked for",
                object.event
            )));
        }
        let wallet = Arc::clone(&self.wallet);
        tokio::task::spawn_blocking(move || wallet.apply_release_object(&object))
            .await
            .map_err(|e| SyncError::Wallet(crate::WalletError::storage(e.to_string())))?
            .map_err(|e| match e {
                crate::WalletError::BadSignature => SyncError::BadSignature,
                other => SyncError::Wallet(other),
            })
    }

    /// Every ticket in the wallet with its state now. Offline.
    pub fn tickets(&self) -> Result<Vec<TicketSummary>, SyncError> {
        Ok(self.wallet.tickets()?)
    }

    /// One ticket with its state now. Offline.
    pub fn ticket(&self, id: &TicketId) -> Result<TicketSummary, SyncError> {
        Ok(self.wallet.ticket(id)?)
    }

    /// The frame to show now for a ticket. Offline.
    pub fn frame(&self, id: &TicketId) -> Result<Frame, SyncError> {
        Ok(self.wallet.frame(id)?)
    }

    /// Transfers a ticket to the person at `to_email` (where the event allows it). This
    /// device's binding ends at once: the ticket stays listed as bound elsewhere.
    pub async fn transfer(
        &self,
        id: &TicketId,
        to_email: &str,
    ) -> Result<TransferResponse, SyncError> {
        let r = self
            .signed(|| self.client.transfer(&self.wallet, id, to_email))
            .await?;
        self.wallet.mark_moved(std::slice::from_ref(id))?;
        Ok(r)
    }

    /// Accepts a ticket transferred to this account (email verified on this device); the
    /// tickets bind here at the next [`WalletSync::sync`].
    pub async fn accept_transfer(&self, transfer_id: &str) -> Result<OrderResponse, SyncError> {
        self.signed(|| self.client.accept_transfer(&self.wallet, transfer_id))
            .await
    }

    /// Moves the account's tickets from another (lost, replaced) device to this one; email
    /// must be verified here. They arrive at the next [`WalletSync::sync`].
    pub async fn rebind(&self) -> Result<OrderResponse, SyncError> {
        self.signed(|| self.client.rebind(&self.wallet)).await
    }

    /// Changes the holder name (at once) or asks to change the account's email: that takes
    /// effect only when the link mailed to the new address is confirmed on this device with
    /// [`WalletSync::confirm_email`] (the answer's `pending_expires_at_ms` says until when;
    /// the old address is told). [`SyncError::ChangeBlocked`] when an event of the account
    /// blocks changes (the box office can make them).
    pub async fn update_profile(
        &self,
        update: &ProfileUpdate,
    ) -> Result<VerificationStatus, SyncError> {
        self.signed(|| self.client.update_profile(&self.wallet, update))
            .await
    }

    /// Erases the wallet: database rows and the vault's key. Local only: the issuer keeps
    /// the tickets, so a fresh wallet can enroll, verify, rebind and sync them back.
    pub async fn wipe(&self) -> Result<(), SyncError> {
        let wallet = Arc::clone(&self.wallet);
        tokio::task::spawn_blocking(move || wallet.wipe())
            .await
            .map_err(|e| SyncError::Wallet(crate::WalletError::storage(e.to_string())))??;
        Ok(())
    }

    /// Fetches the issuer's clock, signed over a fresh nonce, and anchors trusted time to
    /// it (after a reboot, this is what lets tickets show codes again offline). Before the
    /// wallet has pinned issuer keys (its first sync, or [`Wallet::pin_issuer_keys`]) the
    /// time only corrects request timestamps. A time that fails any check changes nothing
    /// ([`SyncError::UnsignedTime`]).
    pub async fn refresh_time(&self) -> Result<i64, SyncError> {
        let nonce = self.wallet.new_time_nonce()?;
        let r = self.client.server_time(&nonce).await?;
        self.wallet.note_request_clock(r.server_time_ms);
        if self.wallet.pinned_issuer_keys()?.is_empty() {
            return Ok(r.server_time_ms);
        }
        let proof = r.proof.as_ref().ok_or(SyncError::UnsignedTime)?;
        let wallet = Arc::clone(&self.wallet);
        let t = r.server_time_ms;
        let proof = proof.clone();
        tokio::task::spawn_blocking(move || wallet.accept_signed_time(&nonce, t, &proof))
            .await
            .map_err(|e| SyncError::Wallet(crate::WalletError::storage(e.to_string())))??;
        Ok(t)
    }

    /// Runs a device-signed call; when the issuer finds its timestamp stale (a wrong
    /// device clock and no anchor yet), corrects the request clock from the issuer's and
    /// tries once more. Safe for every call: a stale request is refused before it does anything.
    async fn signed<T, F, Fut>(&self, call: F) -> Result<T, SyncError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, SyncError>>,
    {
        match call().await {
            Err(SyncError::StaleRequest) => {
                self.refresh_time().await?;
                call().await
            }
            other => other,
        }
    }

    /// Records the verifications an answer reports (additions only: the next sync
    /// brings the full list).
    fn record(&self, s: &VerificationStatus) -> Result<(), SyncError> {
        for v in s.verified.iter().filter(|v| **v != Verification::Presence) {
            self.wallet.set_verified(*v)?;
        }
        Ok(())
    }
}
