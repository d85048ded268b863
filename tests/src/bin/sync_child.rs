//! Child process for the crash test: opens a wallet (file-backed FAKE vault, system
//! clocks) and syncs with the issuer in a loop until it is killed.
//! Usage: `sync_child DB VAULT_FILE ISSUER_URL [PAUSE_AT_ROW]`.
//!
//! With `PAUSE_AT_ROW` = n, the first sync stops inside its write transaction once n
//! ticket rows are written (`store::crash_probe`), prints `in-tx n` and waits there to be
//! killed.

use std::error::Error;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tessera_core::sync::client::{ClientOptions, IssuerClient};
use tessera_core::sync::session::WalletSync;
use tessera_core::{Wallet, WalletConfig};
use tessera_tests::FileKeyVault;

/// The ticket row to pause at inside the write transaction; 0: never.
static PAUSE_AT: AtomicUsize = AtomicUsize::new(0);

fn probe(written: usize) {
    if written == PAUSE_AT.load(Ordering::SeqCst) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "in-tx {written}");
        let _ = out.flush();
        drop(out);
        // The parent kills us here; if it does not, the test fails on its timeout.
        std::thread::sleep(Duration::from_secs(60));
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (db, vault, url, pause) = match args.as_slice() {
        [_, db, vault, url] => (db, vault, url, 0),
        [_, db, vault, url, pause] => (db, vault, url, pause.parse()?),
        _ => return Err("usage: sync_child DB VAULT_FILE ISSUER_URL [PAUSE_AT_ROW]".into()),
    };
    PAUSE_AT.store(pause, Ordering::SeqCst);
    tessera_core::store::crash_probe::set(probe);
    tessera_tests::install_ring();
    let wallet = Arc::new(Wallet::open(WalletConfig::new(
        db,
        Arc::new(FileKeyVault::new(vault)),
    ))?);
    let session = WalletSync::new(wallet, IssuerClient::new(url, ClientOptions::default())?);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    println!("ready");
    loop {
        let report = rt.block_on(session.sync())?;
        println!("synced {}", report.tickets);
    }
}
