//! Gate benchmarks (docs/DESIGN.md §8): S1 verify beside ring's two raw Ed25519
//! verifications of the same messages, T1 verify, and verdicts per second with a
//! 50,000-ticket bundle.
//!
//! Run: `cargo bench -p tessera-gate -- --warm-up-time 1 --measurement-time 3`.
// Benchmark set-up is test code: a failure there should stop the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ring::signature::{ED25519, Ed25519KeyPair, UnparsedPublicKey};
use tessera_core::code::s1::{CREDENTIAL_DOMAIN, public_key};
use tessera_core::code::t1::T1Params;
use tessera_core::code::{C1Code, Credential, S1Code, T1Code, step_at};
use tessera_core::{EventId, TicketId, TotpAlgorithm};
use tessera_gate::{
    CompactCredential, FlushPolicy, GateBundle, PublicKey, ScanLog, Secret, T1Secrets, Verifier,
    VerifierConfig,
};

const EVENT: EventId = EventId(77);
const PERIOD: u8 = 15;
const NOW: i64 = 1_800_000_007_000;
const TICKETS: u32 = 50_000;
const S1_POOL: u32 = 2_000;

fn ticket(n: u32) -> TicketId {
    let mut b = [0x5a; 16];
    b[12..].copy_from_slice(&n.to_be_bytes());
    TicketId(b)
}

fn seed(n: u32) -> Vec<u8> {
    let mut s = b"ticket-seed-0000".to_vec();
    s.extend_from_slice(&n.to_be_bytes());
    s
}

fn step() -> u64 {
    step_at(NOW, PERIOD)
}

/// An S1 bundle as a real event would ship it: 50,000 holder names, 1,000 revocations.
fn s1_bundle(issuer: &Ed25519KeyPair) -> GateBundle {
    let mut b = GateBundle::new_s1(EVENT, PERIOD, 1_799_990_000, 1_800_100_000);
    b.issuer_keys.insert(3, PublicKey(public_key(issuer)));
    for n in 0..TICKETS {
        b.holder_names.insert(ticket(n), format!("Holder {n}"));
    }
    for n in TICKETS..TICKETS + 1_000 {
        b.revoked.insert(ticket(n));
    }
    b
}

fn t1_bundle() -> GateBundle {
    let mut b = GateBundle::new_s1(EVENT, PERIOD, 1_799_990_000, 1_800_100_000);
    b.t1 = Some(T1Secrets {
        algorithm: TotpAlgorithm::Sha1,
        digits: 8,
        event_seed: None,
        ticket_seeds: (0..TICKETS)
            .map(|n| (ticket(n), Secret::new(seed(n))))
            .collect(),
    });
    b
}

fn s1_codes(issuer: &Ed25519KeyPair, device: &Ed25519KeyPair) -> Vec<S1Code> {
    (0..S1_POOL)
        .map(|n| {
            let cred = Credential {
                key_id: 3,
                ticket: ticket(n),
                event: EVENT,
                reveal_opens_at: 1_799_990_000,
                valid_until: 1_800_100_000,
                period_secs: PERIOD,
                strict_jit: false,
                reentry: false,
                personalised: true,
                device_public_key: public_key(device),
                seat: "Block C · Row 4 · Seat 12".into(),
            };
            S1Code::generate(&cred.sign(issuer).unwrap(), device, step(), None)
        })
        .collect()
}

fn t1_codes() -> Vec<String> {
    (0..TICKETS)
        .map(|n| {
            let s = seed(n);
            T1Code::generate(
                &T1Params {
                    algorithm: TotpAlgorithm::Sha1,
                    digits: 8,
                    period_secs: PERIOD,
                    ticket: ticket(n),
                    event: EVENT,
                    ticket_seed: &s,
                    event_seed: None,
                    release_secret: None,
                },
                step(),
            )
            .encode()
        })
        .collect()
}

/// A fresh gate on a real SQLite file (the directory lives as long as the verifier).
fn fresh(bundle: &GateBundle, flush: FlushPolicy) -> (tempfile::TempDir, Verifier) {
    let dir = tempfile::tempdir().unwrap();
    let log = ScanLog::open(dir.path().join("gate.sqlite")).unwrap();
    let cfg = VerifierConfig {
        flush,
        ..VerifierConfig::default()
    };
    let v = Verifier::with_config(bundle.clone(), "bench", log, cfg).unwrap();
    (dir, v)
}

/// Times `verify` over distinct admissible codes, building a new gate (untimed) whenever
/// the pool runs out, so every timed call is a real admission.
fn time_admissions(
    iters: u64,
    bundle: &GateBundle,
    flush: FlushPolicy,
    pool: &[String],
) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0u64;
    while done < iters {
        let (dir, mut v) = fresh(bundle, flush);
        let n = usize::try_from(iters - done)
            .unwrap_or(usize::MAX)
            .min(pool.len());
        let start = Instant::now();
        for code in &pool[..n] {
            black_box(v.verify(black_box(code), NOW));
        }
        v.flush().unwrap();
        total += start.elapsed();
        assert_eq!(v.scan_log().len().unwrap(), n as u64);
        drop(v);
        drop(dir);
        done += n as u64;
    }
    total
}

