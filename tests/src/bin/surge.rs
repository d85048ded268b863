//! `surge`: the doors-open load command (issue 14 item 4). N wallets hold one ticket each
//! of a strict just-in-time event, are enrolled, verified and synced before its window, and
//! all come back when it opens, K at a time: first each with a full sync (the release secret
//! sealed to it), then, with `--release`, each fetching the static release object. For each
//! phase it reports p50/p99 latency, throughput, errors and the issuer's CPU per wallet.
//!
//! ```text
//! cargo run --release -p tessera-tests --bin surge -- [--wallets N] [--in-flight K]
//!     [--database postgres://USER@HOST:PORT/DB] [--db-pid PID] [--release [--release-path P]]
//!     [--lead-secs S] [--fresh-connections] [--client-threads T] [--issuer-bin PATH]
//! ```
//!
//! The issuer runs in a process of its own, so its CPU (utime + stime of
//! `/proc/<pid>/stat`, before and after each phase) counts nothing of the load generator.
//! By default that process is this binary again (`surge serve-issuer`): the reference issuer
//! as `tessera-issuer` runs it (`Issuer::start` on a multi-threaded tokio runtime, dev
//! outbox, the system clock), with the enrolment limits raised so that N devices can enrol
//! from one address in seconds (the binary has `--enroll-per-address` but no flag for the
//! 600-per-minute total). `--issuer-bin PATH` runs a `tessera-issuer` binary instead
//! (`--dev --enroll-per-address N`); its total limit then spreads the enrolments over
//! N / 600 minutes, each refusal waited out as its `Retry-After` says.
//!
//! Wallets are devices signing their requests as a wallet does (Ed25519 over the signing
//! message, a fresh nonce each), without wallet files: the client's own work stays small, and
//! each answer is still checked (the ticket, and at the opening the release secret, which
//! must open with the sync's transport key). The window: the event is created with its
//! window a day away; once every wallet is set up it is replaced by the same policy opening
//! `--lead-secs` (default 3) later, on the issuer's clock, which is the system clock; the
//! surge starts at that second.
//!
//! `--database URL` names a PostgreSQL server: a fresh database is created there (dropped
//! at the end) and the issuer is put on it; after setup the command checks that the issuer's
//! tables are in it. `--db-pid` (the postmaster's pid, first line of `postmaster.pid`) adds
//! the database server's CPU (it and its backends) to the report.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tessera_core::sync::api::{
    EmailConfirm, EmailRequest, EnrollRequest, OrderRequest, OrderResponse, OutboxMessage,
    SyncRequest, SyncResponse,
};
use tessera_core::sync::request::{
    HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, signing_message,
};
use tessera_core::sync::transport::{Ephemeral, TransportContext};
use tessera_core::{CodeFormat, EventId, EventPolicy, Verification};
use tessera_issuer::{Issuer, IssuerConfig, RateLimit};
use tessera_tests::{TestDatabase, create_database, install_ring, use_database};

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T> = std::result::Result<T, Error>;

