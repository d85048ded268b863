//! Outgoing messages (email links, SMS codes) and the dev sender's outbox.
//!
//! The issuer hands every message to a [`MessageSender`]. Without one configured, the
//! [`DevOutbox`] keeps them in the `outbox` table, readable by admins at
//! `GET /v1/dev/outbox`: the only place a code or token is ever written in clear.

use std::fmt;
use std::sync::Arc;

use tessera_core::sync::api::OutboxMessage;

use crate::clock::Clock;
use crate::db::{Conn, Db, DbError, params};
use crate::error::ApiError;

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// An email (verification links, transfer notices).
    Email,
    /// A text message (verification codes).
    Sms,
}

impl Channel {
    /// `email` or `sms`, as the outbox shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }
}

/// Why a message could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("message not sent: {0}")]
pub struct SendError(pub String);

/// Delivers messages to people: plug a real email/SMS provider in here.
///
/// Called from a blocking thread, after the database change that made the message has
/// been committed; it may block. The body holds a secret (link token or code): an
/// implementation must not log it.
pub trait MessageSender: Send + Sync {
    /// Sends `body` to `to` (an address or E.164 number) over `channel`.
    fn send(&self, channel: Channel, to: &str, body: &str) -> Result<(), SendError>;
}

/// The default sender: writes every message to the issuer database's outbox table.
pub struct DevOutbox {
    db: Db,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for DevOutbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DevOutbox")
    }
}

impl DevOutbox {
    pub(crate) fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }
}

impl MessageSender for DevOutbox {
    fn send(&self, channel: Channel, to: &str, body: &str) -> Result<(), SendError> {
        let now = self.clock.now_ms();
        self.db
            .blocking(|c| {
                c.execute(
                    "INSERT INTO outbox (channel, recipient, body, sent_ms) VALUES (?1, ?2, ?3, ?4)",
                    params![channel.as_str(), to, body, now],
                )
                .map(|_| ())
                .map_err(ApiError::from)
            })
            .map_err(|_| SendError("outbox write failed".into()))
    }
}

/// Every message in the outbox, oldest first.
pub(crate) fn list(c: &Conn<'_>) -> Result<Vec<OutboxMessage>, DbError> {
    c.query_map(
        "SELECT channel, recipient, body, sent_ms FROM outbox ORDER BY id",
        (),
        |r| {
            Ok(OutboxMessage {
                channel: r.get(0)?,
                to: r.get(1)?,
                body: r.get(2)?,
                sent_at_ms: r.get(3)?,
            })
        },
    )
}
