//! Endpoints anyone may call.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tessera_core::sync::api::TimeResponse;
use tessera_core::sync::signed_time::{parse_nonce, sign_time};

use crate::error::ApiError;
use crate::release::{self, MAX_AGE_SECS};
use crate::secrets::ISSUER_KEY_ID;
use crate::state::Shared;

/// The query of `GET /v1/time`.
#[derive(Debug, Deserialize)]
pub(super) struct TimeQuery {
    /// 64 hex digits the wallet chose; the answer's signature covers it.
    nonce: Option<String>,
}

/// `GET /v1/time[?nonce=…]`: the clock, signed over the nonce when one is given.
pub(super) async fn time(
    State(st): State<Shared>,
    Query(q): Query<TimeQuery>,
) -> Result<Json<TimeResponse>, ApiError> {
    let now = st.now_ms();
    let proof = match q.nonce {
        None => None,
        Some(text) => {
            let nonce = parse_nonce(&text)
                .ok_or_else(|| ApiError::bad_request("nonce must be 64 hex digits"))?;
            Some(sign_time(&st.secrets.signing, ISSUER_KEY_ID, &nonce, now))
        }
    };
    Ok(Json(TimeResponse {
        server_time_ms: now,
        proof,
    }))
}

/// `GET /v1/events/{id}/release`: the event's release object (docs/API.md "Release
/// objects"), public and cacheable, from the moment its window opens. Before that, and for
/// an event the issuer does not publish (unknown, not strict just-in-time), the same 404
/// `not_found` with `Cache-Control: no-store`, byte for byte: nothing tells the cases
/// apart, and no cache can keep "not yet" past the opening. `If-None-Match` with the
/// current entity tag answers 304.
pub(super) async fn release(
    State(st): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = crate::gate::parse_event_id(&id)?;
    let Some(p) = release::public(&st, id).await? else {
        let mut r =
            ApiError::not_found("no release object is published for this event").into_response();
        r.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return Ok(r);
    };
    let cache = HeaderValue::from_str(&format!("public, max-age={MAX_AGE_SECS}"))
        .map_err(|_| ApiError::internal())?;
    let etag = HeaderValue::from_str(&p.etag).map_err(|_| ApiError::internal())?;
    let unchanged = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| release::matches_etag(v, &p.etag));
    if unchanged {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(CACHE_CONTROL, cache), (ETAG, etag)],
        )
            .into_response());
    }
    Ok((
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (CACHE_CONTROL, cache),
            (ETAG, etag),
        ],
        p.text.to_string(),
    )
        .into_response())
}

/// `GET /metrics`.
pub(super) async fn metrics(State(st): State<Shared>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        st.metrics.render(),
    )
}

/// Any other path.
pub(super) async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}
