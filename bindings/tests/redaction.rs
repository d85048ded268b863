//! Secrets in logs, the exported objects: a `Wallet` holding its KEK, device key and a
//! ticket's seeds, and a `GateVerifier` holding a T1 bundle's seeds and a release secret,
//! print none of them in `Debug` (`{:?}` and `{:#?}`) in any encoding
//! (`tessera_tests::leak`: hex, byte lists, base32, base64, raw).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Arc;

use tessera_core::{EventId, EventPolicy, Ticket, TicketId, TicketSecrets, TotpAlgorithm};
use tessera_ffi::{GateVerifier, KeyVault, VaultError, Wallet};
use tessera_gate::{GateBundle, Secret, T1Secrets};
use tessera_tests::leak::{Secrets, wallet_secrets};
use zeroize::Zeroizing;

/// FAKE vault written in "the app's language": keeps the KEK in a plain file, so the test
/// can read the secret it must not find.
struct FileVault(PathBuf);

impl KeyVault for FileVault {
    fn wrap(&self, _wallet_id: String, kek: Vec<u8>) -> Result<Vec<u8>, VaultError> {
        std::fs::write(&self.0, kek).unwrap();
        Ok(b"file".to_vec())
    }
    fn unwrap(&self, _wallet_id: String, _wrapped: Vec<u8>) -> Result<Vec<u8>, VaultError> {
        Ok(std::fs::read(&self.0).unwrap())
    }
    fn delete(&self, _wallet_id: String) -> Result<(), VaultError> {
        Ok(())
    }
}

fn check(secrets: &Secrets, what: &str, value: &dyn Debug) {
    for text in [format!("{value:?}"), format!("{value:#?}")] {
        secrets.assert_none_in(&text, &format!("{what} Debug {text}"));
    }
}

fn random(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b).unwrap();
    b
}

#[test]
fn exported_objects_print_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let vault = dir.path().join("w.vault");
    let w = Wallet::open(
        db.to_string_lossy().into_owned(),
        "http://127.0.0.1:9".into(),
        Arc::new(FileVault(vault.clone())),
        None,
        None,
        None,
    )
    .unwrap();
    let (ticket_seed, event_seed, release) = (random(32), random(32), random(32));
    let id = TicketId::random().unwrap();
    let ticket = Ticket {
        id,
        event_id: EventId(7),
        seat: "A-1".into(),
        holder_name: None,
        device_public_key: w.core().device_public_key(),
        credential: None,
        revoked: false,
        version: 1,
    };
    let policy = EventPolicy::new(EventId(7), "Concert", 1_800_000_000, 1_800_003_600);
    let secrets = TicketSecrets {
        ticket_seed: Zeroizing::new(ticket_seed.clone()),
        event_seed: Some(Zeroizing::new(event_seed.clone())),
    };
    w.core()
        .install(&[policy], vec![(ticket, secrets)])
        .unwrap();

    let mut secrets = wallet_secrets(&db, &vault);
    assert_eq!(
        secrets.get(&format!("wallet ticket_seed {}", hex::encode_upper(id.0))),
        &ticket_seed[..],
        "the wallet holds the seed looked for"
    );
    secrets.add("release secret", &release);
    check(&secrets, "Wallet", &w);

    let issuer = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[43; 32]).unwrap();
    let issuer_pk: [u8; 32] = ring::signature::KeyPair::public_key(&issuer)
        .as_ref()
        .try_into()
        .unwrap();
    let mut bundle = GateBundle::new_s1(EventId(7), 15, 1_800_000_000, 1_800_003_600);
    bundle
        .issuer_keys
        .insert(1, tessera_gate::PublicKey(issuer_pk));
    bundle
        .release_secrets
        .insert(EventId(7), Secret::new(release.clone()));
    bundle.t1 = Some(T1Secrets {
        algorithm: TotpAlgorithm::Sha1,
        digits: 8,
        event_seed: Some(Secret::new(event_seed.clone())),
        ticket_seeds: BTreeMap::from([(id, Secret::new(ticket_seed.clone()))]),
    });
    let json = tessera_gate::signed_bundle::sign(&bundle, 1, &issuer).unwrap();
    assert!(tessera_tests::leak::find(&json, &ticket_seed).is_some());
    let gate = GateVerifier::new(
        json,
        "north-1".into(),
        dir.path().join("g.db").to_string_lossy().into_owned(),
    )
    .unwrap();
    check(&secrets, "GateVerifier", &gate);
}
