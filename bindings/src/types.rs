//! The wallet's records and enums are core's, exported as they are; this module names
//! them for the rest of the crate. [`TimeStatus`] is assembled here from two core calls.

pub use tessera_core::sync::api::{EnrollResponse as Enrollment, VerificationStatus};
pub use tessera_core::sync::apply::SyncReport;
pub use tessera_core::{
    CodeFormat, EventPolicy, Frame, RevealState, TicketSummary, TotpAlgorithm, Verification,
};

/// The wallet's view of the current time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct TimeStatus {
    /// Best estimate of now, Unix ms: what codes are drawn with.
    pub now_ms: i64,
    /// A time certainly reached, Unix ms: what reveal windows open on.
    pub proven_ms: i64,
    /// Whether the time comes from an issuer anchor in the current clock session (false
    /// after a reboot until the next sync, enroll or `refresh_time`).
    pub anchored: bool,
    /// Whether the device clock disagrees with the issuer's beyond the tolerance (the user
    /// set it by hand); reveal windows ignore it either way.
    pub clock_manipulated: bool,
}
