//! `tessera demo`: the whole journey in one terminal, with real time and real parts.
//!
//! A reference issuer runs embedded on loopback with a temporary data dir; the wallet is
//! the real core on a real SQLite file and talks to it over HTTP; the gate is the real
//! verifier fed with the issuer's bundle. The only fake is the key vault (in memory),
//! which the output says. The event opens a few seconds after start, so the newcomer
//! sees the ticket locked, then the rotating code, then the gate's verdicts.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;
use tessera_core::clock::{SystemWallClock, WallClock};
use tessera_core::code::c1::reference_of;
use tessera_core::code::s1::public_key;
use tessera_core::code::{C1Code, Code, Credential};
use tessera_core::qr::QrMatrix;
use tessera_core::sync::api::{IssuerKey, OrderRequest, TokenRequest};
use tessera_core::sync::client::{ClientOptions, IssuerClient};
use tessera_core::sync::session::WalletSync;
use tessera_core::{
    CodeFormat, EventId, EventPolicy, Frame, MemoryKeyVault, RevealState, TicketId, Verification,
    Wallet, WalletConfig, WalletError, device,
};
use tessera_gate::{
    GateBundle, PinnedKeys, PublicKey, RejectReason, ScanLog, ScanResult, Verifier, signed_bundle,
};
use tessera_issuer::{ISSUER_KEY_ID, Issuer, IssuerConfig, RunningIssuer};

use crate::admin::{IssuerApi, link_param};
use crate::error::CliError;
use crate::gate_cmd::{verdict_label, write_private};
use crate::render::{self, Cells, Screen};

const EVENT: EventId = EventId(2026);
const EVENT_NAME: &str = "Tessera Live — Demo Night";
const PERIOD_SECS: u8 = 5;
/// Long enough to see the locked ticket and its countdown, short enough to wait for.
const OPENS_IN_SECS: i64 = 8;
const EMAIL: &str = "ada@example.com";
const HOLDER: &str = "Ada Lovelace";
const SEAT: &str = "Block A · Row 3 · Seat 14";
const GATE_ID: &str = "gate-north-1";
/// Pixels per module in `frame-N.png`: what a phone camera or a decoder reads easily.
const PNG_MODULE_PX: u32 = 6;
/// Countdown and bar redraws: a few times a second looks smooth and costs nothing.
const TICK_MS: i64 = 125;
/// Syncs tried after the window opens before giving up on the release secret (the
/// issuer's clock may be a few milliseconds behind the wallet's).
const RELEASE_SYNC_TRIES: u32 = 20;
const RELEASE_RETRY: Duration = Duration::from_millis(250);
/// Width of the bars, in cells.
const BAR_CELLS: usize = 30;

/// `tessera demo` options.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many rotating frames to show; each lasts one 5-second step.
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=60))]
    frames: u32,
    /// No terminal drawing: plain progress lines, results written to --out (needs --out).
    #[arg(long, requires = "out")]
    headless: bool,
    /// Writes DIR/frames.jsonl (every gate scan: ticket_id, format, step, payload, verdict),
    /// DIR/frame-N.png (each frame's QR code), DIR/issuer.json (issuer public keys) and
    /// DIR/bundle.json (the issuer-signed gate bundle, with the demo event's release secret).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// What the gate was shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScanKind {
    /// The frame on screen, fresh.
    Frame,
    /// The same code scanned a second time.
    Replay,
    /// The code with one base32 character changed.
    Forged,
    /// A code made from the ticket's credential and the release secret, signed by another phone's key.
    OtherDevice,
    /// The first frame's code, scanned two steps later (a screenshot).
    Screenshot,
}

