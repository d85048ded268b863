//! Staff endpoints (bearer tokens): admin and box office.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};
use tessera_core::EventPolicy;
use tessera_core::sync::api::{
    AuditEntry, HolderChange, OrderRequest, OrderResponse, OutboxMessage, TokenInfo, TokenRequest,
    TokenResponse,
};

use crate::auth::{JsonBody, Role, Staff};
use crate::error::ApiError;
use crate::idempotency::{self, IdempotencyKey};
use crate::staff_tokens::{self, Scope};
use crate::state::Shared;
use crate::{audit, events, outbox, tickets};

type JsonResult<T> = Result<Json<T>, ApiError>;

/// `GET /v1/admin/events/{id}/release`: the event's release object at any time, before
/// the window too (a venue printing its door sign ahead), for the admin only; audited as
/// `release.export`. `Cache-Control: no-store`: before the window it is a secret.
/// `not_found` for an event that is unknown or not strict just-in-time.
pub(super) async fn release(
    State(st): State<Shared>,
    Path(id): Path<String>,
    staff: Staff,
) -> Result<axum::response::Response, ApiError> {
    use axum::http::HeaderValue;
    use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
    use axum::response::IntoResponse;

    let actor = staff.require(&[Role::Admin])?;
    let id = crate::gate::parse_event_id(&id)?;
    let now = st.now_ms();
    let row = st
        .db
        .call(move |c| crate::release::read(c, id, Some((actor.as_str(), now))))
        .await?
        .filter(|r| r.strict_jit)
        .ok_or_else(|| ApiError::not_found("no strict just-in-time event with this id"))?;
    let text = crate::release::signed_text(&st, id, &row)?;
    Ok((
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        text,
    )
        .into_response())
}

/// `POST /v1/admin/tokens`: mints a box-office or gate token with its scope. Audited
/// (without the token). With an `Idempotency-Key`, a retry gets the first token.
pub(super) async fn tokens(
    State(st): State<Shared>,
    staff: Staff,
    key: IdempotencyKey,
    JsonBody(req): JsonBody<TokenRequest>,
) -> JsonResult<TokenResponse> {
    let actor = staff.require(&[Role::Admin])?;
    let scope = Scope::from_request(&req)?;
    let claim = key.staff("/v1/admin/tokens", &req)?;
    let now = st.now_ms();
    st.db
        .call(move |c| {
            let claim = claim.as_ref();
            if let Some(first) = idempotency::replay::<TokenResponse>(c, claim, now)? {
                return Ok(first);
            }
            let tx = c.transaction()?;
            let answer = staff_tokens::mint(&tx, &scope, actor.as_str(), now)?;
            idempotency::remember(&tx, claim, &answer, now)?;
            tx.commit()?;
            Ok(answer)
        })
        .await
        .map(Json)
}

/// `GET /v1/admin/tokens`: every staff token with its scope, never the token itself.
pub(super) async fn list_tokens(
    State(st): State<Shared>,
    staff: Staff,
) -> JsonResult<Vec<TokenInfo>> {
    staff.require(&[Role::Admin])?;
    st.db.call(staff_tokens::list).await.map(Json)
}

/// `POST /v1/admin/tokens/{id}/revoke`: the token stops working at once. Audited.
pub(super) async fn revoke_token(
    State(st): State<Shared>,
    Path(id): Path<String>,
    staff: Staff,
) -> JsonResult<Value> {
    let actor = staff.require(&[Role::Admin])?;
    let now = st.now_ms();
    st.db
        .call(move |c| staff_tokens::revoke(c, &id, actor.as_str(), now))
        .await?;
    Ok(Json(json!({})))
}

/// `POST /v1/admin/events`: creates or replaces an event. Audited.
pub(super) async fn events(
    State(st): State<Shared>,
    staff: Staff,
    JsonBody(policy): JsonBody<EventPolicy>,
) -> JsonResult<EventPolicy> {
    let actor = staff.require(&[Role::Admin])?;
    let now = st.now_ms();
    st.db
        .call(move |c| {
            events::put(c, &policy, actor.as_str(), now)?;
            Ok(policy.clone())
        })
        .await
        .map(Json)
}

/// `POST /v1/admin/orders`. Audited. With an `Idempotency-Key`, a retry gets the first
/// order's tickets instead of selling them again.
pub(super) async fn orders(
    State(st): State<Shared>,
    staff: Staff,
    key: IdempotencyKey,
    JsonBody(req): JsonBody<OrderRequest>,
) -> JsonResult<OrderResponse> {
    let actor = staff.require(&[Role::Admin, Role::BoxOffice])?;
    staff.require_event(req.event_id)?;
    let now = st.now_ms();
    let claim = key.staff("/v1/admin/orders", &req)?;
    st.db
        .call(move |c| {
            let claim = claim.as_ref();
            if let Some(first) = idempotency::replay::<OrderResponse>(c, claim, now)? {
                return Ok(first);
            }
            let tickets = tickets::create_order(c, &req, actor.as_str(), now, |tx, ids| {
                let answer = OrderResponse {
                    tickets: ids.to_vec(),
                };
                idempotency::remember(tx, claim, &answer, now)
            })?;
            Ok(OrderResponse { tickets })
        })
        .await
        .map(Json)
}

/// `POST /v1/admin/tickets/{id}/revoke`. Audited.
pub(super) async fn revoke(
    State(st): State<Shared>,
    Path(id): Path<String>,
    staff: Staff,
) -> JsonResult<Value> {
    let actor = staff.require(&[Role::Admin, Role::BoxOffice])?;
    let id = tickets::parse_id(&id)?;
    let now = st.now_ms();
    st.db
        .call(move |c| {
            staff.require_event(tickets::require(c, &id)?.event_id)?;
            tickets::revoke(c, &id, actor.as_str(), now)
        })
        .await?;
    Ok(Json(json!({})))
}

/// `POST /v1/boxoffice/tickets/{id}/holder`: the change-block override. Audited with the reason.
pub(super) async fn holder(
    State(st): State<Shared>,
    Path(id): Path<String>,
    staff: Staff,
    JsonBody(change): JsonBody<HolderChange>,
) -> JsonResult<Value> {
    let actor = staff.require(&[Role::Admin, Role::BoxOffice])?;
    let id = tickets::parse_id(&id)?;
    let now = st.now_ms();
    st.db
        .call(move |c| {
            staff.require_event(tickets::require(c, &id)?.event_id)?;
            tickets::override_holder(c, &id, &change, actor.as_str(), now)
        })
        .await?;
    Ok(Json(json!({})))
}

/// `GET /v1/admin/audit`.
pub(super) async fn audit(State(st): State<Shared>, staff: Staff) -> JsonResult<Vec<AuditEntry>> {
    staff.require(&[Role::Admin])?;
    st.db.call(|c| Ok(audit::list(c)?)).await.map(Json)
}

/// `GET /v1/dev/outbox`.
pub(super) async fn outbox(
    State(st): State<Shared>,
    staff: Staff,
) -> JsonResult<Vec<OutboxMessage>> {
    staff.require(&[Role::Admin])?;
    st.db.call(|c| Ok(outbox::list(c)?)).await.map(Json)
}
