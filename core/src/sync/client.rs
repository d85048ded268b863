//! The HTTP client for the issuer API (docs/API.md): reqwest on rustls with ring as the
//! only crypto provider and webpki roots (plus roots the app hands in), so it needs no
//! platform verifier, JNI set-up, OpenSSL or aws-lc on any platform.
//!
//! Every attendee call is device-signed (`request.rs`). Only idempotent calls are
//! retried: `GET /v1/time` and sync (each sync attempt carries a fresh nonce and a fresh
//! ephemeral key, so a retry is a new request, not a replay). Answers are read with a
//! size limit enforced while streaming, then decoded strictly.

use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use reqwest::{Method, Url};
use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ids::{EventId, TicketId};
use crate::sync::api::{
    EmailConfirm, EmailRequest, EnrollRequest, EnrollResponse, OrderResponse, PhoneConfirm,
    PhoneRequest, ProfileUpdate, SyncRequest, SyncResponse, TimeResponse, TransferRequest,
    TransferResponse, VerificationStatus,
};
use crate::sync::error::SyncError;
use crate::sync::request::{
    HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, signing_message,
};
use crate::sync::tls::tls_config;
use crate::sync::transport::{Ephemeral, TransportKey};
use crate::wallet::Wallet;

/// The largest answer the client reads: 16 MiB (docs/API.md). Enough for a sync of tens
/// of thousands of tickets; a larger body is a broken or hostile server.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Error bodies are small; a huge one is read no further than this.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// Longest transfer id accepted in a path (ids are server-made tokens).
const MAX_PATH_ID_LEN: usize = 128;

/// The largest release object answer read: the longest object (a 128-byte secret) is 533
/// characters, so anything near this is a broken or hostile server.
pub const MAX_RELEASE_BYTES: usize = 4 * 1024;

/// How the client connects, waits and retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Time allowed to open a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Time allowed for one whole request, answer body included.
    pub request_timeout: Duration,
    /// Retries after the first attempt for idempotent calls (time, sync). 0 disables retries.
    pub max_retries: u32,
    /// Wait before the first retry; doubles each time (with jitter).
    pub initial_backoff: Duration,
    /// Longest wait between two attempts.
    pub max_backoff: Duration,
    /// Total time an idempotent call may take, retries and waits included; no retry
    /// starts when its wait would end past it.
    pub retry_budget: Duration,
    /// Largest answer read, bytes ([`DEFAULT_MAX_RESPONSE_BYTES`]).
    pub max_response_bytes: usize,
    /// Extra trusted root certificates (DER), for issuers behind a private CA; the
    /// webpki (Mozilla) roots are always trusted too.
    pub extra_roots_der: Vec<Vec<u8>>,
    /// `User-Agent` header value.
    pub user_agent: String,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_retries: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
            retry_budget: Duration::from_secs(60),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            extra_roots_der: Vec::new(),
            user_agent: concat!("tessera-core/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// An issuer's base URL, checked: HTTPS, or plain HTTP only to this machine.
///
/// Loopback means 127.0.0.0/8, `::1` and the name `localhost`: traffic that never leaves
/// the device, which is where the reference issuer runs for tests and demos.
pub fn check_base_url(url: &str) -> Result<Url, SyncError> {
    let mut u = Url::parse(url).map_err(|e| SyncError::InvalidUrl(e.to_string()))?;
    if !u.username().is_empty() || u.password().is_some() {
        // Credentials in a URL end up in logs and error texts.
        return Err(SyncError::InvalidUrl("credentials in URL".into()));
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(SyncError::InvalidUrl(
            "a base URL has no query or fragment".into(),
        ));
    }
    if u.host().is_none() {
        return Err(SyncError::InvalidUrl("no host".into()));
    }
    match u.scheme() {
        "https" => {}
        "http" if is_loopback(&u) => {}
        "http" => return Err(SyncError::InsecureUrl(redacted(&u))),
        other => return Err(SyncError::InvalidUrl(format!("scheme {other}"))),
    }
    // Endpoints are appended to the path; a trailing slash would double it.
    let path = u.path().trim_end_matches('/').to_owned();
    u.set_path(&path);
    Ok(u)
}

/// Whether the URL's host is this machine. The URL parser has already normalised the
/// host (`127.1` reads `127.0.0.1`), so parsing its text is exact.
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

/// The URL without path details, for error texts.
fn redacted(u: &Url) -> String {
    format!("{}://{}", u.scheme(), u.host_str().unwrap_or_default())
}

/// A request prepared once and sent (possibly several times) by [`IssuerClient`].
struct Call<'a> {
    method: Method,
    path: &'a str,
    body: Option<Vec<u8>>,
    signer: Option<&'a Wallet>,
    /// The `Idempotency-Key` header, for calls that create something (docs/API.md).
    idempotency_key: Option<String>,
}