/// Median over rounds of (time of `subject` on a round of codes) / (time of `raw` on the
/// same codes), the two interleaved so that load from other processes hits both alike.
fn interleaved_ratio(
    rounds: usize,
    per_round: usize,
    mut raw: impl FnMut(usize),
    mut subject: impl FnMut(usize),
) -> (f64, f64, f64) {
    let mut ratios = Vec::with_capacity(rounds);
    let (mut raw_best, mut subject_best) = (f64::MAX, f64::MAX);
    for r in 0..rounds {
        let codes = r * per_round..(r + 1) * per_round;
        let time = |f: &mut dyn FnMut(usize)| {
            let t = Instant::now();
            codes.clone().for_each(&mut *f);
            t.elapsed().as_secs_f64()
        };
        // Alternate which goes first, so neither always runs on a warmer cache.
        let (a, b) = if r % 2 == 0 {
            let a = time(&mut raw);
            (a, time(&mut subject))
        } else {
            let b = time(&mut subject);
            (time(&mut raw), b)
        };
        ratios.push(b / a);
        raw_best = raw_best.min(a / per_round as f64);
        subject_best = subject_best.min(b / per_round as f64);
    }
    ratios.sort_by(f64::total_cmp);
    (ratios[rounds / 2], raw_best * 1e6, subject_best * 1e6)
}

fn report_s1_ratios(bundle: &GateBundle, codes: &[S1Code], payloads: &[String], issuer_pk: &[u8]) {
    let msgs: Vec<(Vec<u8>, Vec<u8>)> = codes
        .iter()
        .map(|c| {
            let mut m = CREDENTIAL_DOMAIN.to_vec();
            m.extend_from_slice(&c.signed.bytes);
            (m, S1Code::device_message(&c.signed.digest(), c.step, None))
        })
        .collect();
    let raw = |i: usize| {
        let c = &codes[i];
        let a =
            UnparsedPublicKey::new(&ED25519, issuer_pk).verify(&msgs[i].0, &c.signed.issuer_sig);
        let d = UnparsedPublicKey::new(&ED25519, &c.signed.credential.device_public_key)
            .verify(&msgs[i].1, &c.device_sig);
        assert!(black_box(a.is_ok() && d.is_ok()));
    };
    let (rounds, per_round) = (39, 50);
    for (name, flush) in [
        ("verify, commit per admission", Some(PER_ADMISSION)),
        ("verify, batched 256", Some(BATCHED)),
        ("check, no record", None),
    ] {
        let (_dir, mut v) = fresh(bundle, flush.unwrap_or(PER_ADMISSION));
        let (ratio, raw_us, subject_us) = interleaved_ratio(rounds, per_round, raw, |i| {
            let ok = match flush {
                Some(_) => v.verify(&payloads[i], NOW).verdict.is_admit(),
                None => v.check(&payloads[i], NOW).is_admit(),
            };
            assert!(black_box(ok));
        });
        println!(
            "s1 ratio, {name}: median {ratio:.3} x two raw Ed25519 verifies \
             (interleaved, {rounds} rounds of {per_round}; best round {subject_us:.1} us vs {raw_us:.1} us)"
        );
    }
}

/// C1: one raw device verification against the gate's C1 check (lookup of the credential
/// in a bundle of every ticket's credential, the device signature, the stateless checks).
fn report_c1_ratios(bundle: &GateBundle, codes: &[S1Code], device: &Ed25519KeyPair) {
    let mut b = bundle.clone();
    b.credentials = codes
        .iter()
        .map(|c| CompactCredential(c.signed.clone()))
        .collect();
    let c1: Vec<C1Code> = codes
        .iter()
        .map(|c| C1Code::generate(&c.signed, device, c.step, None))
        .collect();
    let payloads: Vec<String> = c1.iter().map(C1Code::encode).collect();
    let msgs: Vec<Vec<u8>> = codes
        .iter()
        .map(|c| C1Code::device_message(&c.signed.digest(), c.step, None))
        .collect();
    let raw = |i: usize| {
        let d = UnparsedPublicKey::new(&ED25519, &codes[i].signed.credential.device_public_key)
            .verify(&msgs[i], &c1[i].device_sig);
        assert!(black_box(d.is_ok()));
    };
    let (rounds, per_round) = (39, 50);
    for (name, flush) in [
        ("verify, commit per admission", Some(PER_ADMISSION)),
        ("check, no record", None),
    ] {
        let (_dir, mut v) = fresh(&b, flush.unwrap_or(PER_ADMISSION));
        let (ratio, raw_us, subject_us) = interleaved_ratio(rounds, per_round, raw, |i| {
            let ok = match flush {
                Some(_) => v.verify(&payloads[i], NOW).verdict.is_admit(),
                None => v.check(&payloads[i], NOW).is_admit(),
            };
            assert!(black_box(ok));
        });
        println!(
            "c1 ratio, {name}: median {ratio:.3} x one raw Ed25519 verify \
             (interleaved, {rounds} rounds of {per_round}; best round {subject_us:.1} us vs {raw_us:.1} us; \
             {} credentials in the bundle)",
            b.credentials.len()
        );
    }
}

