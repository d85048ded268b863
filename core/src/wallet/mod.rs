//! The wallet facade: what app code (through the bindings) calls.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use ring::signature::Ed25519KeyPair;
use zeroize::Zeroizing;

use crate::clock::{
    DEFAULT_SKEW_TOLERANCE_MS, MonotonicClock, ProcessMonotonicClock, SystemWallClock, TimeAnchor,
    TrustedTime, WallClock, trusted_time,
};
use crate::code::t1::T1Params;
use crate::code::{S1Code, T1Code, step_at, step_start_ms};
use crate::device;
use crate::error::{WalletError, sealed};
use crate::ids::{EventId, TicketId};
use crate::keyvault::KeyVault;
use crate::policy::{CodeFormat, EventPolicy, Verification};
use crate::qr::QrMatrix;
use crate::reveal::{RevealContext, reveal_state};
use crate::seal::{Kek, SealContext, open, seal};
use crate::store::{DamagedRow, RowKey, Store, StoreError, StoredRelease, StoredTicket};
use crate::ticket::{Frame, RevealState, Ticket, TicketSecrets, TicketSummary};

/// Asks the person holding the phone to prove presence (biometrics, passcode).
pub trait PresenceGate: Send + Sync {
    /// Shows the platform prompt with `reason`; true when the user passed it.
    fn confirm(&self, reason: &str) -> bool;
}

/// How to open a wallet.
pub struct WalletConfig {
    /// The SQLite file (created if missing).
    pub db_path: PathBuf,
    /// Where the key-encryption key is protected.
    pub vault: Arc<dyn KeyVault>,
    /// The device wall clock.
    pub wall_clock: Arc<dyn WallClock>,
    /// A clock the user cannot set.
    pub monotonic: Arc<dyn MonotonicClock>,
    /// Presence prompt for events that require it.
    pub presence: Option<Arc<dyn PresenceGate>>,
    /// Wall-clock skew beyond which the clock is reported as manipulated.
    pub skew_tolerance_ms: i64,
}

impl WalletConfig {
    /// A configuration with the system clocks and no presence prompt.
    pub fn new(db_path: impl Into<PathBuf>, vault: Arc<dyn KeyVault>) -> Self {
        Self {
            db_path: db_path.into(),
            vault,
            wall_clock: Arc::new(SystemWallClock),
            monotonic: Arc::new(ProcessMonotonicClock::new()),
            presence: None,
            skew_tolerance_ms: DEFAULT_SKEW_TOLERANCE_MS,
        }
    }
}

const META_WALLET_ID: &str = "wallet_id";
const META_WRAPPED_KEK: &str = "wrapped_kek";
const META_DEVICE_SEED: &str = "device_seed";
const META_DEVICE_PK: &str = "device_public_key";
const META_ANCHOR: &str = "time_anchor";
const META_HIGH_WATER: &str = "high_water_ms";
/// The high-water mark is persisted at most this often from the frame path.
const HIGH_WATER_SAVE_MS: i64 = 60_000;
/// Time nonces handed out and not yet answered; older ones are forgotten.
const MAX_PENDING_TIME_NONCES: usize = 8;
/// `meta` rows a file from before row tags keeps (tagged on upgrade, see
/// [`Store::adopt_untagged`]) and the ones it drops (the next sync brings them signed).
const ADOPTED_META: &[&str] = &[
    META_WALLET_ID,
    META_WRAPPED_KEK,
    META_DEVICE_SEED,
    META_DEVICE_PK,
    "sync_issuer_keys",
];
const DROPPED_META: &[&str] = &[META_ANCHOR, META_HIGH_WATER];

struct Session {
    anchor: Option<TimeAnchor>,
    high_water_ms: i64,
    high_water_saved_ms: i64,
    presence: HashSet<TicketId>,
    /// Frames drawn ahead, keyed by ticket and step; never more than two steps per ticket.
    frames: HashMap<(TicketId, u64), Frame>,
    /// Nonces sent with time requests whose signed answer has not come back yet.
    pending_time_nonces: VecDeque<[u8; 32]>,
    /// Issuer clock minus wall clock, from an unsigned answer: only ever used to stamp
    /// requests (so a phone with a wrong clock can still talk to the issuer), never to
    /// open a window or draw a code.
    request_clock_offset_ms: Option<i64>,
}

