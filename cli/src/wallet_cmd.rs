//! `tessera wallet …`: a ticket wallet on this machine, one SQLite file, talking to an
//! issuer. What a phone app does, as shell commands.

use std::borrow::Cow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use tessera_core::sync::client::{ClientOptions, IssuerClient};
use tessera_core::sync::session::WalletSync;
use tessera_core::{TicketId, TicketSummary, Wallet, WalletConfig, WalletError};

use crate::admin::link_param;
use crate::error::CliError;
use crate::gate_cmd::write_private;
use crate::render;
use crate::vault::VaultChoice;

/// The platform name this device enrolls with.
const PLATFORM: &str = "tessera-cli";

/// `tessera wallet` options.
#[derive(Debug, Args)]
pub struct WalletArgs {
    /// The wallet's SQLite file (created on first use, with a new device key).
    #[arg(long, value_name = "PATH")]
    db: PathBuf,
    /// The issuer's base URL (HTTPS, or HTTP on loopback). Needed by enroll, verify-* and
    /// sync; list, show and qr work offline and use it only to refresh trusted time.
    #[arg(long, value_name = "URL")]
    issuer: Option<String>,
    /// Where the wallet's key-encryption key is kept: `keyring` (the OS credential store)
    /// or `dev-file:PATH` (an INSECURE fake: the key in a plain file, for machines without
    /// a keyring such as CI).
    #[arg(long, value_name = "VAULT", default_value = "keyring")]
    vault: VaultChoice,
    /// What to do.
    #[command(subcommand)]
    command: WalletCommand,
}

/// The wallet subcommands.
#[derive(Debug, Subcommand)]
enum WalletCommand {
    /// Registers this device (its public key) with the issuer; needed once before the rest.
    Enroll,
    /// Without --token: asks the issuer to email a confirmation link to EMAIL (the order's
    /// address). With --token: confirms it, which links this device to the account.
    VerifyEmail {
        /// The order's email address.
        email: String,
        /// The token from the link (the whole `tessera://verify-email?token=…` link works too).
        #[arg(long, value_name = "TOKEN")]
        token: Option<String>,
    },
    /// Without --code: asks the issuer to text a 6-digit code to PHONE (E.164, the order's
    /// number). With --code: confirms it. The email must be verified first.
    VerifyPhone {
        /// The order's phone number, E.164 (`+441234567890`).
        phone: String,
        /// The 6-digit code from the SMS.
        #[arg(long, value_name = "CODE")]
        code: Option<String>,
    },
    /// Fetches this device's tickets, event policies, release secrets and verifications
    /// from the issuer and applies them in one transaction.
    Sync,
    /// Lists the tickets with their state (offline).
    List,
    /// Shows one ticket: event, seat, holder, window, protections, state (offline).
    Show {
        /// The ticket id (32 hex digits, from `list`).
        id: TicketId,
    },
    /// Draws the ticket's current rotating QR code in the terminal, and optionally as PNG
    /// or SVG files (offline). Refused while the ticket is locked or unverified.
    Qr {
        /// The ticket id (32 hex digits, from `list`).
        id: TicketId,
        /// Also writes the code as a PNG image.
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
        /// Also writes the code as an SVG image.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
    },
}

/// Pixels per QR module in the files `qr` writes: large enough for any phone camera.
const MODULE_PX: u32 = 8;

