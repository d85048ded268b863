//! Staff tokens: minted with a scope, listed and revoked by the admin, all audited.
//!
//! The database keeps a token's SHA-256 only, with a public id, its role, its scope (one
//! event; for a gate also its gate id) and when it was revoked. What a scope allows is
//! checked by [`crate::auth::Staff`].

use crate::db::{Conn, OptionalExtension, params};
use tessera_core::EventId;
use tessera_core::sync::api::{TokenInfo, TokenRequest, TokenResponse};

use crate::audit;
use crate::auth::Role;
use crate::error::ApiError;
use crate::events::{self, sql_id};
use crate::secrets::{new_token, random_bytes, token_hash};

/// Longest gate id.
const MAX_GATE_ID: usize = 64;

/// A checked request: the role and scope a new token gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    /// Box office or gate.
    pub role: Role,
    /// The one event it may act on.
    pub event: Option<EventId>,
    /// The gate id its scan uploads must carry.
    pub gate_id: Option<String>,
}

impl Scope {
    /// Checks a mint request: a gate needs an event and a well-formed gate id; a box
    /// office may name an event but no gate.
    pub(crate) fn from_request(req: &TokenRequest) -> Result<Self, ApiError> {
        let role = match Role::parse(&req.role) {
            Some(r @ (Role::BoxOffice | Role::Gate)) => r,
            _ => return Err(ApiError::bad_request("role must be box_office or gate")),
        };
        match (role, req.event_id, &req.gate_id) {
            (Role::Gate, Some(event), Some(gate)) => {
                check_gate_id(gate)?;
                Ok(Self {
                    role,
                    event: Some(event),
                    gate_id: Some(gate.clone()),
                })
            }
            (Role::Gate, _, _) => Err(ApiError::bad_request(
                "a gate token needs an event_id and a gate_id",
            )),
            (_, event, None) => Ok(Self {
                role,
                event,
                gate_id: None,
            }),
            (_, _, Some(_)) => Err(ApiError::bad_request("only a gate token has a gate_id")),
        }
    }
}

/// Whether `id` is a gate id: what scan records carry and the door staff read, so plain
/// ASCII only.
pub(crate) fn check_gate_id(id: &str) -> Result<(), ApiError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_GATE_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "a gate_id is 1–64 characters of A–Z a–z 0–9 . _ -",
        ))
    }
}

/// Mints a token for `scope` and audits it (without the token). The event must exist.
pub(crate) fn mint(
    c: &Conn<'_>,
    scope: &Scope,
    actor: &str,
    now_ms: i64,
) -> Result<TokenResponse, ApiError> {
    if let Some(event) = scope.event {
        events::require(c, event)?;
    }
    // The issuer's scan log is keyed by (gate id, scan number), so a gate id belongs to
    // the event of its first token for good (revoked tokens included): another event's gate
    // under the same id could overwrite or pre-empt its records.
    if let (Some(gate), Some(event)) = (&scope.gate_id, scope.event) {
        let other: Option<i64> = c
            .query_row(
                "SELECT event_id FROM tokens WHERE gate_id = ?1 AND event_id <> ?2 LIMIT 1",
                params![gate, sql_id(event)?],
                |r| r.get(0),
            )
            .optional()?;
        if other.is_some() {
            return Err(ApiError::conflict(
                "this gate id belongs to another event's gate: choose another",
            ));
        }
    }
    let token = new_token()?;
    let id = hex::encode(random_bytes(8)?);
    c.execute(
        "INSERT INTO tokens (token_hash, id, role, event_id, gate_id, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            token_hash(&token),
            id,
            scope.role.as_str(),
            scope.event.map(sql_id).transpose()?,
            scope.gate_id,
            now_ms
        ],
    )?;
    audit::record(
        c,
        now_ms,
        actor,
        "token.create",
        scope.role.as_str(),
        &describe(&id, scope.event, scope.gate_id.as_deref()),
    )?;
    Ok(TokenResponse {
        token,
        id,
        role: scope.role.as_str().into(),
        event_id: scope.event,
        gate_id: scope.gate_id.clone(),
    })
}

/// Every staff token, oldest first, without the tokens themselves.
pub(crate) fn list(c: &Conn<'_>) -> Result<Vec<TokenInfo>, ApiError> {
    let rows = c.query_map(
        "SELECT id, role, event_id, gate_id, created_ms, revoked_ms FROM tokens
         ORDER BY created_ms, id",
        (),
        |r| {
            Ok(TokenInfo {
                id: r.get(0)?,
                role: r.get(1)?,
                event_id: r.get::<Option<i64>>(2)?.map(event_id),
                gate_id: r.get(3)?,
                created_ms: r.get(4)?,
                revoked_ms: r.get(5)?,
            })
        },
    )?;
    Ok(rows)
}

/// Revokes the token with public id `id` (from then on it is an unknown token) and
/// audits it. Revoking twice keeps the first time.
pub(crate) fn revoke(c: &Conn<'_>, id: &str, actor: &str, now_ms: i64) -> Result<(), ApiError> {
    let tx = c.transaction()?;
    let row: Option<(String, Option<i64>, Option<String>)> = tx
        .query_row(
            "SELECT role, event_id, gate_id FROM tokens WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((role, event, gate)) = row else {
        return Err(ApiError::not_found("no such token"));
    };
    tx.execute(
        "UPDATE tokens SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms IS NULL",
        params![id, now_ms],
    )?;
    audit::record(
        &tx,
        now_ms,
        actor,
        "token.revoke",
        &role,
        &describe(id, event.map(event_id), gate.as_deref()),
    )?;
    tx.commit()?;
    Ok(())
}

/// The role and scope of a valid (known, not revoked) token, by its hash.
pub(crate) fn lookup(c: &Conn<'_>, hash: &[u8]) -> Result<Option<Scope>, ApiError> {
    let row: Option<(String, Option<i64>, Option<String>)> = c
        .query_row(
            "SELECT role, event_id, gate_id FROM tokens
             WHERE token_hash = ?1 AND revoked_ms IS NULL",
            [hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    Ok(row.and_then(|(role, event, gate_id)| {
        Some(Scope {
            role: Role::parse(&role)?,
            event: event.map(event_id),
            gate_id,
        })
    }))
}

/// Event ids are stored as SQLite integers, written from `u64`s that fit.
fn event_id(v: i64) -> EventId {
    EventId(v.unsigned_abs())
}

/// The audit detail of a token: its id and scope, never the token.
fn describe(id: &str, event: Option<EventId>, gate: Option<&str>) -> String {
    let mut d = format!("token {id}");
    if let Some(e) = event {
        d.push_str(&format!(", event {e}"));
    }
    if let Some(g) = gate {
        d.push_str(&format!(", gate {g}"));
    }
    d
}