/// The async client for one issuer. Cheap to clone (connections are pooled and shared).
#[derive(Clone)]
pub struct IssuerClient {
    http: reqwest::Client,
    base: Url,
    options: ClientOptions,
    rng: SystemRandom,
}

impl std::fmt::Debug for IssuerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerClient")
            .field("base", &redacted(&self.base))
            .finish_non_exhaustive()
    }
}

/// A sync answer together with the key its secrets were sealed to.
pub struct SyncOutcome {
    /// The answer, not yet checked: give it to [`Wallet::apply_sync`].
    pub response: SyncResponse,
    /// The transport key agreed for this sync.
    pub key: TransportKey,
    /// The nonce the request asked the issuer to sign its clock with.
    pub time_nonce: [u8; 32],
}

impl std::fmt::Debug for SyncOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Counts only: the answer holds holder names (personal data).
        f.debug_struct("SyncOutcome")
            .field("server_time_ms", &self.response.server_time_ms)
            .field("tickets", &self.response.tickets.len())
            .field("events", &self.response.events.len())
            .finish_non_exhaustive()
    }
}

impl IssuerClient {
    /// A client for the issuer at `base_url` (for example `https://tickets.example.com`).
    /// Refuses plain HTTP except to loopback ([`SyncError::InsecureUrl`]).
    pub fn new(base_url: &str, options: ClientOptions) -> Result<Self, SyncError> {
        let base = check_base_url(base_url)?;
        let tls = tls_config(&options.extra_roots_der)?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .https_only(base.scheme() == "https")
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            // A redirect would leave the checked URL and re-send a signed request elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(options.user_agent.clone())
            .build()
            .map_err(|e| SyncError::ClientSetup(e.to_string()))?;
        Ok(Self {
            http,
            base,
            options,
            rng: SystemRandom::new(),
        })
    }

    /// The issuer's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The options in force.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// `GET /v1/time?nonce=…`: the issuer's clock, Unix ms, signed over `nonce` (see
    /// `sync::signed_time`; check it with [`Wallet::accept_signed_time`]). Retried.
    pub async fn server_time(&self, nonce: &[u8; 32]) -> Result<TimeResponse, SyncError> {
        let path = format!("/v1/time?nonce={}", hex::encode(nonce));
        let call = Call {
            method: Method::GET,
            path: &path,
            body: None,
            signer: None,
            idempotency_key: None,
        };
        self.retrying(|| self.json(&call)).await
    }

    /// `GET /v1/events/{id}/release`: the event's release object as text (docs/API.md,
    /// "Release objects"), unchecked: apply it with [`Wallet::apply_release`]. Public and
    /// unsigned (any cache may have answered), retried like the time; at most
    /// [`MAX_RELEASE_BYTES`] are read. Before the window opens, and for an event the issuer
    /// does not publish, the answer is [`SyncError::NotFound`].
    pub async fn release_object(&self, event: EventId) -> Result<String, SyncError> {
        let path = format!("/v1/events/{event}/release");
        let call = Call {
            method: Method::GET,
            path: &path,
            body: None,
            signer: None,
            idempotency_key: None,
        };
        let limit = self.options.max_response_bytes.min(MAX_RELEASE_BYTES);
        let bytes = self.retrying(|| self.send_limited(&call, limit)).await?;
        String::from_utf8(bytes)
            .map_err(|_| SyncError::MalformedResponse("release object: not UTF-8".into()))
    }

    /// `POST /v1/devices`: enrolls this wallet's device key.
    pub async fn enroll(
        &self,
        wallet: &Wallet,
        platform: &str,
    ) -> Result<EnrollResponse, SyncError> {
        let body = EnrollRequest {
            platform: platform.to_owned(),
        };
        self.post(wallet, "/v1/devices", &body).await
    }

