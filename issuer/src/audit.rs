//! The audit log: one row per administrative change (and per holder change a device makes),
//! written in the same transaction as the change so neither exists without the other.

use crate::db::{Conn, DbError, params};
use tessera_core::sync::api::AuditEntry;

/// Appends an entry. `detail` must never hold a secret (tokens, seeds, codes).
pub(crate) fn record(
    c: &Conn<'_>,
    at_ms: i64,
    role: &str,
    action: &str,
    subject: &str,
    detail: &str,
) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO audit (at_ms, role, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![at_ms, role, action, subject, detail],
    )?;
    Ok(())
}

/// Every entry, oldest first.
pub(crate) fn list(c: &Conn<'_>) -> Result<Vec<AuditEntry>, DbError> {
    c.query_map(
        "SELECT at_ms, role, action, subject, detail FROM audit ORDER BY id",
        (),
        |r| {
            Ok(AuditEntry {
                at_ms: r.get(0)?,
                role: r.get(1)?,
                action: r.get(2)?,
                subject: r.get(3)?,
                detail: r.get(4)?,
            })
        },
    )
}
