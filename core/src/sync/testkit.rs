//! Test helpers for the sync code: a wallet on a real SQLite file, a FAKE issuer that
//! builds sync answers with real cryptography, and (feature `sync-client`, `server.rs`) a
//! tiny raw-HTTP server on loopback that can also answer the way broken or hostile servers
//! do.
//!
//! The only fakes are the ones docs/DESIGN.md §9 allows (memory key vault, manual clock) plus the
//! stand-in issuer: core cannot depend on `tessera-issuer`, so end-to-end tests against
//! the real one live in `tests/`.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::sync::{Arc, Mutex};

use ring::signature::Ed25519KeyPair;
use zeroize::Zeroizing;

use crate::clock::ManualClock;
use crate::code::s1::public_key;
use crate::ids::{EventId, TicketId};
use crate::keyvault::{KeyVault, MemoryKeyVault, VaultError};
use crate::policy::{CodeFormat, EventPolicy, Verification};
use crate::sync::api::{IssuerKey, SyncRelease, SyncResponse, SyncTicket};
use crate::sync::apply::SyncReport;
use crate::sync::error::SyncError;
use crate::sync::signed_time::sign_time;
use crate::sync::transport::{Ephemeral, TransportContext, TransportKey};
use crate::ticket::Ticket;
use crate::wallet::{Wallet, WalletConfig};

/// FAKE vault wrapper that remembers which wallet keys were deleted.
pub struct CountingVault {
    pub inner: MemoryKeyVault,
    pub deleted: Mutex<Vec<String>>,
}

impl KeyVault for CountingVault {
    fn wrap(&self, wallet_id: &str, kek: &[u8]) -> Result<Vec<u8>, VaultError> {
        self.inner.wrap(wallet_id, kek)
    }
    fn unwrap(&self, wallet_id: &str, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        if self.deleted.lock().unwrap().iter().any(|d| d == wallet_id) {
            return Err(VaultError::KeyNotFound);
        }
        self.inner.unwrap(wallet_id, wrapped)
    }
    fn delete(&self, wallet_id: &str) -> Result<(), VaultError> {
        self.deleted.lock().unwrap().push(wallet_id.to_owned());
        Ok(())
    }
}

/// A wallet on a temporary SQLite file with the FAKE vault and clock.
pub struct Fx {
    pub dir: tempfile::TempDir,
    pub vault: Arc<CountingVault>,
    pub clock: ManualClock,
}

impl Fx {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            vault: Arc::new(CountingVault {
                inner: MemoryKeyVault::new().unwrap(),
                deleted: Mutex::new(Vec::new()),
            }),
            clock: ManualClock::new(NOW_MS),
        }
    }

    pub fn config(&self) -> WalletConfig {
        let mut c = WalletConfig::new(self.dir.path().join("wallet.db"), self.vault.clone());
        c.wall_clock = Arc::new(self.clock.clone());
        c.monotonic = Arc::new(self.clock.clone());
        c
    }

    pub fn wallet(&self) -> Arc<Wallet> {
        Arc::new(Wallet::open(self.config()).unwrap())
    }

    /// A fresh fixture, its wallet, and a FAKE issuer of `n` tickets per event bound to
    /// that wallet, not synced yet.
    pub fn with_issuer(n: u32) -> (Self, Arc<Wallet>, FakeIssuer) {
        let fx = Self::new();
        let w = fx.wallet();
        let issuer = FakeIssuer::new(w.device_public_key(), n);
        (fx, w, issuer)
    }

    /// Moves time one second into the reveal window.
    pub fn open_window(&self) {
        self.clock.advance((OPENS * 1000 - NOW_MS) as u64 + 1000);
    }
}

/// One ticket the FAKE issuer holds for the wallet.
#[derive(Clone)]
pub struct FakeTicket {
    pub ticket: Ticket,
    pub seed: Vec<u8>,
    pub event_seed: Option<Vec<u8>>,
}

