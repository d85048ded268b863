//! Tessera reference issuer: the ticketing backend the wallet syncs with, and the gate
//! backend (bundles, scan uploads). axum on tokio, one SQLite file per data directory.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tessera_issuer::IssuerError> {
//! let issuer = tessera_issuer::Issuer::start(tessera_issuer::IssuerConfig::new("./data")).await?;
//! println!("{} {}", issuer.url(), issuer.admin_token());
//! issuer.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The HTTP contract is docs/API.md; decisions are in issuer/README.md.

mod accounts;
mod audit;
mod auth;
mod clock;
pub(crate) mod db;
mod delivery;
mod error;
mod events;
mod gate;
mod idempotency;
mod limits;
mod metrics;
mod outbox;
mod release;
mod routes;
mod secrets;
mod server;
mod sms_webhook;
mod smtp;
mod staff_tokens;
mod state;
mod sync;
mod tickets;
mod verification;

pub use auth::{MAX_BODY_BYTES, Role};
pub use clock::{Clock, SystemClock};
pub use delivery::{
    Delivery, DeliveryError, DeliveryOptions, NO_DELIVERY, SMS_WEBHOOK_TOKEN_ENV, SMTP_PASSWORD_ENV,
};
pub use error::{ApiError, IssuerError};
pub use gate::ScanUploadResponse;
pub use limits::{Limits, RateLimit};
pub use outbox::{Channel, DevOutbox, MessageSender, SendError};
pub use secrets::ISSUER_KEY_ID;
pub use server::{DATABASE_ENV, DEFAULT_RELEASE_SECRET_LEAD, Issuer, IssuerConfig, RunningIssuer};
pub use sms_webhook::SmsWebhook;
pub use smtp::{EMAIL_SUBJECT, SmtpSender};
pub use verification::{
    EMAIL_MAX_REQUESTS, EMAIL_TOKEN_TTL_MS, RATE_WINDOW_MS, SMS_CODE_TTL_MS, SMS_MAX_REQUESTS,
    SMS_MAX_WRONG,
};
