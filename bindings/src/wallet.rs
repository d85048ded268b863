//! The `Wallet` object: core's wallet and its issuer session, behind the FFI.
//!
//! Local operations (tickets, frames, presence, lock) are plain blocking calls: SQLite
//! reads and a little cryptography, well under a millisecond warm; call them off the UI
//! thread all the same. Issuer operations are async and run on the library runtime.

use std::path::PathBuf;
use std::sync::Arc;

use tessera_core::sync::api::{IssuerKey, ProfileUpdate};
use tessera_core::sync::client::{ClientOptions, IssuerClient};
use tessera_core::sync::session::WalletSync;
use tessera_core::wallet::WalletConfig;
use tessera_core::{EventId, TicketId};
use tokio::sync::watch;

use crate::errors::WalletError;
use crate::foreign::{
    ClockAdapter, ClockSource, FrameListener, KeyVault, Log, Logger, PresenceAdapter, PresenceGate,
    VaultAdapter,
};
use crate::runtime::run;
use crate::types::{
    Enrollment, Frame, ReleaseApplied, RevealState, SyncReport, TicketSummary, TimeStatus,
    VerificationStatus,
};
use crate::watch::{WatchHandle, start_watch};

/// A ticket wallet bound to this device, and the issuer it syncs with.
///
/// Thread-safe: share one instance for the whole app. Reading tickets and drawing frames
/// never touch the network, so everything already synced keeps working offline.
#[derive(uniffi::Object)]
pub struct Wallet {
    session: WalletSync,
    /// Bumped after every call that can change a ticket's state, so watches re-evaluate
    /// at once instead of polling.
    changes: watch::Sender<u64>,
    log: Log,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Ids only: nothing secret or personal.
        f.debug_struct("Wallet")
            .field("wallet_id", &self.session.wallet().wallet_id())
            .finish_non_exhaustive()
    }
}

pub(crate) fn ticket_id(text: &str) -> Result<TicketId, WalletError> {
    text.trim()
        .parse::<TicketId>()
        .map_err(|e| WalletError::invalid(e.to_string()))
}

#[uniffi::export(async_runtime = "tokio")]
impl Wallet {
    /// Opens the wallet stored at `db_path` (created on first use, with a fresh device
    /// key and a key-encryption key protected by `vault`) for the issuer at `issuer_url`
    /// (HTTPS, or plain HTTP on loopback only).
    ///
    /// `presence` is asked before tickets of events that require user presence reveal;
    /// `clock` replaces the system clocks (Android: pass `elapsedRealtime`); `logger`
    /// receives log lines. Blocks on SQLite and the vault: call it off the UI thread.
    #[uniffi::constructor(default(presence = None, clock = None, logger = None))]
    pub fn open(
        db_path: String,
        issuer_url: String,
        vault: Arc<dyn KeyVault>,
        presence: Option<Arc<dyn PresenceGate>>,
        clock: Option<Arc<dyn ClockSource>>,
        logger: Option<Arc<dyn Logger>>,
    ) -> Result<Arc<Self>, WalletError> {
        let log = Log::new(logger);
        // The client checks the URL and builds its own rustls config with ring: no
        // process-wide TLS provider is needed.
        let client = IssuerClient::new(&issuer_url, ClientOptions::default())?;
        let mut config = WalletConfig::new(PathBuf::from(db_path), Arc::new(VaultAdapter(vault)));
        if let Some(clock) = clock {
            let adapter = Arc::new(ClockAdapter::new(clock));
            config.wall_clock = adapter.clone();
            config.monotonic = adapter;
        }
        config.presence =
            presence.map(|p| Arc::new(PresenceAdapter(p)) as Arc<dyn tessera_core::PresenceGate>);
        let wallet = tessera_core::Wallet::open(config)
            .inspect_err(|e| log.warn(|| format!("open failed: {}", e.kind())))?;
        log.info(|| format!("wallet {} opened", wallet.wallet_id()));
        let (changes, _) = watch::channel(0);
        Ok(Arc::new(Self {
            session: WalletSync::new(Arc::new(wallet), client),
            changes,
            log,
        }))
    }

    /// This wallet's id (names its key in the vault).
    pub fn wallet_id(&self) -> String {
        self.session.wallet().wallet_id().to_owned()
    }

