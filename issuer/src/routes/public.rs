//! Endpoints anyone may call.

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use tessera_core::sync::api::TimeResponse;

use crate::error::ApiError;
use crate::state::Shared;

/// `GET /v1/time`.
pub(super) async fn time(State(st): State<Shared>) -> Json<TimeResponse> {
    Json(TimeResponse {
        server_time_ms: st.now_ms(),
    })
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
