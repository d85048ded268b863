//! Child process for the crash test: opens a wallet (file-backed FAKE vault, system
//! clocks) and syncs with the issuer in a loop until it is killed.
//! Usage: `sync_child DB VAULT_FILE ISSUER_URL`.

use std::error::Error;
use std::sync::Arc;

use tessera_core::sync::client::{ClientOptions, IssuerClient};
use tessera_core::sync::session::WalletSync;
use tessera_core::{Wallet, WalletConfig};
use tessera_tests::FileKeyVault;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, db, vault, url] = args.as_slice() else {
        return Err("usage: sync_child DB VAULT_FILE ISSUER_URL".into());
    };
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