    /// The device public key tickets are bound to, hex (also the issuer's device id).
    pub fn device_public_key_hex(&self) -> String {
        hex::encode(self.session.wallet().device_public_key())
    }

    /// Every ticket with its event and current state. Offline.
    pub fn tickets(&self) -> Result<Vec<TicketSummary>, WalletError> {
        self.session.wallet().tickets()
    }

    /// One ticket with its event and current state. Offline.
    pub fn ticket(&self, ticket_id: String) -> Result<TicketSummary, WalletError> {
        self.session.wallet().ticket(&self::ticket_id(&ticket_id)?)
    }

    /// A ticket's reveal state now. Offline.
    pub fn reveal_state(&self, ticket_id: String) -> Result<RevealState, WalletError> {
        self.session
            .wallet()
            .reveal_state(&self::ticket_id(&ticket_id)?)
    }

    /// The frame to show now. Refused with the matching error (`Locked`,
    /// `NeedsVerification`, `NeedsSync`, `Expired`, `Revoked`…) unless the ticket is
    /// ready. Offline; returns at once when `prepare_next_frame` drew it ahead.
    pub fn frame(&self, ticket_id: String) -> Result<Frame, WalletError> {
        self.session.wallet().frame(&self::ticket_id(&ticket_id)?)
    }

    /// The frame to show now as the full, self-contained code: for a compact (C1) event
    /// the S1 code, which any gate judges without finding the ticket in its bundle. Show
    /// it when a gate answers `UnknownTicket` (its bundle predates this ticket's binding).
    /// For T1 and S1 events the same as `frame`. Offline.
    pub fn full_frame(&self, ticket_id: String) -> Result<Frame, WalletError> {
        self.session
            .wallet()
            .full_frame(&self::ticket_id(&ticket_id)?)
    }

    /// Draws the next step's frame ahead and returns it, so the `frame` call at the step
    /// boundary only reads memory. A watch does this for you.
    pub fn prepare_next_frame(&self, ticket_id: String) -> Result<Frame, WalletError> {
        self.session
            .wallet()
            .prepare_next_frame(&self::ticket_id(&ticket_id)?)
    }

    /// Asks the `PresenceGate` (blocking until the user answers); on success the ticket
    /// may reveal until the wallet is locked. `PresenceDenied` when the user failed or
    /// cancelled, or when no gate was given to `open`.
    pub fn confirm_presence(&self, ticket_id: String) -> Result<(), WalletError> {
        let id = self::ticket_id(&ticket_id)?;
        let result = self.session.wallet().confirm_presence(&id);
        self.changed();
        result
    }

    /// Forgets the key-encryption key, drawn frames and presence confirmations: frames
    /// fail with `WalletLocked` until `unlock`.
    pub fn lock(&self) {
        self.session.wallet().lock();
        self.log.info(|| "wallet locked".into());
        self.changed();
    }

    /// Unwraps the key-encryption key again through the vault (which may prompt).
    pub fn unlock(&self) -> Result<(), WalletError> {
        let result = self.session.wallet().unlock();
        self.changed();
        result
    }

    /// Pins the issuer signing keys the app ships with (key id → Ed25519 public key, 64
    /// hex), before the first sync. From then on only these keys sign the issuer time the
    /// wallet trusts, and every sync answer must list them; a fake or proxied server
    /// cannot open reveal windows early even on a wallet's first sync. Without this the
    /// first sync's keys are pinned (trust on first use). Pinning the same keys again is
    /// a no-op; other keys once pinned are refused (`Invalid`).
    pub fn pin_issuer_keys(
        &self,
        keys: std::collections::HashMap<u32, String>,
    ) -> Result<(), WalletError> {
        let keys: Vec<IssuerKey> = keys
            .into_iter()
            .map(|(key_id, public_key)| IssuerKey { key_id, public_key })
            .collect();
        Ok(self.session.wallet().pin_issuer_keys(&keys)?)
    }

