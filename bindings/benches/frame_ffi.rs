//! `frame()` through the bindings crate's Rust API beside core's own `Wallet::frame`, on
//! one wallet synced from a real issuer on loopback: the Rust side of the comparison
//! with Python (bindings/python/bench/frame_timing.py runs the same steps). Results in
//! docs/PERFORMANCE.md, section "Bindings".
//!
//! Two regimes, per format (T1, S1), each call timed alone, p50/p90 printed (core and
//! the bindings' API interleaved):
//! - `cached`: the same step again: the frame was drawn by an earlier call, so the call
//!   is a SQLite read of the ticket, the reveal decision and a memory lookup. This is
//!   what an app pays at a step boundary when the frame was prepared ahead.
//! - `drawn`: every call draws (unseal + code + QR matrix): the wallet is locked and
//!   unlocked, untimed, before each call, which drops the drawn frames.
//!
//! Run: `cargo bench -p tessera-ffi --bench frame_ffi`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tessera_core::{CodeFormat, TicketId};
use tessera_ffi::Wallet;
use tessera_tests::{Env, param};

const TICKETS: usize = 200;
const CACHED_CALLS: usize = 5_000;
const DRAWN_ROUNDS: usize = 10;

fn p(calls: &mut [Duration], q: usize) -> Duration {
    calls.sort_unstable();
    calls[(calls.len() - 1) * q / 100]
}

fn report(what: &str, calls: &mut [Duration]) {
    let (p50, p90) = (p(calls, 50), p(calls, 90));
    println!(
        "{what}: {} calls, p50 {:.1} µs, p90 {:.1} µs",
        calls.len(),
        p50.as_secs_f64() * 1e6,
        p90.as_secs_f64() * 1e6
    );
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let env = rt.block_on(Env::start_real_time());
    let dir = tempfile::tempdir().unwrap();
    let wallet = Wallet::open(
        dir.path().join("bench.db").to_string_lossy().into_owned(),
        env.issuer.url(),
        tessera_ffi::foreign::memory_key_vault().unwrap(),
        None,
        None,
        None,
    )
    .unwrap();
    let seats: Vec<String> = (0..TICKETS).map(|i| format!("Seat {i}")).collect();
    let seats: Vec<&str> = seats.iter().map(String::as_str).collect();
    let mut by_format = Vec::new();
    rt.block_on(async {
        for (event, format) in [(1u64, CodeFormat::T1), (2, CodeFormat::S1)] {
            env.event(event, -60, |p| p.format = format).await;
            let ids = env
                .order(event, "bench@example.com", None, None, &seats)
                .await;
            by_format.push((format, ids));
        }
        wallet.enroll("bench".into()).await.unwrap();
        wallet
            .request_email("bench@example.com".into())
            .await
            .unwrap();
        let body = env.last_message("bench@example.com").await.body;
        wallet.confirm_email(param(&body, "token")).await.unwrap();
        let report = wallet.sync().await.unwrap();
        assert_eq!(report.tickets as usize, 2 * TICKETS);
    });

    for (format, ids) in &by_format {
        let name = format!("{format:?}").to_lowercase();
        let texts: Vec<String> = ids.iter().map(TicketId::to_string).collect();
        let core = Arc::clone(wallet.core());
        // Core and the bindings' API alternate call by call, so both see the same
        // machine state (caches, frequency, the issuer idle in the background).
        let (mut core_calls, mut ffi_calls) = (Vec::new(), Vec::new());
        core.frame(&ids[0]).unwrap();
        for _ in 0..CACHED_CALLS {
            let start = Instant::now();
            black_box(core.frame(black_box(&ids[0])).unwrap());
            core_calls.push(start.elapsed());
            let start = Instant::now();
            black_box(wallet.frame(black_box(texts[0].clone())).unwrap());
            ffi_calls.push(start.elapsed());
        }
        report(
            &format!("core Wallet::frame, {name}, cached"),
            &mut core_calls,
        );
        report(
            &format!("tessera_ffi Wallet::frame, {name}, cached"),
            &mut ffi_calls,
        );

        let (mut core_calls, mut ffi_calls) = (Vec::new(), Vec::new());
        for round in 0..DRAWN_ROUNDS {
            for (id, text) in ids.iter().zip(&texts) {
                for through_ffi in [round % 2 == 0, round % 2 == 1] {
                    wallet.lock();
                    wallet.unlock().unwrap();
                    let start = Instant::now();
                    if through_ffi {
                        black_box(wallet.frame(black_box(text.clone())).unwrap());
                        ffi_calls.push(start.elapsed());
                    } else {
                        black_box(core.frame(black_box(id)).unwrap());
                        core_calls.push(start.elapsed());
                    }
                }
            }
        }
        report(
            &format!("core Wallet::frame, {name}, drawn"),
            &mut core_calls,
        );
        report(
            &format!("tessera_ffi Wallet::frame, {name}, drawn"),
            &mut ffi_calls,
        );
    }
}
