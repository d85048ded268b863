//! Abuse limits that hold whatever the number of devices: SMS codes sent and wrong codes
//! tried per phone number and per account, and enrollment per source address and
//! overall. Each limit is a sliding window over rows of `rate_events` in the issuer's
//! database (not in memory), so instances that share a database share the limits; every
//! check and its record run in one `BEGIN IMMEDIATE` transaction of the caller.

use std::net::{IpAddr, SocketAddr};

use crate::db::{Conn, OptionalExtension, params};

use crate::error::ApiError;

const MINUTE_MS: i64 = 60_000;

/// At most `max` events per sliding `window_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Events allowed in any window (0 refuses every one).
    pub max: u32,
    /// The window, in milliseconds.
    pub window_ms: i64,
}

impl RateLimit {
    /// `max` events per `window_ms`.
    pub const fn new(max: u32, window_ms: i64) -> Self {
        Self { max, window_ms }
    }
}

/// The issuer's abuse limits ([`crate::IssuerConfig::limits`]). A limit reached answers
/// 429 `rate_limited` with `Retry-After` (seconds until the oldest counted event leaves
/// the window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// SMS codes sent to one phone number, by every device and account together
    /// (default 3 per 10 minutes).
    pub sms_codes_per_phone: RateLimit,
    /// SMS codes requested by the devices of one account, for any of its numbers
    /// (default 3 per 10 minutes).
    pub sms_codes_per_account: RateLimit,
    /// Wrong SMS codes tried for one phone number, by every device together (default 10
    /// per hour). The wrong code that reaches the limit still answers `wrong_code`; every
    /// try after it, right or wrong, is `rate_limited` and not checked.
    pub wrong_codes_per_phone: RateLimit,
    /// Wrong SMS codes tried by the devices of one account (default 10 per hour).
    pub wrong_codes_per_account: RateLimit,
    /// New devices enrolled from one source address (an IPv6 address counts by its /64;
    /// behind a proxy, this is the proxy's address) (default 20 per minute).
    pub enroll_per_address: RateLimit,
    /// New devices enrolled from anywhere (default 600 per minute). Enrolling a device
    /// again is idempotent and never counted or refused.
    pub enroll_total: RateLimit,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            sms_codes_per_phone: RateLimit::new(3, 10 * MINUTE_MS),
            sms_codes_per_account: RateLimit::new(3, 10 * MINUTE_MS),
            wrong_codes_per_phone: RateLimit::new(10, 60 * MINUTE_MS),
            wrong_codes_per_account: RateLimit::new(10, 60 * MINUTE_MS),
            enroll_per_address: RateLimit::new(20, MINUTE_MS),
            enroll_total: RateLimit::new(600, MINUTE_MS),
        }
    }
}

/// What a limit counts; the stored `kind`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    SmsPerPhone,
    SmsPerAccount,
    WrongPerPhone,
    WrongPerAccount,
    EnrollPerAddress,
    EnrollTotal,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::SmsPerPhone => "sms_phone",
            Self::SmsPerAccount => "sms_account",
            Self::WrongPerPhone => "wrong_code_phone",
            Self::WrongPerAccount => "wrong_code_account",
            Self::EnrollPerAddress => "enroll_address",
            Self::EnrollTotal => "enroll_total",
        }
    }

    /// The refusal's message: fixed text, never the number, account or address.
    fn message(self) -> &'static str {
        match self {
            Self::SmsPerPhone => "too many codes sent to this phone number; try again later",
            Self::SmsPerAccount => "too many codes requested for this account; try again later",
            Self::WrongPerPhone => "too many wrong codes for this phone number; try again later",
            Self::WrongPerAccount => "too many wrong codes for this account; try again later",
            Self::EnrollPerAddress => {
                "too many devices enrolled from this address; try again later"
            }
            Self::EnrollTotal => "too many devices enrolling right now; try again later",
        }
    }

    fn limit(self, l: &Limits) -> RateLimit {
        match self {
            Self::SmsPerPhone => l.sms_codes_per_phone,
            Self::SmsPerAccount => l.sms_codes_per_account,
            Self::WrongPerPhone => l.wrong_codes_per_phone,
            Self::WrongPerAccount => l.wrong_codes_per_account,
            Self::EnrollPerAddress => l.enroll_per_address,
            Self::EnrollTotal => l.enroll_total,
        }
    }
}

