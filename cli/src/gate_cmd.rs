//! `tessera gate bundle` and `tessera gate scan`: a gate in a shell, for scripts, kiosks
//! and checking a code by hand.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{Value, json};
use tessera_core::EventId;
use tessera_core::clock::{SystemWallClock, WallClock};
use tessera_gate::{
    Anomaly, BundleDistrust, DEFAULT_MAX_BUNDLE_AGE_MS, GateError, PinnedKeys, PublicKey, ScanLog,
    ScanResult, Verdict, Verifier, VerifierConfig, signed_bundle,
};
use tessera_issuer::ISSUER_KEY_ID;

use crate::admin::IssuerApi;
use crate::error::{CliError, EXIT_CODES};
use crate::out::outln;
use crate::render::{self, Screen};
use crate::token_arg::StaffTokenArgs;

/// Exit codes of `gate scan`, shown under its `--help`.
const SCAN_EXIT_CODES: &str = "Exit codes:
  0  admitted
  1  rejected (the reason is printed, with what to tell the holder)
  2  error: the bundle or scan log could not be read or written (a scan that could not
     be recorded shows no verdict)";

/// `tessera gate …`
#[derive(Debug, Subcommand)]
pub enum GateCommand {
    /// Fetches an event's gate bundle from the issuer with a gate token, checks it and
    /// writes it to a file (or stdout). A T1 bundle and a strict just-in-time bundle hold
    /// secrets: keep the file private.
    #[command(after_help = EXIT_CODES)]
    Bundle(BundleArgs),
    /// Judges one scanned code offline against a bundle, records the scan in the gate's
    /// scan log (replays of a code already seen are rejected) and prints the verdict.
    #[command(after_help = SCAN_EXIT_CODES)]
    Scan(ScanArgs),
}

/// `tessera gate bundle` options.
#[derive(Debug, Args)]
pub struct BundleArgs {
    /// The issuer's base URL (HTTPS, or HTTP on loopback).
    #[arg(long, value_name = "URL")]
    issuer: String,
    /// A gate token for this event (or the admin token), as minted with POST /v1/admin/tokens.
    #[command(flatten)]
    token: StaffTokenArgs,
    /// The event id.
    #[arg(long, value_name = "ID")]
    event: u64,
    /// Where to keep the signed bundle (default: stdout). If the file already holds this
    /// event's bundle, only what changed since is fetched and appended.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// The issuer's public key (64 hex digits, as `tessera issuer serve` prints it) to pin.
    /// Without it the gate pins the key the first bundle names (trust on first use) and
    /// prints it for you to compare.
    #[arg(long, value_name = "HEX")]
    issuer_key: Option<String>,
    /// Fetch the whole bundle even if FILE holds one.
    #[arg(long)]
    full: bool,
}

/// `tessera gate scan` options.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The gate bundle JSON (from `tessera gate bundle`).
    #[arg(long, value_name = "FILE")]
    bundle: PathBuf,
    /// The gate's scan log, a SQLite file (created if missing); it is how the gate
    /// remembers codes and admissions between scans.
    #[arg(long, value_name = "FILE")]
    log: PathBuf,
    /// This gate's id, recorded with each scan.
    #[arg(long, value_name = "ID", default_value = "gate-1")]
    gate_id: String,
    /// Prints the result as one JSON object: verdict, reason, door_text, ticket, step,
    /// seat, holder_name, anomalies, bundle_age_secs.
    #[arg(long)]
    json: bool,
    /// A bundle older than this many seconds adds a `bundle_stale` warning to every
    /// verdict: fetch it again with `tessera gate bundle`.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_MAX_BUNDLE_AGE_MS / 1000)]
    max_bundle_age_secs: i64,
    /// The gate's time, Unix ms, to re-judge a recorded scan (default: this machine's clock).
    #[arg(long, value_name = "MS")]
    at_ms: Option<i64>,
    /// The scanned QR payload text, exactly (`-` reads it from stdin and drops one
    /// trailing line terminator).
    #[arg(value_name = "PAYLOAD")]
    payload: String,
}

/// Runs a `gate` subcommand.
pub async fn run(cmd: GateCommand) -> Result<ExitCode, CliError> {
    match cmd {
        GateCommand::Bundle(args) => bundle(args).await,
        GateCommand::Scan(args) => scan(&args),
    }
}