impl ScanKind {
    /// The `kind` field in frames.jsonl.
    fn name(self) -> &'static str {
        match self {
            Self::Frame => "frame",
            Self::Replay => "replay",
            Self::Forged => "forged",
            Self::OtherDevice => "other_device",
            Self::Screenshot => "screenshot",
        }
    }

    /// What the demo shows the gate, in words.
    fn describe(self) -> &'static str {
        match self {
            Self::Frame => "the live code",
            Self::Replay => "the same code again",
            Self::Forged => "the code with one character changed",
            Self::OtherDevice => "a copy signed by another phone's key",
            Self::Screenshot => "frame 1's code, two steps later",
        }
    }

    /// The verdict the gate must give: `None` admits.
    fn expected(self) -> Option<RejectReason> {
        match self {
            // Re-entry is on for the demo event, so every fresh code admits again.
            Self::Frame => None,
            Self::Replay => Some(RejectReason::Replay),
            // A changed digit of the compact code's device signature.
            Self::Forged => Some(RejectReason::WrongDevice),
            Self::OtherDevice => Some(RejectReason::WrongDevice),
            Self::Screenshot => Some(RejectReason::Stale),
        }
    }
}

/// One scan at the gate.
struct Scan {
    kind: ScanKind,
    /// Which frame (1-based) the code comes from.
    frame: u32,
    step: u64,
    payload: String,
    result: ScanResult,
    at_ms: i64,
    took: Duration,
}

/// Where the time went.
#[derive(Default)]
struct Timings {
    issuer_start: Duration,
    setup: Duration,
    onboarding: Duration,
    window_wait: Duration,
    release_sync: Duration,
    first_draw: Duration,
    prepare: Vec<Duration>,
    boundary: Vec<Duration>,
}

/// Everything the demo saw, for the files and the summary.
struct Run {
    url: String,
    issuer_key: [u8; 32],
    ticket: TicketId,
    opens_at: i64,
    locked_refusal: Option<WalletError>,
    frames: Vec<Frame>,
    scans: Vec<Scan>,
    bundle_json: String,
    timings: Timings,
}

/// Runs the demo; see the module doc.
pub async fn run(args: DemoArgs) -> Result<ExitCode, CliError> {
    let started = Instant::now();
    let screen = Screen::for_stdout(args.headless);
    let tmp = tempfile::tempdir().map_err(|e| CliError::io("creating a temporary directory", e))?;
    let t = Instant::now();
    let issuer = Issuer::start(IssuerConfig::new(tmp.path().join("issuer"))).await?;
    let issuer_start = t.elapsed();
    let outcome = {
        let drive = drive(&args, screen, &issuer, tmp.path());
        tokio::pin!(drive);
        // Ctrl-C still stops the issuer and removes the temporary directory.
        tokio::select! {
            r = &mut drive => r,
            signal = tokio::signal::ctrl_c() => match signal {
                Ok(()) => Err(CliError::Interrupted),
                // No signal handling here: just run to the end.
                Err(_) => drive.await,
            },
        }
    };
    issuer.shutdown().await;
    if matches!(outcome, Err(CliError::Interrupted)) {
        screen.end_status();
    }
    let mut run = outcome?;
    run.timings.issuer_start = issuer_start;
    if let Some(dir) = &args.out {
        write_outputs(dir, &run)?;
    }
    let failures = check(&run, args.frames);
    summary(
        screen,
        &run,
        &failures,
        args.out.as_deref(),
        started.elapsed(),
    );
    if failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(CliError::DemoFailed(failures.join("; ")))
    }
}

/// The demo event: compact S1 (C1), 5-second steps, strict just-in-time, email verification,
/// personalised, and re-entry so that each fresh frame admits again at the gate.
fn demo_policy(opens_at: i64) -> EventPolicy {
    let mut p = EventPolicy::new(EVENT, EVENT_NAME, opens_at, opens_at + 6 * 3600);
    p.format = CodeFormat::C1;
    p.period_secs = PERIOD_SECS;
    p.strict_jit = true;
    p.requires = vec![Verification::Email];
    p.personalised = true;
    p.reentry = true;
    p
}

