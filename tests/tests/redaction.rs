//! Secrets in logs: every type that holds a secret either prints redacted or has no
//! `Debug` at all. Each `Debug` output (`{:?}` and `{:#?}`) is searched for every secret
//! the issuer and the wallet hold, in every encoding (`tessera_tests::leak`: hex, decimal
//! and hex byte lists, base32, base64, raw), with the secrets taken from a real sync: a
//! T1 strict just-in-time ticket with its ticket seed, event seed and release secret.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Debug;
use std::sync::Arc;

use tessera_core::seal::Kek;
use tessera_core::store::RowKey;
use tessera_core::sync::client::{ClientOptions, IssuerClient};
use tessera_core::{CodeFormat, EventId, TicketSecrets, Wallet};
use tessera_gate::{ScanLog, Verifier};
use tessera_tests::leak::{Secrets, issuer_secrets, wallet_secrets};
use tessera_tests::{Env, FileKeyVault, unseal};
use zeroize::Zeroizing;

/// Compiles only while `$t` has no `Debug` (with one, the probe's call is ambiguous).
macro_rules! assert_no_debug {
    ($t:ty) => {{
        trait AmbiguousIfDebug<A> {
            fn probe() {}
        }
        impl<T: ?Sized> AmbiguousIfDebug<()> for T {}
        struct IsDebug;
        impl<T: ?Sized + Debug> AmbiguousIfDebug<IsDebug> for T {}
        let _ = <$t as AmbiguousIfDebug<_>>::probe;
    }};
}

/// Both `Debug` forms of `value` hold no secret; returns the compact one.
fn check(secrets: &Secrets, what: &str, value: &dyn Debug) -> String {
    let plain = format!("{value:?}");
    secrets.assert_none_in(&plain, &format!("{what} {{:?}} = {plain}"));
    let pretty = format!("{value:#?}");
    secrets.assert_none_in(&pretty, &format!("{what} {{:#?}} = {pretty}"));
    plain
}

#[test]
fn holders_of_secrets_without_debug_stay_without() {
    assert_no_debug!(Wallet);
    assert_no_debug!(tessera_core::MemoryKeyVault);
    assert_no_debug!(tessera_core::sync::transport::Ephemeral);
    assert_no_debug!(FileKeyVault);
    assert_no_debug!(tessera_tests::KeystoreDirVault);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_secret_holder_prints_redacted_in_every_encoding() {
    let env = Env::start().await;
    env.event(80, 0, |p| {
        p.format = CodeFormat::T1;
        p.strict_jit = true;
        p.personalised = true;
    })
    .await;
    let id = env
        .order(80, "dora@example.com", None, Some("Dora Debug"), &["D-4"])
        .await[0];
    let vault = env.dir.path().join("dora.vault");
    let s = env.session(env.wallet_config("dora", Arc::new(FileKeyVault::new(&vault))));
    env.enroll_and_verify_email(&s, "dora@example.com").await;

    // A sync by hand, to hold its outcome (the transport key and the sealed secrets).
    let client = IssuerClient::new(&env.issuer.url(), ClientOptions::default()).unwrap();
    let outcome = client.sync(s.wallet()).await.unwrap();
    let t = &outcome.response.tickets[0];
    let open = |column: &str, row: &[u8], version: u32, sealed: &str| {
        unseal(&outcome.key, column, row, version, sealed)
    };
    let ticket_seed = open("ticket_seed", &id.0, t.version, &t.sealed_ticket_seed);
    let event_seed = open(
        "event_seed",
        &id.0,
        t.version,
        t.sealed_event_seed.as_ref().unwrap(),
    );
    let r = &outcome.response.releases[0];
    let release = open("release_secret", &80u64.to_be_bytes(), r.version, &r.sealed);
    s.wallet()
        .apply_sync(&outcome.response, &outcome.key, &outcome.time_nonce)
        .unwrap();

    let mut secrets = issuer_secrets(&env);
    secrets.extend(wallet_secrets(&env.dir.path().join("dora.db"), &vault));
    for (name, got) in [
        ("ticket seed", &ticket_seed[..]),
        ("event seed", &event_seed[..]),
        ("release secret", &release[..]),
    ] {
        assert!(
            secrets
                .names()
                .iter()
                .any(|n| n.starts_with(name) && secrets.get(n) == got),
            "the sync brought the {name} the issuer keeps"
        );
    }
    let password = "Sup3rSecretPassw0rd";
    let query_token = "0123456789abcdef0123456789abcdef";
    secrets.add("URL password", password.as_bytes());
    secrets.add("URL query token", query_token.as_bytes());

    // core
    let mut raw = std::fs::read(&vault).unwrap();
    let kek = Kek::from_bytes(&mut raw).unwrap();
    assert_eq!(check(&secrets, "Kek", &kek), "Kek(..)");
    // The row key looked for is the wallet's: it makes the same tag.
    let row_key = RowKey::derive(&kek);
    let message = b"tessera/v1/row\0t\0\0";
    let expected = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secrets.get("wallet row key")),
        message,
    );
    assert_eq!(row_key.tag("t", &[]), expected.as_ref());
    assert_eq!(check(&secrets, "RowKey", &row_key), "RowKey(..)");
    let ts = TicketSecrets {
        ticket_seed: Zeroizing::new(ticket_seed.to_vec()),
        event_seed: Some(Zeroizing::new(event_seed.to_vec())),
    };
    assert_eq!(check(&secrets, "TicketSecrets", &ts), "TicketSecrets(..)");
    assert_eq!(
        check(&secrets, "TransportKey", &outcome.key),
        "TransportKey(..)"
    );
    check(&secrets, "SyncOutcome", &outcome);
    check(&secrets, "WalletSync", &s);
    // Credentials or a query in the base URL are refused, without echoing them.
    for url in [
        format!("http://user:{password}@127.0.0.1:9/"),
        format!("http://127.0.0.1:9/base?token={query_token}"),
    ] {
        let refused = IssuerClient::new(&url, ClientOptions::default()).unwrap_err();
        check(&secrets, "the error for a URL with a secret", &refused);
        secrets.assert_none_in(&refused.to_string(), "the error's text");
    }
    check(&secrets, "IssuerClient", &client);

    // gate: a T1 strict bundle holds every kind of gate secret.
    let token = env.mint_gate(80, "g").await;
    let json = env.admin_get("/v1/gate/events/80/bundle", &token).await;
    let bundle = env.open_bundle(&json);
    let t1 = bundle.t1.as_ref().unwrap();
    assert_eq!(t1.ticket_seeds[&id].expose(), &ticket_seed[..]);
    for secret in [
        &t1.ticket_seeds[&id],
        t1.event_seed.as_ref().unwrap(),
        &bundle.release_secrets[&EventId(80)],
    ] {
        assert_eq!(check(&secrets, "Secret", secret), "Secret(<redacted>)");
    }
    check(&secrets, "T1Secrets", t1);
    check(&secrets, "GateBundle", &bundle);
    let verifier = Verifier::new(bundle, "north", ScanLog::open_in_memory().unwrap()).unwrap();
    check(&secrets, "Verifier", &verifier);

    // issuer
    check(&secrets, "RunningIssuer", &env.issuer);
}
