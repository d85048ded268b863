//! The reveal decision: one pure function from a ticket, its policy and the wallet's
//! knowledge to a [`RevealState`].

use crate::clock::TrustedTime;
use crate::policy::{EventPolicy, Verification};
use crate::ticket::{RevealState, Ticket};

/// What the wallet knows that bears on a reveal.
#[derive(Debug, Clone, Copy)]
pub struct RevealContext<'a> {
    /// This wallet's device public key.
    pub device_public_key: &'a [u8; 32],
    /// Trusted time now.
    pub time: TrustedTime,
    /// Verifications this wallet has completed (email, phone).
    pub verified: &'a [Verification],
    /// Whether user presence was confirmed for this ticket in this session.
    pub presence_confirmed: bool,
    /// Whether the event's release secret is in the wallet.
    pub has_release_secret: bool,
}

/// Decides a ticket's state. Order matters: a revoked or foreign ticket says so even
/// inside its window; the window is opened only on *proven* time.
pub fn reveal_state(ticket: &Ticket, policy: &EventPolicy, ctx: &RevealContext<'_>) -> RevealState {
    if ticket.revoked {
        return RevealState::Revoked;
    }
    if &ticket.device_public_key != ctx.device_public_key {
        return RevealState::BoundElsewhere;
    }
    if ctx.time.now_ms >= policy.valid_until.saturating_mul(1000) {
        return RevealState::Expired;
    }
    if ctx.time.proven_ms < policy.reveal_opens_at.saturating_mul(1000) {
        return RevealState::Locked {
            opens_at: policy.reveal_opens_at,
        };
    }
    let mut missing: Vec<Verification> = policy
        .requires
        .iter()
        .copied()
        .filter(|v| match v {
            Verification::Presence => !ctx.presence_confirmed,
            other => !ctx.verified.contains(other),
        })
        .collect();
    if !missing.is_empty() {
        missing.sort();
        missing.dedup();
        return RevealState::NeedsVerification { missing };
    }
    // Proven time opened the window, but since the clock's session changed (a reboot)
    // nothing proves which step is current: a code drawn now could be one for later.
    if !ctx.time.anchored {
        return RevealState::NeedsSync;
    }
    if policy.strict_jit && !ctx.has_release_secret {
        return RevealState::NeedsSync;
    }
    RevealState::Ready {
        until: policy.valid_until,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{EventId, TicketId};

    const OPENS: i64 = 1_800_000_000;

    fn setup() -> (Ticket, EventPolicy) {
        let t = Ticket {
            id: TicketId([1; 16]),
            event_id: EventId(1),
            seat: String::new(),
            holder_name: None,
            device_public_key: [5; 32],
            credential: None,
            revoked: false,
            version: 1,
        };
        (t, EventPolicy::new(EventId(1), "e", OPENS, OPENS + 3600))
    }

    fn at(ms: i64) -> TrustedTime {
        TrustedTime {
            now_ms: ms,
            proven_ms: ms,
            anchored: true,
            wall_skew_ms: 0,
        }
    }

    fn ctx(time: TrustedTime) -> RevealContext<'static> {
        RevealContext {
            device_public_key: &[5; 32],
            time,
            verified: &[],
            presence_confirmed: false,
            has_release_secret: false,
        }
    }

    #[test]
    fn window_boundaries_one_second_either_side() {
        let (t, p) = setup();
        assert_eq!(
            reveal_state(&t, &p, &ctx(at(OPENS * 1000 - 1000))),
            RevealState::Locked { opens_at: OPENS }
        );
        assert_eq!(
            reveal_state(&t, &p, &ctx(at(OPENS * 1000 - 1))),
            RevealState::Locked { opens_at: OPENS }
        );
        assert_eq!(
            reveal_state(&t, &p, &ctx(at(OPENS * 1000))),
            RevealState::Ready {
                until: OPENS + 3600
            }
        );
        assert_eq!(
            reveal_state(&t, &p, &ctx(at(OPENS * 1000 + 1000))),
            RevealState::Ready {
                until: OPENS + 3600
            }
        );
        let end = (OPENS + 3600) * 1000;
        assert_eq!(
            reveal_state(&t, &p, &ctx(at(end - 1000))),
            RevealState::Ready {
                until: OPENS + 3600
            }
        );
        assert_eq!(reveal_state(&t, &p, &ctx(at(end))), RevealState::Expired);
    }

    #[test]
    fn unproven_time_keeps_the_window_locked() {
        let (t, p) = setup();
        let forward = TrustedTime {
            now_ms: OPENS * 1000 + 60_000,
            proven_ms: OPENS * 1000 - 60_000,
            anchored: false,
            wall_skew_ms: 0,
        };
        assert_eq!(
            reveal_state(&t, &p, &ctx(forward)),
            RevealState::Locked { opens_at: OPENS }
        );
    }

    #[test]
    fn revoked_and_foreign_tickets_say_so_first() {
        let (mut t, p) = setup();
        t.device_public_key = [6; 32];
        assert_eq!(
            reveal_state(&t, &p, &ctx(at(OPENS * 1000))),
            RevealState::BoundElsewhere
        );
        t.revoked = true;
        assert_eq!(reveal_state(&t, &p, &ctx(at(0))), RevealState::Revoked);
    }

    #[test]
    fn verifications_then_release_secret() {
        let (t, mut p) = setup();
        p.requires = vec![
            Verification::Presence,
            Verification::Email,
            Verification::Phone,
        ];
        p.strict_jit = true;
        let now = at(OPENS * 1000);
        let missing = |c: &RevealContext<'_>| reveal_state(&t, &p, c);
        assert_eq!(
            missing(&ctx(now)),
            RevealState::NeedsVerification {
                missing: vec![
                    Verification::Email,
                    Verification::Phone,
                    Verification::Presence
                ]
            }
        );
        let verified = [Verification::Email, Verification::Phone];
        let c = RevealContext {
            verified: &verified,
            ..ctx(now)
        };
        assert_eq!(
            missing(&c),
            RevealState::NeedsVerification {
                missing: vec![Verification::Presence]
            }
        );
        let c = RevealContext {
            presence_confirmed: true,
            ..c
        };
        assert_eq!(missing(&c), RevealState::NeedsSync);
        let c = RevealContext {
            has_release_secret: true,
            ..c
        };
        assert_eq!(
            missing(&c),
            RevealState::Ready {
                until: OPENS + 3600
            }
        );
    }
}
