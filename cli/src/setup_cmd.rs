//! `tessera issuer event create`, `issuer order create`, `issuer token create | list |
//! revoke`: setting up an event on a running issuer with typed flags instead of
//! hand-written JSON. Each talks to the admin API (docs/API.md) with a staff token.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use tessera_core::clock::{SystemWallClock, WallClock};
use tessera_core::policy::{DEFAULT_PERIOD_SECS, MAX_PERIOD_SECS, MIN_PERIOD_SECS, PolicyError};
use tessera_core::sync::api::{OrderRequest, TokenInfo, TokenRequest, TokenResponse};
use tessera_core::{CodeFormat, EventId, EventPolicy, TotpAlgorithm, Verification};

use crate::admin::IssuerApi;
use crate::error::CliError;
use crate::gate_cmd::write_private;
use crate::out::outln;
use crate::render;
use crate::token_arg::StaffTokenArgs;
use crate::when::{parse_duration, parse_time};

/// How long an event's window stays open when neither `--valid-until` nor `--duration`
/// is given.
const DEFAULT_DURATION: &str = "6h";

/// The issuer to talk to and the staff token to do it with.
#[derive(Debug, Args)]
pub struct Connection {
    /// The issuer's base URL (HTTPS, or HTTP on loopback), as `tessera issuer serve`
    /// prints it.
    #[arg(long, value_name = "URL", env = "TESSERA_ISSUER")]
    issuer: String,
    /// The staff token: the admin token `issuer serve` prints (a box-office token may
    /// sell: `order create`).
    #[command(flatten)]
    token: StaffTokenArgs,
}

impl Connection {
    /// The admin API client.
    fn api(&self) -> Result<IssuerApi, CliError> {
        let token = self.token.resolve()?;
        Ok(IssuerApi::new(&self.issuer, &token)?)
    }
}

/// `tessera issuer event …`
#[derive(Debug, Subcommand)]
pub enum EventCommand {
    /// Creates an event (or replaces the event with that id: its tickets, seeds and
    /// release secret stay). Defaults as the API's: T1 codes rotating every 15 s, HMAC-SHA1,
    /// 8 digits, no protections; the window opens now and closes 6 hours later.
    Create(EventArgs),
}

/// `tessera issuer order …`
#[derive(Debug, Subcommand)]
pub enum OrderCommand {
    /// Sells tickets of an event to one buyer (the email address is the buyer's account).
    /// One general-admission ticket unless --seat or --tickets says otherwise.
    Create(OrderArgs),
}

/// `tessera issuer token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mints a staff token (admin token needed): a gate token for one gate at one event
    /// (`--role gate --event N --gate-id north-1`), or a box-office token for one event
    /// or all (`--role box_office [--event N]`). The token is shown this once.
    Create(TokenArgs),
    /// Lists the staff tokens with their scope, never the tokens themselves.
    List(ListArgs),
    /// Revokes a staff token by its id (from `create` or `list`); it stops working at once.
    Revoke(RevokeArgs),
}

/// A code format on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Shared-secret TOTP codes; the gate holds the ticket seeds.
    T1,
    /// Issuer-signed credential plus a device signature per step; the gate holds public keys only.
    S1,
    /// Compact S1: the code names the credential, which the gate finds in its bundle (QR
    /// version 7 instead of 12); the holder can show the full S1 code.
    C1,
}

/// A T1 HMAC on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Algorithm {
    /// HMAC-SHA-1.
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

/// A verification on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Requirement {
    /// The order's email address, confirmed from the device.
    Email,
    /// The order's phone number, confirmed with an SMS code.
    Phone,
    /// Biometrics or the device passcode just before the code shows (on phones).
    Presence,
}