/// FAKE issuer: builds sync answers exactly as the contract says, with real keys.
pub struct FakeIssuer {
    /// Issuer signing keys by id; `sign_with` picks the one credentials are signed with.
    pub keys: Vec<(u32, Ed25519KeyPair)>,
    /// Which key ids the answer lists.
    pub listed: Vec<u32>,
    /// Which key signs credentials.
    pub sign_with: u32,
    /// Which key signs the time.
    pub time_key: u32,
    pub server_time_ms: i64,
    pub events: Vec<EventPolicy>,
    pub tickets: Vec<FakeTicket>,
    pub releases: Vec<(EventId, u32, Vec<u8>)>,
    pub verified: Vec<Verification>,
    pub moved: Vec<TicketId>,
    /// Seal secrets to a stranger's key instead of the wallet's.
    pub seal_to_stranger: bool,
}

pub fn issuer_key(n: u8) -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&[n; 32]).unwrap()
}

impl FakeIssuer {
    /// One T1 and one strict-JIT S1 event, `n` tickets each, bound to `device`.
    pub fn new(device: [u8; 32], n: u32) -> Self {
        let t1 = policy(1, CodeFormat::T1);
        let mut s1 = policy(2, CodeFormat::S1);
        s1.strict_jit = true;
        let mut tickets = Vec::new();
        for i in 0..n {
            tickets.push(fake_ticket(i, &t1, device));
            tickets.push(fake_ticket(1000 + i, &s1, device));
        }
        Self {
            keys: vec![(1, issuer_key(42))],
            listed: vec![1],
            sign_with: 1,
            time_key: 1,
            server_time_ms: NOW_MS,
            events: vec![t1, s1],
            tickets,
            releases: vec![(EventId(2), 1, vec![9; 32])],
            verified: vec![Verification::Email],
            moved: Vec::new(),
            seal_to_stranger: false,
        }
    }

    fn key(&self, id: u32) -> &Ed25519KeyPair {
        &self.keys.iter().find(|(k, _)| *k == id).unwrap().1
    }

    /// The answer to a sync whose request carried `wallet_pub`.
    pub fn respond(&self, wallet_pub: &[u8; 32], time_nonce: &[u8; 32]) -> SyncResponse {
        let eph = Ephemeral::generate().unwrap();
        let server_pub = eph.public_key();
        let key = eph.agree(wallet_pub, &server_pub, wallet_pub).unwrap();
        let seal_key = if self.seal_to_stranger {
            let stranger = Ephemeral::generate().unwrap().public_key();
            let e2 = Ephemeral::generate().unwrap();
            let p2 = e2.public_key();
            e2.agree(&stranger, &p2, &stranger).unwrap()
        } else {
            key
        };
        self.respond_sealed(server_pub, &seal_key, time_nonce)
    }

    /// The answer with secrets sealed under `key`, announcing `server_pub`.
    pub fn respond_sealed(
        &self,
        server_pub: [u8; 32],
        key: &TransportKey,
        time_nonce: &[u8; 32],
    ) -> SyncResponse {
        let seal = |column: &str, row: &[u8], version: u32, secret: &[u8]| {
            hex::encode(
                key.seal(
                    &TransportContext {
                        column,
                        row,
                        version,
                    },
                    secret,
                )
                .unwrap(),
            )
        };
        let tickets = self
            .tickets
            .iter()
            .map(|ft| {
                let t = &ft.ticket;
                let policy = self.events.iter().find(|e| e.event_id == t.event_id);
                let credential = match policy {
                    Some(p) if p.format.is_signed() => Some(hex::encode(
                        t.credential_for(p, self.sign_with)
                            .sign(self.key(self.sign_with))
                            .unwrap()
                            .to_bytes(),
                    )),
                    _ => None,
                };
                SyncTicket {
                    ticket_id: t.id,
                    event_id: t.event_id,
                    seat: t.seat.clone(),
                    holder_name: t.holder_name.clone(),
                    device_public_key: hex::encode(t.device_public_key),
                    credential,
                    revoked: t.revoked,
                    version: t.version,
                    sealed_ticket_seed: seal("ticket_seed", t.id.as_bytes(), t.version, &ft.seed),
                    sealed_event_seed: ft
                        .event_seed
                        .as_ref()
                        .map(|s| seal("event_seed", t.id.as_bytes(), t.version, s)),
                }
            })
            .collect();
        SyncResponse {
            server_time_ms: self.server_time_ms,
            time_proof: sign_time(
                self.key(self.time_key),
                self.time_key,
                time_nonce,
                self.server_time_ms,
            ),
            server_ephemeral_public_key: hex::encode(server_pub),
            issuer_keys: self
                .listed
                .iter()
                .map(|id| IssuerKey {
                    key_id: *id,
                    public_key: hex::encode(public_key(self.key(*id))),
                })
                .collect(),
            verified: self.verified.clone(),
            events: self.events.clone(),
            tickets,
            moved: self.moved.clone(),
            releases: self
                .releases
                .iter()
                .map(|(e, v, s)| SyncRelease {
                    event_id: *e,
                    version: *v,
                    sealed: seal("release_secret", &e.0.to_be_bytes(), *v, s),
                })
                .collect(),
        }
    }

