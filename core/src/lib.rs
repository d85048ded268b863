//! Tessera core: the engine of a mobile ticket wallet.
//!
//! Tickets bound to one device, a reveal window enforced on trusted time, and rotating
//! codes drawn offline from seeds sealed at rest. Plain Rust: the FFI layer lives in
//! `bindings/` and only converts types. See docs/ARCHITECTURE.md for the map.

pub mod clock;
pub mod code;
pub mod ids;
pub mod keyvault;
pub mod policy;
pub mod qr;
pub mod seal;