/// Everything after the issuer is up: organiser, attendee and gate, in the order a
/// newcomer should see them.
async fn drive(
    args: &DemoArgs,
    screen: Screen,
    issuer: &RunningIssuer,
    dir: &Path,
) -> Result<Run, CliError> {
    let mut timings = Timings::default();
    let url = issuer.url();
    screen.line(&screen.bold("Tessera demo: issuer, wallet and gate on this machine"));
    screen.line(&format!(
        "issuer   {url} (embedded, temporary data dir; emails go to its dev outbox)"
    ));

    // The organiser's part, through the admin API.
    let t = Instant::now();
    let admin = IssuerApi::new(&url, &issuer.admin_token())?;
    // Whole seconds (the policy's unit), rounded up so the wait is never shorter.
    let opens_at = (SystemWallClock.now_unix_ms() + 999).div_euclid(1000) + OPENS_IN_SECS;
    admin.create_event(&demo_policy(opens_at)).await?;
    let order = admin
        .create_order(&OrderRequest {
            event_id: EVENT,
            email: EMAIL.into(),
            phone: None,
            holder_name: Some(HOLDER.into()),
            seats: vec![SEAT.into()],
        })
        .await?;
    let ticket = *order
        .tickets
        .first()
        .ok_or_else(|| CliError::DemoFailed("the issuer's order holds no ticket".into()))?;
    let gate_token = admin
        .mint_token(&TokenRequest::gate(EVENT, GATE_ID))
        .await?;
    let bundle_json = IssuerApi::new(&url, &gate_token)?
        .gate_bundle_json(EVENT, None)
        .await?;
    // The gate pins the key the issuer printed at start (here: handed over in-process).
    let pins = PinnedKeys::from([(ISSUER_KEY_ID, PublicKey(issuer.issuer_public_key()))]);
    let bundle = signed_bundle::open(&bundle_json, &pins)?;
    timings.setup = t.elapsed();
    screen.line(&format!(
        "event    {EVENT_NAME}: compact S1 code (C1) rotating every {PERIOD_SECS} s, strict just-in-time, \
         email verification, personalised, re-entry; window opens {}",
        render::utc(opens_at)
    ));
    if screen.draws_qr()
        && let Some(why) = expected_qr_cells(opens_at)
            .and_then(|code| render::too_small(qr_need(code), render::terminal_size()))
    {
        screen.line(&screen.bad(&format!(
            "note: the QR code {why} before it appears (in about {OPENS_IN_SECS} s){TOO_SMALL_HINT}"
        )));
    }
    screen.line(&format!("order    1 ticket for {HOLDER} <{EMAIL}>, {SEAT}"));
    screen.line(&format!(
        "gate     {GATE_ID}: bundle fetched with a gate token ({} issuer public key and the \
         event's release secret; no signing key)",
        bundle.issuer_keys.len()
    ));

    // The attendee's part: a wallet that enrolls, verifies its email and syncs.
    let t = Instant::now();
    let vault = Arc::new(MemoryKeyVault::new()?);
    let wallet = Wallet::open(WalletConfig::new(dir.join("wallet.db"), vault))?;
    let session = WalletSync::new(
        Arc::new(wallet),
        IssuerClient::new(&url, ClientOptions::default())?,
    );
    screen.line(
        "wallet   key vault: MemoryKeyVault, a FAKE for demos (the key lives in memory only; \
         phones use the Android Keystore or the Secure Enclave)",
    );
    session.enroll("tessera-cli-demo").await?;
    session.request_email(EMAIL).await?;
    let message = admin
        .last_message_to(EMAIL)
        .await?
        .ok_or_else(|| CliError::DemoFailed(format!("no email to {EMAIL} in the dev outbox")))?;
    let token = link_param(&message.body, "token")
        .ok_or_else(|| CliError::DemoFailed("the email holds no token link".into()))?;
    session.confirm_email(&token).await?;
    let report = session.sync().await?;
    timings.onboarding = t.elapsed();
    screen.line(&format!(
        "wallet   enrolled, email confirmed through the link in the dev outbox, synced {} ticket ({})",
        report.tickets,
        render::duration(timings.onboarding)
    ));
    let wallet = session.wallet();
    let summary = wallet.ticket(&ticket)?;
    screen.line(&format!(
        "ticket   {ticket} · {SEAT} · {}",
        render::state(&summary.state)
    ));
    // The point of the window: before it, the wallet has no code to give.
    let locked_refusal = match wallet.frame(&ticket) {
        Err(e @ WalletError::Locked { .. }) => Some(e),
        Err(e) => return Err(e.into()),
        Ok(_) => None,
    };
    if let Some(WalletError::Locked { opens_at }) = &locked_refusal {
        screen.line(&format!(
            "         asked for a code now: refused, locked until {}",
            render::utc(*opens_at)
        ));
    }

    let t = Instant::now();
    countdown(screen, wallet, opens_at).await;
    timings.window_wait = t.elapsed();

    let t = Instant::now();
    release(&session, &ticket).await?;
    timings.release_sync = t.elapsed();
    screen.line(&format!(
        "window open: synced again, the issuer released the event's secret ({})",
        render::duration(timings.release_sync)
    ));

    // The ticket was bound to this wallet after the gate fetched its bundle: a compact
    // code names a credential the gate must hold, so the gate fetches the bundle again
    // (a gate online refreshes every few minutes; offline, the holder shows the full code).
    let bundle_json = IssuerApi::new(&url, &gate_token)?
        .gate_bundle_json(EVENT, None)
        .await?;
    let bundle = signed_bundle::open(&bundle_json, &pins)?;
    screen.line(&format!(
        "gate     {GATE_ID}: bundle fetched again, now with the ticket's credential ({} in all)",
        bundle.credentials.len()
    ));
    let log = ScanLog::open(dir.join("gate-scans.sqlite"))?;
    let mut gate = Verifier::new(bundle.clone(), GATE_ID, log)?;
    let (frames, scans) = show_frames(
        args.frames,
        screen,
        wallet,
        &ticket,
        &mut gate,
        &bundle,
        &mut timings,
    )
    .await?;
    gate.flush()?;
    Ok(Run {
        url,
        issuer_key: issuer.issuer_public_key(),
        ticket,
        opens_at,
        locked_refusal,
        frames,
        scans,
        bundle_json,
        timings,
    })
}