const USAGE: &str = "usage: surge [--wallets N] [--in-flight K] [--database URL] [--db-pid PID]
             [--release] [--release-path PATH] [--lead-secs S] [--fresh-connections]
             [--client-threads T] [--issuer-bin PATH]
  --wallets N          wallets, one ticket each (default 3000)
  --in-flight K        requests at once, in setup and in each phase (default 64)
  --database URL       PostgreSQL server (postgres://user@host:port/db): the issuer runs on
                       a fresh database there (default: SQLite in a temporary directory)
  --db-pid PID         the database server's postmaster: its CPU is reported too
  --release            also measure every wallet fetching the static release object
  --release-path PATH  its path, {id} for the event (default /v1/events/{id}/release);
                       another path is a stand-in (e.g. /metrics, a small answer from
                       memory): its answer before the window is not checked
  --lead-secs S        seconds from the end of setup to the opening (default 3)
  --opens-in S         instead: the event is created opening S seconds from the start and
                       never edited, so every wallet's credential is the one it synced
                       (the replaced policy of --lead-secs makes each sync at the opening
                       sign a new credential); setup must end before the opening
  --fresh-connections  a new TCP connection for every request of the two phases (default:
                       kept-alive connections, as behind a reverse proxy)
  --client-threads T   the load generator's tokio worker threads (default 2)
  --issuer-bin PATH    run this tessera-issuer binary instead of this program's own issuer
  serve-issuer --data-dir DIR [--database URL]
                       (internal) the issuer process";

/// The event of the surge.
const EVENT: u64 = 1;
/// Where the issuer serves an event's signed release object (issue 14 item 3).
const DEFAULT_RELEASE_PATH: &str = "/v1/events/{id}/release";
/// Linux's USER_HZ, the unit of /proc/<pid>/stat times (100 on every architecture we run).
const DEFAULT_CLK_TCK: f64 = 100.0;

struct Args {
    wallets: usize,
    in_flight: usize,
    database: Option<String>,
    db_pid: Option<u32>,
    release: bool,
    release_path: String,
    lead_secs: i64,
    opens_in: Option<i64>,
    fresh_connections: bool,
    client_threads: usize,
    issuer_bin: Option<PathBuf>,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args> {
    let mut a = Args {
        wallets: 3000,
        in_flight: 64,
        database: None,
        db_pid: None,
        release: false,
        release_path: DEFAULT_RELEASE_PATH.to_owned(),
        lead_secs: 3,
        opens_in: None,
        fresh_connections: false,
        client_threads: 2,
        issuer_bin: None,
    };
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--wallets" => a.wallets = value()?.parse()?,
            "--in-flight" => a.in_flight = value()?.parse()?,
            "--database" => a.database = Some(value()?),
            "--db-pid" => a.db_pid = Some(value()?.parse()?),
            "--release" => a.release = true,
            "--release-path" => a.release_path = value()?,
            "--lead-secs" => a.lead_secs = value()?.parse()?,
            "--opens-in" => a.opens_in = Some(value()?.parse()?),
            "--fresh-connections" => a.fresh_connections = true,
            "--client-threads" => a.client_threads = value()?.parse()?,
            "--issuer-bin" => a.issuer_bin = Some(value()?.into()),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}").into()),
        }
    }
    if a.wallets == 0 || a.in_flight == 0 || a.client_threads == 0 {
        return Err("--wallets, --in-flight and --client-threads must be at least 1".into());
    }
    Ok(a)
}

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    let outcome = if args.peek().map(String::as_str) == Some("serve-issuer") {
        serve_issuer(args.skip(1))
    } else {
        parse_args(args).and_then(|a| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(a.client_threads)
                .enable_all()
                .build()?
                .block_on(run(a))
        })
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("surge: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

// ---- the issuer process ------------------------------------------------------------------

/// `surge serve-issuer`: the reference issuer as `tessera-issuer --dev` runs it, with the
/// enrolment limits raised; prints the same two lines, and stops when its stdin closes
/// (when the load generator ends, however it ends).
fn serve_issuer(mut it: impl Iterator<Item = String>) -> Result<()> {
    let (mut data_dir, mut database) = (None, None);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--data-dir" => data_dir = Some(PathBuf::from(value)),
            "--database" => database = Some(value),
            other => return Err(format!("serve-issuer: unknown argument {other}").into()),
        }
    }
    let data_dir = data_dir.ok_or("serve-issuer needs --data-dir")?;
    let mut config = IssuerConfig::new(data_dir);
    config.limits.enroll_per_address = RateLimit::new(u32::MAX, 60_000);
    config.limits.enroll_total = RateLimit::new(u32::MAX, 60_000);
    use_database(&mut config, database.as_deref());
    // What #[tokio::main] builds for tessera-issuer: a worker per core.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let issuer = Issuer::start(config).await?;
            println!("tessera-issuer listening on {}", issuer.url());
            println!("admin token: {}", issuer.admin_token());
            tokio::task::spawn_blocking(|| {
                let mut sink = Vec::new();
                std::io::stdin().read_to_end(&mut sink)
            })
            .await??;
            issuer.shutdown().await;
            Ok(())
        })
}

/// The issuer under load, in its own process; killed when dropped.
struct IssuerProcess {
    child: Child,
    url: String,
    admin: String,
    /// This program's own issuer (`serve-issuer`), which stops when its stdin closes.
    own: bool,
}

