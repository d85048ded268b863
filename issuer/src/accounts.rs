//! Accounts (one per email address) and the device each is linked to by email confirmation.

use crate::db::{Conn, OptionalExtension, params};

use crate::error::ApiError;

/// Longest email address accepted (RFC 5321 path limit).
const MAX_EMAIL_LEN: usize = 254;
/// Longest phone number text accepted.
const MAX_PHONE_LEN: usize = 32;

/// The canonical form of an address: trimmed and lower-cased, so `Ada@X.org` and
/// `ada@x.org` are one account.
pub(crate) fn normalize_email(email: &str) -> Result<String, ApiError> {
    let e = email.trim().to_lowercase();
    let ok = e.len() <= MAX_EMAIL_LEN
        && !e
            .chars()
            .any(|c| c.is_whitespace() || tessera_core::text::is_refused(c))
        && e.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty() && !host.is_empty() && !host.contains('@')
        });
    if ok {
        Ok(e)
    } else {
        Err(ApiError::bad_request("not an email address"))
    }
}

/// The canonical form of a phone number: digits with an optional leading `+`, separators
/// (spaces, dashes, dots, brackets) dropped.
pub(crate) fn normalize_phone(phone: &str) -> Result<String, ApiError> {
    let t = phone.trim();
    let (plus, rest) = match t.strip_prefix('+') {
        Some(r) => ("+", r),
        None => ("", t),
    };
    let mut out = String::from(plus);
    for ch in rest.chars() {
        match ch {
            '0'..='9' => out.push(ch),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return Err(ApiError::bad_request("not a phone number")),
        }
    }
    let digits = out.len() - plus.len();
    if (4..=MAX_PHONE_LEN).contains(&digits) {
        Ok(out)
    } else {
        Err(ApiError::bad_request("not a phone number"))
    }
}

/// The account of `email`, created if new.
pub(crate) fn get_or_create(c: &Conn<'_>, email: &str, now_ms: i64) -> Result<i64, ApiError> {
    c.execute(
        "INSERT INTO accounts (email, created_ms) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![email, now_ms],
    )?;
    Ok(
        c.query_row("SELECT id FROM accounts WHERE email = ?1", [email], |r| {
            r.get(0)
        })?,
    )
}

/// The account a device confirmed an email for, if any.
pub(crate) fn of_device(c: &Conn<'_>, device: &[u8; 32]) -> Result<Option<i64>, ApiError> {
    Ok(c.query_row(
        "SELECT account_id FROM devices WHERE public_key = ?1",
        [&device[..]],
        |r| r.get::<Option<i64>>(0),
    )
    .optional()?
    .flatten())
}

/// Like [`of_device`], but a device without a confirmed email is told to confirm one.
pub(crate) fn require_of_device(c: &Conn<'_>, device: &[u8; 32]) -> Result<i64, ApiError> {
    of_device(c, device)?.ok_or_else(|| {
        ApiError::needs_verification("confirm the account's email on this device first")
    })
}

/// The email address of an account.
pub(crate) fn email_of(c: &Conn<'_>, account: i64) -> Result<String, ApiError> {
    Ok(
        c.query_row("SELECT email FROM accounts WHERE id = ?1", [account], |r| {
            r.get(0)
        })?,
    )
}
