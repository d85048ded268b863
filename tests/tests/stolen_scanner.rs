//! A stolen or hacked scanner: what a gate holds is the bundle the issuer serves it. An S1
//! bundle fetched from a real issuer, after real wallets enrolled, verified, synced (so
//! the issuer bound tickets and signed credentials), one ticket was revoked and one phone
//! replaced (ended credentials), holds no secret the issuer or a wallet has: no ticket or
//! event seed, no release secret but its own event's, no signing key or its expansion, no
//! bearer token, link token, SMS code key, KEK or device key — in any encoding
//! (`tessera_tests::leak`). Positive controls: the secrets a bundle does hold by design
//! (a strict event's release secret, a T1 event's seeds) are found by the same search.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;

use tessera_core::sync::api::OutboxMessage;
use tessera_core::sync::session::WalletSync;
use tessera_core::{CodeFormat, EventId};
use tessera_tests::leak::{find, issuer_secrets, wallet_secrets};
use tessera_tests::{Env, FileKeyVault, param};

struct Phone {
    session: WalletSync,
    db: PathBuf,
    vault: PathBuf,
}

fn phone(env: &Env, name: &str) -> Phone {
    let vault = env.dir.path().join(format!("{name}.vault"));
    let session = env.session(env.wallet_config(name, Arc::new(FileKeyVault::new(&vault))));
    Phone {
        session,
        db: env.dir.path().join(format!("{name}.db")),
        vault,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_fetched_from_the_issuer_holds_no_seed_or_private_key() {
    let env = Env::start().await;
    // 70: S1, nothing secret at the gate. 71: S1 strict JIT, its own release secret at
    // the gate. 72: T1, its own seeds at the gate.
    env.event(70, 0, |p| {
        p.format = CodeFormat::S1;
        p.personalised = true;
    })
    .await;
    env.event(71, 0, |p| {
        p.format = CodeFormat::S1;
        p.strict_jit = true;
    })
    .await;
    env.event(72, 0, |p| p.format = CodeFormat::T1).await;
    let people = [
        ("ann@example.com", "+33611111111", "Ann Leak"),
        ("ben@example.com", "+33622222222", "Ben Leak"),
    ];
    let mut revoke = None;
    for (email, tel, name) in people {
        for event in [70, 71, 72] {
            let ids = env
                .order(event, email, Some(tel), Some(name), &["A-1", "A-2"])
                .await;
            revoke.get_or_insert(ids[0]);
        }
    }
    let ann = phone(&env, "ann");
    let ben = phone(&env, "ben");
    let ben_new = phone(&env, "ben-new");
    for (p, (email, tel, _)) in [(&ann, people[0]), (&ben, people[1])] {
        env.enroll_and_verify_email(&p.session, email).await;
        assert_eq!(p.session.sync().await.unwrap().tickets, 6);
        p.session.request_phone(tel).await.unwrap(); // an SMS code MAC at the issuer
    }
    // Ben's new phone takes his tickets: his old credentials end (digests in the bundle).
    env.enroll_and_verify_email(&ben_new.session, people[1].0)
        .await;
    ben_new.session.rebind().await.unwrap();
    assert_eq!(ben_new.session.sync().await.unwrap().tickets, 6);
    let admin = env.issuer.admin_token();
    let _: serde_json::Value = env
        .admin_post(
            &format!("/v1/admin/tickets/{}/revoke", revoke.unwrap()),
            &admin,
            &serde_json::json!({}),
        )
        .await;

    // Everything secret there is, on both sides.
    let gate_token = env.mint_gate(70, "g70").await;
    let box_office_token = env
        .mint_with(&tessera_core::sync::api::TokenRequest::box_office(None))
        .await;
    let mut secrets = issuer_secrets(&env);
    for p in [&ann, &ben, &ben_new] {
        secrets.extend(wallet_secrets(&p.db, &p.vault));
    }
    secrets.add("gate bearer token", gate_token.as_bytes());
    secrets.add("box office bearer token", box_office_token.as_bytes());
    let outbox: Vec<OutboxMessage> =
        serde_json::from_str(&env.admin_get("/v1/dev/outbox", &admin).await).unwrap();
    for m in outbox.iter().filter(|m| m.body.contains("token=")) {
        secrets.add(
            format!("email link token to {}", m.to),
            param(&m.body, "token").as_bytes(),
        );
    }
    let names = secrets.names();
    for kind in [
        "issuer signing seed",
        "issuer meta admin_token",
        "issuer meta code_mac_key",
        "event seed",
        "release secret",
        "ticket seed",
        "SMS code MAC",
        "wallet KEK",
        "device signing seed",
        "email link token",
    ] {
        assert!(
            names.iter().any(|n| n.starts_with(kind)),
            "no {kind} to look for in {names:?}"
        );
    }
    assert_eq!(
        names
            .iter()
            .filter(|n| n.starts_with("ticket seed"))
            .count(),
        12
    );

    // Each event's bundle as that event's gate receives it.
    let bundle = async |event: u64| {
        let token = env.mint_gate(event, &format!("g{event}")).await;
        env.admin_get(&format!("/v1/gate/events/{event}/bundle"), &token)
            .await
    };

    // S1: nothing secret at all.
    let s1 = bundle(70).await;
    let b = env.open_bundle(&s1);
    assert!(!b.holds_private_material());
    assert_eq!(b.holder_names.len(), 4);
    assert_eq!(b.revoked.len(), 1);
    assert_eq!(
        b.revoked_credentials.len(),
        2,
        "Ben's two ended credentials"
    );
    secrets.assert_none_in(&s1, "the S1 bundle of event 70");

    // S1 strict JIT: its release secret, found by the same search, and nothing else.
    let strict = bundle(71).await;
    let b = env.open_bundle(&strict);
    assert!(b.t1.is_none());
    assert_eq!(b.release_secrets.len(), 1);
    assert_eq!(
        b.release_secrets[&EventId(71)].expose(),
        secrets.get("release secret 71")
    );
    let own = secrets.get("release secret 71");
    assert!(find(&strict, own).is_some());
    secrets
        .except("release secret 71")
        .assert_none_in(&strict, "the S1 strict bundle of event 71");

    // T1 (a gate trusted with seeds): its own seeds, found; no one else's secret.
    let t1 = bundle(72).await;
    let b = env.open_bundle(&t1);
    let seeds = &b.t1.as_ref().unwrap().ticket_seeds;
    assert_eq!(seeds.len(), 4);
    let mut others = secrets.except("event seed 72");
    for id in seeds.keys() {
        let name = format!("ticket seed {}", hex::encode_upper(id.0));
        assert!(find(&t1, secrets.get(&name)).is_some());
        others = others.except(&name);
    }
    assert!(find(&t1, secrets.get("event seed 72")).is_some());
    others.assert_none_in(&t1, "the T1 bundle of event 72");
}