/// `issuer event create` options.
#[derive(Debug, Args)]
pub struct EventArgs {
    #[command(flatten)]
    conn: Connection,
    /// The event's id, chosen by you (at most 2^63−1).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(..=i64::MAX as u64))]
    id: u64,
    /// The name shown to holders.
    #[arg(long, value_name = "TEXT")]
    name: String,
    /// When the reveal window opens (no code before it): Unix seconds or RFC 3339
    /// (2026-06-01T19:30:00Z). Default: now.
    #[arg(long, value_name = "TIME", value_parser = parse_time, conflicts_with = "opens_in")]
    opens_at: Option<i64>,
    /// The window opens this long from now (90s, 10m, 2h, 1h30m, 3d).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    opens_in: Option<i64>,
    /// When the window closes and tickets stop being valid: Unix seconds or RFC 3339.
    #[arg(long, value_name = "TIME", value_parser = parse_time, conflicts_with = "duration")]
    valid_until: Option<i64>,
    /// How long the window stays open [default: 6h].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<i64>,
    /// The rotating code: c1 (compact signed, the default: read fastest at the door), s1
    /// or t1 (docs/PROTOCOL.md).
    #[arg(long, value_enum, ignore_case = true, default_value = "c1")]
    format: Format,
    /// Seconds between code rotations, 5 to 60.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_PERIOD_SECS,
          value_parser = clap::value_parser!(u8).range(i64::from(MIN_PERIOD_SECS)..=i64::from(MAX_PERIOD_SECS)))]
    period: u8,
    /// Strict just-in-time: codes need a release secret the issuer hands out only once
    /// the window is open.
    #[arg(long)]
    strict_jit: bool,
    /// What holders prove before the code shows, comma-separated or repeated.
    #[arg(
        long,
        value_enum,
        value_name = "WHAT",
        value_delimiter = ',',
        ignore_case = true
    )]
    requires: Vec<Requirement>,
    /// Tickets carry the holder's name, shown at the gate for an ID check (orders need --holder).
    #[arg(long, alias = "personalized")]
    personalised: bool,
    /// Holders cannot change name or address; only the box office can.
    #[arg(long)]
    change_block: bool,
    /// A ticket may be admitted more than once.
    #[arg(long)]
    reentry: bool,
    /// Holders may transfer tickets.
    #[arg(long)]
    transferable: bool,
    /// HMAC of T1 codes.
    #[arg(long, value_enum, ignore_case = true, default_value = "sha1")]
    totp_algorithm: Algorithm,
    /// Digits of each T1 TOTP value, 6 to 9.
    #[arg(long, value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u8).range(6..=9))]
    totp_digits: u8,
    /// Prints the policy the issuer stored as JSON.
    #[arg(long)]
    json: bool,
}

/// `issuer order create` options.
#[derive(Debug, Args)]
pub struct OrderArgs {
    #[command(flatten)]
    conn: Connection,
    /// The event's id.
    #[arg(long, value_name = "N")]
    event: u64,
    /// The buyer's email address: the account whose confirmed devices get the tickets.
    #[arg(long, value_name = "ADDR")]
    email: String,
    /// The buyer's phone (E.164, `+441234567890`), for events that require phone verification.
    #[arg(long, value_name = "NUMBER")]
    phone: Option<String>,
    /// The holder's name (required on personalised events).
    #[arg(long, value_name = "NAME")]
    holder: Option<String>,
    /// One ticket for this seat label; repeat for more tickets.
    #[arg(long, value_name = "LABEL", conflicts_with = "tickets")]
    seat: Vec<String>,
    /// This many general-admission tickets.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    tickets: Option<u32>,
    /// Prints the issuer's answer as JSON.
    #[arg(long)]
    json: bool,
}

/// A staff role on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Role {
    /// Fetches one event's gate bundle and uploads scans as one gate.
    Gate,
    /// Sells, revokes and fixes holders (of one event, or every event).
    #[value(name = "box_office", alias = "box-office")]
    BoxOffice,
}

/// `issuer token create` options.
#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    conn: Connection,
    /// The token's role.
    #[arg(long, value_enum)]
    role: Role,
    /// The one event the token may act on (required for gate, optional for box_office).
    #[arg(long, value_name = "N")]
    event: Option<u64>,
    /// The gate's id (gate only, required): 1–64 of A–Z a–z 0–9 . _ -
    #[arg(long, value_name = "ID")]
    gate_id: Option<String>,
    /// Writes the token to FILE (private to you) instead of printing it, for
    /// --token-file later.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Prints the issuer's answer (token included) as JSON.
    #[arg(long, conflicts_with = "out")]
    json: bool,
}

/// `issuer token list` options.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    conn: Connection,
    /// Prints the list as JSON.
    #[arg(long)]
    json: bool,
}

/// `issuer token revoke` options.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    conn: Connection,
    /// The token's id (16 hex digits, from `create` or `list`).
    #[arg(value_name = "ID")]
    id: String,
}