/// Counts down to the window on the wallet's trusted time (the issuer's clock), the
/// time the wallet itself opens the window with.
pub(crate) async fn countdown(screen: Screen, wallet: &Wallet, opens_at: i64) {
    let opens_ms = opens_at.saturating_mul(1000);
    let total = (opens_ms - wallet.trusted_time().now_ms).max(1);
    let mut last_whole = None;
    loop {
        let left = opens_ms - wallet.trusted_time().proven_ms;
        if left <= 0 {
            break;
        }
        if screen.is_live() {
            screen.status(&format!(
                "LOCKED   the code appears in {:>6}  {}",
                render::secs_left(left),
                render::bar(left, total, BAR_CELLS)
            ));
        } else {
            let whole = (left + 999) / 1000;
            if last_whole != Some(whole) {
                screen.line(&format!("locked   the code appears in {whole} s"));
                last_whole = Some(whole);
            }
        }
        sleep_ms(left.min(TICK_MS)).await;
    }
    screen.end_status();
}

/// Syncs until the strict just-in-time release secret is in and the ticket is ready.
async fn release(session: &WalletSync, ticket: &TicketId) -> Result<(), CliError> {
    for _ in 0..RELEASE_SYNC_TRIES {
        session.sync().await?;
        match session.wallet().reveal_state(ticket)? {
            RevealState::Ready { .. } => return Ok(()),
            RevealState::NeedsSync | RevealState::Locked { .. } => {
                tokio::time::sleep(RELEASE_RETRY).await;
            }
            other => {
                return Err(CliError::DemoFailed(format!(
                    "after the window opened the ticket is {}",
                    render::state(&other)
                )));
            }
        }
    }
    Err(CliError::DemoFailed(
        "the issuer did not release the ticket after its window opened".into(),
    ))
}

