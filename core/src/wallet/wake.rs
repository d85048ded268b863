//! When what a watcher shows of a ticket next changes on its own (DECISIONS 42).
//!
//! A watcher (the bindings' `Wallet.watch`, a CLI loop) shows a ticket's state and,
//! while it is ready, a frame. Only time passing or a wallet call changes either; wallet
//! calls are the watcher's own business, and time is decided here, so a watcher never
//! polls and never chooses which clock to trust.

use std::time::Duration;

use super::Wallet;
use crate::clock::TrustedTime;
use crate::ticket::{Frame, RevealState, TicketSummary};

/// The Unix ms, on the clock of `time.now_ms`, at which what a watcher shows of a
/// ticket stops being current: the earliest of the shown frame's end (`frame_ends_at_ms`,
/// while the ticket is ready and a frame was drawn), the reveal window opening and the
/// expiry (`valid_until`, Unix s). `None` when only a wallet call (a sync, a
/// verification, an unlock…) can change it.
///
/// The window opens on proven time, which moves on its own only while anchored (then
/// it is `now_ms`); unanchored, only a sync proves more, so the opening is no wake-up.
/// Expiry is on `now_ms`, as [`crate::reveal::reveal_state`] decides it.
pub fn next_change_at(
    state: &RevealState,
    valid_until: i64,
    frame_ends_at_ms: Option<i64>,
    time: &TrustedTime,
) -> Option<i64> {
    let expiry = valid_until.saturating_mul(1000);
    match state {
        RevealState::Ready { .. } => Some(frame_ends_at_ms.map_or(expiry, |end| end.min(expiry))),
        RevealState::Locked { opens_at } if time.anchored => {
            Some(opens_at.saturating_mul(1000).min(expiry))
        }
        RevealState::Locked { .. }
        | RevealState::NeedsVerification { .. }
        | RevealState::NeedsSync => Some(expiry),
        RevealState::Expired
        | RevealState::Revoked
        | RevealState::BoundElsewhere
        | RevealState::Tampered => None,
    }
}

impl Wallet {
    /// How long a watcher may sleep before what it shows of a ticket (`shown`, and the
    /// `frame` drawn for it while ready) can change on its own: [`next_change_at`] on
    /// trusted time now. Zero when that moment has passed already; `None` when only a
    /// wallet call can change it. Call it after drawing the frame, so the sleep counts
    /// from then.
    pub fn next_change_in(&self, shown: &TicketSummary, frame: Option<&Frame>) -> Option<Duration> {
        let time = self.trusted_time();
        let at = next_change_at(
            &shown.state,
            shown.event.valid_until,
            frame.map(|f| f.ends_at_ms),
            &time,
        )?;
        Some(Duration::from_millis(
            u64::try_from(at.saturating_sub(time.now_ms)).unwrap_or(0),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Verification;

    const OPENS: i64 = 1_800_000_000;
    /// Seven seconds into a 15-second step: expiry falls inside the last step.
    const UNTIL: i64 = OPENS + 3_600 + 7;

    fn at(ms: i64, anchored: bool) -> TrustedTime {
        TrustedTime {
            now_ms: ms,
            proven_ms: ms,
            anchored,
            wall_skew_ms: 0,
        }
    }

    #[test]
    fn a_locked_ticket_wakes_when_its_window_opens_only_while_anchored() {
        let locked = RevealState::Locked { opens_at: OPENS };
        let before = OPENS * 1000 - 60_000;
        assert_eq!(
            next_change_at(&locked, UNTIL, None, &at(before, true)),
            Some(OPENS * 1000)
        );
        // Unanchored, proven time stands still: the next change is the expiry.
        assert_eq!(
            next_change_at(&locked, UNTIL, None, &at(before, false)),
            Some(UNTIL * 1000)
        );
    }

    #[test]
    fn a_ready_ticket_wakes_at_its_frame_end_or_at_expiry_if_sooner() {
        let ready = RevealState::Ready { until: UNTIL };
        let now = at(OPENS * 1000 + 1_000, true);
        let step_end = OPENS * 1000 + 15_000;
        assert_eq!(
            next_change_at(&ready, UNTIL, Some(step_end), &now),
            Some(step_end)
        );
        // The last step runs past expiry: the watcher learns of the expiry on time.
        let last_end = UNTIL * 1000 + 8_000;
        assert_eq!(
            next_change_at(
                &ready,
                UNTIL,
                Some(last_end),
                &at(UNTIL * 1000 - 3_000, true)
            ),
            Some(UNTIL * 1000)
        );
        // No frame drawn (a locked wallet): only the expiry can change what is shown.
        assert_eq!(
            next_change_at(&ready, UNTIL, None, &now),
            Some(UNTIL * 1000)
        );
    }

    #[test]
    fn a_waiting_ticket_wakes_at_expiry_and_a_final_one_never() {
        let now = at(OPENS * 1000 + 1_000, false);
        for waiting in [
            RevealState::NeedsSync,
            RevealState::NeedsVerification {
                missing: vec![Verification::Email],
            },
        ] {
            assert_eq!(
                next_change_at(&waiting, UNTIL, None, &now),
                Some(UNTIL * 1000),
                "{waiting:?}"
            );
        }
        for done in [
            RevealState::Expired,
            RevealState::Revoked,
            RevealState::BoundElsewhere,
            RevealState::Tampered,
        ] {
            assert_eq!(next_change_at(&done, UNTIL, None, &now), None, "{done:?}");
        }
    }
}
