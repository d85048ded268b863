//! `tessera issuer serve`: the reference issuer as a long-running process; `issuer event`,
//! `order` and `token` set one up (`setup_cmd`); `issuer release-qr` prints a strict
//! event's release object for the door (`release_cmd`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use tessera_issuer::{
    DATABASE_ENV, DEFAULT_RELEASE_SECRET_LEAD, DeliveryOptions, ISSUER_KEY_ID, Issuer,
    IssuerConfig, Limits,
};

use crate::error::{CliError, EXIT_CODES};
use crate::out::outln;
use crate::release_cmd::{self, ReleaseQrArgs};
use crate::setup_cmd::{self, EventCommand, OrderCommand, TokenCommand};

/// `tessera issuer …`
#[derive(Debug, Subcommand)]
pub enum IssuerCommand {
    /// Runs the reference issuer until Ctrl-C and prints its URL, admin token and public
    /// key. With --dev, emails and SMS go to its dev outbox (GET /v1/dev/outbox); without
    /// it, through SMTP (--smtp-url, --mail-from) and an SMS webhook (--sms-webhook), and
    /// one of the two is required. The endpoints are in docs/API.md.
    #[command(after_help = EXIT_CODES)]
    Serve(ServeArgs),
    /// Creates events on a running issuer (admin token): `event create --id 7 --name …`.
    #[command(subcommand)]
    Event(EventCommand),
    /// Sells tickets on a running issuer (admin or box-office token): `order create …`.
    #[command(subcommand)]
    Order(OrderCommand),
    /// Mints, lists and revokes staff tokens (gate, box office) on a running issuer
    /// (admin token).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Prints a strict just-in-time event's release object as a QR code and as text, for
    /// the sign a venue shows or prints at the entrance: a phone with no signal scans it
    /// and its tickets unlock. Public from the window's opening; before it only with
    /// --before-window and the admin token (audited), with a warning.
    #[command(after_help = EXIT_CODES)]
    ReleaseQr(ReleaseQrArgs),
}

/// `tessera issuer serve` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Directory for the issuer's database, signing key and admin token (created, private to the user).
    #[arg(long, value_name = "DIR", default_value = "tessera-issuer-data")]
    data_dir: PathBuf,
    /// Keep the issuer's data in PostgreSQL instead of the data directory's SQLite file:
    /// postgres://user@host:port/db (plain TCP: loopback or a private network). Several
    /// issuers may share one database. Else the environment variable TESSERA_DATABASE_URL,
    /// which keeps a password out of the process list.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// TCP port (0 picks a free one).
    #[arg(long, value_name = "N", default_value_t = 8080)]
    port: u16,
    /// IP address to listen on. Wallets accept plain HTTP only on loopback: anything else needs HTTPS in front.
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// New devices that may enroll per minute from one source address (IPv6: per /64).
    /// Raise it behind a reverse proxy, where every device has the proxy's address.
    #[arg(long, value_name = "N", default_value_t = Limits::default().enroll_per_address.max)]
    enroll_per_address: u32,
    /// Minutes before a strict just-in-time event's window its gate bundles carry the
    /// release secret (earlier bundles leave it out, so a stolen gate token cannot unlock
    /// codes the day before).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_RELEASE_SECRET_LEAD.as_secs() / 60)]
    release_lead_mins: u64,
    /// Dev mode: emails and SMS stay in the dev outbox, which the admin token reads at
    /// GET /v1/dev/outbox (codes and links in clear: never in production).
    #[arg(long)]
    dev: bool,
    /// Emails through SMTP: smtps://[user@]host[:port], or smtp://[user@]host[:port]
    /// (STARTTLS required, except to a loopback host). A user may be in the URL, the
    /// password not (--smtp-password-file or TESSERA_SMTP_PASSWORD).
    #[arg(long, value_name = "URL")]
    smtp_url: Option<String>,
    /// The From address of every email ("Name <addr>" or "addr").
    #[arg(long, value_name = "ADDR")]
    mail_from: Option<String>,
    /// A file holding the SMTP password (else the environment variable TESSERA_SMTP_PASSWORD).
    #[arg(long, value_name = "FILE")]
    smtp_password_file: Option<PathBuf>,
    /// SMS through a webhook: each one is POSTed as JSON {"to", "body"} to this https://
    /// URL (plain http:// only to a loopback host).
    #[arg(long, value_name = "URL")]
    sms_webhook: Option<String>,
    /// A file holding the webhook's bearer token (else the environment variable
    /// TESSERA_SMS_WEBHOOK_TOKEN); without either, no Authorization header is sent.
    #[arg(long, value_name = "FILE")]
    sms_webhook_token_file: Option<PathBuf>,
}

/// Runs an `issuer` subcommand.
pub async fn run(cmd: IssuerCommand) -> Result<ExitCode, CliError> {
    match cmd {
        IssuerCommand::Serve(args) => serve(args).await,
        IssuerCommand::Event(cmd) => setup_cmd::event(cmd).await,
        IssuerCommand::Order(cmd) => setup_cmd::order(cmd).await,
        IssuerCommand::Token(cmd) => setup_cmd::token(cmd).await,
        IssuerCommand::ReleaseQr(args) => release_cmd::run(args).await,
    }
}

/// `issuer serve`: start, print what an operator needs, wait for a stop signal.
async fn serve(args: ServeArgs) -> Result<ExitCode, CliError> {
    let mut config = IssuerConfig::new(&args.data_dir);
    config.database = args
        .database
        .clone()
        .or_else(|| std::env::var(DATABASE_ENV).ok().filter(|u| !u.is_empty()));
    let on_postgres = config.database.is_some();
    config.bind = SocketAddr::new(args.bind, args.port);
    config.limits.enroll_per_address.max = args.enroll_per_address;
    config.release_secret_lead =
        std::time::Duration::from_secs(args.release_lead_mins.saturating_mul(60));
    DeliveryOptions {
        dev: args.dev,
        smtp_url: args.smtp_url.clone(),
        mail_from: args.mail_from.clone(),
        smtp_password_file: args.smtp_password_file.clone(),
        sms_webhook: args.sms_webhook.clone(),
        sms_webhook_token_file: args.sms_webhook_token_file.clone(),
    }
    .apply(&mut config)
    .map_err(|e| CliError::Usage(e.to_string()))?;
    let issuer = Issuer::start(config).await?;
    // The admin token goes to stdout on purpose: it is how the operator learns it.
    outln!("tessera issuer listening on {}", issuer.url());
    outln!("admin token: {}", issuer.admin_token());
    outln!(
        "issuer key {ISSUER_KEY_ID}: {}",
        hex::encode(issuer.issuer_public_key())
    );
    outln!("data dir: {}", args.data_dir.display());
    if on_postgres {
        // Not the URL: it may hold a password.
        outln!("database: PostgreSQL");
    }
    if args.dev {
        eprintln!(
            "note: --dev: every email and SMS, codes and links included, is readable at GET /v1/dev/outbox"
        );
    }
    if !args.bind.is_loopback() {
        eprintln!(
            "note: wallets refuse plain HTTP to another machine; put an HTTPS proxy in front"
        );
    }
    outln!("Ctrl-C stops it.");
    let stop = stop_signal().await;
    issuer.shutdown().await;
    stop.map_err(|e| CliError::io("waiting for Ctrl-C", e))?;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C, or SIGTERM on Unix (what service managers and containers send), so both stop
/// the issuer cleanly with requests in flight finished.
async fn stop_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
