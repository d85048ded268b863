//! Child process for the wallet-creation crash test: opens (so creates) a wallet on a
//! real SQLite file with the FAKE keystore-like vault, prints its id and exits. The test
//! kills it at random moments of that creation.
//! Usage: `create_child DB VAULT_DIR VAULT_WRITE_DELAY_MS`.

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use tessera_core::{Wallet, WalletConfig};
use tessera_tests::KeystoreDirVault;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, db, vault, delay_ms] = args.as_slice() else {
        return Err("usage: create_child DB VAULT_DIR VAULT_WRITE_DELAY_MS".into());
    };
    let delay = Duration::from_millis(delay_ms.parse()?);
    let wallet = Wallet::open(WalletConfig::new(
        db,
        Arc::new(KeystoreDirVault::new(vault, delay)),
    ))?;
    println!("created {}", wallet.wallet_id());
    Ok(())
}