/// `gate bundle`: fetch, check the issuer's signature, store.
async fn bundle(args: BundleArgs) -> Result<ExitCode, CliError> {
    let token = args.token.resolve()?;
    let api = IssuerApi::new(&args.issuer, &token)?;
    let event = EventId(args.event);
    let explicit = args
        .issuer_key
        .as_deref()
        .map(parse_issuer_key)
        .transpose()?;
    // A file this gate already holds: its pinned key (kept whatever is fetched next, so
    // neither `--full` nor another event's bundle re-pins: only `--issuer-key` changes it)
    // and, for the same event, what it has.
    let existing = match &args.out {
        Some(path) if path.exists() => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::io(format!("reading {}", path.display()), e))?;
            match signed_bundle::open_first(&text) {
                Ok((_, pins)) => Some((text, pins)),
                // A bare bundle written by a version before signing pins nothing: this
                // fetch sets the gate up again instead of refusing forever.
                Err(GateError::UntrustedBundle {
                    why: BundleDistrust::Unsigned,
                }) => None,
                Err(e) => return Err(e.into()),
            }
        }
        _ => None,
    };
    let pinned = explicit
        .clone()
        .or_else(|| existing.as_ref().map(|(_, pins)| pins.clone()));
    let held = match (&existing, &pinned) {
        (Some((text, _)), Some(pins)) if !args.full => {
            let b = signed_bundle::open(text, pins)?;
            (b.event == event).then(|| (text.clone(), pins.clone(), b))
        }
        _ => None,
    };
    let (document, b, note) = match held {
        Some((text, pins, mut b)) => {
            let update = api.gate_bundle_json(event, Some(b.seq)).await?;
            let got = signed_bundle::open_line(&update, &pins)?;
            if got.is_update() {
                let changed = got.changed.len();
                let since = b.seq;
                b.apply_update(got)?;
                let doc = format!("{}\n{}\n", text.trim_end(), update.trim_end());
                (
                    doc,
                    b,
                    format!("update since {since}: {changed} ticket(s) changed"),
                )
            } else {
                // The issuer answered a whole bundle (it was reset or restored).
                let whole = signed_bundle::open(&update, &pins)?;
                (
                    update,
                    whole,
                    "whole bundle (the issuer's sequence restarted)".into(),
                )
            }
        }
        None => {
            let text = api.gate_bundle_json(event, None).await?;
            let (b, pins, how) = match &pinned {
                Some(p) => {
                    let how = if explicit.is_some() {
                        "pinned"
                    } else {
                        "as pinned before"
                    };
                    (signed_bundle::open(&text, p)?, p.clone(), how)
                }
                None => {
                    let (b, p) = signed_bundle::open_first(&text)?;
                    (b, p, "pinned on first use")
                }
            };
            let keys: Vec<String> = pins
                .iter()
                .map(|(id, k)| format!("{id}: {}", hex::encode(k.0)))
                .collect();
            (text, b, format!("issuer key {} ({how})", keys.join(", ")))
        }
    };
    let format = if b.t1.is_some() { "T1" } else { "S1" };
    let summary = format!(
        "bundle for event {}, sequence {}: {format}, {} revoked, window {} – {}; {note}{}",
        b.event,
        b.seq,
        b.revoked.len() + b.revoked_credentials.len(),
        render::utc(b.valid_from),
        render::utc(b.valid_until),
        if b.holds_private_material() {
            " (holds secrets: keep it private)"
        } else {
            ""
        }
    );
    match &args.out {
        Some(path) => {
            write_private(path, document.as_bytes())?;
            eprintln!("{summary} → {}", path.display());
        }
        None => {
            // The issuer's text as it came, but nothing in it reaches the terminal raw.
            outln!("{}", render::json_safe(document.trim_end()));
            eprintln!("{summary}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// An issuer public key given by hand: 64 hex digits, pinned under the issuer's key id.
fn parse_issuer_key(text: &str) -> Result<PinnedKeys, CliError> {
    let mut k = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut k)
        .map_err(|_| CliError::Usage("--issuer-key must be 64 hex digits".into()))?;
    Ok(PinnedKeys::from([(ISSUER_KEY_ID, PublicKey(k))]))
}

/// Writes a file readable by its owner only (on Unix): bundles and demo outputs may hold
/// a release secret or seeds.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| CliError::io(format!("writing {}", path.display()), e))
}

/// `gate scan`: one payload, one verdict, recorded in the scan log.
fn scan(args: &ScanArgs) -> Result<ExitCode, CliError> {
    let text = std::fs::read_to_string(&args.bundle)
        .map_err(|e| CliError::io(format!("reading {}", args.bundle.display()), e))?;
    let log = ScanLog::open(&args.log)?;
    let config = VerifierConfig {
        max_bundle_age_ms: args.max_bundle_age_secs.saturating_mul(1000),
        ..VerifierConfig::default()
    };
    // The signature is checked against the key the log pinned at this gate's first scan.
    let mut verifier = Verifier::open_signed(&text, None, &args.gate_id, log, config)?;
    let payload = if args.payload == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::io("reading the payload from stdin", e))?;
        // Scanners and `echo` end the text with one line terminator that is not part of
        // the code: that one is dropped, nothing else (docs/PROTOCOL.md §10.1).
        let code = s
            .strip_suffix("\r\n")
            .or_else(|| s.strip_suffix('\n'))
            .or_else(|| s.strip_suffix('\r'))
            .unwrap_or(&s);
        code.to_owned()
    } else {
        args.payload.clone()
    };
    let now = args.at_ms.unwrap_or_else(|| SystemWallClock.now_unix_ms());
    let mut result = verifier.verify(&payload, now);
    // Record, then show: the scan's row is committed before anything is printed, so a
    // gate killed right after showing a verdict (a refusal too) still has it in its log.
    // A scan that cannot be recorded is an error (exit 2), never a verdict on screen.
    verifier.flush()?;
    // Written now, even if the verifier's own commit had failed.
    result
        .anomalies
        .retain(|a| !matches!(a, Anomaly::LogNotPersisted));
    if args.json {
        outln!("{}", render::json_line(&scan_json(&result)));
    } else {
        let screen = Screen::for_stdout(true);
        screen.line(&screen.verdict(&result.verdict));
        if let Some(t) = result.ticket {
            screen.line(&format!("ticket {t}, step {}", opt(result.step)));
        }
        for a in &result.anomalies {
            screen.line(&format!("anomaly: {}", render::anomaly(a)));
        }
        screen.line(&format!(
            "bundle age: {}",
            render::duration_secs(result.bundle_age_ms / 1000)
        ));
    }
    Ok(if result.verdict.is_admit() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A step for display, `?` when the payload did not parse that far.
fn opt(step: Option<u64>) -> String {
    step.map_or_else(|| "?".into(), |s| s.to_string())
}

/// `admit` or `reject`.
pub fn verdict_label(v: &Verdict) -> &'static str {
    if v.is_admit() { "admit" } else { "reject" }
}