const PER_ADMISSION: FlushPolicy = FlushPolicy::EveryAdmission { max_pending: 64 };
const BATCHED: FlushPolicy = FlushPolicy::Batched { max_pending: 256 };

fn bench_s1(c: &mut Criterion) {
    let issuer = Ed25519KeyPair::from_seed_unchecked(&[1; 32]).unwrap();
    let device = Ed25519KeyPair::from_seed_unchecked(&[2; 32]).unwrap();
    let bundle = s1_bundle(&issuer);
    let codes = s1_codes(&issuer, &device);
    let payloads: Vec<String> = codes.iter().map(S1Code::encode).collect();
    let first = &codes[0];
    let mut cred_msg = CREDENTIAL_DOMAIN.to_vec();
    cred_msg.extend_from_slice(&first.signed.bytes);
    let step_msg = S1Code::device_message(&first.signed.digest(), first.step, None);
    let issuer_pk = public_key(&issuer);
    let device_pk = public_key(&device);

    let (_dir, probe) = fresh(&bundle, PER_ADMISSION);
    assert!(probe.check(&payloads[0], NOW).is_admit());

    report_s1_ratios(&bundle, &codes, &payloads, &issuer_pk);
    report_c1_ratios(&bundle, &codes, &device);

    let mut g = c.benchmark_group("s1");
    g.bench_function("ring_two_raw_ed25519_verifies", |b| {
        b.iter(|| {
            let a = UnparsedPublicKey::new(&ED25519, black_box(&issuer_pk))
                .verify(black_box(&cred_msg), black_box(&first.signed.issuer_sig));
            let d = UnparsedPublicKey::new(&ED25519, black_box(&device_pk))
                .verify(black_box(&step_msg), black_box(&first.device_sig));
            assert!(a.is_ok() && d.is_ok());
        })
    });
    g.bench_function("check_no_record", |b| {
        b.iter(|| black_box(probe.check(black_box(&payloads[0]), NOW)))
    });
    g.bench_function("verify_admit_commit_per_admission", |b| {
        b.iter_custom(|iters| time_admissions(iters, &bundle, PER_ADMISSION, &payloads))
    });
    g.bench_function("verify_admit_batched_256", |b| {
        b.iter_custom(|iters| time_admissions(iters, &bundle, BATCHED, &payloads))
    });
    g.finish();

    let mut g = c.benchmark_group("s1_verdicts_per_second_50k_bundle");
    g.sample_size(10);
    g.throughput(Throughput::Elements(u64::from(S1_POOL)));
    g.bench_function("commit_per_admission", |b| {
        b.iter_batched(
            || fresh(&bundle, PER_ADMISSION),
            |(dir, mut v)| {
                for p in &payloads {
                    black_box(v.verify(p, NOW));
                }
                (dir, v)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn bench_t1(c: &mut Criterion) {
    let bundle = t1_bundle();
    let payloads = t1_codes();
    let (_dir, probe) = fresh(&bundle, PER_ADMISSION);
    assert!(probe.check(&payloads[12_345], NOW).is_admit());

    let mut g = c.benchmark_group("t1");
    g.bench_function("check_no_record", |b| {
        b.iter(|| black_box(probe.check(black_box(&payloads[12_345]), NOW)))
    });
    g.bench_function("verify_admit_commit_per_admission", |b| {
        b.iter_custom(|iters| time_admissions(iters, &bundle, PER_ADMISSION, &payloads))
    });
    g.bench_function("verify_admit_batched_256", |b| {
        b.iter_custom(|iters| time_admissions(iters, &bundle, BATCHED, &payloads))
    });
    g.finish();

    let mut g = c.benchmark_group("t1_verdicts_per_second_50k_bundle");
    g.sample_size(10);
    g.throughput(Throughput::Elements(u64::from(TICKETS)));
    for (name, flush) in [
        ("commit_per_admission", PER_ADMISSION),
        ("batched_256", BATCHED),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || fresh(&bundle, flush),
                |(dir, mut v)| {
                    for p in &payloads {
                        black_box(v.verify(p, NOW));
                    }
                    v.flush().unwrap();
                    (dir, v)
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench_s1, bench_t1);
criterion_main!(benches);
