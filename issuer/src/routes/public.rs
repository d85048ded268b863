//! Endpoints anyone may call.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde::Deserialize;
use tessera_core::sync::api::TimeResponse;
use tessera_core::sync::signed_time::{parse_nonce, sign_time};

use crate::error::ApiError;
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