/// Shows `count` frames, one per step, each drawn once and prepared a step ahead; the
/// gate scans each, plus the replay and the forgeries.
async fn show_frames(
    count: u32,
    screen: Screen,
    wallet: &Wallet,
    ticket: &TicketId,
    gate: &mut Verifier,
    bundle: &GateBundle,
    timings: &mut Timings,
) -> Result<(Vec<Frame>, Vec<Scan>), CliError> {
    let t = Instant::now();
    let mut frame = wallet.frame(ticket)?;
    timings.first_draw = t.elapsed();
    let mut frames: Vec<Frame> = Vec::new();
    let mut scans = Vec::new();
    for n in 1..=count {
        let mut now = vec![scan(gate, ScanKind::Frame, n, frame.step, &frame.payload)];
        if n == 1 {
            now.push(scan(gate, ScanKind::Replay, n, frame.step, &frame.payload));
            if let Some(forged) = change_one_char(&frame.payload) {
                now.push(scan(gate, ScanKind::Forged, n, frame.step, &forged));
            }
            let copy = other_device_code(&frame, bundle)?;
            now.push(scan(gate, ScanKind::OtherDevice, n, frame.step, &copy));
        }
        // Two steps on, the first frame is what a screenshot would show.
        if n == 3
            && let Some(first) = frames.first()
        {
            now.push(scan(
                gate,
                ScanKind::Screenshot,
                1,
                first.step,
                &first.payload,
            ));
        }
        draw_frame(screen, n, count, &frame, &now);
        scans.extend(now);
        if n == count {
            frames.push(frame);
            break;
        }
        // Drawn now, while the current frame is on screen, so the switch at the boundary
        // only reads memory.
        let t = Instant::now();
        wallet.prepare_next_frame(ticket)?;
        timings.prepare.push(t.elapsed());
        wait_for_step_end(screen, wallet, &frame).await;
        let next = next_frame(wallet, ticket, frame.step, timings).await?;
        frames.push(std::mem::replace(&mut frame, next));
    }
    Ok((frames, scans))
}

/// The frame after `step`, read at the step boundary.
async fn next_frame(
    wallet: &Wallet,
    ticket: &TicketId,
    step: u64,
    timings: &mut Timings,
) -> Result<Frame, CliError> {
    // The wait ended on the same trusted time the wallet draws with, so the step has
    // moved on; the loop only guards against a clock read a millisecond early.
    for _ in 0..100 {
        let t = Instant::now();
        let f = wallet.frame(ticket)?;
        let took = t.elapsed();
        if f.step > step {
            timings.boundary.push(took);
            return Ok(f);
        }
        sleep_ms(5).await;
    }
    Err(CliError::DemoFailed(
        "the wallet's step did not advance".into(),
    ))
}

/// Shows the bar counting down to the next step until it begins.
pub(crate) async fn wait_for_step_end(screen: Screen, wallet: &Wallet, frame: &Frame) {
    let period_ms = frame.ends_at_ms - frame.starts_at_ms;
    let mut announced = false;
    loop {
        let left = frame.ends_at_ms - wallet.trusted_time().now_ms;
        if left <= 0 {
            break;
        }
        if screen.is_live() {
            screen.status(&format!(
                "next code in {:>6}  {}",
                render::secs_left(left),
                render::bar(left, period_ms, BAR_CELLS)
            ));
        } else if !announced {
            screen.line(&format!("next code in {}", render::secs_left(left)));
            announced = true;
        }
        sleep_ms(left.min(TICK_MS)).await;
    }
}

