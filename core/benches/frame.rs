//! Benchmarks of the wallet's hot paths against the budgets of docs/DESIGN.md §8, with
//! peer crates measured in the same run for scale.
//!
//! - `frame/warm_next/{t1,s1}`: the "next frame" of a warm wallet on a real SQLite
//!   file (MemoryKeyVault, ManualClock anchored inside the reveal window). Every
//!   iteration advances the clock by one period, so each `frame()` call is a new
//!   step: it returns the frame drawn ahead by the previous call and draws the next
//!   one (unseal + code + QR matrix), i.e. one draw per call. Budget ≤ 1 ms p50;
//!   every call is also timed alone and the per-call p50/p90/p99 printed to stderr.
//! - `open/cold_1000`: `Wallet::open` of a file holding 1,000 tickets plus the first
//!   `frame()` of one S1 ticket (the slower format). Budget ≤ 20 ms. "Cold" means a
//!   new `Wallet` (new SQLite connection, KEK unwrapped again, no drawn frames); the
//!   OS page cache stays warm. Closing the previous wallet is not timed.
//! - `code/{t1_generate,s1_generate}`: code generation and payload text alone.
//! - Peers: `totp/{ours,totp_rs}` (HOTP SHA-1, 8 digits, same seed and counter) and
//!   `qr/{qrcode,fast_qr}/{t1,s1}` (module matrix of the same payload text at the
//!   same error-correction level).
//!
//! Run: `cargo bench -p tessera-core --bench frame -- --warm-up-time 1 --measurement-time 3`.
//! Results and budgets: docs/PERFORMANCE.md, section "Core".

// Benchmark code: a failed setup (or a frame refused mid-run) makes the numbers
// meaningless, so it aborts the benchmark with a message instead of being handled.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::error::Error;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::Ed25519KeyPair;
use tempfile::TempDir;
use tessera_core::code::t1::T1Params;
use tessera_core::code::totp::hotp;
use tessera_core::code::{S1Code, SignedCredential, T1Code};
use tessera_core::qr::{ERROR_CORRECTION, QrMatrix};
use tessera_core::{
    CodeFormat, EventId, EventPolicy, KeyVault, ManualClock, MemoryKeyVault, Ticket, TicketId,
    TicketSecrets, TotpAlgorithm, Wallet, WalletConfig,
};
use zeroize::Zeroizing;

type Setup<T> = Result<T, Box<dyn Error>>;

/// Reveal window opens at this Unix second (2027-01-15).
const OPENS_AT: i64 = 1_800_000_000;
/// Tickets stay valid for 30 years: far more steps than any run can consume.
const VALID_FOR_SECS: i64 = 30 * 365 * 86_400;
/// The wallet is anchored one minute into the reveal window.
const ANCHOR_MS: i64 = (OPENS_AT + 60) * 1000;
/// Rotation period of both events (the default).
const PERIOD_SECS: u8 = 15;
const T1_EVENT: EventId = EventId(1);
const S1_EVENT: EventId = EventId(2);
/// Seat label of every ticket (a typical short one).
const SEAT: &str = "Block C, Row 4, Seat 12";
/// Issuer key id written into S1 credentials.
const KEY_ID: u32 = 7;

fn random_bytes<const N: usize>() -> Setup<[u8; N]> {
    let mut b = [0u8; N];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| "system random failed")?;
    Ok(b)
}

fn issuer_key() -> Setup<Ed25519KeyPair> {
    let rng = SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| "issuer key generation")?;
    Ok(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|e| format!("issuer key: {e}"))?)
}

fn policy(event: EventId, format: CodeFormat) -> EventPolicy {
    let mut p = EventPolicy::new(
        event,
        format!("bench event {}", event.0),
        OPENS_AT,
        OPENS_AT + VALID_FOR_SECS,
    );
    p.format = format;
    p.period_secs = PERIOD_SECS;
    p
}

/// A ticket of `policy` bound to `device_public_key`, signed by `issuer` for S1 events.
/// T1 tickets carry a ticket seed and an event seed (both TOTP values in the code).
fn ticket(
    policy: &EventPolicy,
    device_public_key: [u8; 32],
    issuer: &Ed25519KeyPair,
) -> Setup<(Ticket, TicketSecrets)> {
    let mut t = Ticket {
        id: TicketId::random().map_err(|_| "ticket id")?,
        event_id: policy.event_id,
        seat: SEAT.into(),
        holder_name: None,
        device_public_key,
        credential: None,
        revoked: false,
        version: 1,
    };
    if policy.format == CodeFormat::S1 {
        t.credential = Some(t.credential_for(policy, KEY_ID).sign(issuer)?);
    }
    let secrets = TicketSecrets {
        ticket_seed: Zeroizing::new(random_bytes::<20>()?.to_vec()),
        event_seed: Some(Zeroizing::new(random_bytes::<20>()?.to_vec())),
    };
    Ok((t, secrets))
}

