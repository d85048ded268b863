//! The issuer's bearer-token endpoints (docs/API.md) the CLI calls: admin (events, orders,
//! tokens, the dev outbox, release objects) and gate (bundles), and the public release
//! object. Device-signed attendee calls are not here: they go through core's `WalletSync`.

use std::time::Duration;

use reqwest::Url;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tessera_core::EventId;
use tessera_core::EventPolicy;
use tessera_core::sync::api::{
    ErrorBody, OrderRequest, OrderResponse, OutboxMessage, TokenInfo, TokenRequest, TokenResponse,
};
use tessera_core::sync::client::check_base_url;
use tessera_core::sync::error::SyncError;
use zeroize::Zeroizing;

/// How long one admin call may take; the issuer answers these in milliseconds.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Why an admin or gate call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiCallError {
    /// The URL is not usable (same rules as the wallet's: HTTPS, or HTTP on loopback only,
    /// because a bearer token must not travel in clear).
    #[error(transparent)]
    Url(#[from] SyncError),
    /// The HTTP client could not be built.
    #[error("HTTP client set-up: {0}")]
    Client(String),
    /// The issuer could not be reached or did not answer in time.
    #[error("cannot reach {path}: {detail}")]
    Network {
        /// The endpoint.
        path: String,
        /// reqwest's explanation.
        detail: String,
    },
    /// The issuer answered with an error status.
    #[error("{path}: HTTP {status} {code}: {message}")]
    Status {
        /// The endpoint.
        path: String,
        /// HTTP status.
        status: u16,
        /// The issuer's error code (`unauthorized`, `forbidden`, …), empty if none.
        code: String,
        /// The issuer's explanation.
        message: String,
    },
    /// The answer is not the JSON the API promises.
    #[error("{path}: unexpected answer: {detail}")]
    Decode {
        /// The endpoint.
        path: String,
        /// What did not parse.
        detail: String,
    },
}

/// A client for the issuer's bearer-token endpoints, holding one token (admin, box
/// office or gate: the issuer decides what each may do), or none for the public ones.
pub struct IssuerApi {
    http: reqwest::Client,
    base: String,
    token: Option<Zeroizing<String>>,
}

impl IssuerApi {
    /// A client for the issuer at `base_url` using `token`.
    pub fn new(base_url: &str, token: &str) -> Result<Self, ApiCallError> {
        let mut api = Self::public(base_url)?;
        api.token = Some(Zeroizing::new(token.to_owned()));
        Ok(api)
    }