/// A ticket wallet bound to this device. `Send + Sync`: share it with an `Arc`.
pub struct Wallet {
    store: Store,
    vault: Arc<dyn KeyVault>,
    wall: Arc<dyn WallClock>,
    mono: Arc<dyn MonotonicClock>,
    presence_gate: Option<Arc<dyn PresenceGate>>,
    skew_tolerance_ms: i64,
    wallet_id: String,
    device_public_key: [u8; 32],
    kek: RwLock<Option<Kek>>,
    session: Mutex<Session>,
}

fn device_ctx(wallet_id: &str) -> SealContext<'_> {
    SealContext {
        table: "meta",
        column: META_DEVICE_SEED,
        row: wallet_id.as_bytes(),
        version: 1,
    }
}

fn seed_ctx<'a>(id: &'a TicketId, column: &'a str, version: u32) -> SealContext<'a> {
    SealContext {
        table: "tickets",
        column,
        row: id.as_bytes(),
        version,
    }
}

fn release_ctx(event: &[u8; 8], version: u32) -> SealContext<'_> {
    SealContext {
        table: "release_secrets",
        column: "sealed",
        row: event,
        version,
    }
}

impl Wallet {
    /// Opens the wallet at `config.db_path`, creating it (with a fresh key-encryption key
    /// and device key) when the file is new.
    pub fn open(config: WalletConfig) -> Result<Self, WalletError> {
        let store = Store::open(&config.db_path)?;
        let (wallet_id, kek, device_public_key) = match store.meta_untrusted(META_WRAPPED_KEK)? {
            Some(wrapped) => Self::unlock_existing(&store, config.vault.as_ref(), &wrapped)?,
            None => Self::create(&store, config.vault.as_ref())?,
        };
        // Time rows whose tag fails read as absent: time is then unproven until the next
        // signed time (a refusal, never an early window); `damaged_rows` reports them.
        let time_row = |key: &str| match store.meta(key) {
            Err(StoreError::Corrupt(_)) => Ok(None),
            other => other,
        };
        let anchor =
            time_row(META_ANCHOR)?.and_then(|b| serde_json::from_slice::<TimeAnchor>(&b).ok());
        let high_water_ms = time_row(META_HIGH_WATER)?
            .and_then(|b| b.try_into().ok())
            .map(i64::from_be_bytes)
            .unwrap_or(0);
        Ok(Self {
            store,
            vault: config.vault,
            wall: config.wall_clock,
            mono: config.monotonic,
            presence_gate: config.presence,
            skew_tolerance_ms: config.skew_tolerance_ms,
            wallet_id,
            device_public_key,
            kek: RwLock::new(Some(kek)),
            session: Mutex::new(Session {
                anchor,
                high_water_ms,
                high_water_saved_ms: high_water_ms,
                presence: HashSet::new(),
                frames: HashMap::new(),
                pending_time_nonces: VecDeque::new(),
                request_clock_offset_ms: None,
            }),
        })
    }

