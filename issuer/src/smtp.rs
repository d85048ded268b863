//! Emails over SMTP (production mode): lettre's blocking transport on rustls with ring and
//! the webpki roots.
//!
//! Configured by a URL:
//! - `smtps://[user@]host[:port]`: TLS from the first byte (port 465 by default);
//! - `smtp://[user@]host[:port]`: STARTTLS required (port 587 by default), so no message
//!   or password crosses the network in clear, and a server that does not offer STARTTLS
//!   gets nothing (no downgrade);
//! - `smtp://` to a loopback host (`127.0.0.0/8`, `::1`, `localhost`): plain SMTP (port 25
//!   by default), because the message does not leave the machine (a local relay, a test
//!   sink).
//!
//! The user name may be in the URL (percent-encoded: `user%40example.org@host`); the
//! password may not, because command lines are visible to every user of the machine: it
//! comes from a file or an environment variable ([`crate::DeliveryOptions`]).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport};
use reqwest::Url;
use zeroize::Zeroizing;

use crate::delivery::DeliveryError;
use crate::outbox::{Channel, MessageSender, SendError};

/// The subject of every email the issuer sends: its bodies say what each one is about.
pub const EMAIL_SUBJECT: &str = "Your tickets";

/// How long one SMTP command may take; a stuck server must not hold the request forever.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// No TLS: loopback only.
    Plain,
    /// Plain connection upgraded with STARTTLS, which must succeed.
    StartTls,
    /// TLS from the first byte.
    Tls,
}

/// What an SMTP URL says, checked.
#[derive(Debug, PartialEq, Eq)]
struct SmtpTarget {
    host: String,
    port: u16,
    security: Security,
    user: Option<String>,
}

/// Sends emails through an SMTP server. SMS are not its business: see [`crate::Delivery`].
pub struct SmtpSender {
    transport: SmtpTransport,
    from: Mailbox,
}