/// Sleeps `ms` milliseconds (at least one, so a loop never spins).
async fn sleep_ms(ms: i64) {
    tokio::time::sleep(Duration::from_millis(u64::try_from(ms.max(1)).unwrap_or(1))).await;
}

/// One frame on screen: what the gate said and its QR code (once per step). On a live
/// screen it replaces the previous frame. The code comes last, right above the bar: on a
/// terminal too short for the whole frame the lines above it scroll away, never the code;
/// on one too small for the code itself, a line says the size needed instead of a code
/// cut off.
fn draw_frame(screen: Screen, n: u32, count: u32, frame: &Frame, scans: &[Scan]) {
    screen.clear();
    let mut lines = Vec::new();
    lines.push(screen.bold(&format!("{EVENT_NAME} · {SEAT} · {HOLDER}")));
    lines.push(format!(
        "frame {n} of {count} · step {} · {:?} · {} characters",
        frame.step,
        frame.format,
        frame.payload.len()
    ));
    // The tail: the credential at the front is the same every step, the step and the
    // device signature at the end are what rotates.
    let tail = frame
        .payload
        .get(frame.payload.len().saturating_sub(56)..)
        .unwrap_or(&frame.payload);
    lines.push(format!("…{tail}"));
    for s in scans {
        lines.push(format!(
            "gate     {:<38} {}",
            s.kind.describe(),
            screen.verdict(&s.result.verdict)
        ));
        for a in &s.result.anomalies {
            lines.push(format!("         anomaly: {}", render::anomaly(a)));
        }
    }
    if screen.draws_qr() {
        match render::too_small(
            qr_need(render::qr_cells(&frame.qr())),
            render::terminal_size(),
        ) {
            None => lines.extend(render::qr_lines(&frame.qr(), screen.is_ansi())),
            Some(why) => {
                lines.push(screen.bad(&format!("QR code not drawn: it {why}{TOO_SMALL_HINT}")))
            }
        }
    }
    // One write per frame, so the terminal never shows half a code.
    screen.line(&lines.join("\n"));
}

/// What else to do when the terminal is too small for the code.
const TOO_SMALL_HINT: &str =
    "; or run `tessera demo --headless --out DIR` for the frames as PNG files";

/// The terminal the demo's code needs: the code and the bar under it.
fn qr_need(code: Cells) -> Cells {
    Cells {
        cols: code.cols,
        rows: code.rows + 1,
    }
}

/// The cells the demo's code will take, from a stand-in code of the same length (the
/// same seat, flags and release MAC, throwaway keys): known before the window opens, so
/// the newcomer can enlarge the terminal while the ticket counts down.
fn expected_qr_cells(opens_at: i64) -> Option<Cells> {
    let key = || {
        device::generate_seed()
            .ok()
            .and_then(|s| device::keypair(&s[..]).ok())
    };
    let (issuer, phone) = (key()?, key()?);
    let signed = Credential {
        key_id: ISSUER_KEY_ID,
        ticket: TicketId([0; 16]),
        event: EVENT,
        reveal_opens_at: opens_at,
        valid_until: opens_at + 6 * 3600,
        period_secs: PERIOD_SECS,
        strict_jit: true,
        reentry: true,
        personalised: true,
        device_public_key: public_key(&phone),
        seat: SEAT.into(),
    }
    .sign(&issuer)
    .ok()?;
    let code = C1Code::generate(&signed, &phone, 1, Some(&[0; 32])).encode();
    QrMatrix::encode(&code).ok().map(|qr| render::qr_cells(&qr))
}

/// Shows `payload` to the gate and records what it said and how long it took.
fn scan(gate: &mut Verifier, kind: ScanKind, frame: u32, step: u64, payload: &str) -> Scan {
    // The gate reads its own clock, as a real one would.
    let at_ms = SystemWallClock.now_unix_ms();
    let t = Instant::now();
    let result = gate.verify(payload, at_ms);
    Scan {
        kind,
        frame,
        step,
        payload: payload.to_owned(),
        result,
        at_ms,
        took: t.elapsed(),
    }
}

