//! Email and SMS verification of a device.
//!
//! Email: a one-time link token (32 random bytes) that only the device that asked may
//! confirm, with a device-signed request; confirming links the device to the account of
//! that address (creating it if new). SMS: a 6-digit code for a phone number of one of the
//! account's orders, valid 5 minutes, dead after 5 wrong tries, at most 3 per device per
//! 10 minutes. Tokens are stored as SHA-256 and codes as HMAC under a server key, so the
//! database alone does not reveal them; the message itself is the only clear copy.

use crate::db::{Conn, OptionalExtension, params};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use tessera_core::Verification;
use tessera_core::sync::api::VerificationStatus;
use zeroize::Zeroizing;

use crate::accounts;
use crate::error::ApiError;
use crate::limits::{self, Kind};
use crate::metrics::Counted;
use crate::outbox::Channel;
use crate::secrets::{new_token, token_hash};
use crate::state::AppState;

/// How long an email link is valid.
pub const EMAIL_TOKEN_TTL_MS: i64 = 15 * 60_000;
/// How long an SMS code is valid.
pub const SMS_CODE_TTL_MS: i64 = 5 * 60_000;
/// Wrong SMS codes after which the code is dead.
pub const SMS_MAX_WRONG: u32 = 5;
/// SMS codes a device may request per [`RATE_WINDOW_MS`].
pub const SMS_MAX_REQUESTS: i64 = 3;
/// Email links a device may request per [`RATE_WINDOW_MS`] (mail bombing guard).
pub const EMAIL_MAX_REQUESTS: i64 = 10;
/// The rate-limit window.
pub const RATE_WINDOW_MS: i64 = 10 * 60_000;

/// A message to send once the change that made it is committed.
pub(crate) struct Outgoing {
    /// Email or SMS.
    pub channel: Channel,
    /// Address or number.
    pub to: String,
    /// The text; holds a secret, so it is wiped after sending.
    pub body: Zeroizing<String>,
}