    /// `POST /v1/attendee/email/request`: sends a confirmation link to `email`.
    pub async fn request_email(
        &self,
        wallet: &Wallet,
        email: &str,
    ) -> Result<VerificationStatus, SyncError> {
        let body = EmailRequest {
            email: email.to_owned(),
        };
        self.post(wallet, "/v1/attendee/email/request", &body).await
    }

    /// `POST /v1/attendee/email/confirm`: confirms the link's token from this device.
    pub async fn confirm_email(
        &self,
        wallet: &Wallet,
        token: &str,
    ) -> Result<VerificationStatus, SyncError> {
        let body = EmailConfirm {
            token: token.to_owned(),
        };
        self.post(wallet, "/v1/attendee/email/confirm", &body).await
    }

    /// `POST /v1/attendee/phone/request`: sends an SMS code to `phone` (E.164).
    pub async fn request_phone(
        &self,
        wallet: &Wallet,
        phone: &str,
    ) -> Result<VerificationStatus, SyncError> {
        let body = PhoneRequest {
            phone: phone.to_owned(),
        };
        self.post(wallet, "/v1/attendee/phone/request", &body).await
    }

    /// `POST /v1/attendee/phone/confirm`: confirms the SMS code.
    pub async fn confirm_phone(
        &self,
        wallet: &Wallet,
        code: &str,
    ) -> Result<VerificationStatus, SyncError> {
        let body = PhoneConfirm {
            code: code.to_owned(),
        };
        self.post(wallet, "/v1/attendee/phone/confirm", &body).await
    }

    /// `POST /v1/attendee/sync`, retried: each attempt with a fresh ephemeral key (and
    /// nonce). Returns the answer unchecked with the agreed transport key; apply it with
    /// [`Wallet::apply_sync`].
    pub async fn sync(&self, wallet: &Wallet) -> Result<SyncOutcome, SyncError> {
        self.retrying(|| self.sync_once(wallet)).await
    }

    async fn sync_once(&self, wallet: &Wallet) -> Result<SyncOutcome, SyncError> {
        let eph = Ephemeral::generate().map_err(|e| SyncError::ClientSetup(e.to_string()))?;
        let wallet_pub = eph.public_key();
        let time_nonce = wallet.new_time_nonce()?;
        let body = to_json(&SyncRequest {
            ephemeral_public_key: hex::encode(wallet_pub),
            time_nonce: hex::encode(time_nonce),
        })?;
        let call = Call {
            method: Method::POST,
            path: "/v1/attendee/sync",
            body: Some(body),
            signer: Some(wallet),
            idempotency_key: None,
        };
        let response: SyncResponse = self.json(&call).await?;
        let mut server_pub = [0u8; 32];
        hex::decode_to_slice(&response.server_ephemeral_public_key, &mut server_pub)
            .map_err(|_| SyncError::MalformedResponse("server_ephemeral_public_key".into()))?;
        let key = eph
            .agree(&server_pub, &server_pub, &wallet_pub)
            .map_err(|_| SyncError::MalformedResponse("server_ephemeral_public_key".into()))?;
        Ok(SyncOutcome {
            response,
            key,
            time_nonce,
        })
    }

    /// `POST /v1/attendee/tickets/{id}/transfer`: hands the ticket to `to_email`.
    ///
    /// Sent once, with an `Idempotency-Key` derived from this device, the ticket, its
    /// version and the address: asking again after a lost answer gets the first transfer
    /// back instead of a refusal for a ticket this device no longer holds. A later
    /// transfer of the same ticket (back on this device, so at a higher version) is a
    /// new request.
    pub async fn transfer(
        &self,
        wallet: &Wallet,
        ticket: &TicketId,
        to_email: &str,
    ) -> Result<TransferResponse, SyncError> {
        let body = TransferRequest {
            to_email: to_email.to_owned(),
        };
        let path = format!("/v1/attendee/tickets/{ticket}/transfer");
        let version = wallet
            .store()
            .ticket(ticket)
            .ok()
            .flatten()
            .map_or(0, |st| st.ticket.version);
        let call = Call {
            method: Method::POST,
            path: &path,
            body: Some(to_json(&body)?),
            signer: Some(wallet),
            idempotency_key: Some(transfer_key(
                &wallet.device_public_key(),
                ticket,
                version,
                to_email,
            )),
        };
        self.json(&call).await
    }