/// Runs a wallet subcommand.
pub async fn run(args: WalletArgs) -> Result<ExitCode, CliError> {
    let vault = args.vault.open();
    let db = args.db.clone();
    // Opening seals a new key on first use and may ask the keyring: off the async threads.
    let opened = tokio::task::spawn_blocking(move || Wallet::open(WalletConfig::new(db, vault)))
        .await
        .map_err(|e| WalletError::Storage(format!("opening the wallet: {e}")))?;
    let wallet = match opened {
        Err(WalletError::VaultUnavailable(why)) if args.vault == VaultChoice::Keyring => {
            return Err(CliError::NoKeyring(why));
        }
        other => other?,
    };
    let wallet = Arc::new(wallet);
    let session = match &args.issuer {
        Some(url) => Some(WalletSync::new(
            Arc::clone(&wallet),
            IssuerClient::new(url, ClientOptions::default())?,
        )),
        None => None,
    };
    let online = || {
        session.as_ref().ok_or_else(|| {
            CliError::Usage("this command talks to the issuer: pass --issuer URL".into())
        })
    };
    match args.command {
        WalletCommand::Enroll => {
            let r = online()?.enroll(PLATFORM).await?;
            println!("enrolled: device {}", render::escape(&r.device_id));
            println!("wallet {}", wallet.wallet_id());
            println!(
                "device public key {}",
                hex::encode(wallet.device_public_key())
            );
        }
        WalletCommand::VerifyEmail { email, token } => match token {
            None => {
                online()?.request_email(&email).await?;
                println!("a confirmation link was sent to {email}; then run:");
                println!("  tessera wallet … verify-email {email} --token TOKEN");
            }
            Some(token) => {
                let token = link_param(&token, "token").unwrap_or(token);
                let s = online()?.confirm_email(&token).await?;
                println!("email verified; this device now holds: {:?}", s.verified);
            }
        },
        WalletCommand::VerifyPhone { phone, code } => match code {
            None => {
                online()?.request_phone(&phone).await?;
                println!("a 6-digit code was texted to {phone}; then run:");
                println!("  tessera wallet … verify-phone {phone} --code CODE");
            }
            Some(code) => {
                let s = online()?.confirm_phone(&code).await?;
                println!("phone verified; this device now holds: {:?}", s.verified);
            }
        },
        WalletCommand::Sync => {
            let r = online()?.sync().await?;
            println!(
                "synced: {} ticket(s), {} event(s), {} release secret(s), {} revoked, {} moved away; verified {:?}",
                r.tickets, r.events, r.releases, r.revoked, r.moved, r.verified
            );
        }
        WalletCommand::List => {
            refresh_time(session.as_ref()).await;
            let tickets = wallet.tickets()?;
            if tickets.is_empty() {
                println!("no tickets (enroll, verify the email, then sync)");
            }
            for t in &tickets {
                println!(
                    "{}  {}  {}  {}",
                    t.ticket.id,
                    render::escape(&t.event.name),
                    seat(t),
                    render::state(&t.state)
                );
            }
            let damaged = wallet.damaged_rows()?;
            if !damaged.is_empty() {
                println!("{} damaged row(s): sync to restore them", damaged.len());
            }
        }
        WalletCommand::Show { id } => {
            refresh_time(session.as_ref()).await;
            show(&wallet.ticket(&id)?);
        }
        WalletCommand::Qr { id, png, svg } => {
            refresh_time(session.as_ref()).await;
            let f = match wallet.frame(&id) {
                Err(WalletError::Locked { opens_at }) => {
                    return Err(CliError::NotReady(format!(
                        "ticket locked: its code appears at {}",
                        render::utc(opens_at)
                    )));
                }
                other => other?,
            };
            println!("{}", f.qr.to_terminal());
            let now = wallet.trusted_time().now_ms;
            println!(
                "{:?} · step {} · next code in {}",
                f.format,
                f.step,
                render::secs_left(f.ends_at_ms - now)
            );
            println!("{}", f.payload);
            if let Some(path) = png {
                write_private(&path, &f.qr.to_png(MODULE_PX)?)?;
                println!("PNG → {}", path.display());
            }
            if let Some(path) = svg {
                write_private(&path, f.qr.to_svg(MODULE_PX).as_bytes())?;
                println!("SVG → {}", path.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Anchors trusted time to the issuer when one is given: a new process has no monotonic
/// anchor, so without it a window that opened since the last sync still reads as locked.
/// Best effort: offline, the wallet works from what it has proven.
async fn refresh_time(session: Option<&WalletSync>) {
    if let Some(s) = session
        && let Err(e) = s.refresh_time().await
    {
        eprintln!("note: working offline ({})", render::escape(&e.to_string()));
    }
}

/// The seat label (escaped for the terminal), or what an empty one means.
fn seat(t: &TicketSummary) -> Cow<'_, str> {
    if t.ticket.seat.is_empty() {
        Cow::Borrowed("general admission")
    } else {
        render::escape(&t.ticket.seat)
    }
}

/// `wallet show`: the ticket, its event's policy and its state. Names and seat are
/// escaped: the wallet refuses control characters at sync, but prints nothing raw.
fn show(t: &TicketSummary) {
    let e = &t.event;
    println!("ticket   {}", t.ticket.id);
    println!("event    {} ({})", render::escape(&e.name), e.event_id);
    println!("seat     {}", seat(t));
    if let Some(name) = &t.ticket.holder_name {
        println!("holder   {}", render::escape(name));
    }
    println!(
        "window   {} – {}",
        render::utc(e.reveal_opens_at),
        render::utc(e.valid_until)
    );
    println!("code     {:?}, rotates every {} s", e.format, e.period_secs);
    let mut protections: Vec<String> = e
        .requires
        .iter()
        .map(|v| format!("{v:?} verification").to_lowercase())
        .collect();
    for (on, what) in [
        (e.strict_jit, "strict just-in-time"),
        (e.personalised, "personalised"),
        (e.change_block, "change block"),
        (e.reentry, "re-entry"),
        (e.transferable, "transferable"),
    ] {
        if on {
            protections.push(what.into());
        }
    }
    if !protections.is_empty() {
        println!("policy   {}", protections.join(", "));
    }
    println!("state    {}", render::state(&t.state));
}