impl IssuerProcess {
    fn start(args: &Args, data_dir: &std::path::Path, database: Option<&str>) -> Result<Self> {
        let mut cmd = match &args.issuer_bin {
            Some(bin) => {
                let mut c = Command::new(bin);
                c.args(["--dev", "--enroll-per-address"])
                    .arg(args.wallets.to_string());
                c
            }
            None => {
                let mut c = Command::new(std::env::current_exe()?);
                c.arg("serve-issuer");
                c
            }
        };
        cmd.arg("--data-dir").arg(data_dir);
        if let Some(url) = database {
            cmd.arg("--database").arg(url);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the issuer: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut next = |prefix: &str| -> Result<String> {
            let line = lines
                .next()
                .ok_or("the issuer ended before it was ready")??;
            line.strip_prefix(prefix)
                .map(str::to_owned)
                .ok_or_else(|| format!("unexpected issuer output {line:?}").into())
        };
        let url = next("tessera-issuer listening on ")?;
        let admin = next("admin token: ")?;
        // Whatever else it prints must not fill the pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Self {
            child,
            url,
            admin,
            own: args.issuer_bin.is_none(),
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(mut self) {
        // Closing stdin stops our own issuer cleanly; tessera-issuer waits for Ctrl-C, so
        // it is killed (on drop).
        drop(self.child.stdin.take());
        if !self.own {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for IssuerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---- CPU from /proc ----------------------------------------------------------------------

fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_CLK_TCK)
}

/// Fields 3.. of /proc/<pid>/stat (after the command name, which may hold spaces).
fn stat_fields(pid: &str) -> Option<(u32, [u64; 4])> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    // 0 is field 3 (state): ppid is field 4; utime, stime, cutime, cstime are 14 to 17.
    Some((
        u32::try_from(num(1)?).ok()?,
        [num(11)?, num(12)?, num(13)?, num(14)?],
    ))
}

/// CPU seconds of process `pid` and its threads, living and ended.
fn cpu_of(pid: u32, tck: f64) -> Result<f64> {
    let (_, t) = stat_fields(&pid.to_string()).ok_or(format!("no /proc/{pid}/stat"))?;
    Ok((t[0] + t[1]) as f64 / tck)
}

/// CPU seconds of a server and its children (PostgreSQL's postmaster and backends): its
/// own, its ended children's (cutime, cstime) and its living children's.
fn cpu_of_tree(pid: u32, tck: f64) -> Result<f64> {
    let (_, t) = stat_fields(&pid.to_string()).ok_or(format!("no /proc/{pid}/stat"))?;
    let mut ticks = t.iter().sum::<u64>();
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Some((ppid, c)) = stat_fields(name)
            && ppid == pid
        {
            ticks += c[0] + c[1];
        }
    }
    Ok(ticks as f64 / tck)
}

/// CPU seconds so far of the issuer, the database server (if watched) and this program.
#[derive(Clone, Copy)]
struct Cpu {
    issuer: f64,
    database: Option<f64>,
    client: f64,
}

fn sample_cpu(issuer: u32, db: Option<u32>, tck: f64) -> Result<Cpu> {
    Ok(Cpu {
        issuer: cpu_of(issuer, tck)?,
        database: db.map(|p| cpu_of_tree(p, tck)).transpose()?,
        client: cpu_of(std::process::id(), tck)?,
    })
}

// ---- wallets -----------------------------------------------------------------------------

/// A wallet as the issuer sees it: a device key and the email of its order.
struct Wallet {
    key: Ed25519KeyPair,
    public: [u8; 32],
    email: String,
}

fn random<const N: usize>(rng: &SystemRandom) -> Result<[u8; N]> {
    let mut b = [0u8; N];
    rng.fill(&mut b).map_err(|_| "no random numbers")?;
    Ok(b)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// What the load generator shares with its tasks.
struct Ctx {
    http: reqwest::Client,
    url: String,
    admin: String,
    rng: SystemRandom,
}

/// An answer that was not the expected one, as a short reason that groups alike failures.
type Failure = String;

impl Ctx {
    async fn read(resp: reqwest::Response) -> std::result::Result<(StatusCode, Vec<u8>), Failure> {
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| format!("body: {e}"))?;
        Ok((status, body.to_vec()))
    }

    async fn admin_post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<R> {
        let resp = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.admin)
            .json(body)
            .send()
            .await?;
        let (status, body) = Self::read(resp).await?;
        if !status.is_success() {
            return Err(format!("{path}: {status} {}", String::from_utf8_lossy(&body)).into());
        }
        Ok(serde_json::from_slice(&body)?)
    }

