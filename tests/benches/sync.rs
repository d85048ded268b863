//! Sync of 1,000 tickets from a loopback issuer (docs/DESIGN.md §8 budget: ≤ 1 s): the
//! whole round trip — signed request, issuer binding and sealing 1,000 seeds to the ephemeral
//! key, JSON over HTTP, validation, unsealing and resealing under the KEK, one SQLite
//! transaction.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tessera_core::{CodeFormat, MemoryKeyVault, WalletConfig};
use tessera_tests::Env;

fn sync_1000(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let env = rt.block_on(Env::start_real_time());
    let seats: Vec<String> = (0..1000)
        .map(|i| format!("R{} S{}", i / 40, i % 40))
        .collect();
    let seat_refs: Vec<&str> = seats.iter().map(String::as_str).collect();
    let session = rt.block_on(async {
        for (event, format) in [(1, CodeFormat::S1), (2, CodeFormat::T1)] {
            env.event(event, 0, |p| p.format = format).await;
            env.order(event, "bench@example.com", None, None, &seat_refs[..500])
                .await;
        }
        let s = env.session(WalletConfig::new(
            env.dir.path().join("bench.db"),
            Arc::new(MemoryKeyVault::new().unwrap()),
        ));
        env.enroll_and_verify_email(&s, "bench@example.com").await;
        s
    });
    let mut g = c.benchmark_group("sync");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.bench_function("loopback_1000_tickets", |b| {
        b.iter(|| {
            let r = rt.block_on(session.sync()).unwrap();
            assert_eq!(r.tickets, 1000);
        })
    });
    g.finish();
}

criterion_group!(benches, sync_1000);
criterion_main!(benches);