    /// Applies a release object: the text of the QR code a venue shows at the entrance of a
    /// strict just-in-time event (or of `fetch_release`'s answer). Offline: checked against
    /// the pinned issuer keys and stored as a sync would, so the event's tickets draw codes
    /// once proven time has opened their window. Scanning it twice is fine (`updated` is
    /// false). Refused, changing nothing: `Invalid` (not a release object, or an event that
    /// is not strict just-in-time), `BadSignature` (not signed by a pinned issuer key),
    /// `NotFound` (no ticket of the event in this wallet), `Conflict` (a newer release
    /// version is held), `WalletLocked`.
    pub fn apply_release(&self, text: String) -> Result<ReleaseApplied, WalletError> {
        let result = self.session.wallet().apply_release(&text);
        match &result {
            Ok(r) => self.log.info(|| {
                format!(
                    "release of event {} applied (version {}, updated {})",
                    r.event_id, r.version, r.updated
                )
            }),
            Err(e) => self
                .log
                .warn(|| format!("apply_release failed: {}", e.kind())),
        }
        self.changed();
        result
    }

    /// What the wallet knows of the time now (trusted time).
    pub fn time_status(&self) -> TimeStatus {
        self.session.wallet().time_status()
    }

    /// Watches a ticket: `listener` gets its state now and at every change, and while it
    /// is ready a frame at every step boundary (the next frame is drawn ahead). One
    /// wake-up per step, no polling. Stops on `WatchHandle.stop()` or when the handle is
    /// dropped.
    pub fn watch(
        &self,
        ticket_id: String,
        listener: Arc<dyn FrameListener>,
    ) -> Result<Arc<WatchHandle>, WalletError> {
        let id = self::ticket_id(&ticket_id)?;
        start_watch(
            Arc::clone(self.session.wallet()),
            id,
            listener,
            self.changes.subscribe(),
            self.log.clone(),
        )
    }

    /// Enrolls this device with the issuer (once, before any other issuer call;
    /// idempotent). The answer's clock is unsigned: it only corrects request timestamps;
    /// trusted time comes from the first sync. `platform` is a free label ("android",
    /// "ios", "jvm", "python").
    pub async fn enroll(&self, platform: String) -> Result<Enrollment, WalletError> {
        let s = self.session.clone();
        self.call("enroll", async move { Ok(s.enroll(&platform).await?) })
            .await
    }

    /// Asks the issuer to email a confirmation link to the order's address.
    pub async fn request_email(&self, email: String) -> Result<VerificationStatus, WalletError> {
        let s = self.session.clone();
        self.call("request_email", async move {
            Ok(s.request_email(&email).await?)
        })
        .await
    }

    /// Confirms the emailed link's token from this device (the `token=` value of the
    /// `tessera://verify-email` link); email verification counts at once.
    pub async fn confirm_email(&self, token: String) -> Result<VerificationStatus, WalletError> {
        let s = self.session.clone();
        self.call("confirm_email", async move {
            Ok(s.confirm_email(&token).await?)
        })
        .await
    }

    /// Asks the issuer to text a 6-digit code to the order's phone (E.164, for example
    /// "+33612345678"). Email must be verified first.
    pub async fn request_phone(&self, phone: String) -> Result<VerificationStatus, WalletError> {
        let s = self.session.clone();
        self.call("request_phone", async move {
            Ok(s.request_phone(&phone).await?)
        })
        .await
    }

    /// Confirms the SMS code; phone verification counts at once.
    pub async fn confirm_phone(&self, code: String) -> Result<VerificationStatus, WalletError> {
        let s = self.session.clone();
        self.call(
            "confirm_phone",
            async move { Ok(s.confirm_phone(&code).await?) },
        )
        .await
    }

    /// Syncs with the issuer: tickets, policies, release secrets, verifications, and the
    /// issuer's clock. The whole answer is checked, then applied in one transaction; on
    /// any error the wallet is unchanged.
    pub async fn sync(&self) -> Result<SyncReport, WalletError> {
        let s = self.session.clone();
        let r = self
            .call("sync", async move { Ok(s.sync().await?) })
            .await?;
        self.log.info(|| {
            format!(
                "sync: {} tickets, {} events, {} moved, {} releases",
                r.tickets, r.events, r.moved, r.releases
            )
        });
        Ok(r)
    }