    /// A client for the issuer's public endpoints at `base_url`: no token is sent.
    pub fn public(base_url: &str) -> Result<Self, ApiCallError> {
        let url: Url = check_base_url(base_url)?;
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .user_agent(concat!("tessera-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiCallError::Client(e.to_string()))?;
        Ok(Self {
            http,
            // Endpoint paths start with '/': keep the base without a trailing one.
            base: url.as_str().trim_end_matches('/').to_owned(),
            token: None,
        })
    }

    /// Creates or replaces an event (admin).
    pub async fn create_event(&self, policy: &EventPolicy) -> Result<EventPolicy, ApiCallError> {
        self.post("/v1/admin/events", policy).await
    }

    /// Sells tickets (admin, box office).
    pub async fn create_order(&self, order: &OrderRequest) -> Result<OrderResponse, ApiCallError> {
        self.post("/v1/admin/orders", order).await
    }

    /// Mints a token with its role and scope (admin only).
    pub async fn mint_token(&self, req: &TokenRequest) -> Result<String, ApiCallError> {
        Ok(self.create_token(req).await?.token)
    }

    /// Mints a token with its role and scope (admin only): the token, its public id and
    /// its scope.
    pub async fn create_token(&self, req: &TokenRequest) -> Result<TokenResponse, ApiCallError> {
        self.post("/v1/admin/tokens", req).await
    }

    /// Every staff token with its scope, never the tokens themselves (admin only).
    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>, ApiCallError> {
        let path = "/v1/admin/tokens";
        let text = self.get_text(path).await?;
        decode(path, &text)
    }

    /// Revokes a staff token by its public id (admin only); it stops working at once. The
    /// caller checks that `id` is only letters and digits (it goes into the path).
    pub async fn revoke_token(&self, id: &str) -> Result<(), ApiCallError> {
        let _: serde::de::IgnoredAny = self
            .post(
                &format!("/v1/admin/tokens/{id}/revoke"),
                &serde_json::json!({}),
            )
            .await?;
        Ok(())
    }

    /// The newest message the dev outbox holds for `to` (admin).
    pub async fn last_message_to(&self, to: &str) -> Result<Option<OutboxMessage>, ApiCallError> {
        let path = "/v1/dev/outbox";
        let text = self.get_text(path).await?;
        let all: Vec<OutboxMessage> = decode(path, &text)?;
        Ok(all.into_iter().rev().find(|m| m.to == to))
    }

    /// An event's signed gate bundle document as the issuer sent it (gate or admin), or
    /// with `since` the update after that sequence number. Returned as text: the gate
    /// checks it with `tessera_gate::signed_bundle` and stores it verbatim.
    pub async fn gate_bundle_json(
        &self,
        event: EventId,
        since: Option<u64>,
    ) -> Result<String, ApiCallError> {
        let query = since.map_or_else(String::new, |s| format!("?since={s}"));
        self.get_text(&format!("/v1/gate/events/{event}/bundle{query}"))
            .await
    }

    /// The event's release object as the public path serves it (no token needed), or
    /// `None` while the issuer answers "not yet" (404: before the window, or an event it
    /// does not publish).
    pub async fn public_release(&self, event: EventId) -> Result<Option<String>, ApiCallError> {
        match self.get_text(&format!("/v1/events/{event}/release")).await {
            Ok(text) => Ok(Some(text)),
            Err(ApiCallError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The event's release object at any time, before the window too (admin only; the
    /// issuer audits it).
    pub async fn export_release(&self, event: EventId) -> Result<String, ApiCallError> {
        self.get_text(&format!("/v1/admin/events/{event}/release"))
            .await
    }

    async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<R, ApiCallError> {
        let req = self.authorized(self.http.post(format!("{}{path}", self.base)).json(body));
        let text = self.send(path, req).await?;
        decode(path, &text)
    }

    async fn get_text(&self, path: &str) -> Result<String, ApiCallError> {
        let req = self.authorized(self.http.get(format!("{}{path}", self.base)));
        self.send(path, req).await
    }

    /// The request with the bearer token, when this client holds one.
    fn authorized(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => req.bearer_auth(t.as_str()),
            None => req,
        }
    }

    /// Sends and reads the body; a non-2xx answer becomes [`ApiCallError::Status`] with
    /// the issuer's `ErrorBody` when it sent one.
    async fn send(&self, path: &str, req: reqwest::RequestBuilder) -> Result<String, ApiCallError> {
        let network = |e: reqwest::Error| ApiCallError::Network {
            path: path.to_owned(),
            // Without the URL: it is in the path already, and errors may be logged.
            detail: e.without_url().to_string(),
        };
        let r = req.send().await.map_err(network)?;
        let status = r.status();
        let text = r.text().await.map_err(network)?;
        if status.is_success() {
            return Ok(text);
        }
        let (code, message) = match serde_json::from_str::<ErrorBody>(&text) {
            Ok(b) => (b.error.to_string(), b.message),
            Err(_) => (
                String::new(),
                status.canonical_reason().unwrap_or("").into(),
            ),
        };
        Err(ApiCallError::Status {
            path: path.to_owned(),
            status: status.as_u16(),
            code,
            message,
        })
    }
}

/// Parses an answer body, naming the endpoint when it is not the promised JSON.
fn decode<R: DeserializeOwned>(path: &str, text: &str) -> Result<R, ApiCallError> {
    serde_json::from_str(text).map_err(|e| ApiCallError::Decode {
        path: path.to_owned(),
        detail: e.to_string(),
    })
}

/// The value after `key=` in a message or link (up to the first character that is not
/// a letter or digit), e.g. the token of `tessera://verify-email?token=…`.
pub fn link_param(text: &str, key: &str) -> Option<String> {
    let pat = format!("{key}=");
    let start = text.find(&pat)? + pat.len();
    let value: String = text[start..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_param_reads_the_token_of_a_verification_link() {
        let body = "Confirm: tessera://verify-email?token=ab12CD&x=1 thanks";
        assert_eq!(link_param(body, "token").as_deref(), Some("ab12CD"));
        assert_eq!(link_param(body, "x").as_deref(), Some("1"));
        assert_eq!(link_param(body, "id"), None);
        assert_eq!(link_param("token=", "token"), None);
    }

    #[test]
    fn plain_http_to_another_machine_is_refused() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        assert!(IssuerApi::new("http://example.com", "t").is_err());
        assert!(IssuerApi::new("http://127.0.0.1:8080", "t").is_ok());
    }
}
