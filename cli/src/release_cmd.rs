//! `tessera issuer release-qr`: a strict just-in-time event's release object (docs/API.md
//! "Release objects") as a QR code and its text, for the sign a venue shows or prints at
//! the entrance, so a phone with no signal at the door can scan it and unlock its tickets.
//!
//! From the window's opening the object is public (`GET /v1/events/{id}/release`, no
//! token). Before it only the admin may take it (`--before-window`, audited by the issuer),
//! because a sign printed early hands the release secret to whoever sees it before doors
//! open: the command says so on stderr every time.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use tessera_core::EventId;
use tessera_core::clock::{SystemWallClock, WallClock};
use tessera_core::code::release_object::ReleaseObject;
use tessera_core::qr::QrMatrix;

use crate::admin::IssuerApi;
use crate::error::CliError;
use crate::gate_cmd::write_private;
use crate::out::outln;
use crate::render;
use crate::token_arg::StaffTokenArgs;

/// Pixels per QR module in the `--png` image: about 6 cm wide at 300 dpi for a 57-module
/// code with its quiet zone, readable from a metre or two.
const PNG_MODULE_PX: u32 = 12;

/// `issuer release-qr` options.
#[derive(Debug, Args)]
pub struct ReleaseQrArgs {
    /// The issuer's base URL (HTTPS, or HTTP on loopback), as `tessera issuer serve`
    /// prints it.
    #[arg(long, value_name = "URL", env = "TESSERA_ISSUER")]
    issuer: String,
    /// The strict just-in-time event.
    #[arg(long, value_name = "N")]
    event: u64,
    /// Takes the object before the window opens, through the admin API (admin token;
    /// the issuer audits it). A sign printed then gives the release secret to whoever
    /// sees it before doors open, which lets a modified app draw codes ahead of time:
    /// keep it covered until the doors open.
    #[arg(long)]
    before_window: bool,
    /// The admin token, for --before-window only.
    #[command(flatten)]
    token: StaffTokenArgs,
    /// Also writes the QR code as a PNG to print (12 px per module, private to you).
    #[arg(long, value_name = "FILE")]
    png: Option<PathBuf>,
    /// Prints the release object's text alone: no QR code, no description (for scripts).
    #[arg(long)]
    text: bool,
}

/// Runs `issuer release-qr`.
pub async fn run(args: ReleaseQrArgs) -> Result<ExitCode, CliError> {
    let event = EventId(args.event);
    let text = if args.before_window {
        let token = args.token.resolve()?;
        IssuerApi::new(&args.issuer, &token)?
            .export_release(event)
            .await?
    } else {
        IssuerApi::public(&args.issuer)?
            .public_release(event)
            .await?
            .ok_or_else(|| {
                CliError::Usage(format!(
                    "the issuer publishes no release object of event {event} yet: its window \
                     has not opened, or it is not a strict just-in-time event. A venue \
                     printing its sign ahead passes --before-window with the admin token \
                     (whoever sees that sign before doors open holds the release secret)"
                ))
            })?
    };
    // What the issuer sent must be a release object of this event (the wallet checks the
    // signature against its pinned keys; printing a wrong sign helps nobody).
    let object = ReleaseObject::parse(&text).map_err(|e| {
        CliError::Usage(format!("the issuer's answer is not a release object: {e}"))
    })?;
    if object.event != event {
        return Err(CliError::Usage(format!(
            "the issuer answered with a release object of event {}",
            object.event
        )));
    }
    let now_s = SystemWallClock.now_unix_ms().div_euclid(1000);
    if now_s < object.opens_at {
        eprintln!(
            "warning: event {event}'s window opens at {} and this release object unlocks its \
             codes: until then, whoever sees it (or a photo of it) holds the release secret, \
             which lets a modified app draw codes ahead of time. Keep the printout covered \
             until the doors open.",
            render::utc(object.opens_at)
        );
    }
    let qr = QrMatrix::encode(&text)?;
    if let Some(path) = &args.png {
        write_private(path, &qr.to_png(PNG_MODULE_PX)?)?;
    }
    if args.text {
        outln!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "release object of event {event}: version {}, window opens {}, signed by issuer key {}",
        object.version,
        render::utc(object.opens_at),
        object.key_id
    );
    let need = render::qr_cells(&qr);
    match render::too_small(need, render::terminal_size()) {
        Some(why) => outln!("(the QR code {why}; --png FILE writes it as an image)"),
        None => {
            for line in render::qr_lines(&qr, std::io::stdout().is_terminal()) {
                outln!("{line}");
            }
        }
    }
    outln!("{text}");
    outln!(
        "holders scan it in the Tessera app at the door (Wallet.apply_release): it unlocks \
         their tickets of event {event}, offline"
    );
    if let Some(path) = &args.png {
        outln!("PNG written to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
