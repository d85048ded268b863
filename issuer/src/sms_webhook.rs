//! SMS through a webhook (production mode): each text is POSTed as JSON
//! `{"to": "+41…", "body": "…"}` to a configured URL, which hands it to an SMS provider.
//!
//! The URL is HTTPS (plain HTTP only to a loopback host, where nothing crosses the
//! network), with an optional bearer token read from a file or the environment
//! ([`crate::DeliveryOptions`]). reqwest on rustls with ring (core's `tls_config`: the
//! webpki roots), bounded time-outs, no redirects (a redirect would carry the code and the
//! token somewhere else). Any answer but 2xx means the text was not sent.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use reqwest::Url;
use zeroize::Zeroizing;

use crate::delivery::DeliveryError;
use crate::outbox::{Channel, MessageSender, SendError};

/// How long connecting to the webhook may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the whole call may take: the attendee's request waits for it.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// Sends SMS by POSTing them to a webhook. Emails are not its business: see
/// [`crate::Delivery`].
pub struct SmsWebhook {
    http: reqwest::Client,
    url: Url,
    token: Option<Zeroizing<String>>,
}

impl fmt::Debug for SmsWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the URL (its query may hold a key) nor the token.
        f.debug_struct("SmsWebhook")
            .field("host", &self.url.host_str())
            .finish_non_exhaustive()
    }
}

impl SmsWebhook {
    /// A webhook sender posting to `url`, with `Authorization: Bearer <token>` when a
    /// token is given.
    pub fn new(url: &str, token: Option<Zeroizing<String>>) -> Result<Self, DeliveryError> {
        let bad = |why: &str| DeliveryError(format!("--sms-webhook: {why}"));
        let url = Url::parse(url).map_err(|_| bad("not a URL"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(&format!(
                "credentials do not belong in the URL: put a bearer token in a file \
                 (--sms-webhook-token-file) or in {}",
                crate::delivery::SMS_WEBHOOK_TOKEN_ENV
            )));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => {
                return Err(bad(
                    "plain HTTP only to this machine (127.0.0.1, ::1, localhost): use https://",
                ));
            }
            _ => return Err(bad("the scheme is https://")),
        }
        let tls = tessera_core::sync::tls::tls_config(&[]).map_err(|_| bad("TLS set-up failed"))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(CALL_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            // No idle connections: sends may run on different runtimes (see `send`), and
            // one POST per code does not need a pool.
            .pool_max_idle_per_host(0)
            .user_agent(concat!("tessera-issuer/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| bad("HTTP client set-up failed"))?;
        Ok(Self { http, url, token })
    }

    async fn post(&self, to: &str, body: &str) -> Result<(), SendError> {
        let mut req = self
            .http
            .post(self.url.clone())
            .json(&serde_json::json!({ "to": to, "body": body }));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token.as_str());
        }
        // reqwest's own error text names the URL, which may hold a key: kinds only.
        let resp = req.send().await.map_err(|e| {
            SendError(
                if e.is_timeout() {
                    "SMS webhook: timed out"
                } else if e.is_connect() {
                    "SMS webhook: cannot connect"
                } else {
                    "SMS webhook: request failed"
                }
                .into(),
            )
        })?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(SendError(format!(
                "SMS webhook answered HTTP {}",
                status.as_u16()
            )))
        }
    }
}

impl MessageSender for SmsWebhook {
    fn send(&self, channel: Channel, to: &str, body: &str) -> Result<(), SendError> {
        if channel != Channel::Sms {
            return Err(SendError("the SMS webhook carries SMS only".into()));
        }
        // `send` runs on a blocking thread: inside the issuer that is tokio's blocking
        // pool, whose runtime can drive the call; elsewhere a small runtime of its own.
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle.block_on(self.post(to, body)),
            Err(_) => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|_| SendError("SMS webhook: no async runtime".into()))?
                .block_on(self.post(to, body)),
        }
    }
}

/// Whether the URL's host is this machine (the parser has normalised IP addresses).
fn is_loopback(u: &Url) -> bool {
    let Some(host) = u.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn https_anywhere_plain_http_only_to_loopback() {
        for ok in [
            "https://sms.example.org/hook",
            "http://127.0.0.1:8080/sms",
            "http://[::1]/sms",
            "http://localhost:9/sms",
        ] {
            assert!(SmsWebhook::new(ok, None).is_ok(), "{ok}");
        }
        for bad in [
            "http://sms.example.org/hook",
            "http://10.0.0.1/hook",
            "ftp://sms.example.org/hook",
            "https://user:pw@sms.example.org/hook",
            "not a url",
        ] {
            assert!(SmsWebhook::new(bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn outside_a_runtime_a_dead_webhook_is_a_send_error() {
        // Port 9 (discard) on loopback: nothing listens there in a test environment.
        let w = SmsWebhook::new("http://127.0.0.1:9/sms", None).unwrap();
        let e = w
            .send(Channel::Sms, "+41790000000", "code 123456")
            .unwrap_err();
        assert!(e.0.starts_with("SMS webhook"), "{e}");
        assert!(!e.0.contains("123456"), "{e}");
        assert!(w.send(Channel::Email, "a@example.org", "x").is_err());
    }
}