/// What a device has verified, for its current account.
pub(crate) fn verified(c: &Conn<'_>, device: &[u8; 32]) -> Result<Vec<Verification>, ApiError> {
    let Some(account) = accounts::of_device(c, device)? else {
        return Ok(Vec::new());
    };
    let mut v = vec![Verification::Email];
    let phone = c
        .query_row(
            "SELECT 1 FROM phone_verified WHERE device = ?1 AND account_id = ?2",
            params![&device[..], account],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if phone {
        v.push(Verification::Phone);
    }
    Ok(v)
}

fn status(
    c: &Conn<'_>,
    device: &[u8; 32],
    pending: Option<i64>,
) -> Result<VerificationStatus, ApiError> {
    Ok(VerificationStatus {
        verified: verified(c, device)?,
        pending_expires_at_ms: pending,
    })
}

/// Refuses when the device asked for `channel` messages too often; records this request.
fn rate_limit(
    c: &Conn<'_>,
    device: &[u8; 32],
    channel: Channel,
    max: i64,
    now_ms: i64,
) -> Result<(), ApiError> {
    let since = now_ms - RATE_WINDOW_MS;
    let (count, oldest): (i64, Option<i64>) = c.query_row(
        "SELECT COUNT(*), MIN(at_ms) FROM message_requests WHERE device = ?1 AND channel = ?2 AND at_ms > ?3",
        params![&device[..], channel.as_str(), since],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if count >= max {
        let wait_ms = oldest.map_or(RATE_WINDOW_MS, |o| o + RATE_WINDOW_MS - now_ms);
        let secs = u64::try_from(wait_ms.max(0) / 1000 + 1).unwrap_or(1);
        return Err(ApiError::rate_limited(
            format!(
                "at most {max} {} requests per device per 10 minutes",
                channel.as_str()
            ),
            secs,
        ));
    }
    c.execute("DELETE FROM message_requests WHERE at_ms <= ?1", [since])?;
    c.execute(
        "INSERT INTO message_requests (device, channel, at_ms) VALUES (?1, ?2, ?3)",
        params![&device[..], channel.as_str(), now_ms],
    )?;
    Ok(())
}

/// Starts email verification: stores a one-time token and returns the email to send.
pub(crate) fn request_email(
    c: &Conn<'_>,
    device: &[u8; 32],
    email: &str,
    now_ms: i64,
) -> Result<(VerificationStatus, Outgoing), ApiError> {
    let email = accounts::normalize_email(email)?;
    let token = Zeroizing::new(new_token()?);
    let expires = now_ms + EMAIL_TOKEN_TTL_MS;
    let tx = c.transaction()?;
    rate_limit(&tx, device, Channel::Email, EMAIL_MAX_REQUESTS, now_ms)?;
    tx.execute("DELETE FROM email_tokens WHERE expires_ms < ?1", [now_ms])?;
    tx.execute(
        "INSERT INTO email_tokens (token_hash, device, email, expires_ms) VALUES (?1, ?2, ?3, ?4)",
        params![token_hash(&token), &device[..], email, expires],
    )?;
    let st = status(&tx, device, Some(expires))?;
    tx.commit()?;
    let body = Zeroizing::new(format!(
        "Confirm your email address for your tickets: open this link on the phone that asked for it.\n\
         tessera://verify-email?token={}\n\
         The link works once and expires in 15 minutes.",
        &*token
    ));
    Ok((
        st,
        Outgoing {
            channel: Channel::Email,
            to: email,
            body,
        },
    ))
}

/// An `email_tokens` row: the asking device, the address, expiry, used, and for an email
/// change the account it renames.
type EmailTokenRow = (Vec<u8>, String, i64, bool, Option<i64>);

/// Confirms an email token from the device that requested it: a sign-in link links
/// device and account; an email-change link renames the device's account (and returns
/// the notice for the old address).
pub(crate) fn confirm_email(
    c: &Conn<'_>,
    device: &[u8; 32],
    token: &str,
    now_ms: i64,
) -> Result<(VerificationStatus, Option<Outgoing>), ApiError> {
    let tx = c.transaction()?;
    let row: Option<EmailTokenRow> = tx
        .query_row(
            "SELECT device, email, expires_ms, used, change_account FROM email_tokens WHERE token_hash = ?1",
            [token_hash(token.trim())],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let fail = |e: ApiError| {
        tx.count(Counted::FailedVerification("email_token"));
        e
    };
    let Some((owner, email, expires, used, change_account)) = row else {
        return Err(fail(ApiError::not_found("unknown email verification link")));
    };
    if owner != device[..] {
        return Err(fail(ApiError::forbidden(
            "this link can only be confirmed on the device that asked for it",
        )));
    }
    if used {
        return Err(fail(ApiError::code_expired("this link was already used")));
    }
    if now_ms >= expires {
        return Err(fail(ApiError::code_expired("this link has expired")));
    }
    tx.execute(
        "UPDATE email_tokens SET used = 1 WHERE token_hash = ?1",
        [token_hash(token.trim())],
    )?;
    let notice = match change_account {
        Some(account) => finish_email_change(&tx, device, account, &email, now_ms)?,
        None => {
            let account = accounts::get_or_create(&tx, &email, now_ms)?;
            tx.execute(
                "UPDATE devices SET account_id = ?2 WHERE public_key = ?1",
                params![&device[..], account],
            )?;
            None
        }
    };
    let s = status(&tx, device, None)?;
    tx.commit()?;
    Ok((s, notice))
}

/// Starts an email change of `account`, asked by `device` (which belongs to it): a
/// one-time link to the new address, which only this device may confirm, and a notice to
/// the old address. Nothing changes until the link is confirmed; a newer request replaces
/// a pending one. Returns when the link expires and the two messages.
pub(crate) fn request_email_change(
    tx: &Conn<'_>,
    device: &[u8; 32],
    account: i64,
    old_email: &str,
    new_email: &str,
    now_ms: i64,
) -> Result<(i64, [Outgoing; 2]), ApiError> {
    rate_limit(tx, device, Channel::Email, EMAIL_MAX_REQUESTS, now_ms)?;
    let token = Zeroizing::new(new_token()?);
    let expires = now_ms + EMAIL_TOKEN_TTL_MS;
    tx.execute("DELETE FROM email_tokens WHERE expires_ms < ?1", [now_ms])?;
    tx.execute(
        "DELETE FROM email_tokens WHERE change_account = ?1 AND used = 0",
        [account],
    )?;
    tx.execute(
        "INSERT INTO email_tokens (token_hash, device, email, expires_ms, change_account)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![token_hash(&token), &device[..], new_email, expires, account],
    )?;
    let link = Outgoing {
        channel: Channel::Email,
        to: new_email.to_owned(),
        body: Zeroizing::new(format!(
            "Confirm the new email address of your ticket account: open this link on the phone \
             that asked for the change.\n\
             tessera://verify-email?token={}\n\
             The link works once and expires in 15 minutes. Until then the account keeps its \
             old address.",
            &*token
        )),
    };
    let notice = Outgoing {
        channel: Channel::Email,
        to: old_email.to_owned(),
        body: Zeroizing::new(format!(
            "A device asked to move your ticket account from this address to {new_email}. \
             Nothing changes unless the link sent to that address is confirmed on that device. \
             If this was not you, contact the box office."
        )),
    };
    Ok((expires, [link, notice]))
}

/// Completes an email change when its link is confirmed: the device must still belong to
/// the account, the account must still be free to change, and the address must still be
/// free. Audited; returns the notice to the old address.
fn finish_email_change(
    tx: &Conn<'_>,
    device: &[u8; 32],
    account: i64,
    new_email: &str,
    now_ms: i64,
) -> Result<Option<Outgoing>, ApiError> {
    if accounts::of_device(tx, device)? != Some(account) {
        return Err(ApiError::forbidden(
            "this device no longer belongs to the account it asked to change",
        ));
    }
    crate::tickets::check_not_change_blocked(tx, account)?;
    let old = accounts::email_of(tx, account)?;
    if old == new_email {
        return Ok(None);
    }
    let taken = tx
        .query_row(
            "SELECT 1 FROM accounts WHERE email = ?1 AND id <> ?2",
            params![new_email, account],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if taken {
        return Err(ApiError::conflict("another account uses that address"));
    }
    tx.execute(
        "UPDATE accounts SET email = ?2 WHERE id = ?1",
        params![account, new_email],
    )?;
    crate::audit::record(
        tx,
        now_ms,
        "device",
        "profile.email_change",
        &format!("account {account}"),
        &format!("email changed, confirmed by device {}", hex::encode(device)),
    )?;
    Ok(Some(Outgoing {
        channel: Channel::Email,
        to: old,
        body: Zeroizing::new(format!(
            "The email address of your ticket account was changed to {new_email}, confirmed \
             from that address. If this was not you, contact the box office."
        )),
    }))
}

fn code_mac(st: &AppState, device: &[u8; 32], code: &str) -> Vec<u8> {
    let mut ctx = hmac::Context::with_key(&st.secrets.code_key);
    ctx.update(device);
    ctx.update(code.as_bytes());
    ctx.sign().as_ref().to_vec()
}

/// A uniformly random 6-digit code.
fn six_digits() -> Result<Zeroizing<String>, ApiError> {
    // Rejection sampling: 4_294_000_000 is the largest multiple of 10^6 below 2^32.
    loop {
        let mut b = [0u8; 4];
        SystemRandom::new()
            .fill(&mut b)
            .map_err(|_| ApiError::internal())?;
        let v = u32::from_be_bytes(b);
        if v < 4_294_000_000 {
            return Ok(Zeroizing::new(format!("{:06}", v % 1_000_000)));
        }
    }
}

/// Starts SMS verification for a phone of one of the account's orders.
pub(crate) fn request_phone(
    st: &AppState,
    c: &Conn<'_>,
    device: &[u8; 32],
    phone: &str,
    now_ms: i64,
) -> Result<(VerificationStatus, Outgoing), ApiError> {
    let phone = accounts::normalize_phone(phone)?;
    // IMMEDIATE: the limits are read and counted in one write transaction, also when
    // several issuers share the database.
    let tx = c.transaction()?;
    let account = accounts::require_of_device(&tx, device)?;
    let on_order = tx
        .query_row(
            "SELECT 1 FROM orders WHERE account_id = ?1 AND phone = ?2 LIMIT 1",
            params![account, phone],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if !on_order {
        return Err(ApiError::not_found(
            "no order of this account has that phone number",
        ));
    }
    rate_limit(&tx, device, Channel::Sms, SMS_MAX_REQUESTS, now_ms)?;
    // Whatever the number of devices: per number, and per account for all its numbers.
    limits::take(&tx, &st.limits, Kind::SmsPerPhone, &phone, now_ms)?;
    limits::take(
        &tx,
        &st.limits,
        Kind::SmsPerAccount,
        &account.to_string(),
        now_ms,
    )?;
    let code = six_digits()?;
    let expires = now_ms + SMS_CODE_TTL_MS;
    // A new code replaces the pending one and its attempt count.
    tx.execute(
        "INSERT INTO sms_codes (device, account_id, phone, code_mac, expires_ms, wrong_attempts)
         VALUES (?1, ?2, ?3, ?4, ?5, 0)
         ON CONFLICT (device) DO UPDATE SET account_id = excluded.account_id,
             phone = excluded.phone, code_mac = excluded.code_mac,
             expires_ms = excluded.expires_ms, wrong_attempts = 0",
        params![
            &device[..],
            account,
            phone,
            code_mac(st, device, &code),
            expires
        ],
    )?;
    let s = status(&tx, device, Some(expires))?;
    tx.commit()?;
    let body = Zeroizing::new(format!(
        "Your ticket verification code is {}. It expires in 5 minutes.",
        &*code
    ));
    Ok((
        s,
        Outgoing {
            channel: Channel::Sms,
            to: phone,
            body,
        },
    ))
}

/// Drops the code [`request_phone`] stored for `device` (the one expiring at
/// `expires_ms`, not a newer one) when it could not be sent.
pub(crate) fn withdraw_phone_code(
    c: &Conn<'_>,
    device: &[u8; 32],
    expires_ms: i64,
) -> Result<(), ApiError> {
    c.execute(
        "DELETE FROM sms_codes WHERE device = ?1 AND expires_ms = ?2",
        params![&device[..], expires_ms],
    )?;
    Ok(())
}

/// Checks an SMS code.
pub(crate) fn confirm_phone(
    st: &AppState,
    c: &Conn<'_>,
    device: &[u8; 32],
    code: &str,
    now_ms: i64,
) -> Result<VerificationStatus, ApiError> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_request("the code is 6 digits"));
    }
    let tx = c.transaction()?;
    let row: Option<(i64, String, Vec<u8>, i64, u32)> = tx
        .query_row(
            "SELECT account_id, phone, code_mac, expires_ms, wrong_attempts FROM sms_codes WHERE device = ?1",
            [&device[..]],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((account, phone, mac, expires, wrong)) = row else {
        return Err(ApiError::not_found("no code pending; request one"));
    };
    // Wrong codes count per number and per account, across devices and codes; once a
    // limit is reached no code is checked, the right one neither (no oracle).
    let account_subject = account.to_string();
    limits::check(&tx, &st.limits, Kind::WrongPerPhone, &phone, now_ms)?;
    limits::check(
        &tx,
        &st.limits,
        Kind::WrongPerAccount,
        &account_subject,
        now_ms,
    )?;
    if wrong >= SMS_MAX_WRONG {
        return Err(ApiError::too_many_attempts());
    }
    if now_ms >= expires {
        tx.execute("DELETE FROM sms_codes WHERE device = ?1", [&device[..]])?;
        tx.commit()?;
        return Err(ApiError::code_expired(
            "the code has expired; request a new one",
        ));
    }
    let mut ctx = Vec::with_capacity(32 + code.len());
    ctx.extend_from_slice(device);
    ctx.extend_from_slice(code.as_bytes());
    if hmac::verify(&st.secrets.code_key, &ctx, &mac).is_err() {
        tx.count(Counted::FailedVerification("sms_code"));
        limits::record(&tx, &st.limits, Kind::WrongPerPhone, &phone, now_ms)?;
        limits::record(
            &tx,
            &st.limits,
            Kind::WrongPerAccount,
            &account_subject,
            now_ms,
        )?;
        let wrong = wrong + 1;
        tx.execute(
            "UPDATE sms_codes SET wrong_attempts = ?2 WHERE device = ?1",
            params![&device[..], wrong],
        )?;
        tx.commit()?;
        return Err(if wrong >= SMS_MAX_WRONG {
            ApiError::too_many_attempts()
        } else {
            ApiError::wrong_code(SMS_MAX_WRONG.saturating_sub(wrong))
        });
    }
    tx.execute("DELETE FROM sms_codes WHERE device = ?1", [&device[..]])?;
    tx.execute(
        "INSERT INTO phone_verified (device, account_id, phone, at_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (device, account_id) DO UPDATE SET phone = excluded.phone, at_ms = excluded.at_ms",
        params![&device[..], account, phone, now_ms],
    )?;
    let s = status(&tx, device, None)?;
    tx.commit()?;
    Ok(s)
}
