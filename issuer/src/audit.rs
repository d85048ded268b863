//! The audit log: one row per administrative change (and per holder change a device makes),
//! written in the same transaction as the change so neither exists without the other.

use rusqlite::{Connection, params};
use tessera_core::sync::api::AuditEntry;

/// Appends an entry. `detail` must never hold a secret (tokens, seeds, codes).
pub(crate) fn record(
    c: &Connection,
    at_ms: i64,
    role: &str,
    action: &str,
    subject: &str,
    detail: &str,
) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO audit (at_ms, role, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![at_ms, role, action, subject, detail],
    )?;
    Ok(())
}

/// Every entry, oldest first.
pub(crate) fn list(c: &Connection) -> rusqlite::Result<Vec<AuditEntry>> {
    let mut st = c.prepare("SELECT at_ms, role, action, subject, detail FROM audit ORDER BY id")?;
    st.query_map([], |r| {
        Ok(AuditEntry {
            at_ms: r.get(0)?,
            role: r.get(1)?,
            action: r.get(2)?,
            subject: r.get(3)?,
            detail: r.get(4)?,
        })
    })?
    .collect()
}
