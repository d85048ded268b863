//! The issuer's abuse limits as a real wallet sees them (issue 10, item 2): many phones of
//! one account asking for SMS codes and guessing them, and many phones enrolling from one
//! address, get `SyncError::RateLimited` with the issuer's `Retry-After`; a wrong code is
//! `WrongCode`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use tessera_core::sync::error::SyncError;
use tessera_core::sync::session::WalletSync;
use tessera_core::{MemoryKeyVault, Verification};
use tessera_tests::{Env, six_digits};

fn wallet(env: &Env, name: &str) -> WalletSync {
    env.session(env.wallet_config(name, Arc::new(MemoryKeyVault::new().unwrap())))
}

fn wrong(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

#[tokio::test]
async fn phones_of_one_account_get_rate_limited_with_a_retry_after() {
    let env = Env::start().await;
    let (email, phone) = ("wes@example.org", "+15550300");
    env.event(1, 0, |p| p.requires = vec![Verification::Phone])
        .await;
    env.order(1, email, Some(phone), None, &["A1"]).await;
    let mut wallets = Vec::new();
    for i in 0..4 {
        let w = wallet(&env, &format!("w{i}"));
        env.enroll_and_verify_email(&w, email).await;
        wallets.push(w);
    }
    let mut codes = Vec::new();
    for w in &wallets[..3] {
        w.request_phone(phone).await.unwrap();
        codes.push(six_digits(&env.last_message(phone).await.body));
    }
    // A fourth phone of the account: three codes went to the number in 10 minutes.
    assert_eq!(
        wallets[3].request_phone(phone).await,
        Err(SyncError::RateLimited {
            retry_after_secs: Some(601)
        })
    );
    // Ten wrong codes over three phones, then every try is refused, the right code too.
    let mut wrong_codes = 0;
    for (w, code) in wallets.iter().zip(&codes).cycle().take(12) {
        match w.confirm_phone(&wrong(code)).await {
            Err(SyncError::WrongCode) => wrong_codes += 1,
            Err(SyncError::RateLimited { retry_after_secs }) => {
                assert_eq!(retry_after_secs, Some(3601));
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(wrong_codes, 10);
    assert_eq!(
        wallets[0].confirm_phone(&codes[0]).await,
        Err(SyncError::RateLimited {
            retry_after_secs: Some(3601)
        })
    );
}

#[tokio::test]
async fn a_wallet_enrolling_from_a_busy_address_gets_rate_limited() {
    let env = Env::start().await;
    // The default limit: 20 new devices per source address per minute; all of these come
    // from 127.0.0.1.
    for i in 0..20 {
        wallet(&env, &format!("e{i}")).enroll("test").await.unwrap();
    }
    let late = wallet(&env, "late");
    assert_eq!(
        late.enroll("test").await.map(|_| ()),
        Err(SyncError::RateLimited {
            retry_after_secs: Some(61)
        })
    );
    env.clock.advance(60_000);
    late.enroll("test").await.unwrap();
}