/// The payload with its last digit changed: the low digit of the compact code's device
/// signature (docs/PROTOCOL.md §7.7), moved towards zero so the group stays canonical. The
/// code still parses; only the device signature check can catch it. `None` for anything
/// but C1.
fn change_one_char(payload: &str) -> Option<String> {
    let Ok(Code::C1(_)) = Code::parse(payload) else {
        return None;
    };
    let mut chars: Vec<char> = payload.chars().collect();
    let last = chars.last_mut()?;
    *last = match *last {
        '0' => '1',
        d => char::from_u32(u32::from(d) - 1)?,
    };
    Some(chars.into_iter().collect())
}

/// A code a thief could make from a copied credential and the event's release secret
/// (every wallet gets it once the window opens): everything right except the device
/// signature, made with another phone's key.
fn other_device_code(frame: &Frame, bundle: &GateBundle) -> Result<String, CliError> {
    let Ok(Code::C1(code)) = Code::parse(&frame.payload) else {
        return Err(CliError::DemoFailed(
            "the wallet drew a code that is not C1".into(),
        ));
    };
    // The credential is public: every gate's bundle holds it.
    let signed = bundle
        .credentials
        .iter()
        .map(|c| &c.0)
        .find(|c| reference_of(c) == code.reference)
        .ok_or_else(|| CliError::DemoFailed("the bundle lacks the ticket's credential".into()))?;
    let thief = device::generate_seed()
        .and_then(|seed| device::keypair(&seed[..]))
        .map_err(|e| WalletError::storage(format!("another device key: {e}")))?;
    let release = bundle.release_secrets.get(&EVENT).map(|s| s.expose());
    Ok(C1Code::generate(signed, &thief, frame.step, release).encode())
}

/// What differs from the expected run; empty when all went as it should.
fn check(run: &Run, frames: u32) -> Vec<String> {
    let mut failures = Vec::new();
    if run.locked_refusal.is_none() {
        failures.push("the wallet drew a code before the window opened".to_owned());
    }
    if run.frames.len() != frames as usize {
        failures.push(format!("{} frames shown, not {frames}", run.frames.len()));
    }
    for s in &run.scans {
        let got = s.result.verdict.reason();
        if got != s.kind.expected() {
            failures.push(format!(
                "frame {}: {}: expected {}, the gate said {}",
                s.frame,
                s.kind.describe(),
                outcome_name(s.kind.expected()),
                outcome_name(got)
            ));
        }
    }
    for kind in [ScanKind::Replay, ScanKind::Forged, ScanKind::OtherDevice] {
        if !run.scans.iter().any(|s| s.kind == kind) {
            failures.push(format!("{} was never scanned", kind.describe()));
        }
    }
    failures
}

/// `admit`, or the reject reason's stable name.
fn outcome_name(r: Option<RejectReason>) -> &'static str {
    r.map_or("admit", RejectReason::as_str)
}

/// Writes frames.jsonl, frame-N.png, issuer.json and bundle.json into `dir`.
fn write_outputs(dir: &Path, run: &Run) -> Result<(), CliError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::io(format!("creating {}", dir.display()), e))?;
    let format = run.frames.first().map_or(CodeFormat::C1, |f| f.format);
    let mut lines = String::new();
    for s in &run.scans {
        let reason = s.result.verdict.reason();
        let line = json!({
            "kind": s.kind.name(),
            "frame": s.frame,
            "ticket_id": run.ticket.to_string(),
            "format": format,
            "step": s.step,
            "payload": s.payload,
            "verdict": verdict_label(&s.result.verdict),
            "reason": reason.map(RejectReason::as_str),
            "expected": outcome_name(s.kind.expected()),
            "scanned_at_ms": s.at_ms,
        });
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    write_private(&dir.join("frames.jsonl"), lines.as_bytes())?;
    for (i, f) in run.frames.iter().enumerate() {
        let png = f.qr().to_png(PNG_MODULE_PX)?;
        write_private(&dir.join(format!("frame-{}.png", i + 1)), &png)?;
    }
    let issuer = json!({
        "issuer_url": run.url,
        "issuer_keys": [IssuerKey {
            key_id: ISSUER_KEY_ID,
            public_key: hex::encode(run.issuer_key),
        }],
    });
    write_private(&dir.join("issuer.json"), issuer.to_string().as_bytes())?;
    // The gate's input, so `tessera gate scan` can re-judge the recorded codes.
    write_private(&dir.join("bundle.json"), run.bundle_json.as_bytes())?;
    Ok(())
}

