//! `tessera`: the Tessera demo, a reference issuer, a wallet and a gate in one command.
//!
//! This file only parses the command line and dispatches; each area lives in its own
//! module. Errors end here as one line on stderr and an exit code (see [`EXIT_CODES`]).

mod admin;
mod demo;
mod error;
mod gate_cmd;
mod issuer_cmd;
mod out;
mod release_cmd;
mod render;
mod setup_cmd;
mod token_arg;
mod vault;
mod wallet_cmd;
mod when;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::{CliError, EXIT_CODES};

/// Tessera: tickets bound to one phone, rotating QR codes drawn offline, gates that
/// check them offline.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, after_help = EXIT_CODES)]
struct Cli {
    /// What to run.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the whole journey in one terminal: an embedded issuer, a wallet that waits for
    /// its reveal window and shows the rotating QR code, and a gate that admits it and
    /// rejects a replay and forgeries.
    ///
    /// Takes about 20 seconds: the event's window opens 8 seconds after start, then each
    /// frame lasts one 5-second step. Nothing is kept: the issuer's data and the wallet
    /// live in a temporary directory.
    #[command(after_help = EXIT_CODES)]
    Demo(demo::DemoArgs),
    /// Runs the reference issuer (the backend wallets sync with and gates fetch bundles
    /// from), and sets one up: events, orders, staff tokens.
    #[command(subcommand)]
    Issuer(issuer_cmd::IssuerCommand),
    /// A ticket wallet on this machine: enroll, verify, sync, list, show, draw the QR code.
    #[command(after_help = EXIT_CODES)]
    Wallet(wallet_cmd::WalletArgs),
    /// A gate: fetch an event's bundle, judge scanned codes offline.
    #[command(subcommand)]
    Gate(gate_cmd::GateCommand),
}

/// Parses, installs the TLS provider, runs the command on a tokio runtime.
fn main() -> ExitCode {
    let cli = Cli::parse();
    // reqwest is built without a TLS provider (docs/DESIGN.md §2): ring is the only one,
    // for the admin calls too. An error means one is installed already, which is just as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&CliError::io("starting the async runtime", e)),
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => demo::run(args).await,
            Command::Issuer(cmd) => issuer_cmd::run(cmd).await,
            Command::Wallet(args) => wallet_cmd::run(args).await,
            Command::Gate(cmd) => gate_cmd::run(cmd).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

/// Prints the error as one line and returns its exit code. Escaped: an issuer's error
/// message is its own text, and must not reach the terminal with controls in it.
fn fail(e: &CliError) -> ExitCode {
    eprintln!("tessera: {}", render::escape(&e.to_string()));
    ExitCode::from(e.exit_code())
}