    /// Fetches the event's release object from the issuer's static, cacheable URL
    /// (`GET /v1/events/{id}/release`) and applies it, as `apply_release` does: at doors
    /// open this unlocks a strict just-in-time event's tickets without a full sync.
    /// `NotFound` before the window opens (nothing is published yet); `BadSignature` or
    /// `BadResponse` for an answer that is not the pinned issuer's object of this event
    /// (nothing changes); `Network` offline: scan the venue's QR code instead.
    pub async fn fetch_release(&self, event_id: EventId) -> Result<ReleaseApplied, WalletError> {
        let s = self.session.clone();
        self.call("fetch_release", async move {
            Ok(s.fetch_release(event_id).await?)
        })
        .await
    }

    /// Fetches the issuer's clock, signed by a pinned issuer key over a fresh nonce, and
    /// anchors trusted time to it (after a reboot tickets read `NeedsSync` until then);
    /// returns it, Unix ms. Fails with `UnsignedTime` (changing nothing) when the answer
    /// is not signed that way; before any key is pinned it only corrects request times.
    pub async fn refresh_time(&self) -> Result<i64, WalletError> {
        let s = self.session.clone();
        self.call("refresh_time", async move { Ok(s.refresh_time().await?) })
            .await
    }

    /// Transfers a ticket to the person at `to_email` (where the event allows it);
    /// returns the transfer id the recipient accepts with. This device's binding ends at
    /// once: the ticket stays listed as bound elsewhere.
    pub async fn transfer(
        &self,
        ticket_id: String,
        to_email: String,
    ) -> Result<String, WalletError> {
        let id = self::ticket_id(&ticket_id)?;
        let s = self.session.clone();
        let r = self
            .call(
                "transfer",
                async move { Ok(s.transfer(&id, &to_email).await?) },
            )
            .await?;
        Ok(r.transfer_id)
    }

    /// Accepts a ticket transferred to this account (email verified on this device);
    /// returns the ticket ids, which bind here at the next `sync`.
    pub async fn accept_transfer(&self, transfer_id: String) -> Result<Vec<String>, WalletError> {
        let s = self.session.clone();
        let r = self
            .call("accept_transfer", async move {
                Ok(s.accept_transfer(&transfer_id).await?)
            })
            .await?;
        Ok(r.tickets.iter().map(ToString::to_string).collect())
    }

    /// Moves the account's tickets from another (lost, replaced) device to this one; email
    /// must be verified here. Returns their ids; they arrive at the next `sync`.
    pub async fn rebind(&self) -> Result<Vec<String>, WalletError> {
        let s = self.session.clone();
        let r = self
            .call("rebind", async move { Ok(s.rebind().await?) })
            .await?;
        Ok(r.tickets.iter().map(ToString::to_string).collect())
    }

    /// Changes the holder name and/or the account email (None leaves it as is).
    /// `ChangeBlocked` when an event of the account blocks changes (the box office can).
    pub async fn update_profile(
        &self,
        holder_name: Option<String>,
        email: Option<String>,
    ) -> Result<VerificationStatus, WalletError> {
        let s = self.session.clone();
        let update = ProfileUpdate { holder_name, email };
        self.call("update_profile", async move {
            Ok(s.update_profile(&update).await?)
        })
        .await
    }

    /// Erases the wallet: every database row and the vault's key. This object is unusable
    /// afterwards; open the file again for a fresh wallet. Local only: the issuer keeps
    /// the tickets (enroll, verify, rebind and sync to get them back).
    pub async fn wipe(&self) -> Result<(), WalletError> {
        let s = self.session.clone();
        self.call("wipe", async move { Ok(s.wipe().await?) }).await
    }
}

impl Wallet {
    /// The core wallet behind this object, for Rust code embedding the bindings crate
    /// (not exported: foreign languages use the methods above).
    pub fn core(&self) -> &Arc<tessera_core::Wallet> {
        self.session.wallet()
    }

    /// Runs an issuer call on the library runtime, then wakes the watches (the call may
    /// have changed verifications, tickets or trusted time) and logs the outcome by kind.
    async fn call<T, F>(&self, what: &'static str, work: F) -> Result<T, WalletError>
    where
        T: Send + 'static,
        F: std::future::Future<Output = Result<T, WalletError>> + Send + 'static,
    {
        self.log.debug(|| format!("{what}: started"));
        let result = run(work).await;
        self.changed();
        match &result {
            Ok(_) => self.log.debug(|| format!("{what}: done")),
            Err(e) => self.log.warn(|| format!("{what} failed: {}", e.kind())),
        }
        result
    }

    /// Tells the watches to look again.
    fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }
}