    fn create(store: &Store, vault: &dyn KeyVault) -> Result<(String, Kek, [u8; 32]), WalletError> {
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
                    .map_err(|_| WalletError::Storage("random".into()))?
                    .to_string();
                store.put_pending_wallet_id(META_WALLET_ID, &id)?;
                id
            }
        };
        let kek = Kek::generate().map_err(sealed("kek"))?;
        let wrapped = vault.wrap(&id, kek.expose())?;
        store.set_row_key(RowKey::derive(&kek));
        let seed = device::generate_seed().map_err(|e| WalletError::Storage(e.to_string()))?;
        let pk =
            device::public_key_of(&seed[..]).map_err(|e| WalletError::Storage(e.to_string()))?;
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

    fn unlock_existing(
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

    /// This wallet's id (names its key in the vault).
    pub fn wallet_id(&self) -> &str {
        &self.wallet_id
    }

    /// The device public key tickets are bound to.
    pub fn device_public_key(&self) -> [u8; 32] {
        self.device_public_key
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

    fn session(&self) -> MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with_kek<R>(
        &self,
        f: impl FnOnce(&Kek) -> Result<R, WalletError>,
    ) -> Result<R, WalletError> {
        let g = self.kek.read().unwrap_or_else(|e| e.into_inner());
        f(g.as_ref().ok_or(WalletError::WalletLocked)?)
    }

    /// A fresh nonce for a time request (`GET /v1/time?nonce=…`, or a sync's
    /// `time_nonce`): the issuer signs its clock together with it, and the wallet accepts
    /// that signed time only for a nonce it handed out and that was not answered yet.
    pub fn new_time_nonce(&self) -> Result<[u8; 32], WalletError> {
        let mut n = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut n)
            .map_err(|_| WalletError::Storage("system random generator failed".into()))?;
        let mut s = self.session();
        if s.pending_time_nonces.len() >= MAX_PENDING_TIME_NONCES {
            s.pending_time_nonces.pop_front();
        }
        s.pending_time_nonces.push_back(n);
        Ok(n)
    }

    /// Whether `nonce` was handed out by [`Wallet::new_time_nonce`] and not used yet.
    pub(crate) fn is_pending_time_nonce(&self, nonce: &[u8; 32]) -> bool {
        self.session().pending_time_nonces.contains(nonce)
    }

    /// The anchor (and high-water mark) for an issuer time that passed every check: the
    /// signature of a trusted key over the nonce this wallet chose. Such a time is the
    /// issuer's clock now, so it replaces what was proven before, even a later time that
    /// got in some other way (a wallet recovers from a bad time at its next good sync).
    pub(crate) fn signed_time_rows(
        &self,
        server_unix_ms: i64,
        nonce: &[u8; 32],
    ) -> Result<(TimeAnchor, Vec<u8>), WalletError> {
        let mut s = self.session();
        let at = s.pending_time_nonces.iter().position(|n| n == nonce);
        let Some(at) = at else {
            return Err(WalletError::Invalid("time nonce not pending".into()));
        };
        s.pending_time_nonces.remove(at);
        let anchor = TimeAnchor {
            server_unix_ms,
            mono_ms: self.mono.elapsed_ms(),
            session: self.mono.session(),
        };
        let json = serde_json::to_vec(&anchor).map_err(|e| WalletError::Storage(e.to_string()))?;
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

    /// Notes the issuer's clock from an unsigned answer, for request timestamps only
    /// (`sync::session`, the HTTP client's).
    #[cfg(feature = "sync-client")]
    pub(crate) fn note_request_clock(&self, server_unix_ms: i64) {
        let wall = self.wall.now_unix_ms();
        self.session().request_clock_offset_ms = Some(server_unix_ms.saturating_sub(wall));
    }

    /// The time to stamp a device-signed request with: trusted time when anchored, else
    /// the wall clock corrected by the issuer's last unsigned answer. Never used to reveal.
    pub fn request_timestamp_ms(&self) -> i64 {
        let t = self.trusted_time();
        if t.anchored {
            return t.now_ms;
        }
        let offset = self.session().request_clock_offset_ms;
        match offset {
            Some(o) => self.wall.now_unix_ms().saturating_add(o),
            None => t.now_ms,
        }
    }

    /// What the wallet knows of the time now.
    pub fn trusted_time(&self) -> TrustedTime {
        let mut s = self.session();
        let t = trusted_time(
            s.anchor.as_ref(),
            s.high_water_ms,
            self.wall.as_ref(),
            self.mono.as_ref(),
        );
        if t.proven_ms > s.high_water_ms {
            s.high_water_ms = t.proven_ms;
            if t.proven_ms - s.high_water_saved_ms >= HIGH_WATER_SAVE_MS
                && self
                    .store
                    .set_meta(&[(META_HIGH_WATER, &t.proven_ms.to_be_bytes())])
                    .is_ok()
            {
                // A failed save only means the mark is re-proven later; nothing is lost.
                s.high_water_saved_ms = t.proven_ms;
            }
        }
        t
    }

    /// Whether the device clock disagrees with the issuer's beyond the tolerance.
    pub fn clock_manipulated(&self) -> bool {
        self.trusted_time()
            .wall_clock_manipulated(self.skew_tolerance_ms)
    }

    /// Stores events and tickets (with their secrets, sealed here) in one transaction.
    /// Sync calls this; apps with their own provisioning may too.
    pub fn install(
        &self,
        events: &[EventPolicy],
        tickets: Vec<(Ticket, TicketSecrets)>,
    ) -> Result<(), WalletError> {
        let mut known: HashMap<EventId, EventPolicy> = HashMap::new();
        for e in events {
            e.validate()
                .map_err(|e| WalletError::Invalid(e.to_string()))?;
            known.insert(e.event_id, e.clone());
        }
        let rows = self.with_kek(|kek| {
            let known: HashMap<EventId, &EventPolicy> =
                known.iter().map(|(k, v)| (*k, v)).collect();
            self.seal_tickets(kek, &known, tickets)
        })?;
        self.store.put(events, &rows)?;
        self.session().frames.clear();
        Ok(())
    }

    /// Checks each ticket against its event (from `known`, else the store) and seals its
    /// seeds under the KEK, bound to the row and version.
    fn seal_tickets(
        &self,
        kek: &Kek,
        known: &HashMap<EventId, &EventPolicy>,
        tickets: Vec<(Ticket, TicketSecrets)>,
    ) -> Result<Vec<StoredTicket>, WalletError> {
        let mut rows = Vec::with_capacity(tickets.len());
        for (t, secrets) in tickets {
            let policy = match known.get(&t.event_id) {
                Some(p) => (*p).clone(),
                None => self.store.event(t.event_id)?.ok_or_else(|| {
                    WalletError::Invalid(format!(
                        "ticket {} names unknown event {}",
                        t.id, t.event_id
                    ))
                })?,
            };
            Self::check_ticket(&t, &policy, secrets.is_withheld())?;
            if secrets.is_withheld() {
                // Stored without seeds, like a moved ticket: it draws nothing until a
                // sync brings them (`state_of` says `NeedsSync` once verified).
                rows.push(StoredTicket {
                    ticket: t,
                    sealed_ticket_seed: Vec::new(),
                    sealed_event_seed: None,
                });
                continue;
            }
            let s = |col: &'static str, v: &[u8]| {
                seal(kek, &seed_ctx(&t.id, col, t.version), v).map_err(sealed(col))
            };
            let sealed_ticket_seed = s("ticket_seed", &secrets.ticket_seed)?;
            let sealed_event_seed = secrets
                .event_seed
                .as_ref()
                .map(|e| s("event_seed", e))
                .transpose()?;
            rows.push(StoredTicket {
                ticket: t,
                sealed_ticket_seed,
                sealed_event_seed,
            });
        }
        Ok(rows)
    }

    fn check_ticket(t: &Ticket, policy: &EventPolicy, withheld: bool) -> Result<(), WalletError> {
        let invalid = |why: &str| Err(WalletError::Invalid(format!("ticket {}: {why}", t.id)));
        match (&policy.format, &t.credential) {
            (CodeFormat::S1, None) if !withheld => {
                return invalid("S1 event without credential");
            }
            (_, Some(c))
                if c.credential.ticket != t.id
                    || c.credential.device_public_key != t.device_public_key =>
            {
                return invalid("credential names another ticket or device");
            }
            // A gate reads these from the signed credential: a policy that disagrees would
            // make the wallet draw codes every gate rejects.
            (_, Some(c))
                if c.credential.event != policy.event_id
                    || c.credential.period_secs != policy.period_secs
                    || c.credential.strict_jit != policy.strict_jit
                    || c.credential.reveal_opens_at != policy.reveal_opens_at
                    || c.credential.valid_until != policy.valid_until =>
            {
                return invalid("credential disagrees with the event policy");
            }
            _ => {}
        }
        if t.seat.len() > crate::code::s1::MAX_SEAT_LEN {
            return invalid("seat too long");
        }
        crate::text::check_ticket_text(&t.seat, t.holder_name.as_deref())
            .or_else(|e| invalid(&e.to_string()))
    }

    /// Stores a strict-JIT event's release secret (sealed), as sync does once the window opens.
    pub fn set_release_secret(
        &self,
        event: EventId,
        version: u32,
        secret: &[u8],
    ) -> Result<(), WalletError> {
        let row = event.0.to_be_bytes();
        let sealed_secret = self.with_kek(|kek| {
            seal(kek, &release_ctx(&row, version), secret).map_err(sealed("release secret"))
        })?;
        self.store.put_release(
            event,
            &StoredRelease {
                version,
                sealed: sealed_secret,
            },
        )?;
        self.session().frames.clear();
        Ok(())
    }

    /// Records that the holder completed `v` (email or phone), as sync reports it.
    pub fn set_verified(&self, v: Verification) -> Result<(), WalletError> {
        if v == Verification::Presence {
            return Err(WalletError::Invalid(
                "presence is confirmed per session with confirm_presence".into(),
            ));
        }
        self.store.set_verified(v, self.trusted_time().now_ms)?;
        Ok(())
    }

    /// Marks a ticket revoked, as sync reports it.
    pub fn set_revoked(&self, id: &TicketId) -> Result<(), WalletError> {
        if !self.store.set_revoked(id, true)? {
            return Err(WalletError::NotFound(*id));
        }
        self.session().frames.clear();
        Ok(())
    }

    /// Asks the presence gate; on success the ticket may reveal until the wallet is locked.
    pub fn confirm_presence(&self, id: &TicketId) -> Result<(), WalletError> {
        let summary = self.ticket(id)?;
        let gate = self
            .presence_gate
            .as_ref()
            .ok_or(WalletError::PresenceDenied)?;
        if !gate.confirm(&format!("Show your ticket for {}", summary.event.name)) {
            return Err(WalletError::PresenceDenied);
        }
        self.session().presence.insert(*id);
        Ok(())
    }

    fn state_of(
        &self,
        st: &StoredTicket,
        policy: &EventPolicy,
        time: TrustedTime,
        verified: &[Verification],
    ) -> Result<RevealState, WalletError> {
        let t = &st.ticket;
        // A release row whose tag fails makes the ticket Tampered, not the whole listing.
        let has_release_secret = policy.strict_jit
            && match self.store.release(t.event_id) {
                Ok(r) => r.is_some(),
                Err(StoreError::Corrupt(_)) => return Ok(RevealState::Tampered),
                Err(e) => return Err(e.into()),
            };
        let presence_confirmed = self.session().presence.contains(&t.id);
        let ctx = RevealContext {
            device_public_key: &self.device_public_key,
            time,
            verified,
            presence_confirmed,
            has_release_secret,
        };
        Ok(match reveal_state(t, policy, &ctx) {
            // The issuer withheld the secrets (a verification was missing at the last
            // sync): verified since, the next sync brings them.
            RevealState::Ready { .. } if st.sealed_ticket_seed.is_empty() => RevealState::NeedsSync,
            state => state,
        })
    }

    /// Every ticket with its event and current state. Rows that fail to decode are left
    /// out here and listed by [`Wallet::damaged_rows`]; nothing is deleted.
    pub fn tickets(&self) -> Result<Vec<TicketSummary>, WalletError> {
        let (events, _) = self.store.events()?;
        let events: HashMap<EventId, EventPolicy> =
            events.into_iter().map(|e| (e.event_id, e)).collect();
        let (tickets, _) = self.store.tickets()?;
        let verified = self.store.verified()?;
        let time = self.trusted_time();
        let mut out = Vec::with_capacity(tickets.len());
        for st in tickets {
            if let Some(event) = events.get(&st.ticket.event_id) {
                let state = self.state_of(&st, event, time, &verified)?;
                out.push(TicketSummary {
                    ticket: st.ticket,
                    event: event.clone(),
                    state,
                });
            }
        }
        Ok(out)
    }

    /// Rows the store could not decode (a sync with the issuer restores them).
    pub fn damaged_rows(&self) -> Result<Vec<DamagedRow>, WalletError> {
        let (events, mut bad) = self.store.events()?;
        bad.extend(self.store.untagged_rows()?);
        let known: HashSet<EventId> = events.iter().map(|e| e.event_id).collect();
        let (tickets, bad_tickets) = self.store.tickets()?;
        bad.extend(bad_tickets);
        for t in tickets
            .iter()
            .filter(|t| !known.contains(&t.ticket.event_id))
        {
            bad.push(DamagedRow {
                ticket: Some(t.ticket.id),
                reason: format!("event {} missing", t.ticket.event_id),
            });
        }
        Ok(bad)
    }

    /// One ticket with its event and current state.
    pub fn ticket(&self, id: &TicketId) -> Result<TicketSummary, WalletError> {
        let st = self.store.ticket(id)?.ok_or(WalletError::NotFound(*id))?;
        let event = self
            .store
            .event(st.ticket.event_id)?
            .ok_or_else(|| WalletError::Tampered {
                what: format!("event {} missing", st.ticket.event_id),
            })?;
        let state = self.state_of(&st, &event, self.trusted_time(), &self.store.verified()?)?;
        Ok(TicketSummary {
            ticket: st.ticket,
            event,
            state,
        })
    }

    /// A ticket's reveal state now.
    pub fn reveal_state(&self, id: &TicketId) -> Result<RevealState, WalletError> {
        Ok(self.ticket(id)?.state)
    }

    /// The frame to show now. Refused with the matching error outside the reveal window
    /// or while verification is missing. Returns at once when the frame was prepared
    /// ahead by [`Wallet::prepare_next_frame`].
    pub fn frame(&self, id: &TicketId) -> Result<Frame, WalletError> {
        let (st, event, step) = self.ready(id)?;
        self.cached_or_draw(&st, &event, step)
    }

    /// Draws the frame of the step after the current one and keeps it, so the `frame()`
    /// call at the step boundary only reads memory. Call it once per step, any time after
    /// showing a frame (a watcher does). The ticket must be ready now.
    pub fn prepare_next_frame(&self, id: &TicketId) -> Result<Frame, WalletError> {
        let (st, event, step) = self.ready(id)?;
        let next = step + 1;
        if step_start_ms(next, event.period_secs) >= event.valid_until.saturating_mul(1000) {
            return Err(WalletError::Expired);
        }
        self.cached_or_draw(&st, &event, next)
    }

    /// The ticket, its policy and the current step, or the refusal matching its state.
    fn ready(&self, id: &TicketId) -> Result<(StoredTicket, EventPolicy, u64), WalletError> {
        let st = self.store.ticket(id)?.ok_or(WalletError::NotFound(*id))?;
        let event = self
            .store
            .event(st.ticket.event_id)?
            .ok_or_else(|| WalletError::Tampered {
                what: format!("event {} missing", st.ticket.event_id),
            })?;
        let time = self.trusted_time();
        let state = self.state_of(&st, &event, time, &self.store.verified()?)?;
        if let Some(refusal) = WalletError::from_state(&state) {
            return Err(refusal);
        }
        // Only the step of proven time (and, prepared ahead, the next one): a wall clock
        // running ahead never yields a code for later (`reveal_state` refuses unanchored
        // time, so here proven time is the anchored time).
        let step = step_at(time.proven_ms, event.period_secs);
        Ok((st, event, step))
    }

    fn cached_or_draw(
        &self,
        st: &StoredTicket,
        event: &EventPolicy,
        step: u64,
    ) -> Result<Frame, WalletError> {
        let id = st.ticket.id;
        if let Some(f) = self.session().frames.get(&(id, step)) {
            return Ok(f.clone());
        }
        // Drawn without holding the session lock, so tickets draw in parallel.
        let f = self.draw(st, event, step)?;
        let mut s = self.session();
        // Keep at most this ticket's previous, current and next step; steps count
        // differently per period, so other tickets' frames are left alone.
        s.frames
            .retain(|(t, k), _| *t != id || k.saturating_add(1) >= step);
        s.frames.insert((id, step), f.clone());
        Ok(f)
    }

    fn draw(
        &self,
        st: &StoredTicket,
        event: &EventPolicy,
        step: u64,
    ) -> Result<Frame, WalletError> {
        let t = &st.ticket;
        let payload = self.with_kek(|kek| {
            let release = if event.strict_jit {
                let r = self
                    .store
                    .release(t.event_id)?
                    .ok_or(WalletError::NeedsSync)?;
                let row = t.event_id.0.to_be_bytes();
                Some(
                    open(kek, &release_ctx(&row, r.version), &r.sealed)
                        .map_err(sealed("release secret"))?,
                )
            } else {
                None
            };
            let release = release.as_ref().map(|r| &r[..]);
            match event.format {
                CodeFormat::T1 => {
                    let seed = open(
                        kek,
                        &seed_ctx(&t.id, "ticket_seed", t.version),
                        &st.sealed_ticket_seed,
                    )
                    .map_err(sealed("ticket_seed"))?;
                    let event_seed = st
                        .sealed_event_seed
                        .as_ref()
                        .map(|b| {
                            open(kek, &seed_ctx(&t.id, "event_seed", t.version), b)
                                .map_err(sealed("event_seed"))
                        })
                        .transpose()?;
                    let p = T1Params {
                        algorithm: event.totp_algorithm,
                        digits: event.totp_digits,
                        period_secs: event.period_secs,
                        ticket: t.id,
                        event: t.event_id,
                        ticket_seed: &seed,
                        event_seed: event_seed.as_ref().map(|s| &s[..]),
                        release_secret: release,
                    };
                    Ok(T1Code::generate(&p, step).encode())
                }
                CodeFormat::S1 => {
                    let cred = t.credential.as_ref().ok_or_else(|| WalletError::Tampered {
                        what: format!("ticket {} credential", t.id),
                    })?;
                    let key = self.device_key(kek)?;
                    Ok(S1Code::generate(cred, &key, step, release).encode())
                }
            }
        })?;
        let qr = QrMatrix::encode(&payload).map_err(|e| WalletError::Invalid(e.to_string()))?;
        let starts_at_ms = step_start_ms(step, event.period_secs);
        Ok(Frame {
            ticket: t.id,
            format: event.format,
            step,
            payload,
            qr,
            starts_at_ms,
            ends_at_ms: step_start_ms(step + 1, event.period_secs),
        })
    }

    fn device_key(&self, kek: &Kek) -> Result<Ed25519KeyPair, WalletError> {
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

    /// Runs SQLite's integrity check on the wallet file.
    pub fn integrity_check(&self) -> Result<bool, WalletError> {
        Ok(self.store.integrity_check()?)
    }
}

/// Sync support, driven by `crate::sync`: kept in its own block so the facade above and
/// the sync code evolve without stepping on each other.
impl Wallet {
    /// The store, for the sync code's read-only checks.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Seals a checked sync under the KEK and writes it, with the time anchor, in one
    /// transaction; only then does the session adopt the new anchor.
    pub(crate) fn commit_sync(
        &self,
        v: crate::sync::apply::ValidatedSync,
    ) -> Result<(), WalletError> {
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

    /// Marks tickets as moved to another device (after a transfer from here, or when the
    /// issuer says so): they stay listed and reveal as `BoundElsewhere`, their seeds are
    /// dropped. Returns how many the wallet held.
    pub fn mark_moved(&self, ids: &[TicketId]) -> Result<usize, WalletError> {
        let n = self.store.mark_moved(ids)?;
        let mut s = self.session();
        s.frames.retain(|(t, _), _| !ids.contains(t));
        s.presence.retain(|t| !ids.contains(t));
        Ok(n)
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
