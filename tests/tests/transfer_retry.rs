//! A transfer whose answer was lost, asked again by the wallet: the wallet's client sends
//! an `Idempotency-Key` derived from the transfer itself, so the real issuer answers the
//! retry with the first transfer (one transfer, one email) instead of refusing a ticket
//! the device no longer holds.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use tessera_core::sync::api::{AuditEntry, OutboxMessage};
use tessera_core::sync::client::{ClientOptions, IssuerClient};
use tessera_core::sync::session::WalletSync;
use tessera_core::{CodeFormat, MemoryKeyVault, Wallet};
use tessera_tests::Env;

#[tokio::test]
async fn a_transfer_asked_again_gets_the_first_transfer() {
    let env = Env::start().await;
    env.event(7, 0, |p| {
        p.format = CodeFormat::S1;
        p.transferable = true;
    })
    .await;
    let id = env.order(7, "ann@example.org", None, None, &["T1"]).await[0];
    let wallet = Arc::new(
        Wallet::open(env.wallet_config("ann", Arc::new(MemoryKeyVault::new().unwrap()))).unwrap(),
    );
    let client = IssuerClient::new(&env.issuer.url(), ClientOptions::default()).unwrap();
    let session = WalletSync::new(wallet.clone(), client.clone());
    env.enroll_and_verify_email(&session, "ann@example.org")
        .await;
    assert_eq!(session.sync().await.unwrap().tickets, 1);

    // The first answer is lost on the way (the app only sees a network error), so the
    // app asks again: the client call, twice, before the wallet marks the ticket moved.
    let first = client
        .transfer(&wallet, &id, "kim@example.org")
        .await
        .unwrap();
    let again = client
        .transfer(&wallet, &id, "kim@example.org")
        .await
        .unwrap();
    assert_eq!(first, again);

    let token = env.issuer.admin_token();
    let audit: Vec<AuditEntry> =
        serde_json::from_str(&env.admin_get("/v1/admin/audit", &token).await).unwrap();
    let transfers = audit
        .iter()
        .filter(|a| a.action == "ticket.transfer")
        .count();
    assert_eq!(transfers, 1);
    let outbox: Vec<OutboxMessage> =
        serde_json::from_str(&env.admin_get("/v1/dev/outbox", &token).await).unwrap();
    let mails = outbox.iter().filter(|m| m.to == "kim@example.org").count();
    assert_eq!(mails, 1);
}
