//! `GET /v1/openapi.json`: the API described as OpenAPI 3 (`issuer/openapi.json`).
//!
//! The document is compiled in, so the binary always serves the description of the
//! routes it was built with; `issuer/tests/openapi.rs` keeps the two in step and
//! `scripts/schemathesis.sh` fuzzes a running issuer against it.

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

/// The document, as committed.
const DOCUMENT: &str = include_str!("../../openapi.json");

/// `GET /v1/openapi.json`: public, like the routes it describes are discoverable anyway.
pub(super) async fn document() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], DOCUMENT)
}
