//! Issue 10 item 3, end to end: a real issuer and real wallets. A phone that proved the
//! account's address but not the order's phone number re-binds the account: it lists the
//! tickets as needing verification, and holds no credential or seed of them (before the
//! fix the issuer sent them and the phone stored them), until it proves the number and
//! syncs again.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use tessera_core::sync::error::SyncError;
use tessera_core::{CodeFormat, MemoryKeyVault, RevealState, TicketId, Verification, WalletError};
use tessera_tests::{Env, six_digits};

const PHONE: &str = "+4798765432";

fn state(s: &tessera_core::sync::session::WalletSync, id: &TicketId) -> RevealState {
    s.ticket(id).unwrap().state
}

#[tokio::test]
async fn an_email_only_phone_gets_the_tickets_without_secrets_and_shows_needs_verification() {
    let env = Env::start().await;
    let both = vec![Verification::Email, Verification::Phone];
    env.event(21, -60, |p| {
        p.format = CodeFormat::S1;
        p.requires = both.clone();
    })
    .await;
    env.event(22, -60, |p| {
        p.strict_jit = true;
        p.requires = both.clone();
    })
    .await;
    let s1 = env
        .order(21, "eve@example.org", Some(PHONE), None, &["S1"])
        .await[0];
    let t1 = env
        .order(22, "eve@example.org", Some(PHONE), None, &["T1"])
        .await[0];

    // The owner's phone proves both and shows codes.
    let owner = env.session(env.wallet_config("owner", Arc::new(MemoryKeyVault::new().unwrap())));
    env.enroll_and_verify_email(&owner, "eve@example.org").await;
    owner.request_phone(PHONE).await.unwrap();
    owner
        .confirm_phone(&six_digits(&env.last_message(PHONE).await.body))
        .await
        .unwrap();
    owner.sync().await.unwrap();
    owner.frame(&s1).unwrap();
    owner.frame(&t1).unwrap();

    // Another phone proves the address only and re-binds the account.
    let other = env.session(env.wallet_config("other", Arc::new(MemoryKeyVault::new().unwrap())));
    env.enroll_and_verify_email(&other, "eve@example.org").await;
    other.rebind().await.unwrap();
    let report = other.sync().await.unwrap();
    assert_eq!(report.tickets, 2);
    assert_eq!(report.releases, 0);
    assert_eq!(report.verified, vec![Verification::Email]);
    let missing = RevealState::NeedsVerification {
        missing: vec![Verification::Phone],
    };
    for id in [&s1, &t1] {
        assert_eq!(state(&other, id), missing);
        assert!(matches!(
            other.frame(id),
            Err(SyncError::Wallet(WalletError::NeedsVerification { .. }))
        ));
    }
    assert!(
        other.ticket(&s1).unwrap().ticket.credential.is_none(),
        "the S1 credential reached a phone without the required verifications"
    );

    // Proven on this phone too: the next sync brings the secrets, and codes follow.
    other.request_phone(PHONE).await.unwrap();
    other
        .confirm_phone(&six_digits(&env.last_message(PHONE).await.body))
        .await
        .unwrap();
    for id in [&s1, &t1] {
        assert_eq!(state(&other, id), RevealState::NeedsSync);
        assert!(matches!(
            other.frame(id),
            Err(SyncError::Wallet(WalletError::NeedsSync))
        ));
    }
    let report = other.sync().await.unwrap();
    assert_eq!(report.releases, 1);
    for id in [&s1, &t1] {
        assert!(matches!(state(&other, id), RevealState::Ready { .. }));
        other.frame(id).unwrap();
    }
    assert!(other.ticket(&s1).unwrap().ticket.credential.is_some());
}
