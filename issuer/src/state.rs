//! What every request handler shares.

use std::sync::Arc;

use crate::clock::Clock;
use crate::db::Db;
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::outbox::MessageSender;
use crate::release::ReleaseCache;
use crate::secrets::IssuerSecrets;

/// The issuer's running state.
pub(crate) struct AppState {
    /// The issuer database.
    pub db: Db,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// Where emails and SMS go.
    pub sender: Arc<dyn MessageSender>,
    /// Signing key, admin token, code MAC key.
    pub secrets: IssuerSecrets,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Abuse limits (SMS codes, wrong codes, enrollment).
    pub limits: Limits,
    /// How long before a strict event's window gate bundles carry its release secret, ms.
    pub release_secret_lead_ms: i64,
    /// Release objects signed once and served from memory (`GET /v1/events/{id}/release`).
    pub releases: ReleaseCache,
}

/// The state as handlers receive it.
pub(crate) type Shared = Arc<AppState>;

impl AppState {
    /// Now, Unix ms, on the issuer's clock.
    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}