/// A wallet file in its own temporary directory, with the clock and vault it was made with.
struct Fixture {
    // Field order matters: the wallet closes its SQLite file before the directory goes.
    wallet: Wallet,
    clock: ManualClock,
    vault: Arc<dyn KeyVault>,
    dir: TempDir,
    t1_ticket: TicketId,
    s1_ticket: TicketId,
}

fn config(path: &Path, vault: &Arc<dyn KeyVault>, clock: &ManualClock) -> WalletConfig {
    let mut c = WalletConfig::new(path, Arc::clone(vault));
    c.wall_clock = Arc::new(clock.clone());
    c.monotonic = Arc::new(clock.clone());
    c
}

fn db_path(dir: &TempDir) -> std::path::PathBuf {
    dir.path().join("wallet.sqlite")
}

/// A wallet with a T1 and an S1 event and `tickets_per_event` tickets of each, all
/// installed in one `install` call, anchored inside the reveal window.
fn fixture(tickets_per_event: usize) -> Setup<Fixture> {
    let dir = tempfile::tempdir()?;
    let vault: Arc<dyn KeyVault> = Arc::new(MemoryKeyVault::new()?);
    let clock = ManualClock::new(ANCHOR_MS);
    let wallet = Wallet::open(config(&db_path(&dir), &vault, &clock))?;
    let issuer = issuer_key()?;
    // The issuer's signed clock, as a sync brings it.
    wallet.pin_issuer_keys(&[tessera_core::sync::api::IssuerKey {
        key_id: 1,
        public_key: hex::encode(tessera_core::code::s1::public_key(&issuer)),
    }])?;
    let nonce = wallet.new_time_nonce()?;
    let proof = tessera_core::sync::signed_time::sign_time(&issuer, 1, &nonce, ANCHOR_MS);
    wallet.accept_signed_time(&nonce, ANCHOR_MS, &proof)?;
    let events = [
        policy(T1_EVENT, CodeFormat::T1),
        policy(S1_EVENT, CodeFormat::S1),
    ];
    let device = wallet.device_public_key();
    let mut tickets = Vec::with_capacity(2 * tickets_per_event);
    for _ in 0..tickets_per_event {
        for e in &events {
            tickets.push(ticket(e, device, &issuer)?);
        }
    }
    let t1_ticket = tickets.first().ok_or("no tickets")?.0.id;
    let s1_ticket = tickets.get(1).ok_or("no S1 ticket")?.0.id;
    wallet.install(&events, tickets)?;
    // First frames draw the current and the next step; from here on the wallet is warm.
    wallet.frame(&t1_ticket)?;
    wallet.frame(&s1_ticket)?;
    Ok(Fixture {
        wallet,
        clock,
        vault,
        dir,
        t1_ticket,
        s1_ticket,
    })
}

fn frame_warm_next(c: &mut Criterion) {
    let f = fixture(1).expect("wallet setup");
    let period_ms = u64::from(PERIOD_SECS) * 1000;
    let mut g = c.benchmark_group("frame");
    for (name, id) in [("t1", f.t1_ticket), ("s1", f.s1_ticket)] {
        // Every call is also timed on its own: the budget is a per-call p50, while
        // criterion's statistics are over per-sample means.
        let mut calls: Vec<Duration> = Vec::new();
        g.bench_function(BenchmarkId::new("warm_next", name), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    f.clock.advance(period_ms);
                    let start = Instant::now();
                    black_box(f.wallet.frame(black_box(&id)).expect("frame"));
                    let took = start.elapsed();
                    total += took;
                    calls.push(took);
                }
                total
            })
        });
        report_per_call(&format!("frame/warm_next/{name}"), &mut calls);
    }
    g.finish();
}

/// Prints the per-call p50, p90 and p99 of `calls` (warm-up included).
fn report_per_call(what: &str, calls: &mut [Duration]) {
    if calls.is_empty() {
        return;
    }
    calls.sort_unstable();
    let at = |q: usize| calls[(calls.len() - 1) * q / 100];
    eprintln!(
        "{what}: per call over {} calls: p50 {:.1?}, p90 {:.1?}, p99 {:.1?}, max {:.1?}",
        calls.len(),
        at(50),
        at(90),
        at(99),
        at(100),
    );
}

fn open_cold_1000(c: &mut Criterion) {
    // 500 T1 + 500 S1 tickets; the setup wallet is closed before measuring.
    let f = fixture(500).expect("wallet setup");
    let Fixture {
        wallet,
        clock,
        vault,
        dir,
        s1_ticket,
        ..
    } = f;
    assert_eq!(wallet.tickets().expect("tickets").len(), 1000);
    drop(wallet);
    let path = db_path(&dir);
    let mut g = c.benchmark_group("open");
    g.bench_function("cold_1000", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let w = Wallet::open(config(&path, &vault, &clock)).expect("open");
                black_box(w.frame(black_box(&s1_ticket)).expect("first frame"));
                total += start.elapsed();
                // Closing (SQLite checkpoint) belongs to the previous session: not timed.
                drop(w);
            }
            total
        })
    });
    g.finish();
}

/// Stand-alone material for code generation: a T1 seed pair and an S1 credential.
struct CodeMaterial {
    ticket: TicketId,
    ticket_seed: [u8; 20],
    event_seed: [u8; 20],
    device: Ed25519KeyPair,
    signed: SignedCredential,
}