/// A scan result as the JSON `gate scan --json` prints.
pub fn scan_json(r: &ScanResult) -> Value {
    let (seat, holder_name) = match &r.verdict {
        Verdict::Admit {
            seat, holder_name, ..
        } => (seat.clone(), holder_name.clone()),
        Verdict::Reject { .. } => (None, None),
    };
    let reason = r.verdict.reason();
    json!({
        "verdict": verdict_label(&r.verdict),
        "reason": reason.map(|r| r.as_str()),
        "door_text": reason.map(|r| r.door_text()),
        "ticket": r.ticket.map(|t| t.to_string()),
        "step": r.step,
        "seat": seat,
        "holder_name": holder_name,
        "anomalies": r.anomalies.iter().map(anomaly_json).collect::<Vec<_>>(),
        "bundle_age_secs": r.bundle_age_ms / 1000,
    })
}

/// An anomaly as JSON: a stable `kind`, its fields, and a `text` in words.
fn anomaly_json(a: &Anomaly) -> Value {
    let mut v = match a {
        Anomaly::SeenAtOtherGate {
            other_gate,
            apart_ms,
        } => json!({"kind": "seen_at_other_gate", "other_gate": other_gate, "apart_ms": apart_ms}),
        Anomaly::FailureBurst {
            failures,
            within_secs,
        } => json!({"kind": "failure_burst", "failures": failures, "within_secs": within_secs}),
        Anomaly::DeviceClockSkew { offset_steps } => {
            json!({"kind": "device_clock_skew", "offset_steps": offset_steps})
        }
        Anomaly::GateClockSkew { direction } => {
            json!({"kind": "gate_clock_skew", "direction": direction})
        }
        Anomaly::LogNotPersisted => json!({"kind": "log_not_persisted"}),
        Anomaly::BundleStale { age_secs } => json!({"kind": "bundle_stale", "age_secs": age_secs}),
    };
    v["text"] = Value::String(render::anomaly(a));
    v
}
