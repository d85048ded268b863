//! The Tessera wallet core end to end, in one terminal, with real time.
//!
//! It plays the issuer's part itself (until the reference issuer lands): signs an S1
//! credential for this wallet's device key, installs it, anchors trusted time, then waits
//! for the reveal window and prints the rotating QR code, one frame per step, waking up
//! once per step. Run: `cargo run -p tessera-core --example demo` (`--frames N`, default 3).

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use ring::signature::Ed25519KeyPair;
use tessera_core::clock::{SystemWallClock, WallClock};
use tessera_core::code::Code;
use tessera_core::{
    CodeFormat, EventId, EventPolicy, MemoryKeyVault, RevealState, Ticket, TicketId, TicketSecrets,
    Wallet, WalletConfig, WalletError,
};
use zeroize::Zeroizing;

const PERIOD: u8 = 5;
const OPENS_IN_SECS: i64 = 6;
const SEAT: &str = "Block A · Row 3 · Seat 14";

fn main() -> Result<(), Box<dyn Error>> {
    let frames: u32 = match std::env::args().skip_while(|a| a != "--frames").nth(1) {
        Some(n) => n.parse()?,
        None => 3,
    };
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("wallet.db");
    // The software vault is the FAKE for demos; a phone hands in its Keystore / Secure Enclave.
    let vault = Arc::new(MemoryKeyVault::new()?);
    let wallet = Wallet::open(WalletConfig::new(&db, vault))?;
    println!("wallet {} opened at {}", wallet.wallet_id(), db.display());

    // --- the issuer's part -------------------------------------------------------------
    let issuer = tessera_core::device::keypair(&tessera_core::device::generate_seed()?[..])?;
    let now_s = SystemWallClock.now_unix_ms() / 1000;
    let mut event = EventPolicy::new(
        EventId(2026),
        "Tessera Live — Demo Night",
        now_s + OPENS_IN_SECS,
        now_s + 3600,
    );
    event.format = CodeFormat::S1;
    event.period_secs = PERIOD;
    let mut ticket = Ticket {
        id: TicketId::random().map_err(|_| "system random failed")?,
        event_id: event.event_id,
        seat: SEAT.into(),
        holder_name: Some("Ada Lovelace".into()),
        device_public_key: wallet.device_public_key(),
        credential: None,
        revoked: false,
        version: 1,
    };
    ticket.credential = Some(ticket.credential_for(&event, 1).sign(&issuer)?);
    let secrets = TicketSecrets {
        ticket_seed: Zeroizing::new(tessera_core::device::generate_seed()?.to_vec()),
        event_seed: None,
    };
    let id = ticket.id;
    wallet.install(std::slice::from_ref(&event), vec![(ticket, secrets)])?;
    // The issuer's clock: here the same machine's, signed over the wallet's nonce as a
    // sync would bring it.
    wallet.pin_issuer_keys(&[tessera_core::sync::api::IssuerKey {
        key_id: 1,
        public_key: hex::encode(tessera_core::code::s1::public_key(&issuer)),
    }])?;
    let nonce = wallet.new_time_nonce()?;
    let now_ms = SystemWallClock.now_unix_ms();
    let proof = tessera_core::sync::signed_time::sign_time(&issuer, 1, &nonce, now_ms);
    wallet.accept_signed_time(&nonce, now_ms, &proof)?;
    println!(
        "ticket {id} installed for \"{}\", seat {}",
        event.name, SEAT
    );

    // --- the attendee's part -----------------------------------------------------------
    loop {
        match wallet.frame(&id) {
            Err(WalletError::Locked { opens_at }) => {
                let left = opens_at * 1000 - wallet.trusted_time().now_ms;
                println!(
                    "locked: the code appears in {:.0} s",
                    (left as f64 / 1000.0).ceil()
                );
                std::thread::sleep(Duration::from_millis(left.clamp(1, 1000) as u64));
            }
            Err(e) => return Err(e.into()),
            Ok(_) => break,
        }
    }
    for n in 0..frames {
        let f = wallet.frame(&id)?;
        let Ok(Code::S1(code)) = Code::parse(&f.payload) else {
            return Err("unparseable frame".into());
        };
        let ok = code.signed.verify(issuer.public_key_bytes()) && code.verify_device();
        println!(
            "\nframe {} of {frames} · step {} · {} chars · signatures {}",
            n + 1,
            f.step,
            f.payload.len(),
            if ok { "valid" } else { "INVALID" }
        );
        println!("{}", f.qr().to_terminal());
        println!("{}…", &f.payload[..60.min(f.payload.len())]);
        if n + 1 < frames {
            // Draw the next frame now, so the switch at the boundary is instant.
            wallet.prepare_next_frame(&id)?;
            // One wake-up per step: sleep until the next step begins.
            let wait = f.ends_at_ms - wallet.trusted_time().now_ms;
            std::thread::sleep(Duration::from_millis(wait.max(0) as u64 + 5));
        }
    }
    match wallet.reveal_state(&id)? {
        RevealState::Ready { until } => {
            println!("\nticket ready until {until} (Unix s); demo done")
        }
        other => println!("\nticket state: {other:?}"),
    }
    Ok(())
}

trait PublicKeyBytes {
    fn public_key_bytes(&self) -> &[u8];
}

impl PublicKeyBytes for Ed25519KeyPair {
    fn public_key_bytes(&self) -> &[u8] {
        ring::signature::KeyPair::public_key(self).as_ref()
    }
}