fn code_material() -> Setup<CodeMaterial> {
    let issuer = issuer_key()?;
    let device =
        Ed25519KeyPair::from_seed_unchecked(&random_bytes::<32>()?).map_err(|_| "device key")?;
    let device_pk = tessera_core::ticket::ed25519_public_key(&device);
    let p = policy(S1_EVENT, CodeFormat::S1);
    let (t, _) = ticket(&p, device_pk, &issuer)?;
    let signed = t.credential.ok_or("no credential")?;
    Ok(CodeMaterial {
        ticket: t.id,
        ticket_seed: random_bytes()?,
        event_seed: random_bytes()?,
        device,
        signed,
    })
}

impl CodeMaterial {
    fn t1_params(&self) -> T1Params<'_> {
        T1Params {
            algorithm: TotpAlgorithm::Sha1,
            digits: 8,
            period_secs: PERIOD_SECS,
            ticket: self.ticket,
            event: T1_EVENT,
            ticket_seed: &self.ticket_seed,
            event_seed: Some(&self.event_seed),
            release_secret: None,
        }
    }

    fn t1_payload(&self, step: u64) -> String {
        T1Code::generate(&self.t1_params(), step).encode()
    }

    fn s1_payload(&self, step: u64) -> String {
        S1Code::generate(&self.signed, &self.device, step, None).encode()
    }
}

/// The first step of the reveal window.
fn first_step() -> u64 {
    (OPENS_AT / i64::from(PERIOD_SECS)) as u64
}

fn code_generate(c: &mut Criterion) {
    let m = code_material().expect("code setup");
    let params = m.t1_params();
    let mut g = c.benchmark_group("code");
    let mut step = first_step();
    g.bench_function("t1_generate", |b| {
        b.iter(|| {
            step += 1;
            black_box(T1Code::generate(black_box(&params), step).encode())
        })
    });
    let mut step = first_step();
    g.bench_function("s1_generate", |b| {
        b.iter(|| {
            step += 1;
            black_box(S1Code::generate(black_box(&m.signed), &m.device, step, None).encode())
        })
    });
    g.finish();
}

fn totp_peers(c: &mut Criterion) {
    let seed: [u8; 20] = random_bytes().expect("seed");
    let period = u64::from(PERIOD_SECS);
    let theirs = totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(8)
        .with_step_duration(period)
        .with_secret(seed.to_vec())
        .build()
        .expect("totp-rs config");
    // Same value for the same counter, or the comparison means nothing.
    let counter = first_step();
    assert_eq!(
        theirs.generate(counter * period).to_string(),
        format!("{:08}", hotp(TotpAlgorithm::Sha1, &seed, counter, 8)),
    );
    let mut g = c.benchmark_group("totp");
    let mut n = counter;
    g.bench_function("ours", |b| {
        b.iter(|| {
            n += 1;
            black_box(hotp(TotpAlgorithm::Sha1, black_box(&seed), n, 8))
        })
    });
    let mut n = counter;
    g.bench_function("totp_rs", |b| {
        b.iter(|| {
            n += 1;
            black_box(black_box(&theirs).generate(n * period))
        })
    });
    g.finish();
}

fn qr_peers(c: &mut Criterion) {
    let m = code_material().expect("code setup");
    let payloads = [
        ("t1", m.t1_payload(first_step())),
        ("s1", m.s1_payload(first_step())),
    ];
    let ecl = match ERROR_CORRECTION {
        qrcode::EcLevel::L => fast_qr::ECL::L,
        qrcode::EcLevel::M => fast_qr::ECL::M,
        qrcode::EcLevel::Q => fast_qr::ECL::Q,
        qrcode::EcLevel::H => fast_qr::ECL::H,
    };
    let mut g = c.benchmark_group("qr");
    for (name, text) in &payloads {
        // Both libraries must pick the same symbol size, or the work differs.
        let ours = QrMatrix::encode(text).expect("qrcode encode").size() as usize;
        let theirs = fast_qr::QRBuilder::new(text.as_str())
            .ecl(ecl)
            .build()
            .expect("fast_qr encode")
            .size;
        assert_eq!(ours, theirs, "{name}: {} chars", text.len());
        eprintln!("qr/{name}: {} chars, {ours}×{ours} modules", text.len());
        let id = format!("{name}_{}ch", text.len());
        g.bench_with_input(BenchmarkId::new("qrcode", &id), text, |b, t| {
            b.iter(|| black_box(QrMatrix::encode(black_box(t)).expect("qrcode")))
        });
        g.bench_with_input(BenchmarkId::new("fast_qr", &id), text, |b, t| {
            b.iter(|| {
                black_box(
                    fast_qr::QRBuilder::new(black_box(t.as_str()))
                        .ecl(ecl)
                        .build()
                        .expect("fast_qr"),
                )
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    frame_warm_next,
    open_cold_1000,
    code_generate,
    totp_peers,
    qr_peers
);
criterion_main!(benches);