impl fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the transport: it holds the credentials.
        f.debug_struct("SmtpSender")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpSender {
    /// An SMTP sender for the server at `url` (see the module documentation), sending
    /// from `mail_from` (`Name <addr>` or `addr`), authenticating as the URL's user with
    /// `password` when the URL names one.
    pub fn new(
        url: &str,
        mail_from: &str,
        password: Option<Zeroizing<String>>,
    ) -> Result<Self, DeliveryError> {
        let target = parse_url(url)?;
        let from: Mailbox = mail_from.parse().map_err(|_| {
            DeliveryError("--mail-from is not an email address (Name <addr> or addr)".into())
        })?;
        let mut builder = match target.security {
            Security::Plain => SmtpTransport::builder_dangerous(&target.host),
            Security::StartTls => SmtpTransport::starttls_relay(&target.host)
                .map_err(|_| DeliveryError("--smtp-url: TLS set-up failed".into()))?,
            Security::Tls => SmtpTransport::relay(&target.host)
                .map_err(|_| DeliveryError("--smtp-url: TLS set-up failed".into()))?,
        };
        builder = builder.port(target.port).timeout(Some(SMTP_TIMEOUT));
        match (target.user, password) {
            (Some(user), Some(password)) => {
                builder = builder.credentials(Credentials::new(user, password.to_string()));
            }
            (Some(_), None) => {
                return Err(DeliveryError(format!(
                    "--smtp-url names a user but no password was given: put it in a file \
                     (--smtp-password-file) or in {}",
                    crate::delivery::SMTP_PASSWORD_ENV
                )));
            }
            (None, Some(_)) => {
                return Err(DeliveryError(
                    "an SMTP password was given but --smtp-url names no user (smtp://user@host)"
                        .into(),
                ));
            }
            (None, None) => {}
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

impl MessageSender for SmtpSender {
    fn send(&self, channel: Channel, to: &str, body: &str) -> Result<(), SendError> {
        if channel != Channel::Email {
            return Err(SendError("the SMTP sender carries emails only".into()));
        }
        let to: Mailbox = to
            .parse()
            .map_err(|_| SendError("the recipient is not an email address".into()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(EMAIL_SUBJECT)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|_| SendError("the email could not be built".into()))?;
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| SendError(format!("SMTP: {}", describe(&e))))
    }
}

/// What went wrong, by kind only: the server's own text could quote what it was sent.
fn describe(e: &lettre::transport::smtp::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_tls() {
        "TLS failed"
    } else if e.is_permanent() {
        "refused by the server"
    } else if e.is_transient() {
        "deferred by the server"
    } else {
        "connection failed"
    };
    match e.status() {
        Some(code) => format!("{kind} ({code})"),
        None => kind.to_owned(),
    }
}

/// Checks an SMTP URL: scheme, host, port, user; no password, path, query or fragment.
fn parse_url(url: &str) -> Result<SmtpTarget, DeliveryError> {
    let bad = |why: &str| DeliveryError(format!("--smtp-url: {why}"));
    let u = Url::parse(url).map_err(|_| bad("not a URL (smtps://host:465 or smtp://host:587)"))?;
    if u.password().is_some() {
        return Err(DeliveryError(format!(
            "--smtp-url must not hold the password (command lines are visible to other users): \
             put it in a file (--smtp-password-file) or in {}",
            crate::delivery::SMTP_PASSWORD_ENV
        )));
    }
    if !matches!(u.path(), "" | "/") || u.query().is_some() || u.fragment().is_some() {
        return Err(bad("a path, query or fragment means nothing here"));
    }
    let host = u
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("no host"))?;
    // IPv6 hosts come bracketed; the socket address wants them bare.
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let loopback = match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    };
    let (security, default_port) = match u.scheme() {
        "smtps" => (Security::Tls, 465),
        "smtp" if loopback => (Security::Plain, 25),
        "smtp" => (Security::StartTls, 587),
        _ => return Err(bad("the scheme is smtps:// or smtp://")),
    };
    let user = match u.username() {
        "" => None,
        encoded => Some(percent_decode(encoded).ok_or_else(|| bad("bad user name"))?),
    };
    Ok(SmtpTarget {
        host,
        port: u.port().unwrap_or(default_port),
        security,
        user,
    })
}

/// Decodes `%XX` escapes (the URL parser keeps the user name encoded).
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn target(host: &str, port: u16, security: Security, user: Option<&str>) -> SmtpTarget {
        SmtpTarget {
            host: host.into(),
            port,
            security,
            user: user.map(Into::into),
        }
    }

    #[test]
    fn plain_smtp_only_to_loopback_starttls_required_elsewhere() {
        use Security::*;
        assert_eq!(
            parse_url("smtp://127.0.0.1:2525").unwrap(),
            target("127.0.0.1", 2525, Plain, None)
        );
        assert_eq!(
            parse_url("smtp://[::1]").unwrap(),
            target("::1", 25, Plain, None)
        );
        assert_eq!(
            parse_url("smtp://localhost").unwrap(),
            target("localhost", 25, Plain, None)
        );
        assert_eq!(
            parse_url("smtp://mail.example.org").unwrap(),
            target("mail.example.org", 587, StartTls, None)
        );
        assert_eq!(
            parse_url("smtp://10.0.0.5:25").unwrap(),
            target("10.0.0.5", 25, StartTls, None)
        );
        assert_eq!(
            parse_url("smtps://tickets%40example.org@mail.example.org").unwrap(),
            target("mail.example.org", 465, Tls, Some("tickets@example.org"))
        );
    }

    #[test]
    fn passwords_paths_and_other_schemes_are_refused() {
        let e = parse_url("smtps://user:hunter2@mail.example.org").unwrap_err();
        assert!(e.0.contains("--smtp-password-file"), "{e}");
        assert!(!e.0.contains("hunter2"), "{e}");
        for url in [
            "http://mail.example.org",
            "smtp://mail.example.org/x",
            "smtp://mail.example.org?tls=none",
            "smtp://",
            "mail.example.org:587",
        ] {
            assert!(parse_url(url).is_err(), "{url}");
        }
    }

    #[test]
    fn a_user_needs_a_password_and_a_password_a_user() {
        let pw = || Some(Zeroizing::new("pw".to_owned()));
        assert!(SmtpSender::new("smtps://u@mail.example.org", "a@example.org", None).is_err());
        assert!(SmtpSender::new("smtps://mail.example.org", "a@example.org", pw()).is_err());
        assert!(SmtpSender::new("smtps://u@mail.example.org", "a@example.org", pw()).is_ok());
        assert!(SmtpSender::new("smtps://mail.example.org", "not an address", None).is_err());
        let s = SmtpSender::new("smtp://127.0.0.1:9", "T <t@example.org>", None).unwrap();
        assert_eq!(
            s.send(Channel::Sms, "+41790000000", "x"),
            Err(SendError("the SMTP sender carries emails only".into()))
        );
    }
}