/// Refuses with `rate_limited` when `subject` already has `max` events of `kind` in the
/// window ending now. Records nothing.
pub(crate) fn check(
    c: &Conn<'_>,
    limits: &Limits,
    kind: Kind,
    subject: &str,
    now_ms: i64,
) -> Result<(), ApiError> {
    let limit = kind.limit(limits);
    let window = limit.window_ms.max(0);
    let since = now_ms.saturating_sub(window);
    // The max-th most recent event in the window: while it is in the window, the limit
    // is reached (also when instances sharing the database overshot it together).
    let blocking: Option<i64> = match limit.max.checked_sub(1) {
        None => Some(now_ms),
        Some(offset) => c
            .query_row(
                "SELECT at_ms FROM rate_events WHERE kind = ?1 AND subject = ?2 AND at_ms > ?3
                 ORDER BY at_ms DESC LIMIT 1 OFFSET ?4",
                params![kind.as_str(), subject, since, i64::from(offset)],
                |r| r.get(0),
            )
            .optional()?,
    };
    match blocking {
        None => Ok(()),
        Some(at) => {
            let wait_ms = at.saturating_add(window).saturating_sub(now_ms).max(0);
            let secs = u64::try_from(wait_ms / 1000 + 1).unwrap_or(1);
            Err(ApiError::rate_limited(kind.message(), secs))
        }
    }
}

/// Counts one event of `kind` for `subject` now, and forgets events older than the window.
pub(crate) fn record(
    c: &Conn<'_>,
    limits: &Limits,
    kind: Kind,
    subject: &str,
    now_ms: i64,
) -> Result<(), ApiError> {
    let since = now_ms.saturating_sub(kind.limit(limits).window_ms.max(0));
    c.execute(
        "DELETE FROM rate_events WHERE kind = ?1 AND at_ms <= ?2",
        params![kind.as_str(), since],
    )?;
    c.execute(
        "INSERT INTO rate_events (kind, subject, at_ms) VALUES (?1, ?2, ?3)",
        params![kind.as_str(), subject, now_ms],
    )?;
    Ok(())
}

/// Checks then records: the event is counted only when it is allowed.
pub(crate) fn take(
    c: &Conn<'_>,
    limits: &Limits,
    kind: Kind,
    subject: &str,
    now_ms: i64,
) -> Result<(), ApiError> {
    check(c, limits, kind, subject, now_ms)?;
    record(c, limits, kind, subject, now_ms)
}

/// The subject an enrollment counts under: the IPv4 address, or an IPv6 address's /64
/// (one host usually holds a whole /64).
fn address_subject(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Enrolls `device` (idempotent): a device already enrolled is not counted; a new one
/// counts against its source address and the overall limit, then is stored.
pub(crate) fn enroll(
    c: &Conn<'_>,
    limits: &Limits,
    device: &[u8; 32],
    platform: &str,
    peer: SocketAddr,
    now_ms: i64,
) -> Result<(), ApiError> {
    let tx = c.transaction()?;
    let known = tx
        .query_row(
            "SELECT 1 FROM devices WHERE public_key = ?1",
            [&device[..]],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if !known {
        let address = address_subject(peer.ip());
        check(&tx, limits, Kind::EnrollPerAddress, &address, now_ms)?;
        check(&tx, limits, Kind::EnrollTotal, "", now_ms)?;
        record(&tx, limits, Kind::EnrollPerAddress, &address, now_ms)?;
        record(&tx, limits, Kind::EnrollTotal, "", now_ms)?;
        tx.execute(
            "INSERT INTO devices (public_key, platform, enrolled_ms) VALUES (?1, ?2, ?3)",
            params![&device[..], platform, now_ms],
        )?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or(IpAddr::from([0u8; 4]));
        let b: IpAddr = "2001:db8:1:2:bbbb::9"
            .parse()
            .unwrap_or(IpAddr::from([0u8; 4]));
        assert_eq!(address_subject(a), address_subject(b));
        assert_eq!(address_subject(a), "2001:db8:1:2::/64");
        let m: IpAddr = "::ffff:192.0.2.7".parse().unwrap_or(IpAddr::from([0u8; 4]));
        assert_eq!(address_subject(m), "192.0.2.7");
    }
}