/// Runs `issuer event …`.
pub async fn event(cmd: EventCommand) -> Result<ExitCode, CliError> {
    let EventCommand::Create(args) = cmd;
    let policy = policy(&args, SystemWallClock.now_unix_ms().div_euclid(1000))?;
    let stored = args.conn.api()?.create_event(&policy).await?;
    if args.json {
        print_json(&stored)?;
    } else {
        describe_event(&stored);
    }
    Ok(ExitCode::SUCCESS)
}

/// The policy the flags describe, `now` in Unix seconds; errors name the flag.
fn policy(a: &EventArgs, now: i64) -> Result<EventPolicy, CliError> {
    let opens_at = match (a.opens_at, a.opens_in) {
        (Some(at), _) => at,
        (None, Some(d)) => now.saturating_add(d),
        (None, None) => now,
    };
    let valid_until = match (a.valid_until, a.duration) {
        (Some(until), _) => until,
        (None, Some(d)) => opens_at.saturating_add(d),
        (None, None) => {
            opens_at.saturating_add(parse_duration(DEFAULT_DURATION).map_err(CliError::Usage)?)
        }
    };
    let mut p = EventPolicy::new(EventId(a.id), a.name.clone(), opens_at, valid_until);
    p.format = match a.format {
        Format::T1 => CodeFormat::T1,
        Format::S1 => CodeFormat::S1,
        Format::C1 => CodeFormat::C1,
    };
    p.period_secs = a.period;
    p.totp_algorithm = match a.totp_algorithm {
        Algorithm::Sha1 => TotpAlgorithm::Sha1,
        Algorithm::Sha256 => TotpAlgorithm::Sha256,
        Algorithm::Sha512 => TotpAlgorithm::Sha512,
    };
    p.totp_digits = a.totp_digits;
    p.strict_jit = a.strict_jit;
    let mut requires: Vec<Verification> = a
        .requires
        .iter()
        .map(|r| match r {
            Requirement::Email => Verification::Email,
            Requirement::Phone => Verification::Phone,
            Requirement::Presence => Verification::Presence,
        })
        .collect();
    requires.sort();
    requires.dedup();
    p.requires = requires;
    p.personalised = a.personalised;
    p.change_block = a.change_block;
    p.reentry = a.reentry;
    p.transferable = a.transferable;
    p.validate().map_err(|e| {
        CliError::Usage(match e {
            PolicyError::Window => format!(
                "--valid-until/--duration: the window closes ({}) before it opens ({})",
                render::utc(valid_until),
                render::utc(opens_at)
            ),
            PolicyError::Period(_) => format!("--period: {e}"),
            PolicyError::Digits(_) => format!("--totp-digits: {e}"),
            PolicyError::Name(_) => format!("--name: {e}"),
        })
    })?;
    Ok(p)
}

/// What an event now is, in the words of `wallet show`.
fn describe_event(p: &EventPolicy) {
    outln!("event {} saved: {}", p.event_id, render::escape(&p.name));
    outln!(
        "window   {} – {}",
        render::utc(p.reveal_opens_at),
        render::utc(p.valid_until)
    );
    let mut code = format!("{:?}, rotates every {} s", p.format, p.period_secs);
    if p.format == CodeFormat::T1 {
        code.push_str(&format!(
            ", {} {} digits",
            p.totp_algorithm.name(),
            p.totp_digits
        ));
    }
    outln!("code     {code}");
    let mut protections: Vec<String> = p
        .requires
        .iter()
        .map(|v| format!("{v:?} verification").to_lowercase())
        .collect();
    for (on, what) in [
        (p.strict_jit, "strict just-in-time"),
        (p.personalised, "personalised"),
        (p.change_block, "change block"),
        (p.reentry, "re-entry"),
        (p.transferable, "transferable"),
    ] {
        if on {
            protections.push(what.into());
        }
    }
    if protections.is_empty() {
        protections.push("none".into());
    }
    outln!("policy   {}", protections.join(", "));
    outln!(
        "next: tessera issuer order create --event {} --email BUYER@EXAMPLE.COM{}",
        p.event_id,
        if p.personalised {
            " --holder \"NAME\""
        } else {
            ""
        }
    );
}

