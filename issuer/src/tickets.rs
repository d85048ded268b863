//! Tickets: orders create them, sync binds them to a device, and transfer, rebind, revoke
//! and the box-office override change who holds them. Every change is one transaction
//! with its audit entry.
//!
//! Binding history lives in `bindings`: a device that held a ticket now bound elsewhere
//! sees it in its sync's `moved` list, and gates revoke the old S1 credential by digest.
//! Whenever a binding ends, the ticket's version is bumped and its TOTP seed replaced,
//! so the old phone's sealed data no longer matches and its T1 codes stop verifying once
//! gates load a fresh bundle.

use crate::db::{Conn, DbError, OptionalExtension, Row, params};
use tessera_core::sync::api::{HolderChange, OrderRequest, ProfileUpdate};
use tessera_core::{EventId, TicketId, text};
use zeroize::Zeroizing;

use crate::accounts;
use crate::audit;
use crate::error::ApiError;
use crate::events::{self, SECRET_LEN, sql_id};
use crate::secrets::random_bytes;
use crate::verification::{self, Outgoing};

/// Most tickets one order may create.
const MAX_SEATS_PER_ORDER: usize = 10_000;
/// Longest holder name accepted.
const MAX_NAME_LEN: usize = 200;
/// Longest audit reason accepted.
const MAX_REASON_LEN: usize = 1000;

/// A ticket as stored.
pub(crate) struct TicketRow {
    /// Its id.
    pub id: TicketId,
    /// Its event.
    pub event_id: EventId,
    /// The account holding it; `None` while a transfer waits for acceptance.
    pub account_id: Option<i64>,
    /// Seat label.
    pub seat: String,
    /// Holder name.
    pub holder_name: Option<String>,
    /// Per-ticket TOTP seed.
    pub seed: Zeroizing<Vec<u8>>,
    /// The device it is bound to.
    pub device: Option<[u8; 32]>,
    /// Row version.
    pub version: u32,
    /// Revoked by the issuer.
    pub revoked: bool,
}

/// Columns [`row`] reads, in order.
pub(crate) const COLUMNS: &str =
    "id, event_id, account_id, seat, holder_name, seed, device, version, revoked";

/// Reads a ticket from a row selected with [`COLUMNS`].
pub(crate) fn row(r: &Row) -> Result<TicketRow, DbError> {
    Ok(TicketRow {
        id: TicketId(r.get(0)?),
        event_id: EventId(r.get(1)?),
        device: r.get(6)?,
        account_id: r.get(2)?,
        seat: r.get(3)?,
        holder_name: r.get(4)?,
        seed: Zeroizing::new(r.get(5)?),
        version: r.get(7)?,
        revoked: r.get(8)?,
    })
}

/// A ticket, or `not_found`.
pub(crate) fn require(c: &Conn<'_>, id: &TicketId) -> Result<TicketRow, ApiError> {
    c.query_row(
        &format!("SELECT {COLUMNS} FROM tickets WHERE id = ?1"),
        [&id.0[..]],
        row,
    )
    .optional()?
    .ok_or_else(|| ApiError::not_found("no such ticket"))
}

/// Parses a ticket id from a URL path segment.
pub(crate) fn parse_id(text: &str) -> Result<TicketId, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_request("a ticket id is 32 hex digits"))
}

/// A holder name, when one is given: no control, bidi or invisible character, something
/// visible in it (`tessera_core::text`), at most 200 bytes.
fn check_name(name: Option<&str>) -> Result<(), ApiError> {
    match name {
        Some(n) if n.len() > MAX_NAME_LEN => {
            Err(ApiError::bad_request("holder name longer than 200 bytes"))
        }
        Some(n) => text::check_holder_name(n).map_err(bad_text),
        None => Ok(()),
    }
}

/// A refused text as `bad_request`: the message names the field and the character's code
/// point, never the text itself.
fn bad_text(e: text::FieldError) -> ApiError {
    ApiError::bad_request(e.to_string())
}

