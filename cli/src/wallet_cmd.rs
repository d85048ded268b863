//! `tessera wallet …`: a ticket wallet on this machine, one SQLite file, talking to an
//! issuer. What a phone app does, as shell commands.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use tessera_core::sync::apply::SyncReport;
use tessera_core::sync::client::{ClientOptions, IssuerClient};
use tessera_core::sync::session::WalletSync;
use tessera_core::{
    Frame, TicketId, TicketSummary, Verification, Wallet, WalletConfig, WalletError,
};

use crate::admin::link_param;
use crate::demo;
use crate::error::CliError;
use crate::gate_cmd::write_private;
use crate::out::outln;
use crate::render::{self, Cells, Screen};
use crate::vault::{self, VaultChoice};

/// The platform name this device enrolls with.
const PLATFORM: &str = "tessera-cli";

/// `tessera wallet` options. Each may come before or after the subcommand, or from the
/// environment.
#[derive(Debug, Args)]
pub struct WalletArgs {
    /// The wallet's SQLite file (created on first use, with a new device key).
    #[arg(long, value_name = "PATH", global = true, env = "TESSERA_DB")]
    db: Option<PathBuf>,
    /// The issuer's base URL (HTTPS, or HTTP on loopback). Needed by enroll, verify-* and
    /// sync; list, show and qr work offline and use it only to refresh trusted time.
    #[arg(long, value_name = "URL", global = true, env = "TESSERA_ISSUER")]
    issuer: Option<String>,
    /// Where the wallet's key-encryption key is kept: `keyring` (the OS credential store)
    /// or `dev-file:PATH` (an INSECURE fake: the key in a plain file, for machines without
    /// a keyring such as CI). Remembered beside the wallet (in `<db>.vault`), so needed
    /// once; a wallet without that note uses `keyring`.
    #[arg(long, value_name = "VAULT", global = true, env = "TESSERA_VAULT")]
    vault: Option<VaultChoice>,
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
    /// from the issuer and applies them in one transaction; says why when none came.
    Sync,
    /// Lists the tickets with their state (offline).
    List,
    /// Shows one ticket: event, seat, holder, window, protections, state (offline).
    Show {
        /// The ticket id (32 hex digits, from `list`).
        id: TicketId,
    },
    /// Draws the ticket's current rotating QR code in the terminal, and optionally as PNG
    /// or SVG files (offline). Refused while the ticket is locked or unverified. A code
    /// that does not fit the terminal is not drawn cut off: the note says the size needed.
    Qr {
        /// The ticket id (32 hex digits, from `list`).
        id: TicketId,
        /// Also writes the code as a PNG image (with --watch: each new code over it).
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
        /// Also writes the code as an SVG image (with --watch: each new code over it).
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
        /// Keeps the code on screen and draws the next one at each rotation, like the
        /// demo (each prepared a step ahead, a bar counting down); a locked ticket counts
        /// down to its window first, and with --issuer a strict just-in-time one syncs
        /// its release secret then. Ctrl-C stops it.
        #[arg(long)]
        watch: bool,
        /// With --watch: stops after N codes.
        #[arg(long, value_name = "N", requires = "watch",
              value_parser = clap::value_parser!(u32).range(1..))]
        frames: Option<u32>,
    },
}

/// Pixels per QR module in the files `qr` writes: large enough for any phone camera.
const MODULE_PX: u32 = 8;

/// Syncs tried by `qr --watch` after a strict just-in-time window opens, before giving
/// up on the release secret (the issuer's clock may be a little behind the wallet's).
const RELEASE_SYNC_TRIES: u32 = 20;
const RELEASE_RETRY: Duration = Duration::from_millis(250);

