//! A gate whose bundle predates a transfer or a rebind (issue 10 item 5), with real
//! wallets, a real issuer and the real gate: the stale bundle would admit the seller's (or
//! the lost phone's) code, which is why every verdict reports
//! the bundle's age and warns once it is old; the update fetched with `?since=` refuses the
//! old code and admits the new one. T1 learns a new seed, S1 a revoked credential, C1 (the
//! compact code, whose credential the gate looks up) a revoked credential and the new one:
//! before that, the new phone's compact code is `UnknownTicket` and its full code admits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use tessera_core::{CodeFormat, MemoryKeyVault, WallClock};
use tessera_gate::{
    Anomaly, DEFAULT_MAX_BUNDLE_AGE_MS, RejectReason, ScanLog, Verdict, Verifier, VerifierConfig,
};
use tessera_tests::Env;

fn rejected(v: &Verdict) -> Option<RejectReason> {
    v.reason()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refreshed_gate_refuses_the_old_phone_and_admits_the_new_holder() {
    let env = Env::start().await;
    for (event, format) in [
        (90u64, CodeFormat::T1),
        (91, CodeFormat::S1),
        (92, CodeFormat::C1),
    ] {
        env.event(event, -60, |p| {
            p.format = format;
            p.transferable = true;
        })
        .await;
        let seller_email = format!("sel{event}@example.org");
        let id = env.order(event, &seller_email, None, None, &["S-1"]).await[0];
        let seller = env.session(env.wallet_config(
            &format!("seller{event}"),
            Arc::new(MemoryKeyVault::new().unwrap()),
        ));
        env.enroll_and_verify_email(&seller, &seller_email).await;
        seller.sync().await.unwrap();

        // The gate is set up before the ticket changes hands.
        let token = env.mint_gate(event, &format!("north-{event}")).await;
        let path = format!("/v1/gate/events/{event}/bundle");
        let doc = env.admin_get(&path, &token).await;
        let mut gate = Verifier::open_signed(
            &doc,
            Some(&env.gate_pins()),
            "north",
            ScanLog::open_in_memory().unwrap(),
            VerifierConfig::default(),
        )
        .unwrap();
        let old_code = seller.frame(&id).unwrap().payload;

        // T1: sold on by transfer. S1: the account moved to a new phone (the old one kept).
        let holder = env.session(env.wallet_config(
            &format!("holder{event}"),
            Arc::new(MemoryKeyVault::new().unwrap()),
        ));
        match format {
            CodeFormat::T1 => {
                let buyer_email = format!("buy{event}@example.org");
                let t = seller.transfer(&id, &buyer_email).await.unwrap();
                env.enroll_and_verify_email(&holder, &buyer_email).await;
                holder.accept_transfer(&t.transfer_id).await.unwrap();
            }
            CodeFormat::S1 | CodeFormat::C1 => {
                env.enroll_and_verify_email(&holder, &seller_email).await;
                holder.rebind().await.unwrap();
            }
        }
        holder.sync().await.unwrap();
        let new_code = holder.frame(&id).unwrap().payload;
        let now = env.clock.now_unix_ms();

        // The stale bundle passes the old phone. T1 refuses the new holder (new seed); S1
        // admits both (the new credential is genuine too): one ticket, two people in. C1:
        // the new phone's compact code names a credential the bundle lacks; its full code
        // (S1) carries it and is admitted, as S1 is.
        assert!(gate.check(&old_code, now).is_admit(), "{format:?}");
        let stale_new = gate.check(&new_code, now);
        match format {
            CodeFormat::T1 => assert_eq!(rejected(&stale_new), Some(RejectReason::BadSignature)),
            CodeFormat::S1 => assert!(stale_new.is_admit()),
            CodeFormat::C1 => {
                assert!(old_code.starts_with("C1:") && new_code.starts_with("C1:"));
                assert_eq!(rejected(&stale_new), Some(RejectReason::UnknownTicket));
                let full = holder.wallet().full_frame(&id).unwrap().payload;
                assert!(full.starts_with("S1:"), "{full}");
                assert!(gate.check(&full, now).is_admit());
            }
        }

        // The update since the gate's sequence number fixes both.
        let seq = gate.bundle().seq;
        let update = env.admin_get(&format!("{path}?since={seq}"), &token).await;
        gate.refresh_bundle(&update).unwrap();
        assert!(gate.bundle().seq > seq);
        let refused = rejected(&gate.check(&old_code, now));
        match format {
            CodeFormat::T1 => assert_eq!(refused, Some(RejectReason::BadSignature)),
            CodeFormat::S1 | CodeFormat::C1 => assert_eq!(refused, Some(RejectReason::Revoked)),
        }
        let r = gate.verify(&new_code, now);
        assert!(r.verdict.is_admit(), "{format:?}: {:?}", r.verdict);
        assert!(
            (0..1000).contains(&r.bundle_age_ms),
            "the verdict says how old the bundle is: {}",
            r.bundle_age_ms
        );
        assert!(
            !r.anomalies
                .iter()
                .any(|a| matches!(a, Anomaly::BundleStale { .. }))
        );

        // A tampered or replayed-older update is refused and changes nothing.
        let tampered = update.replacen("\\\"seq\\\":", "\\\"seq\\\":1", 1);
        assert!(gate.refresh_bundle(&tampered).is_err());
        let before = gate.bundle().clone();
        let old_doc_refused = gate.refresh_bundle(&doc);
        assert!(
            matches!(
                old_doc_refused,
                Err(tessera_gate::GateError::BundleRolledBack { .. })
            ),
            "{old_doc_refused:?}"
        );
        assert_eq!(gate.bundle(), &before);
    }

    // Past the maximum age every verdict carries the warning.
    let token = env.mint_gate(91, "south").await;
    let doc = env.admin_get("/v1/gate/events/91/bundle", &token).await;
    let mut gate = Verifier::open_signed(
        &doc,
        None,
        "south",
        ScanLog::open_in_memory().unwrap(),
        VerifierConfig::default(),
    )
    .unwrap();
    env.clock
        .advance(u64::try_from(DEFAULT_MAX_BUNDLE_AGE_MS).unwrap() + 1000);
    let r = gate.verify("not a code", env.clock.now_unix_ms());
    assert!(
        r.anomalies
            .iter()
            .any(|a| matches!(a, Anomaly::BundleStale { age_secs } if *age_secs >= 1800)),
        "{:?}",
        r.anomalies
    );
}
