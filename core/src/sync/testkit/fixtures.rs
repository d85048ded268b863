//! The time and the ids every wallet test starts from, shared by core's unit tests (the
//! sync testkit) and its integration tests (`core/tests/common`, which include this file
//! with `#[path]`): one "now", one reveal window, one way to number tickets. The includer
//! imports the core types this file names, as `crate::…` or `tessera_core::…`.

use super::{CodeFormat, EventId, EventPolicy, TicketId};

/// 2027-01-15 08:00:00 UTC, in ms: "now" at the start of every test.
pub const NOW_MS: i64 = 1_800_000_000_000;
/// The reveal window opens one hour later.
pub const OPENS: i64 = NOW_MS / 1000 + 3600;
/// And closes six hours after that.
pub const UNTIL: i64 = OPENS + 6 * 3600;

/// Event `event` in `format`, its window from [`OPENS`] to [`UNTIL`].
pub fn policy(event: u64, format: CodeFormat) -> EventPolicy {
    let mut p = EventPolicy::new(EventId(event), format!("Event {event}"), OPENS, UNTIL);
    p.format = format;
    p
}

/// Ticket number `n` (big-endian in the last four bytes).
pub fn ticket_id(n: u32) -> TicketId {
    let mut b = [0u8; 16];
    b[12..].copy_from_slice(&n.to_be_bytes());
    TicketId(b)
}
