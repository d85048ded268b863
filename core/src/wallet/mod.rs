//! The wallet facade: what app code (through the bindings) calls.
//!
//! Split by concern, all `impl Wallet`: opening, configuration and storing tickets here;
//! `keys` (KEK, device key, lock, unlock, wipe), `time` (trusted time, time nonces,
//! request stamps), `frames` (reveal state, presence, frame drawing), `wake` (when what a
//! watcher shows next changes) and `for_sync` (the mutators only `crate::sync` calls).
//! Sync depends on the wallet through `for_sync`; the wallet never imports sync.

mod for_sync;
mod frames;
mod keys;
mod time;
mod wake;

pub(crate) use for_sync::{ValidRelease, ValidatedSync};
pub use wake::next_change_at;

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use crate::clock::{
    DEFAULT_SKEW_TOLERANCE_MS, MonotonicClock, ProcessMonotonicClock, SystemWallClock, TimeAnchor,
    WallClock,
};
use crate::error::{WalletError, sealed};
use crate::ids::{EventId, TicketId};
use crate::keyvault::KeyVault;
use crate::policy::{EventPolicy, Verification};
use crate::seal::{Kek, SealContext, seal};
use crate::store::{DamagedRow, Store, StoreError, StoredRelease, StoredTicket};
use crate::ticket::{Frame, Ticket, TicketSecrets};

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

    /// This wallet's id (names its key in the vault).
    pub fn wallet_id(&self) -> &str {
        &self.wallet_id
    }

    /// The device public key tickets are bound to.
    pub fn device_public_key(&self) -> [u8; 32] {
        self.device_public_key
    }

    fn session(&self) -> MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(|e| e.into_inner())
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
                .map_err(|e| WalletError::invalid(e.to_string()))?;
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
                    WalletError::invalid(format!(
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
        let invalid = |why: &str| Err(WalletError::invalid(format!("ticket {}: {why}", t.id)));
        match (&policy.format, &t.credential) {
            (format, None) if format.is_signed() && !withheld => {
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
            return Err(WalletError::invalid(
                "presence is confirmed per session with confirm_presence",
            ));
        }
        self.store.set_verified(v, self.trusted_time().now_ms)?;
        Ok(())
    }

    /// Marks a ticket revoked, as sync reports it.
    pub fn set_revoked(&self, id: &TicketId) -> Result<(), WalletError> {
        if !self.store.set_revoked(id, true)? {
            return Err(WalletError::not_found(id));
        }
        self.session().frames.clear();
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

    /// Runs SQLite's integrity check on the wallet file.
    pub fn integrity_check(&self) -> Result<bool, WalletError> {
        Ok(self.store.integrity_check()?)
    }
}