    /// The answer to `GET /v1/time[?nonce=…]` at `now`, signed like the real issuer's.
    pub fn time_answer(&self, path_and_query: &str, now: i64) -> crate::sync::api::TimeResponse {
        let nonce = path_and_query
            .split_once("?nonce=")
            .and_then(|(_, n)| crate::sync::signed_time::parse_nonce(n));
        crate::sync::api::TimeResponse {
            server_time_ms: now,
            proof: nonce.map(|n| sign_time(self.key(self.time_key), self.time_key, &n, now)),
        }
    }

    /// A whole in-process exchange with `w`: the answer, the wallet's side of the key and
    /// the time nonce the wallet handed out for it.
    pub fn exchange(&self, w: &Wallet) -> (SyncResponse, TransportKey, [u8; 32]) {
        let eph = Ephemeral::generate().unwrap();
        let wallet_pub = eph.public_key();
        let nonce = w.new_time_nonce().unwrap();
        let r = self.respond(&wallet_pub, &nonce);
        let mut server_pub = [0u8; 32];
        hex::decode_to_slice(&r.server_ephemeral_public_key, &mut server_pub).unwrap();
        let key = eph.agree(&server_pub, &server_pub, &wallet_pub).unwrap();
        (r, key, nonce)
    }
}

/// A whole in-process sync of `w` with `issuer`, applied.
pub fn sync_in_process(w: &Wallet, issuer: &FakeIssuer) -> Result<SyncReport, SyncError> {
    let (r, key, nonce) = issuer.exchange(w);
    w.apply_sync(&r, &key, &nonce)
}

/// `w` synced once with a FAKE issuer of `n` tickets per event ([`FakeIssuer::new`]);
/// the issuer, for the test to change and sync again.
pub fn synced(w: &Wallet, n: u32) -> FakeIssuer {
    let issuer = FakeIssuer::new(w.device_public_key(), n);
    sync_in_process(w, &issuer).unwrap();
    issuer
}

/// [`synced`] again later, by an issuer whose clock reads `w`'s trusted time now (the test
/// moved the clock since the first sync).
pub fn synced_now(w: &Wallet, n: u32) -> FakeIssuer {
    let mut issuer = FakeIssuer::new(w.device_public_key(), n);
    issuer.server_time_ms = w.trusted_time().now_ms;
    sync_in_process(w, &issuer).unwrap();
    issuer
}

pub fn fake_ticket(n: u32, p: &EventPolicy, device: [u8; 32]) -> FakeTicket {
    FakeTicket {
        ticket: Ticket {
            id: ticket_id(n),
            event_id: p.event_id,
            seat: format!("Row {} Seat {}", n / 20 + 1, n % 20 + 1),
            holder_name: Some(format!("Holder {n}")),
            device_public_key: device,
            credential: None,
            revoked: false,
            version: 1,
        },
        seed: format!("seed-of-ticket-{n:08}").into_bytes(),
        event_seed: Some(b"event-seed".to_vec()),
    }
}

mod fixtures;
pub use fixtures::*;

#[cfg(feature = "sync-client")]
mod server;
#[cfg(feature = "sync-client")]
pub use server::*;