/// The mean of `v`, zero when empty.
fn average(v: &[Duration]) -> Duration {
    match u32::try_from(v.len()) {
        Ok(n) if n > 0 => v.iter().sum::<Duration>() / n,
        _ => Duration::ZERO,
    }
}

/// The closing summary: what happened, in order, with timings.
fn summary(screen: Screen, run: &Run, failures: &[String], out: Option<&Path>, total: Duration) {
    let t = &run.timings;
    let frames: Vec<&Scan> = run
        .scans
        .iter()
        .filter(|s| s.kind == ScanKind::Frame)
        .collect();
    let admitted = frames
        .iter()
        .filter(|s| s.result.verdict.is_admit())
        .count();
    let rejections: Vec<String> = run
        .scans
        .iter()
        .filter(|s| s.kind != ScanKind::Frame)
        .map(|s| {
            format!(
                "{} ({})",
                s.kind.describe(),
                outcome_name(s.result.verdict.reason())
            )
        })
        .collect();
    let scan_times: Vec<Duration> = run.scans.iter().map(|s| s.took).collect();
    let steps = match (run.frames.first(), run.frames.last()) {
        (Some(a), Some(b)) if a.step != b.step => format!("steps {}–{}", a.step, b.step),
        (Some(a), _) => format!("step {}", a.step),
        _ => "no step".into(),
    };
    screen.line("");
    screen.line(&screen.bold("Summary"));
    screen.line(&format!(
        "  1. issuer started on loopback ({}); event, order, gate token and gate bundle made through the admin API ({})",
        render::duration(t.issuer_start),
        render::duration(t.setup)
    ));
    screen.line(&format!(
        "  2. wallet enrolled, confirmed its email through the dev outbox and synced its ticket ({})",
        render::duration(t.onboarding)
    ));
    screen.line(&format!(
        "  3. before {} the wallet refused to draw a code; waited {}",
        render::utc(run.opens_at),
        render::duration(t.window_wait)
    ));
    screen.line(&format!(
        "  4. at the window the wallet synced again and received the release secret ({})",
        render::duration(t.release_sync)
    ));
    screen.line(&format!(
        "  5. {} frame(s), {steps}: the first drawn in {}; each next one prepared a step ahead ({} on average) and read at the boundary in {}",
        run.frames.len(),
        render::duration(t.first_draw),
        render::duration(average(&t.prepare)),
        render::duration(average(&t.boundary)),
    ));
    screen.line(&format!(
        "  6. the gate admitted {admitted} of {} live codes (re-entry is on) and rejected {}; {} per scan",
        frames.len(),
        rejections.join(", "),
        render::duration(average(&scan_times))
    ));
    screen.line(&format!(
        "  total {} · key vault: MemoryKeyVault, a FAKE for demos",
        render::duration(total)
    ));
    if let Some(dir) = out {
        screen.line(&format!(
            "  files: {0}/frames.jsonl, {0}/frame-1..{1}.png, {0}/issuer.json, {0}/bundle.json",
            dir.display(),
            run.frames.len()
        ));
    }
    if failures.is_empty() {
        screen.line(&screen.good("  everything happened as expected"));
    } else {
        for f in failures {
            screen.line(&screen.bad(&format!("  NOT AS EXPECTED: {f}")));
        }
    }
}