    /// `POST /v1/attendee/transfers/{id}/accept`: takes a ticket sent to this account.
    pub async fn accept_transfer(
        &self,
        wallet: &Wallet,
        transfer_id: &str,
    ) -> Result<OrderResponse, SyncError> {
        check_path_id(transfer_id)?;
        let path = format!("/v1/attendee/transfers/{transfer_id}/accept");
        self.post(wallet, &path, &serde_json::json!({})).await
    }

    /// `POST /v1/attendee/rebind`: moves the account's tickets to this device.
    pub async fn rebind(&self, wallet: &Wallet) -> Result<OrderResponse, SyncError> {
        self.post(wallet, "/v1/attendee/rebind", &serde_json::json!({}))
            .await
    }

    /// `POST /v1/attendee/profile`: changes holder name or email (refused with
    /// [`SyncError::ChangeBlocked`] for change-block events).
    pub async fn update_profile(
        &self,
        wallet: &Wallet,
        update: &ProfileUpdate,
    ) -> Result<VerificationStatus, SyncError> {
        self.post(wallet, "/v1/attendee/profile", update).await
    }

    /// A signed POST, sent once: these calls change state, so a lost answer must not
    /// make the client do it twice.
    async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        wallet: &Wallet,
        path: &str,
        body: &B,
    ) -> Result<R, SyncError> {
        let call = Call {
            method: Method::POST,
            path,
            body: Some(to_json(body)?),
            signer: Some(wallet),
            idempotency_key: None,
        };
        self.json(&call).await
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retry count or time
    /// budget is spent. Waits grow exponentially with jitter so many wallets coming back
    /// online at once do not hit the issuer in lockstep.
    async fn retrying<T, F, Fut>(&self, mut attempt: F) -> Result<T, SyncError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SyncError>>,
    {
        let started = tokio::time::Instant::now();
        let mut retries = 0u32;
        loop {
            match attempt().await {
                Ok(v) => return Ok(v),
                Err(e) if e.is_transient() && retries < self.options.max_retries => {
                    let wait = self.backoff(retries);
                    if started.elapsed() + wait > self.options.retry_budget {
                        return Err(e);
                    }
                    tokio::time::sleep(wait).await;
                    retries += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The wait before retry number `n` (0-based): half fixed, half random.
    fn backoff(&self, n: u32) -> Duration {
        let full = self
            .options
            .initial_backoff
            .saturating_mul(1u32.checked_shl(n).unwrap_or(u32::MAX))
            .min(self.options.max_backoff);
        let mut r = [0u8; 4];
        // Without randomness the wait is simply the full one.
        if self.rng.fill(&mut r).is_err() {
            return full;
        }
        let frac = f64::from(u32::from_be_bytes(r)) / f64::from(u32::MAX);
        full / 2 + full.mul_f64(frac / 2.0)
    }

    /// One attempt of `call`, decoded as `R`.
    async fn json<R: DeserializeOwned>(&self, call: &Call<'_>) -> Result<R, SyncError> {
        let bytes = self.send(call).await?;
        decode(&bytes)
    }

    /// One attempt of `call`: signs it afresh (new nonce, current time), sends it and
    /// reads the answer within the size limit.
    async fn send(&self, call: &Call<'_>) -> Result<Vec<u8>, SyncError> {
        self.send_limited(call, self.options.max_response_bytes)
            .await
    }

    /// [`IssuerClient::send`] reading at most `limit` bytes of a successful answer.
    async fn send_limited(&self, call: &Call<'_>, limit: usize) -> Result<Vec<u8>, SyncError> {
        let mut url = self.base.clone();
        let (path, query) = match call.path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (call.path, None),
        };
        // The base path of `https://host` reads "/": join without doubling the slash.
        let path = format!("{}{}", self.base.path().trim_end_matches('/'), path);
        url.set_path(&path);
        url.set_query(query);
        let body = call.body.clone().unwrap_or_default();
        let mut req = self.http.request(call.method.clone(), url.clone());
        if call.body.is_some() {
            req = req.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        if let Some(wallet) = call.signer {
            // The server checks the path it received: sign exactly the path sent.
            let path_and_query = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_owned(),
            };
            for (name, value) in self.sign(wallet, call.method.as_str(), &path_and_query, &body)? {
                req = req.header(name, value);
            }
        }
        if let Some(key) = &call.idempotency_key {
            req = req.header("idempotency-key", key.as_str());
        }
        if call.body.is_some() {
            req = req.body(body);
        }
        let mut resp = req.send().await.map_err(map_reqwest)?;
        let status = resp.status();
        if status.is_success() {
            return read_limited(&mut resp, limit).await;
        }
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let limit = self.options.max_response_bytes.min(MAX_ERROR_BODY_BYTES);
        // An unreadable error body still leaves the status to map.
        let body = read_limited(&mut resp, limit).await.unwrap_or_default();
        Err(SyncError::from_http(status.as_u16(), &body, retry_after))
    }

    /// The four authentication headers for one request.
    fn sign(
        &self,
        wallet: &Wallet,
        method: &str,
        path_and_query: &str,
        body: &[u8],
    ) -> Result<[(&'static str, String); 4], SyncError> {
        let mut nonce = [0u8; 16];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| SyncError::ClientSetup("system random generator failed".into()))?;
        let nonce = hex::encode(nonce);
        let timestamp = wallet.request_timestamp_ms();
        let msg = signing_message(method, path_and_query, timestamp, &nonce, body);
        let sig = wallet.sign_with_device_key(&msg)?;
        Ok([
            (HEADER_DEVICE, hex::encode(wallet.device_public_key())),
            (HEADER_TIMESTAMP, timestamp.to_string()),
            (HEADER_NONCE, nonce),
            (HEADER_SIGNATURE, hex::encode(sig)),
        ])
    }
}

/// The `Idempotency-Key` of a transfer: the same for the same transfer asked again.
fn transfer_key(device: &[u8; 32], ticket: &TicketId, version: u32, to_email: &str) -> String {
    let mut h = ring::digest::Context::new(&ring::digest::SHA256);
    h.update(b"tessera/v1/idempotency/transfer\0");
    h.update(device);
    h.update(&ticket.0);
    h.update(&version.to_be_bytes());
    h.update(to_email.as_bytes());
    hex::encode(h.finish())
}

fn to_json<B: Serialize>(body: &B) -> Result<Vec<u8>, SyncError> {
    serde_json::to_vec(body).map_err(|e| SyncError::ClientSetup(e.to_string()))
}

/// Decodes an answer. The error names the kind and position only: serde's own text may
/// quote the input, and answers hold personal data.
pub(crate) fn decode<R: DeserializeOwned>(bytes: &[u8]) -> Result<R, SyncError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let kind = match e.classify() {
            serde_json::error::Category::Eof => "truncated JSON",
            serde_json::error::Category::Syntax => "invalid JSON",
            serde_json::error::Category::Data => "unexpected JSON content",
            serde_json::error::Category::Io => "unreadable JSON",
        };
        SyncError::MalformedResponse(format!("{kind} at line {} column {}", e.line(), e.column()))
    })
}