    /// A device-signed POST, as a wallet sends it.
    async fn signed(
        &self,
        w: &Wallet,
        path: &str,
        body: Vec<u8>,
    ) -> std::result::Result<(StatusCode, Vec<u8>), Failure> {
        let ts = now_ms();
        let nonce = hex::encode(random::<16>(&self.rng).map_err(|e| e.to_string())?);
        let sig = w
            .key
            .sign(&signing_message("POST", path, ts, &nonce, &body));
        let resp = self
            .http
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .header(HEADER_DEVICE, hex::encode(w.public))
            .header(HEADER_TIMESTAMP, ts.to_string())
            .header(HEADER_NONCE, nonce)
            .header(HEADER_SIGNATURE, hex::encode(sig.as_ref()))
            .body(body)
            .send()
            .await
            .map_err(|e| format!("request: {e}"))?;
        Self::read(resp).await
    }

    /// A signed POST of `body` that must succeed; a `rate_limited` answer is waited out
    /// (setup only: the measured phases count every refusal).
    async fn setup_post<B: Serialize>(&self, w: &Wallet, path: &str, body: &B) -> Result<Vec<u8>> {
        let body = serde_json::to_vec(body)?;
        loop {
            let (status, answer) = self.signed(w, path, body.clone()).await?;
            if status == StatusCode::TOO_MANY_REQUESTS {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            if !status.is_success() {
                return Err(
                    format!("{path}: {status} {}", String::from_utf8_lossy(&answer)).into(),
                );
            }
            return Ok(answer);
        }
    }

    /// A full sync, checked: the one ticket with its credential, and the release secret
    /// exactly when `opened`, opening with this sync's transport key.
    async fn sync(&self, w: &Wallet, opened: bool) -> std::result::Result<(), Failure> {
        let eph = Ephemeral::generate().map_err(|e| e.to_string())?;
        let wallet_public = eph.public_key();
        let time_nonce = random::<32>(&self.rng).map_err(|e| e.to_string())?;
        let req = SyncRequest {
            ephemeral_public_key: hex::encode(wallet_public),
            time_nonce: hex::encode(time_nonce),
        };
        let body = serde_json::to_vec(&req).map_err(|e| e.to_string())?;
        let (status, answer) = self.signed(w, "/v1/attendee/sync", body).await?;
        if status != StatusCode::OK {
            return Err(format!("sync: {status}"));
        }
        let r: SyncResponse =
            serde_json::from_slice(&answer).map_err(|e| format!("sync answer: {e}"))?;
        if r.tickets.len() != 1 || r.tickets[0].credential.is_none() {
            return Err(format!(
                "sync: {} tickets, not one with its credential",
                r.tickets.len()
            ));
        }
        let release = r.releases.iter().find(|x| x.event_id == EventId(EVENT));
        match (release, opened) {
            (None, false) => Ok(()),
            (Some(_), false) => Err("release secret before the window".into()),
            (None, true) => Err("no release secret at the opening".into()),
            (Some(rel), true) => {
                let mut issuer_public = [0u8; 32];
                hex::decode_to_slice(&r.server_ephemeral_public_key, &mut issuer_public)
                    .map_err(|_| "bad server key")?;
                let key = eph
                    .agree(&issuer_public, &issuer_public, &wallet_public)
                    .map_err(|e| e.to_string())?;
                let sealed = hex::decode(&rel.sealed).map_err(|_| "bad sealed release")?;
                let ctx = TransportContext {
                    column: "release_secret",
                    row: &EVENT.to_be_bytes(),
                    version: rel.version,
                };
                key.open(&ctx, &sealed)
                    .map(|_| ())
                    .map_err(|_| "the release secret does not open".into())
            }
        }
    }

    /// The static release object: a plain GET, as from a CDN.
    async fn release(&self, path: &str) -> std::result::Result<(), Failure> {
        let resp = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .map_err(|e| format!("request: {e}"))?;
        let (status, body) = Self::read(resp).await?;
        if status != StatusCode::OK {
            return Err(format!("release: {status}"));
        }
        if body.is_empty() {
            return Err("release: empty body".into());
        }
        Ok(())
    }
}

/// Runs `job(i)` for i in 0..n, `k` at a time; each call's time and outcome, by index.
async fn run_all<F, Fut, T>(
    n: usize,
    k: usize,
    job: F,
) -> Vec<(Duration, std::result::Result<T, Failure>)>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = std::result::Result<T, Failure>> + Send,
    T: Send + 'static,
{
    let job = Arc::new(job);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..k.min(n) {
        let (job, next) = (Arc::clone(&job), Arc::clone(&next));
        tasks.spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return out;
                }
                let start = Instant::now();
                let r = job(i).await;
                out.push((i, start.elapsed(), r));
            }
        });
    }
    let mut all = Vec::with_capacity(n);
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(part) => all.extend(part),
            Err(e) => return vec![(Duration::ZERO, Err(format!("task failed: {e}")))],
        }
    }
    all.sort_by_key(|(i, _, _)| *i);
    all.into_iter().map(|(_, d, r)| (d, r)).collect()
}