/// Runs `issuer order …`.
pub async fn order(cmd: OrderCommand) -> Result<ExitCode, CliError> {
    let OrderCommand::Create(args) = cmd;
    let seats = if args.seat.is_empty() {
        vec![String::new(); args.tickets.unwrap_or(1) as usize]
    } else {
        args.seat.clone()
    };
    let req = OrderRequest {
        event_id: EventId(args.event),
        email: args.email.clone(),
        phone: args.phone.clone(),
        holder_name: args.holder.clone(),
        seats: seats.clone(),
    };
    let r = args.conn.api()?.create_order(&req).await?;
    if args.json {
        return print_json(&r).map(|()| ExitCode::SUCCESS);
    }
    outln!(
        "order: {} ticket(s) of event {} for {}",
        r.tickets.len(),
        args.event,
        render::escape(&args.email)
    );
    for (id, seat) in r.tickets.iter().zip(seats.iter()) {
        let seat = if seat.is_empty() {
            "general admission".into()
        } else {
            render::escape(seat)
        };
        outln!("  {id}  {seat}");
    }
    outln!(
        "the buyer's wallet: enroll, verify-email {} (the link goes to that address), then sync",
        render::escape(&args.email)
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `issuer token …`.
pub async fn token(cmd: TokenCommand) -> Result<ExitCode, CliError> {
    match cmd {
        TokenCommand::Create(args) => create_token(args).await,
        TokenCommand::List(args) => list_tokens(args).await,
        TokenCommand::Revoke(args) => {
            if args.id.is_empty() || !args.id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(CliError::Usage(
                    "ID: a token id is letters and digits (see `tessera issuer token list`)".into(),
                ));
            }
            args.conn.api()?.revoke_token(&args.id).await?;
            outln!("token {} revoked: it stops working now", args.id);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The token request the flags describe; errors name the flag.
fn token_request(a: &TokenArgs) -> Result<TokenRequest, CliError> {
    let event = a.event.map(EventId);
    match (a.role, event, &a.gate_id) {
        (Role::Gate, Some(e), Some(g)) => Ok(TokenRequest::gate(e, g.clone())),
        (Role::Gate, _, _) => Err(CliError::Usage(
            "--role gate needs --event N and --gate-id ID: a gate token is one gate at one event"
                .into(),
        )),
        (Role::BoxOffice, _, Some(_)) => {
            Err(CliError::Usage("--gate-id is for --role gate only".into()))
        }
        (Role::BoxOffice, e, None) => Ok(TokenRequest::box_office(e)),
    }
}

/// `issuer token create`.
async fn create_token(args: TokenArgs) -> Result<ExitCode, CliError> {
    let req = token_request(&args)?;
    let r = args.conn.api()?.create_token(&req).await?;
    if args.json {
        return print_json(&r).map(|()| ExitCode::SUCCESS);
    }
    match &args.out {
        Some(path) => {
            write_private(path, format!("{}\n", r.token).as_bytes())?;
            outln!(
                "token written to {} (pass it with --token-file)",
                path.display()
            );
        }
        // stdout on purpose: this is the one time the token is shown.
        None => outln!("token: {}", r.token),
    }
    outln!("id {} · {}", r.id, scope(&r));
    outln!(
        "revoke it with: tessera issuer token revoke {}",
        render::escape(&r.id)
    );
    Ok(ExitCode::SUCCESS)
}

/// A token's role and scope in words.
fn scope(r: &TokenResponse) -> String {
    scope_words(&r.role, r.event_id, r.gate_id.as_deref())
}

fn scope_words(role: &str, event: Option<EventId>, gate: Option<&str>) -> String {
    let event = event.map_or_else(|| "every event".to_owned(), |e| format!("event {e}"));
    match gate {
        Some(g) => format!(
            "{} · {event} · gate {}",
            render::escape(role),
            render::escape(g)
        ),
        None => format!("{} · {event}", render::escape(role)),
    }
}

/// `issuer token list`.
async fn list_tokens(args: ListArgs) -> Result<ExitCode, CliError> {
    let tokens: Vec<TokenInfo> = args.conn.api()?.list_tokens().await?;
    if args.json {
        return print_json(&tokens).map(|()| ExitCode::SUCCESS);
    }
    if tokens.is_empty() {
        outln!("no staff tokens (mint one with `tessera issuer token create`)");
    }
    for t in &tokens {
        let state = match t.revoked_ms {
            Some(ms) => format!("revoked {}", render::utc(ms.div_euclid(1000))),
            None => "valid".into(),
        };
        outln!(
            "{}  {}  created {}  {state}",
            render::escape(&t.id),
            scope_words(&t.role, t.event_id, t.gate_id.as_deref()),
            render::utc(t.created_ms.div_euclid(1000)),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Pretty JSON on stdout, made safe for a terminal.
fn print_json<T: serde::Serialize>(v: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(v)
        .map_err(|e| CliError::Usage(format!("encoding the answer: {e}")))?;
    outln!("{}", render::json_safe(&text));
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: EventCommand,
    }

    fn parse(args: &[&str]) -> Result<EventArgs, String> {
        let mut all = vec!["x", "create", "--issuer", "http://127.0.0.1:1"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all)
            .map(|c| match c.cmd {
                EventCommand::Create(a) => a,
            })
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_the_apis_but_c1_and_the_window_opens_now_for_six_hours() {
        let a = parse(&["--id", "7", "--name", "Gig"]).unwrap();
        let p = policy(&a, 1_800_000_000).unwrap();
        let mut want = EventPolicy::new(EventId(7), "Gig", 1_800_000_000, 1_800_021_600);
        want.format = CodeFormat::C1;
        assert_eq!(p, want);
        let a = parse(&[
            "--id",
            "7",
            "--name",
            "Gig",
            "--opens-in",
            "10m",
            "--duration",
            "1h",
            "--format",
            "S1",
            "--period",
            "5",
            "--strict-jit",
            "--requires",
            "phone,email",
            "--requires",
            "email",
            "--personalized",
            "--change-block",
            "--reentry",
            "--transferable",
            "--totp-algorithm",
            "sha512",
            "--totp-digits",
            "6",
        ])
        .unwrap();
        let p = policy(&a, 1_800_000_000).unwrap();
        want.reveal_opens_at = 1_800_000_600;
        want.valid_until = 1_800_004_200;
        want.format = CodeFormat::S1;
        want.period_secs = 5;
        want.strict_jit = true;
        want.requires = vec![Verification::Email, Verification::Phone];
        want.personalised = true;
        want.change_block = true;
        want.reentry = true;
        want.transferable = true;
        want.totp_algorithm = TotpAlgorithm::Sha512;
        want.totp_digits = 6;
        assert_eq!(p, want);
        let a = parse(&[
            "--id",
            "7",
            "--name",
            "Gig",
            "--opens-at",
            "2027-01-15T08:00:00Z",
            "--valid-until",
            "1800003600",
        ])
        .unwrap();
        let p = policy(&a, 0).unwrap();
        assert_eq!(
            (p.reveal_opens_at, p.valid_until),
            (1_800_000_000, 1_800_003_600)
        );
    }

    #[test]
    fn a_bad_flag_is_refused_naming_it() {
        for (args, flag) in [
            (
                &["--id", "7", "--name", "G", "--period", "3"][..],
                "--period",
            ),
            (
                &["--id", "7", "--name", "G", "--totp-digits", "10"],
                "--totp-digits",
            ),
            (&["--id", "7", "--name", "G", "--format", "T3"], "--format"),
            (
                &["--id", "7", "--name", "G", "--requires", "face"],
                "--requires",
            ),
            (
                &["--id", "7", "--name", "G", "--opens-at", "soon"],
                "--opens-at",
            ),
            (
                &["--id", "7", "--name", "G", "--opens-in", "10x"],
                "--opens-in",
            ),
            (&["--id", "9223372036854775808", "--name", "G"], "--id"),
            (&["--name", "G"], "--id"),
            (&["--id", "7"], "--name"),
        ] {
            let e = parse(args).unwrap_err();
            assert!(e.contains(flag), "{args:?}: {e}");
        }
        let a = parse(&["--id", "7", "--name", "G", "--valid-until", "1000"]).unwrap();
        match policy(&a, 2000) {
            Err(CliError::Usage(m)) => assert!(m.starts_with("--valid-until"), "{m}"),
            other => panic!("{other:?}"),
        }
        let a = parse(&["--id", "7", "--name", "G\u{1b}[2J"]).unwrap();
        match policy(&a, 2000) {
            Err(CliError::Usage(m)) => assert!(m.starts_with("--name"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