/// Reads the body, refusing as soon as it exceeds `limit` (declared or streamed), so a
/// hostile server cannot make the wallet buffer more than `limit` bytes.
async fn read_limited(resp: &mut reqwest::Response, limit: usize) -> Result<Vec<u8>, SyncError> {
    let declared = resp.content_length();
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(SyncError::ResponseTooLarge { limit });
    }
    let initial = declared.map_or(8 * 1024, |n| n as usize).min(limit);
    let mut buf = Vec::with_capacity(initial);
    while let Some(chunk) = resp.chunk().await.map_err(map_reqwest)? {
        if buf.len().saturating_add(chunk.len()) > limit {
            return Err(SyncError::ResponseTooLarge { limit });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// Maps reqwest's failures to the typed ones; the text never holds a URL's secrets
/// (there are none: credentials in URLs are refused).
fn map_reqwest(e: reqwest::Error) -> SyncError {
    if e.is_timeout() {
        return SyncError::Timeout;
    }
    // The source chain says what failed (refused, reset, certificate…).
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    SyncError::Network(text)
}

/// Path ids must be plain tokens: no `/`, `?`, `%` or `..` to steer the request.
fn check_path_id(id: &str) -> Result<(), SyncError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_PATH_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(SyncError::Wallet(crate::error::WalletError::invalid(
            "transfer id",
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_required_except_on_loopback() {
        for ok in [
            "https://tickets.example.com",
            "https://tickets.example.com/base/",
            "https://1.2.3.4:8443",
            "http://127.0.0.1:8080",
            "http://127.8.9.10",
            "http://[::1]:3000",
            "http://localhost:3000",
            "http://LOCALHOST",
        ] {
            assert!(check_base_url(ok).is_ok(), "{ok}");
        }
        for insecure in [
            "http://tickets.example.com",
            "http://10.0.0.1",
            "http://192.168.1.2:8080",
            "http://[::2]",
            "http://127.0.0.1.example.com",
            "http://localhost.example.com",
            "http://0.0.0.0:8080",
        ] {
            assert!(
                matches!(check_base_url(insecure), Err(SyncError::InsecureUrl(_))),
                "{insecure}"
            );
        }
        for invalid in [
            "not a url",
            "ftp://example.com",
            "https://user:pw@example.com",
            "https://example.com/?a=b",
            "https://example.com/#x",
            "file:///etc/passwd",
        ] {
            assert!(
                matches!(check_base_url(invalid), Err(SyncError::InvalidUrl(_))),
                "{invalid}"
            );
        }
        assert_eq!(
            check_base_url("https://example.com/base/").unwrap().path(),
            "/base"
        );
    }

    #[test]
    fn new_refuses_insecure_urls_and_bad_roots() {
        assert!(matches!(
            IssuerClient::new("http://example.com", ClientOptions::default()),
            Err(SyncError::InsecureUrl(_))
        ));
        let bad_root = ClientOptions {
            extra_roots_der: vec![b"not a certificate".to_vec()],
            ..ClientOptions::default()
        };
        assert_eq!(
            IssuerClient::new("https://example.com", bad_root).unwrap_err(),
            SyncError::BadRootCertificate { index: 0 }
        );
        assert!(IssuerClient::new("https://example.com", ClientOptions::default()).is_ok());
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let c = IssuerClient::new(
            "https://example.com",
            ClientOptions {
                initial_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_millis(350),
                ..ClientOptions::default()
            },
        )
        .unwrap();
        let within = |n, lo, hi| {
            let d = c.backoff(n);
            assert!(
                d >= Duration::from_millis(lo) && d <= Duration::from_millis(hi),
                "{n}: {d:?}"
            );
        };
        within(0, 50, 100);
        within(1, 100, 200);
        within(2, 175, 350);
        within(40, 175, 350);
    }

    #[test]
    fn decode_errors_name_the_place_not_the_content() {
        let e = decode::<TimeResponse>(br#"{"server_time_ms": "secret-ish"}"#).unwrap_err();
        let SyncError::MalformedResponse(text) = e else {
            panic!("{e:?}")
        };
        assert!(!text.contains("secret-ish"), "{text}");
        assert!(matches!(
            decode::<TimeResponse>(br#"{"server_time_ms": 12"#),
            Err(SyncError::MalformedResponse(t)) if t.starts_with("truncated")
        ));
    }

    #[test]
    fn path_ids_are_plain_tokens() {
        assert!(check_path_id("abc-DEF_123").is_ok());
        for bad in ["", "a/b", "..", "a?b", "a%2f", &"x".repeat(129)] {
            assert!(check_path_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_transfer_asked_again_carries_the_same_key_and_another_transfer_another() {
        let (d, t) = ([1u8; 32], TicketId([2; 16]));
        let k = transfer_key(&d, &t, 3, "kim@example.org");
        assert_eq!(k, transfer_key(&d, &t, 3, "kim@example.org"));
        assert_eq!(k.len(), 64);
        for other in [
            transfer_key(&[9; 32], &t, 3, "kim@example.org"),
            transfer_key(&d, &TicketId([9; 16]), 3, "kim@example.org"),
            transfer_key(&d, &t, 4, "kim@example.org"),
            transfer_key(&d, &t, 3, "lee@example.org"),
        ] {
            assert_ne!(k, other);
        }
    }
}