/// One measured phase.
struct Phase {
    name: &'static str,
    n: usize,
    wall: Duration,
    latencies: Vec<Duration>,
    errors: Vec<(Failure, usize)>,
    before: Cpu,
    after: Cpu,
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    // The smallest value with at least p % of the values at or below it.
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

impl Phase {
    async fn measure<F, Fut>(
        name: &'static str,
        n: usize,
        k: usize,
        pids: (u32, Option<u32>, f64),
        job: F,
    ) -> Result<Self>
    where
        F: Fn(usize) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = std::result::Result<(), Failure>> + Send,
    {
        let before = sample_cpu(pids.0, pids.1, pids.2)?;
        let start = Instant::now();
        let results = run_all(n, k, job).await;
        let wall = start.elapsed();
        let after = sample_cpu(pids.0, pids.1, pids.2)?;
        let mut latencies: Vec<Duration> = results.iter().map(|(d, _)| *d).collect();
        latencies.sort();
        let mut errors: HashMap<Failure, usize> = HashMap::new();
        for (_, r) in results {
            if let Err(e) = r {
                *errors.entry(e).or_default() += 1;
            }
        }
        let mut errors: Vec<_> = errors.into_iter().collect();
        errors.sort_by_key(|e| std::cmp::Reverse(e.1));
        Ok(Self {
            name,
            n,
            wall,
            latencies,
            errors,
            before,
            after,
        })
    }

    fn error_count(&self) -> usize {
        self.errors.iter().map(|(_, c)| c).sum()
    }

    fn row(&self) -> String {
        let per = |secs: f64| format!("{:.3} ms", secs * 1e3 / self.n as f64);
        let issuer = self.after.issuer - self.before.issuer;
        let db = match (self.before.database, self.after.database) {
            (Some(b), Some(a)) => format!("{:.2} s ({})", a - b, per(a - b)),
            _ => "—".to_owned(),
        };
        format!(
            "| {} | {} | {} | {:.2} s | {:.0} /s | {} | {} | {} | {:.2} s | **{}** | {} | {:.2} s |",
            self.name,
            self.n,
            self.error_count(),
            self.wall.as_secs_f64(),
            self.n as f64 / self.wall.as_secs_f64(),
            ms(percentile(&self.latencies, 50)),
            ms(percentile(&self.latencies, 99)),
            ms(self.latencies.last().copied().unwrap_or_default()),
            issuer,
            per(issuer),
            db,
            self.after.client - self.before.client,
        )
    }
}

// ---- the surge ---------------------------------------------------------------------------

fn policy(opens: i64) -> EventPolicy {
    let mut p = EventPolicy::new(EventId(EVENT), "Surge", opens, opens + 6 * 3600);
    p.format = CodeFormat::C1;
    p.period_secs = 5;
    p.strict_jit = true;
    p.requires = vec![Verification::Email];
    p.personalised = true;
    p.reentry = true;
    p
}

/// The value after `token=` in a message.
fn token_in(body: &str) -> Option<String> {
    let start = body.find("token=")? + "token=".len();
    Some(
        body[start..]
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect(),
    )
}

async fn run(args: Args) -> Result<()> {
    install_ring();
    let tck = clk_tck();
    let dir = tempfile::tempdir()?;
    let database: Option<TestDatabase> = match &args.database {
        Some(server) => Some(create_database(server).await?),
        None => None,
    };
    let storage = match &database {
        Some(db) => format!("PostgreSQL (database {})", db.name()),
        None => "SQLite".to_owned(),
    };
    let issuer = IssuerProcess::start(
        &args,
        &dir.path().join("issuer"),
        database.as_ref().map(TestDatabase::url),
    )?;
    let pids = (issuer.pid(), args.db_pid, tck);
    eprintln!(
        "surge: {} wallets, {} in flight, issuer pid {} ({}) on {storage}, {}",
        args.wallets,
        args.in_flight,
        issuer.pid(),
        args.issuer_bin
            .as_ref()
            .map_or("surge serve-issuer".to_owned(), |p| p.display().to_string()),
        if args.fresh_connections {
            "a new connection per request"
        } else {
            "kept-alive connections"
        },
    );

    let rng = SystemRandom::new();
    let wallets: Arc<Vec<Wallet>> = Arc::new(
        (0..args.wallets)
            .map(|i| {
                let seed = random::<32>(&rng)?;
                let key =
                    Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|_| "bad Ed25519 seed")?;
                let mut public = [0u8; 32];
                public.copy_from_slice(key.public_key().as_ref());
                Ok(Wallet {
                    key,
                    public,
                    email: format!("surge-{i}@example.invalid"),
                })
            })
            .collect::<Result<_>>()?,
    );
    let setup_http = reqwest::Client::new();
    let ctx = Arc::new(Ctx {
        http: setup_http.clone(),
        url: issuer.url.clone(),
        admin: issuer.admin.clone(),
        rng: SystemRandom::new(),
    });

