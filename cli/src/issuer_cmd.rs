//! `tessera issuer serve`: the reference issuer as a long-running process.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use tessera_issuer::{ISSUER_KEY_ID, Issuer, IssuerConfig, Limits};

use crate::error::{CliError, EXIT_CODES};

/// `tessera issuer …`
#[derive(Debug, Subcommand)]
pub enum IssuerCommand {
    /// Runs the reference issuer until Ctrl-C and prints its URL, admin token and public
    /// key. Emails and SMS go to its dev outbox (GET /v1/dev/outbox); the endpoints are in
    /// docs/API.md.
    #[command(after_help = EXIT_CODES)]
    Serve(ServeArgs),
}

/// `tessera issuer serve` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Directory for the issuer's database, signing key and admin token (created, private to the user).
    #[arg(long, value_name = "DIR", default_value = "tessera-issuer-data")]
    data_dir: PathBuf,
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
}

/// Runs an `issuer` subcommand.
pub async fn run(cmd: IssuerCommand) -> Result<ExitCode, CliError> {
    match cmd {
        IssuerCommand::Serve(args) => serve(args).await,
    }
}

/// `issuer serve`: start, print what an operator needs, wait for a stop signal.
async fn serve(args: ServeArgs) -> Result<ExitCode, CliError> {
    let mut config = IssuerConfig::new(&args.data_dir);
    config.bind = SocketAddr::new(args.bind, args.port);
    config.limits.enroll_per_address.max = args.enroll_per_address;
    let issuer = Issuer::start(config).await?;
    // The admin token goes to stdout on purpose: it is how the operator learns it.
    println!("tessera issuer listening on {}", issuer.url());
    println!("admin token: {}", issuer.admin_token());
    println!(
        "issuer key {ISSUER_KEY_ID}: {}",
        hex::encode(issuer.issuer_public_key())
    );
    println!("data dir: {}", args.data_dir.display());
    if !args.bind.is_loopback() {
        eprintln!(
            "note: wallets refuse plain HTTP to another machine; put an HTTPS proxy in front"
        );
    }
    println!("Ctrl-C stops it.");
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