/// Runs a wallet subcommand.
pub async fn run(args: WalletArgs) -> Result<ExitCode, CliError> {
    let Some(db) = args.db.clone() else {
        return Err(CliError::Usage(
            "which wallet? pass --db PATH (before or after the subcommand) or set TESSERA_DB"
                .into(),
        ));
    };
    let wallet = Arc::new(open_wallet(&db, args.vault.clone()).await?);
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
            outln!("enrolled: device {}", render::escape(&r.device_id));
            outln!("wallet {}", wallet.wallet_id());
            outln!(
                "device public key {}",
                hex::encode(wallet.device_public_key())
            );
        }
        WalletCommand::VerifyEmail { email, token } => match token {
            None => {
                online()?.request_email(&email).await?;
                outln!("a confirmation link was sent to {email}; then run:");
                outln!("  tessera wallet … verify-email {email} --token TOKEN");
            }
            Some(token) => {
                let token = link_param(&token, "token").unwrap_or(token);
                let s = online()?.confirm_email(&token).await?;
                outln!("email verified; this device now holds: {:?}", s.verified);
            }
        },
        WalletCommand::VerifyPhone { phone, code } => match code {
            None => {
                online()?.request_phone(&phone).await?;
                outln!("a 6-digit code was texted to {phone}; then run:");
                outln!("  tessera wallet … verify-phone {phone} --code CODE");
            }
            Some(code) => {
                let s = online()?.confirm_phone(&code).await?;
                outln!("phone verified; this device now holds: {:?}", s.verified);
            }
        },
        WalletCommand::Sync => {
            let r = online()?.sync().await?;
            outln!(
                "synced: {} ticket(s), {} event(s), {} release secret(s), {} revoked, {} moved away; verified {:?}",
                r.tickets,
                r.events,
                r.releases,
                r.revoked,
                r.moved,
                r.verified
            );
            if let Some(why) = why_no_tickets(&r) {
                outln!("{why}");
            }
        }
        WalletCommand::List => {
            refresh_time(session.as_ref()).await;
            let tickets = wallet.tickets()?;
            if tickets.is_empty() {
                outln!("no tickets (enroll, verify the email, then sync)");
            }
            for t in &tickets {
                outln!(
                    "{}  {}  {}  {}",
                    t.ticket_id,
                    render::escape(&t.event.name),
                    seat(t),
                    render::state(&t.state)
                );
            }
            let damaged = wallet.damaged_rows()?;
            if !damaged.is_empty() {
                outln!("{} damaged row(s): sync to restore them", damaged.len());
            }
        }
        WalletCommand::Show { id } => {
            refresh_time(session.as_ref()).await;
            show(&wallet.ticket(&id)?);
        }
        WalletCommand::Qr {
            id,
            png,
            svg,
            watch,
            frames,
        } => {
            refresh_time(session.as_ref()).await;
            let files = QrFiles { png, svg };
            if watch {
                return watch_qr(&wallet, session.as_ref(), &id, &files, frames).await;
            }
            let f = match wallet.frame(&id) {
                Err(WalletError::Locked { opens_at }) => {
                    return Err(CliError::NotReady(format!(
                        "ticket locked: its code appears at {}",
                        render::utc(opens_at)
                    )));
                }
                other => other?,
            };
            print_frame(&wallet, &f, &files)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens the wallet at `db` with the vault given (`--vault`, `TESSERA_VAULT`), else the
/// one its note remembers, else the keyring; then remembers the vault that opened it.
async fn open_wallet(db: &Path, given: Option<VaultChoice>) -> Result<Wallet, CliError> {
    let remembered = vault::remembered(db)?;
    let choice = given
        .or_else(|| remembered.clone())
        .unwrap_or(VaultChoice::Keyring);
    let vault = choice.open();
    let path = db.to_owned();
    // Opening seals a new key on first use and may ask the keyring: off the async threads.
    let opened = tokio::task::spawn_blocking(move || Wallet::open(WalletConfig::new(path, vault)))
        .await
        .map_err(|e| WalletError::storage(format!("opening the wallet: {e}")))?;
    let wallet = match opened {
        Ok(w) => w,
        Err(e) => {
            // Another vault than the one this wallet was opened with: say which it was.
            if let Some(r) = remembered.as_ref().filter(|r| **r != choice.absolute())
                && matches!(
                    e,
                    WalletError::KeyMissing | WalletError::VaultUnavailable { .. }
                )
            {
                return Err(CliError::Usage(format!(
                    "wallet: {e}; this wallet was opened with --vault {r} before: pass that, \
                     or leave --vault off"
                )));
            }
            return Err(match e {
                WalletError::VaultUnavailable { reason: why } if choice == VaultChoice::Keyring => {
                    CliError::NoKeyring(why)
                }
                e => e.into(),
            });
        }
    };
    if remembered.as_ref() != Some(&choice.absolute()) {
        vault::remember(db, &choice)?;
    }
    Ok(wallet)
}

/// Why a sync brought no tickets, when it brought none: tickets go to the device that
/// confirmed the order's email address.
fn why_no_tickets(r: &SyncReport) -> Option<String> {
    if r.tickets > 0 {
        return None;
    }
    Some(if r.verified.contains(&Verification::Email) {
        "no tickets: the account of the email this device confirmed holds none that are not \
         bound to another device (was the order placed for another address?)"
            .into()
    } else {
        "no tickets yet: this device has not confirmed an email address, and tickets go to \
         the devices that confirmed the order's address. Run `tessera wallet verify-email \
         EMAIL`, then `verify-email EMAIL --token TOKEN` with the token from the link, then \
         sync again"
            .into()
    })
}

/// Where `qr` also writes the code.
struct QrFiles {
    png: Option<PathBuf>,
    svg: Option<PathBuf>,
}

impl QrFiles {
    /// How many files are written (one line each).
    fn count(&self) -> usize {
        usize::from(self.png.is_some()) + usize::from(self.svg.is_some())
    }

    /// Writes the frame's code to the files asked for, and says so.
    fn write(&self, f: &Frame) -> Result<(), CliError> {
        if let Some(path) = &self.png {
            write_private(path, &f.qr().to_png(MODULE_PX)?)?;
            outln!("PNG → {}", path.display());
        }
        if let Some(path) = &self.svg {
            write_private(path, f.qr().to_svg(MODULE_PX).as_bytes())?;
            outln!("SVG → {}", path.display());
        }
        Ok(())
    }
}

/// The frame's QR code as terminal lines, or, when the code and the `below` lines under
/// it do not fit the terminal `term`, one line saying the size needed (never a code cut
/// off).
fn qr_or_note(screen: Screen, f: &Frame, below: usize, term: Option<Cells>) -> String {
    let cells = render::qr_cells(&f.qr());
    let need = Cells {
        cols: cells.cols,
        rows: cells.rows + below,
    };
    match render::too_small(need, term) {
        None => render::qr_lines(&f.qr(), screen.is_ansi()).join("\n"),
        Some(why) => format!("QR code not drawn: it {why}; or write it to a file with --png FILE"),
    }
}

/// What the frame is: format, step and time to the next code.
fn frame_line(wallet: &Wallet, f: &Frame) -> String {
    let now = wallet.trusted_time().now_ms;
    format!(
        "{:?} · step {} · next code in {}",
        f.format,
        f.step,
        render::secs_left(f.ends_at_ms - now)
    )
}

/// `qr`: the current code, what it is and its payload, printed once.
fn print_frame(wallet: &Wallet, f: &Frame, files: &QrFiles) -> Result<(), CliError> {
    let screen = Screen::for_stdout(false);
    let term = render::terminal_size();
    // Under the code: the frame line, the payload as the terminal wraps it, one line per
    // file written and the shell's prompt.
    let width = term.map_or(1, |t| t.cols.max(1));
    let below = 1 + f.payload.chars().count().div_ceil(width) + files.count() + 1;
    outln!("{}", qr_or_note(screen, f, below, term));
    outln!("{}", frame_line(wallet, f));
    outln!("{}", f.payload);
    files.write(f)
}

/// `qr --watch`: the code redrawn at every rotation until Ctrl-C or `frames` codes.
async fn watch_qr(
    wallet: &Wallet,
    session: Option<&WalletSync>,
    id: &TicketId,
    files: &QrFiles,
    frames: Option<u32>,
) -> Result<ExitCode, CliError> {
    let screen = Screen::for_stdout(false);
    let run = watch_loop(screen, wallet, session, id, files, frames);
    tokio::pin!(run);
    tokio::select! {
        r = &mut run => r?,
        signal = tokio::signal::ctrl_c() => match signal {
            // Ctrl-C is how a watch ends: not an error.
            Ok(()) => screen.end_status(),
            Err(_) => run.await?,
        },
    }
    Ok(ExitCode::SUCCESS)
}

/// The frames of `qr --watch`, each drawn once at its step and the next prepared a step
/// ahead, as the demo draws them.
async fn watch_loop(
    screen: Screen,
    wallet: &Wallet,
    session: Option<&WalletSync>,
    id: &TicketId,
    files: &QrFiles,
    frames: Option<u32>,
) -> Result<(), CliError> {
    let mut shown = 0u32;
    let mut last_step = None;
    let mut release_tries = 0;
    let mut counted_down = None;
    loop {
        let f = match wallet.frame(id) {
            Err(WalletError::Locked { opens_at }) if session.is_some() => {
                if counted_down == Some(opens_at) {
                    // Counted down already: the wallet's clock is a moment behind.
                    tokio::time::sleep(RELEASE_RETRY).await;
                } else {
                    screen.line(&format!(
                        "ticket locked: its code appears at {}",
                        render::utc(opens_at)
                    ));
                    demo::countdown(screen, wallet, opens_at).await;
                    counted_down = Some(opens_at);
                }
                continue;
            }
            Err(WalletError::Locked { opens_at }) => {
                return Err(CliError::NotReady(format!(
                    "ticket locked: its code appears at {}; pass --issuer URL to wait for it \
                     with trusted time",
                    render::utc(opens_at)
                )));
            }
            // A strict just-in-time window just opened: the release secret is a sync away.
            Err(WalletError::NeedsSync) if release_tries < RELEASE_SYNC_TRIES => {
                let Some(s) = session else {
                    return Err(CliError::NotReady(
                        "the window is open: the wallet needs a sync for the event's release \
                         secret (pass --issuer URL)"
                            .into(),
                    ));
                };
                release_tries += 1;
                if release_tries > 1 {
                    tokio::time::sleep(RELEASE_RETRY).await;
                }
                s.sync().await?;
                continue;
            }
            other => other?,
        };
        // The wait ended on the trusted time the wallet draws with; a read a millisecond
        // early still shows the old step.
        if last_step.is_some_and(|s| f.step <= s) {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        screen.clear();
        outln!("{}", frame_line(wallet, &f));
        outln!("{}", f.payload);
        // Under the code: the bar counting down to the next one.
        outln!("{}", qr_or_note(screen, &f, 1, render::terminal_size()));
        files.write(&f)?;
        shown += 1;
        if frames == Some(shown) {
            return Ok(());
        }
        wallet.prepare_next_frame(id)?;
        demo::wait_for_step_end(screen, wallet, &f).await;
        last_step = Some(f.step);
    }
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
    if t.seat.is_empty() {
        Cow::Borrowed("general admission")
    } else {
        render::escape(&t.seat)
    }
}

/// `wallet show`: the ticket, its event's policy and its state. Names and seat are
/// escaped: the wallet refuses control characters at sync, but prints nothing raw.
fn show(t: &TicketSummary) {
    let e = &t.event;
    outln!("ticket   {}", t.ticket_id);
    outln!("event    {} ({})", render::escape(&e.name), e.event_id);
    outln!("seat     {}", seat(t));
    if let Some(name) = &t.holder_name {
        outln!("holder   {}", render::escape(name));
    }
    outln!(
        "window   {} – {}",
        render::utc(e.reveal_opens_at),
        render::utc(e.valid_until)
    );
    outln!("code     {:?}, rotates every {} s", e.format, e.period_secs);
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
        outln!("policy   {}", protections.join(", "));
    }
    outln!("state    {}", render::state(&t.state));
}