    // (a) Before the window: the event a day away; each wallet's order, enrolment, email
    // verification and first sync (no release secret yet).
    let setup_start = Instant::now();
    let far = now_ms() / 1000 + args.opens_in.unwrap_or(86_400);
    let _: EventPolicy = ctx.admin_post("/v1/admin/events", &policy(far)).await?;
    let step = |name: &'static str, results: Vec<(Duration, std::result::Result<(), Failure>)>| {
        let failed: Vec<_> = results.into_iter().filter_map(|(_, r)| r.err()).collect();
        match failed.first() {
            None => Ok(()),
            Some(e) => Err(Error::from(format!(
                "setup ({name}): {} failed, first: {e}",
                failed.len()
            ))),
        }
    };
    let (c, w) = (Arc::clone(&ctx), Arc::clone(&wallets));
    step(
        "order, enrol, ask for the email link",
        run_all(args.wallets, args.in_flight, move |i| {
            let (c, w) = (Arc::clone(&c), Arc::clone(&w));
            async move {
                let w = &w[i];
                let order = OrderRequest {
                    event_id: EventId(EVENT),
                    email: w.email.clone(),
                    phone: None,
                    holder_name: Some(format!("Holder {i}")),
                    seats: vec![format!("Row {} Seat {}", i / 100, i % 100)],
                };
                let placed: OrderResponse = c
                    .admin_post("/v1/admin/orders", &order)
                    .await
                    .map_err(|e| e.to_string())?;
                if placed.tickets.len() != 1 {
                    return Err("order: not one ticket".to_owned());
                }
                let enroll = EnrollRequest {
                    platform: "surge".into(),
                };
                c.setup_post(w, "/v1/devices", &enroll)
                    .await
                    .map_err(|e| e.to_string())?;
                let ask = EmailRequest {
                    email: w.email.clone(),
                };
                c.setup_post(w, "/v1/attendee/email/request", &ask)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(())
            }
        })
        .await,
    )?;
    // Every link at once: one read of the dev outbox.
    let resp = ctx
        .http
        .get(format!("{}/v1/dev/outbox", ctx.url))
        .bearer_auth(&ctx.admin)
        .send()
        .await?;
    let outbox: Vec<OutboxMessage> = serde_json::from_slice(&resp.bytes().await?)?;
    let tokens: Arc<HashMap<String, String>> = Arc::new(
        outbox
            .into_iter()
            .filter_map(|m| Some((m.to, token_in(&m.body)?)))
            .collect(),
    );
    let (c, w) = (Arc::clone(&ctx), Arc::clone(&wallets));
    step(
        "confirm the email, first sync",
        run_all(args.wallets, args.in_flight, move |i| {
            let (c, w, tokens) = (Arc::clone(&c), Arc::clone(&w), Arc::clone(&tokens));
            async move {
                let w = &w[i];
                let token = tokens.get(&w.email).ok_or("no email link in the outbox")?;
                let confirm = EmailConfirm {
                    token: token.clone(),
                };
                c.setup_post(w, "/v1/attendee/email/confirm", &confirm)
                    .await
                    .map_err(|e| e.to_string())?;
                c.sync(w, false).await
            }
        })
        .await,
    )?;
    if let Some(db) = &database {
        let client = tessera_tests::harness::postgres::connect(db.url()).await?;
        let row = client
            .query_one(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
                &[],
            )
            .await?;
        let tables: i64 = row.get(0);
        if tables == 0 {
            return Err(format!(
                "the issuer created no table in {}: it is not running on PostgreSQL \
                 (no --database flag?)",
                db.name()
            )
            .into());
        }
    }
    eprintln!(
        "setup: {} wallets ordered, enrolled, verified and synced in {:.1} s",
        args.wallets,
        setup_start.elapsed().as_secs_f64()
    );

    // The window moves to `lead` seconds from now (or stays where --opens-in put it);
    // nothing opens before it.
    let opens = if args.opens_in.is_some() {
        if now_ms() + 1_000 > far * 1000 {
            return Err(
                "setup ended less than a second before the opening: raise --opens-in".into(),
            );
        }
        far
    } else {
        let opens = now_ms() / 1000 + 1 + args.lead_secs;
        let _: EventPolicy = ctx.admin_post("/v1/admin/events", &policy(opens)).await?;
        opens
    };
    let release_path = args.release_path.replace("{id}", &EVENT.to_string());
    if args.release {
        match ctx.release(&release_path).await {
            Err(e) => eprintln!("before the window {release_path} answers: {e} (expected)"),
            Ok(()) if args.release_path != DEFAULT_RELEASE_PATH => {
                eprintln!("before the window {release_path} answers 200 (a stand-in: not checked)");
            }
            Ok(()) => {
                return Err("the release object was served before the window opened".into());
            }
        }
    }
    ctx.sync(&wallets[0], false)
        .await
        .map_err(|e| format!("a sync just before the window: {e}"))?;
    let wait = opens * 1000 - now_ms();
    eprintln!("the window opens in {wait} ms");
    tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(0) + 20)).await;

    // (b) and (c): every wallet at the opening.
    let surge_ctx = Arc::new(Ctx {
        http: if args.fresh_connections {
            reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()?
        } else {
            setup_http
        },
        url: ctx.url.clone(),
        admin: ctx.admin.clone(),
        rng: SystemRandom::new(),
    });
    let mut phases = Vec::new();
    let (c, w) = (Arc::clone(&surge_ctx), Arc::clone(&wallets));
    phases.push(
        Phase::measure("full sync", args.wallets, args.in_flight, pids, move |i| {
            let (c, w) = (Arc::clone(&c), Arc::clone(&w));
            async move { c.sync(&w[i], true).await }
        })
        .await?,
    );
    if args.release {
        let c = Arc::clone(&surge_ctx);
        let path = Arc::new(release_path);
        phases.push(
            Phase::measure(
                "static release",
                args.wallets,
                args.in_flight,
                pids,
                move |_| {
                    let (c, path) = (Arc::clone(&c), Arc::clone(&path));
                    async move { c.release(&path).await }
                },
            )
            .await?,
        );
    }
    issuer.stop();
    drop(database);

    println!(
        "\n{} wallets, {} in flight, issuer on {storage}, {}; CPU from /proc at {tck} ticks/s\n",
        args.wallets,
        args.in_flight,
        if args.fresh_connections {
            "a new connection per request"
        } else {
            "kept-alive connections"
        },
    );
    println!(
        "| phase | wallets | errors | wall | throughput | p50 | p99 | max | issuer CPU | issuer CPU per wallet | database CPU (per wallet) | load generator CPU |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for p in &phases {
        println!("{}", p.row());
    }
    let mut failed = false;
    for p in &phases {
        for (e, n) in &p.errors {
            println!("{}: {n} × {e}", p.name);
            failed = true;
        }
    }
    if failed {
        return Err("some requests failed (above)".into());
    }
    Ok(())
}