/// Creates an order's tickets (unbound; they bind to the first device that syncs). Audited.
/// `before_commit` runs inside the order's transaction (the idempotency key's record).
pub(crate) fn create_order(
    c: &Conn<'_>,
    req: &OrderRequest,
    role: &str,
    now_ms: i64,
    before_commit: impl FnOnce(&Conn<'_>, &[TicketId]) -> Result<(), ApiError>,
) -> Result<Vec<TicketId>, ApiError> {
    let event = events::require(c, req.event_id)?;
    let email = accounts::normalize_email(&req.email)?;
    let phone = req
        .phone
        .as_deref()
        .map(accounts::normalize_phone)
        .transpose()?;
    if req.seats.is_empty() || req.seats.len() > MAX_SEATS_PER_ORDER {
        return Err(ApiError::bad_request("an order has 1 to 10000 seats"));
    }
    if req
        .seats
        .iter()
        .any(|s| s.len() > tessera_core::code::s1::MAX_SEAT_LEN)
    {
        return Err(ApiError::bad_request("seat label longer than 64 bytes"));
    }
    for seat in &req.seats {
        text::check_seat(seat).map_err(bad_text)?;
    }
    check_name(req.holder_name.as_deref())?;
    if event.policy.personalised && req.holder_name.as_deref().is_none_or(str::is_empty) {
        return Err(ApiError::bad_request(
            "the event is personalised: the order needs a holder name",
        ));
    }
    let tx = c.transaction()?;
    let account = accounts::get_or_create(&tx, &email, now_ms)?;
    let order: i64 = tx.query_row(
        "INSERT INTO orders (account_id, event_id, phone, created_ms) VALUES (?1, ?2, ?3, ?4)
         RETURNING id",
        params![account, sql_id(req.event_id)?, phone, now_ms],
        |r| r.get(0),
    )?;
    let mut ids = Vec::with_capacity(req.seats.len());
    for seat in &req.seats {
        let id = TicketId::random().map_err(|_| ApiError::internal())?;
        let seed = Zeroizing::new(random_bytes(SECRET_LEN)?);
        tx.execute(
            "INSERT INTO tickets (id, order_id, event_id, account_id, seat, holder_name, seed, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1)",
            params![
                &id.0[..],
                order,
                sql_id(req.event_id)?,
                account,
                seat,
                req.holder_name,
                &seed[..],
            ],
        )?;
        ids.push(id);
    }
    audit::record(
        &tx,
        now_ms,
        role,
        "order.create",
        &format!("order {order}"),
        &format!("event {}, {} tickets", req.event_id, ids.len()),
    )?;
    before_commit(&tx, &ids)?;
    tx.commit()?;
    Ok(ids)
}

/// Binds a ticket to a device and opens its binding-history row.
pub(crate) fn bind(
    tx: &Conn<'_>,
    id: &TicketId,
    device: &[u8; 32],
    version: u32,
    now_ms: i64,
) -> Result<(), ApiError> {
    tx.execute(
        "UPDATE tickets SET device = ?2 WHERE id = ?1",
        params![&id.0[..], &device[..]],
    )?;
    tx.execute(
        "INSERT INTO bindings (ticket_id, device, version, bound_ms) VALUES (?1, ?2, ?3, ?4)",
        params![&id.0[..], &device[..], version, now_ms],
    )?;
    Ok(())
}

/// Ends a ticket's current binding: unbinds it, bumps its version and replaces its seed.
pub(crate) fn end_binding(
    tx: &Conn<'_>,
    id: &TicketId,
    reason: &str,
    now_ms: i64,
) -> Result<u32, ApiError> {
    tx.execute(
        "UPDATE bindings SET ended_ms = ?2, end_reason = ?3 WHERE ticket_id = ?1 AND ended_ms IS NULL",
        params![&id.0[..], now_ms, reason],
    )?;
    let seed = Zeroizing::new(random_bytes(SECRET_LEN)?);
    tx.execute(
        "UPDATE tickets SET device = NULL, version = version + 1, seed = ?2 WHERE id = ?1",
        params![&id.0[..], &seed[..]],
    )?;
    Ok(tx.query_row(
        "SELECT version FROM tickets WHERE id = ?1",
        [&id.0[..]],
        |r| r.get(0),
    )?)
}

/// Revokes a ticket (idempotent). Audited.
pub(crate) fn revoke(c: &Conn<'_>, id: &TicketId, role: &str, now_ms: i64) -> Result<(), ApiError> {
    let tx = c.transaction()?;
    let t = require(&tx, id)?;
    if !t.revoked {
        tx.execute("UPDATE tickets SET revoked = 1 WHERE id = ?1", [&id.0[..]])?;
        audit::record(&tx, now_ms, role, "ticket.revoke", &id.to_string(), "")?;
    }
    tx.commit()?;
    Ok(())
}

/// The box office's override of the change block: new holder name and/or account. Audited
/// with the reason.
pub(crate) fn override_holder(
    c: &Conn<'_>,
    id: &TicketId,
    change: &HolderChange,
    role: &str,
    now_ms: i64,
) -> Result<(), ApiError> {
    text::check_name("reason", &change.reason).map_err(bad_text)?;
    let reason = change.reason.trim();
    if reason.is_empty() || reason.len() > MAX_REASON_LEN {
        return Err(ApiError::bad_request(
            "a holder change needs a reason (at most 1000 bytes)",
        ));
    }
    if change.holder_name.is_none() && change.email.is_none() {
        return Err(ApiError::bad_request("nothing to change"));
    }
    check_name(change.holder_name.as_deref())?;
    let email = change
        .email
        .as_deref()
        .map(accounts::normalize_email)
        .transpose()?;
    let tx = c.transaction()?;
    let t = require(&tx, id)?;
    let mut changed = Vec::new();
    if let Some(name) = &change.holder_name {
        tx.execute(
            "UPDATE tickets SET holder_name = ?2 WHERE id = ?1",
            params![&id.0[..], name],
        )?;
        changed.push("holder name");
    }
    if let Some(email) = email {
        let account = accounts::get_or_create(&tx, &email, now_ms)?;
        if t.account_id != Some(account) {
            if t.device.is_some() {
                end_binding(&tx, id, "holder_changed", now_ms)?;
            }
            // A transfer still waiting is void: the box office decided who holds it.
            tx.execute(
                "DELETE FROM transfers WHERE ticket_id = ?1 AND accepted_ms IS NULL",
                [&id.0[..]],
            )?;
            tx.execute(
                "UPDATE tickets SET account_id = ?2 WHERE id = ?1",
                params![&id.0[..], account],
            )?;
            changed.push("account");
        }
    }
    audit::record(
        &tx,
        now_ms,
        role,
        "ticket.holder_override",
        &id.to_string(),
        &format!("{} changed; reason: {reason}", changed.join(" and ")),
    )?;
    tx.commit()?;
    Ok(())
}

/// Starts a transfer: the sender's binding ends at once and the ticket waits, in no
/// account, for the recipient. Returns the transfer id and the recipient's address.
/// `before_commit` runs inside the transfer's transaction (the idempotency key's record).
pub(crate) fn transfer(
    c: &Conn<'_>,
    device: &[u8; 32],
    id: &TicketId,
    to_email: &str,
    now_ms: i64,
    before_commit: impl FnOnce(&Conn<'_>, &str) -> Result<(), ApiError>,
) -> Result<String, ApiError> {
    let to_email = accounts::normalize_email(to_email)?;
    let tx = c.transaction()?;
    let t = require(&tx, id)?;
    if t.device != Some(*device) {
        return Err(ApiError::forbidden("this device does not hold the ticket"));
    }
    if t.revoked {
        return Err(ApiError::conflict("the ticket is revoked"));
    }
    let policy = events::require(&tx, t.event_id)?.policy;
    if !policy.transferable {
        return Err(ApiError::not_transferable());
    }
    // A transfer changes who holds the ticket, which a change block reserves for the box
    // office (`override_holder`, audited with a reason and the new holder's name): on a
    // personalised ticket it would otherwise leave the gate's ID check without a name.
    if policy.change_block {
        return Err(ApiError::change_blocked());
    }
    let from = t.account_id.ok_or_else(ApiError::internal)?;
    if accounts::email_of(&tx, from)? == to_email {
        return Err(ApiError::bad_request(
            "the ticket already belongs to that address",
        ));
    }
    let transfer_id = hex::encode(random_bytes(16)?);
    end_binding(&tx, id, "transferred", now_ms)?;
    tx.execute(
        "UPDATE tickets SET account_id = NULL WHERE id = ?1",
        [&id.0[..]],
    )?;
    tx.execute(
        "INSERT INTO transfers (id, ticket_id, from_account, to_email, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![transfer_id, &id.0[..], from, to_email, now_ms],
    )?;
    audit::record(
        &tx,
        now_ms,
        "device",
        "ticket.transfer",
        &id.to_string(),
        &format!("transfer {transfer_id} from account {from}"),
    )?;
    before_commit(&tx, &transfer_id)?;
    tx.commit()?;
    Ok(transfer_id)
}

/// Accepts a transfer on the recipient's device (its confirmed email must be the
/// transfer's address). The ticket binds to this device at its next sync.
pub(crate) fn accept(
    c: &Conn<'_>,
    device: &[u8; 32],
    transfer_id: &str,
    now_ms: i64,
) -> Result<Vec<TicketId>, ApiError> {
    let tx = c.transaction()?;
    let account = accounts::require_of_device(&tx, device)?;
    let row: Option<(Vec<u8>, String, Option<i64>)> = tx
        .query_row(
            "SELECT ticket_id, to_email, accepted_ms FROM transfers WHERE id = ?1",
            [transfer_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((ticket, to_email, accepted)) = row else {
        return Err(ApiError::not_found("no such transfer"));
    };
    if accounts::email_of(&tx, account)? != to_email {
        return Err(ApiError::forbidden(
            "the transfer is for another address than the one confirmed on this device",
        ));
    }
    if accepted.is_some() {
        return Err(ApiError::conflict("the transfer was already accepted"));
    }
    let id = TicketId(
        ticket
            .try_into()
            .map_err(|_: Vec<u8>| ApiError::internal())?,
    );
    let t = require(&tx, &id)?;
    let policy = events::require(&tx, t.event_id)?.policy;
    // The event became change-blocked while the transfer waited: the box office decides.
    if policy.change_block {
        return Err(ApiError::change_blocked());
    }
    let personalised = policy.personalised;
    tx.execute(
        "UPDATE transfers SET accepted_ms = ?2 WHERE id = ?1",
        params![transfer_id, now_ms],
    )?;
    // The name on a personalised ticket was the sender's: the recipient sets their own.
    tx.execute(
        "UPDATE tickets SET account_id = ?2,
            holder_name = CASE WHEN ?3 THEN NULL ELSE holder_name END WHERE id = ?1",
        params![&id.0[..], account, personalised],
    )?;
    audit::record(
        &tx,
        now_ms,
        "device",
        "transfer.accept",
        &id.to_string(),
        &format!("transfer {transfer_id} to account {account}"),
    )?;
    tx.commit()?;
    Ok(vec![id])
}

/// Re-binds every ticket of the device's account held by another device to this one.
pub(crate) fn rebind(
    c: &Conn<'_>,
    device: &[u8; 32],
    now_ms: i64,
) -> Result<Vec<TicketId>, ApiError> {
    let tx = c.transaction()?;
    let account = accounts::require_of_device(&tx, device)?;
    let held: Vec<TicketRow> = {
        tx.query_map(
            &format!(
                "SELECT {COLUMNS} FROM tickets WHERE account_id = ?1 AND device IS NOT NULL AND device <> ?2"
            ),
            params![account, &device[..]],
            row,
        )?
    };
    let mut ids = Vec::with_capacity(held.len());
    for t in held {
        let version = end_binding(&tx, &t.id, "rebound", now_ms)?;
        bind(&tx, &t.id, device, version, now_ms)?;
        let old = t.device.map(hex::encode).unwrap_or_default();
        audit::record(
            &tx,
            now_ms,
            "device",
            "ticket.rebind",
            &t.id.to_string(),
            &format!("from device {old} to device {}", hex::encode(device)),
        )?;
        ids.push(t.id);
    }
    tx.commit()?;
    Ok(ids)
}

/// Refuses (`change_blocked`) when any ticket of the account belongs to a change-block
/// event.
pub(crate) fn check_not_change_blocked(c: &Conn<'_>, account: i64) -> Result<(), ApiError> {
    let event_ids: Vec<i64> = {
        c.query_map(
            "SELECT DISTINCT event_id FROM tickets WHERE account_id = ?1",
            [account],
            |r| r.get(0),
        )?
    };
    for e in event_ids {
        let id = EventId(u64::try_from(e).map_err(|_| ApiError::internal())?);
        if events::require(c, id)?.policy.change_block {
            return Err(ApiError::change_blocked());
        }
    }
    Ok(())
}

/// The holder's own change of name or email, refused when any of the account's tickets
/// belongs to a change-block event. A name changes at once; an address only when the
/// link mailed to it is confirmed on this device (`verification::request_email_change`):
/// then the answer is when that link expires and the messages to send (the link to the
/// new address, the notice to the old one).
pub(crate) fn update_profile(
    c: &Conn<'_>,
    device: &[u8; 32],
    update: &ProfileUpdate,
    now_ms: i64,
) -> Result<Option<(i64, [Outgoing; 2])>, ApiError> {
    if update.holder_name.is_none() && update.email.is_none() {
        return Err(ApiError::bad_request("nothing to change"));
    }
    check_name(update.holder_name.as_deref())?;
    let email = update
        .email
        .as_deref()
        .map(accounts::normalize_email)
        .transpose()?;
    let tx = c.transaction()?;
    let account = accounts::require_of_device(&tx, device)?;
    check_not_change_blocked(&tx, account)?;
    let mut changed = Vec::new();
    if let Some(name) = &update.holder_name {
        tx.execute(
            "UPDATE tickets SET holder_name = ?2 WHERE account_id = ?1",
            params![account, name],
        )?;
        changed.push("holder name changed");
    }
    let mut change = None;
    if let Some(email) = email {
        let old = accounts::email_of(&tx, account)?;
        if old != email {
            let taken = tx
                .query_row(
                    "SELECT 1 FROM accounts WHERE email = ?1 AND id <> ?2",
                    params![email, account],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if taken {
                return Err(ApiError::conflict("another account uses that address"));
            }
            change = Some(verification::request_email_change(
                &tx, device, account, &old, &email, now_ms,
            )?);
            changed.push("email change requested (link sent to the new address)");
        }
    }
    if !changed.is_empty() {
        audit::record(
            &tx,
            now_ms,
            "device",
            "profile.update",
            &format!("account {account}"),
            &changed.join(" and "),
        )?;
    }
    tx.commit()?;
    Ok(change)
}
