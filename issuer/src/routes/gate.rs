//! Gate endpoints (gate or admin token): bundles and scan uploads.

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::{Role, Staff, read_body};
use crate::error::ApiError;
use crate::gate::{self, ScanUploadResponse};
use crate::state::Shared;

/// The query of a bundle fetch.
#[derive(Debug, Deserialize)]
pub(super) struct BundleQuery {
    /// The sequence number of the bundle the gate holds: answer only what changed since.
    since: Option<u64>,
}

/// `GET /v1/gate/events/{id}/bundle[?since=N]`: the event's bundle (or the update since
/// sequence number N) as a signed document (`tessera_gate::signed_bundle`).
pub(super) async fn bundle(
    State(st): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<BundleQuery>,
    staff: Staff,
) -> Result<Response, ApiError> {
    staff.require(&[Role::Gate, Role::Admin])?;
    let id = gate::parse_event_id(&id)?;
    staff.require_event(id)?;
    let st2 = st.clone();
    let text = st
        .db
        .call(move |c| gate::signed_bundle(&st2, c, id, q.since))
        .await?;
    Ok(([(CONTENT_TYPE, "application/json")], text).into_response())
}

/// `POST /v1/gate/scans`: a scan-log export (JSON lines or a JSON array) to merge.
pub(super) async fn scans(
    State(st): State<Shared>,
    staff: Staff,
    req: Request,
) -> Result<Json<ScanUploadResponse>, ApiError> {
    staff.require(&[Role::Gate, Role::Admin])?;
    let (parts, body) = req.into_parts();
    let bytes = read_body(&parts, body).await?;
    let records = gate::parse_upload(&bytes)?;
    // All or nothing: one record under another gate's id refuses the whole upload, so a
    // gate can neither overwrite nor pre-empt another gate's admissions.
    for r in &records {
        staff.require_gate_id(&r.gate_id)?;
    }
    let event = staff.event();
    let merged = st
        .db
        .call(move |c| {
            if let Some(event) = event {
                gate::check_records_event(c, event, &records)?;
            }
            let mut merged = gate::merge(c, &records)?;
            if let Some(event) = event {
                gate::keep_event_duplicates(c, event, &mut merged.answer)?;
            }
            Ok(merged)
        })
        .await?;
    for outcome in merged.new_outcomes {
        st.metrics.scan(outcome);
    }
    st.metrics.duplicate_admissions(merged.new_duplicates);
    Ok(Json(merged.answer))
}
