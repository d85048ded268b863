//! Revealing: a ticket's state now, presence, and the frames drawn for the current and
//! the next step (cached per ticket and step, DECISIONS 7).

use std::collections::HashMap;

use super::{Wallet, release_ctx, seed_ctx};
use crate::clock::TrustedTime;
use crate::code::t1::T1Params;
use crate::code::{C1Code, S1Code, T1Code, step_at, step_start_ms};
use crate::error::{WalletError, sealed};
use crate::ids::{EventId, TicketId};
use crate::policy::{CodeFormat, EventPolicy, Verification};
use crate::qr::QrMatrix;
use crate::reveal::{RevealContext, reveal_state};
use crate::seal::open;
use crate::store::{StoreError, StoredTicket};
use crate::ticket::{Frame, RevealState, TicketSummary};

impl Wallet {
    /// Asks the presence gate; on success the ticket may reveal until the wallet is locked.
    pub fn confirm_presence(&self, id: &TicketId) -> Result<(), WalletError> {
        let summary = self.ticket(id)?;
        let gate = self
            .presence_gate
            .as_ref()
            .ok_or(WalletError::PresenceDenied)?;
        if !gate.confirm(&format!("Show your ticket for {}", summary.event.name)) {
            return Err(WalletError::PresenceDenied);
        }
        self.session().presence.insert(*id);
        Ok(())
    }

    fn state_of(
        &self,
        st: &StoredTicket,
        policy: &EventPolicy,
        time: TrustedTime,
        verified: &[Verification],
    ) -> Result<RevealState, WalletError> {
        let t = &st.ticket;
        // A release row whose tag fails makes the ticket Tampered, not the whole listing.
        let has_release_secret = policy.strict_jit
            && match self.store.release(t.event_id) {
                Ok(r) => r.is_some(),
                Err(StoreError::Corrupt(_)) => return Ok(RevealState::Tampered),
                Err(e) => return Err(e.into()),
            };
        let presence_confirmed = self.session().presence.contains(&t.id);
        let ctx = RevealContext {
            device_public_key: &self.device_public_key,
            time,
            verified,
            presence_confirmed,
            has_release_secret,
        };
        Ok(match reveal_state(t, policy, &ctx) {
            // The issuer withheld the secrets (a verification was missing at the last
            // sync): verified since, the next sync brings them.
            RevealState::Ready { .. } if st.sealed_ticket_seed.is_empty() => RevealState::NeedsSync,
            state => state,
        })
    }

    /// Every ticket with its event and current state. Rows that fail to decode are left
    /// out here and listed by [`Wallet::damaged_rows`]; nothing is deleted.
    pub fn tickets(&self) -> Result<Vec<TicketSummary>, WalletError> {
        let (events, _) = self.store.events()?;
        let events: HashMap<EventId, EventPolicy> =
            events.into_iter().map(|e| (e.event_id, e)).collect();
        let (tickets, _) = self.store.tickets()?;
        let verified = self.store.verified()?;
        let time = self.trusted_time();
        let mut out = Vec::with_capacity(tickets.len());
        for st in tickets {
            if let Some(event) = events.get(&st.ticket.event_id) {
                let state = self.state_of(&st, event, time, &verified)?;
                out.push(TicketSummary::new(&st.ticket, event.clone(), state));
            }
        }
        Ok(out)
    }

    /// One ticket with its event and current state.
    pub fn ticket(&self, id: &TicketId) -> Result<TicketSummary, WalletError> {
        let st = self.store.ticket(id)?.ok_or(WalletError::not_found(id))?;
        let event = self
            .store
            .event(st.ticket.event_id)?
            .ok_or_else(|| WalletError::Tampered {
                what: format!("event {} missing", st.ticket.event_id),
            })?;
        let state = self.state_of(&st, &event, self.trusted_time(), &self.store.verified()?)?;
        Ok(TicketSummary::new(&st.ticket, event, state))
    }

    /// A ticket's reveal state now.
    pub fn reveal_state(&self, id: &TicketId) -> Result<RevealState, WalletError> {
        Ok(self.ticket(id)?.state)
    }

    /// The frame to show now. Refused with the matching error outside the reveal window
    /// or while verification is missing. Returns at once when the frame was prepared
    /// ahead by [`Wallet::prepare_next_frame`].
    pub fn frame(&self, id: &TicketId) -> Result<Frame, WalletError> {
        let (st, event, step) = self.ready(id)?;
        self.cached_or_draw(&st, &event, step)
    }

    /// The frame to show now in the self-contained format: for a compact (C1) event the
    /// full S1 code, which a gate judges without finding the ticket in its bundle (a gate
    /// that answers `UnknownTicket` has a bundle older than this ticket's binding). For
    /// T1 and S1 events the same as [`Wallet::frame`]. Not drawn ahead.
    pub fn full_frame(&self, id: &TicketId) -> Result<Frame, WalletError> {
        let (st, mut event, step) = self.ready(id)?;
        if event.format != CodeFormat::C1 {
            return self.cached_or_draw(&st, &event, step);
        }
        event.format = CodeFormat::S1;
        self.draw(&st, &event, step)
    }

