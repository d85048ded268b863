//! Shared set-up for the wallet tests: a real SQLite file, the in-memory FAKE vault and
//! the FAKE manual clock (the only fakes allowed), an issuer key made with ring.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;

use ring::signature::Ed25519KeyPair;
use tessera_core::code::s1::public_key;
use tessera_core::sync::api::IssuerKey;
use tessera_core::sync::signed_time::sign_time;
use tessera_core::{
    CodeFormat, EventId, EventPolicy, ManualClock, MemoryKeyVault, Ticket, TicketId, TicketSecrets,
    Wallet, WalletConfig,
};
use zeroize::Zeroizing;

#[path = "../../src/sync/testkit/fixtures.rs"]
mod fixtures;
pub use fixtures::*;

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub vault: Arc<MemoryKeyVault>,
    pub clock: ManualClock,
    pub issuer: Ed25519KeyPair,
}

impl Fixture {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            vault: Arc::new(MemoryKeyVault::new().unwrap()),
            clock: ManualClock::new(NOW_MS),
            issuer: Ed25519KeyPair::from_seed_unchecked(&[42; 32]).unwrap(),
        }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("wallet.db")
    }

    pub fn config(&self) -> WalletConfig {
        let mut c = WalletConfig::new(self.db(), self.vault.clone());
        c.wall_clock = Arc::new(self.clock.clone());
        c.monotonic = Arc::new(self.clock.clone());
        c
    }

    /// Opens the wallet and anchors its time to "the server" (the manual clock's wall),
    /// signed by the fixture's issuer key as the real issuer signs it.
    pub fn wallet(&self) -> Wallet {
        let w = Wallet::open(self.config()).unwrap();
        anchor(&w, &self.issuer, NOW_MS);
        w
    }

    pub fn issuer_public_key(&self) -> [u8; 32] {
        public_key(&self.issuer)
    }

    /// Moves time into the reveal window.
    pub fn open_window(&self) {
        self.clock.advance((OPENS * 1000 - NOW_MS) as u64 + 1000);
    }
}

/// Pins `issuer` (key id 1) if nothing is pinned yet and anchors `w` to `server_ms`,
/// signed over a nonce the wallet handed out: the public path every signed time takes.
pub fn anchor(w: &Wallet, issuer: &Ed25519KeyPair, server_ms: i64) {
    let key = IssuerKey {
        key_id: 1,
        public_key: hex::encode(public_key(issuer)),
    };
    w.pin_issuer_keys(&[key]).unwrap();
    let nonce = w.new_time_nonce().unwrap();
    let proof = sign_time(issuer, 1, &nonce, server_ms);
    w.accept_signed_time(&nonce, server_ms, &proof).unwrap();
}

/// A ticket of `policy` bound to `device_pk`, with an S1 credential when the event needs one.
pub fn ticket(
    n: u32,
    policy: &EventPolicy,
    device_pk: [u8; 32],
    issuer: &Ed25519KeyPair,
) -> (Ticket, TicketSecrets) {
    let mut t = Ticket {
        id: ticket_id(n),
        event_id: policy.event_id,
        seat: format!("Row {} Seat {}", n / 20 + 1, n % 20 + 1),
        holder_name: None,
        device_public_key: device_pk,
        credential: None,
        revoked: false,
        version: 1,
    };
    if policy.format == CodeFormat::S1 {
        t.credential = Some(t.credential_for(policy, 1).sign(issuer).unwrap());
    }
    let secrets = TicketSecrets {
        ticket_seed: Zeroizing::new(format!("seed-of-ticket-{n:08}").into_bytes()),
        event_seed: Some(Zeroizing::new(b"event-seed".to_vec())),
    };
    (t, secrets)
}
