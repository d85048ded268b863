//! Tessera core: the engine of a mobile ticket wallet.
//!
//! Tickets bound to one device, a reveal window enforced on trusted time, and rotating
//! codes drawn offline from seeds sealed at rest. Plain Rust; with the `uniffi` feature
//! the types apps see (records, enums, errors, ids) also carry UniFFI derives, and
//! `bindings/` exports them as they are. See docs/ARCHITECTURE.md for the map.

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

pub mod clock;
pub mod code;
pub mod device;
pub mod ed25519;
pub mod error;
pub mod ids;
pub mod keyvault;
pub mod policy;
pub mod qr;
pub mod reveal;
pub mod seal;
pub mod sqlite;
pub mod store;
pub mod sync;
pub mod text;
pub mod ticket;
pub mod wallet;

pub use clock::{ManualClock, MonotonicClock, TrustedTime, WallClock};
pub use error::WalletError;
pub use ids::{EventId, TicketId};
pub use keyvault::{KeyVault, MemoryKeyVault, VaultError};
pub use policy::{CodeFormat, EventPolicy, TotpAlgorithm, Verification};
pub use sync::release::ReleaseApplied;
pub use ticket::{Frame, RevealState, Ticket, TicketSecrets, TicketSummary};
pub use wallet::{PresenceGate, Wallet, WalletConfig};
