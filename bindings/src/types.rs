//! The wallet's records and enums are core's, exported as they are; this module names
//! them for the rest of the crate and for Rust code embedding it.

pub use tessera_core::clock::TimeStatus;
pub use tessera_core::sync::api::{EnrollResponse as Enrollment, VerificationStatus};
pub use tessera_core::sync::apply::SyncReport;
pub use tessera_core::{
    CodeFormat, EventPolicy, Frame, ReleaseApplied, RevealState, TicketSummary, TotpAlgorithm,
    Verification,
};