    /// Draws the frame of the step after the current one and keeps it, so the `frame()`
    /// call at the step boundary only reads memory. Call it once per step, any time after
    /// showing a frame (a watcher does). The ticket must be ready now.
    pub fn prepare_next_frame(&self, id: &TicketId) -> Result<Frame, WalletError> {
        let (st, event, step) = self.ready(id)?;
        let next = step + 1;
        if step_start_ms(next, event.period_secs) >= event.valid_until.saturating_mul(1000) {
            return Err(WalletError::Expired);
        }
        self.cached_or_draw(&st, &event, next)
    }

    /// The ticket, its policy and the current step, or the refusal matching its state.
    fn ready(&self, id: &TicketId) -> Result<(StoredTicket, EventPolicy, u64), WalletError> {
        let st = self.store.ticket(id)?.ok_or(WalletError::not_found(id))?;
        let event = self
            .store
            .event(st.ticket.event_id)?
            .ok_or_else(|| WalletError::Tampered {
                what: format!("event {} missing", st.ticket.event_id),
            })?;
        let time = self.trusted_time();
        let state = self.state_of(&st, &event, time, &self.store.verified()?)?;
        if let Some(refusal) = WalletError::from_state(&state) {
            return Err(refusal);
        }
        // Only the step of proven time (and, prepared ahead, the next one): a wall clock
        // running ahead never yields a code for later (`reveal_state` refuses unanchored
        // time, so here proven time is the anchored time).
        let step = step_at(time.proven_ms, event.period_secs);
        Ok((st, event, step))
    }

    fn cached_or_draw(
        &self,
        st: &StoredTicket,
        event: &EventPolicy,
        step: u64,
    ) -> Result<Frame, WalletError> {
        let id = st.ticket.id;
        if let Some(f) = self.session().frames.get(&(id, step)) {
            return Ok(f.clone());
        }
        // Drawn without holding the session lock, so tickets draw in parallel.
        let f = self.draw(st, event, step)?;
        let mut s = self.session();
        // Keep at most this ticket's previous, current and next step; steps count
        // differently per period, so other tickets' frames are left alone.
        s.frames
            .retain(|(t, k), _| *t != id || k.saturating_add(1) >= step);
        s.frames.insert((id, step), f.clone());
        Ok(f)
    }

    fn draw(
        &self,
        st: &StoredTicket,
        event: &EventPolicy,
        step: u64,
    ) -> Result<Frame, WalletError> {
        let t = &st.ticket;
        let payload = self.with_kek(|kek| {
            let release = if event.strict_jit {
                let r = self
                    .store
                    .release(t.event_id)?
                    .ok_or(WalletError::NeedsSync)?;
                let row = t.event_id.0.to_be_bytes();
                Some(
                    open(kek, &release_ctx(&row, r.version), &r.sealed)
                        .map_err(sealed("release secret"))?,
                )
            } else {
                None
            };
            let release = release.as_ref().map(|r| &r[..]);
            match event.format {
                CodeFormat::T1 => {
                    let seed = open(
                        kek,
                        &seed_ctx(&t.id, "ticket_seed", t.version),
                        &st.sealed_ticket_seed,
                    )
                    .map_err(sealed("ticket_seed"))?;
                    let event_seed = st
                        .sealed_event_seed
                        .as_ref()
                        .map(|b| {
                            open(kek, &seed_ctx(&t.id, "event_seed", t.version), b)
                                .map_err(sealed("event_seed"))
                        })
                        .transpose()?;
                    let p = T1Params {
                        algorithm: event.totp_algorithm,
                        digits: event.totp_digits,
                        period_secs: event.period_secs,
                        ticket: t.id,
                        event: t.event_id,
                        ticket_seed: &seed,
                        event_seed: event_seed.as_ref().map(|s| &s[..]),
                        release_secret: release,
                    };
                    Ok(T1Code::generate(&p, step).encode())
                }
                CodeFormat::S1 | CodeFormat::C1 => {
                    let cred = t.credential.as_ref().ok_or_else(|| WalletError::Tampered {
                        what: format!("ticket {} credential", t.id),
                    })?;
                    let key = self.device_key(kek)?;
                    if event.format == CodeFormat::S1 {
                        return Ok(S1Code::generate(cred, &key, step, release).encode());
                    }
                    Ok(C1Code::generate(cred, &key, step, release).encode())
                }
            }
        })?;
        let qr = QrMatrix::encode(&payload).map_err(|e| WalletError::invalid(e.to_string()))?;
        let starts_at_ms = step_start_ms(step, event.period_secs);
        Ok(Frame::new(
            t.id,
            event.format,
            step,
            payload,
            &qr,
            starts_at_ms,
            step_start_ms(step + 1, event.period_secs),
        ))
    }
}
