//! The HTTP surface: one router, handlers grouped by caller (docs/API.md).

mod admin;
mod attendee;
mod gate;
mod openapi;
mod public;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::error::{ApiError, RefusedCode};
use crate::outbox::Channel;
use crate::state::Shared;
use crate::verification::Outgoing;

/// The issuer's router. `GET /v1/dev/outbox` exists only in dev mode (`dev_outbox`);
/// otherwise it is an unknown path like any other (`not_found`, no token asked for).
pub(crate) fn router(st: Shared, dev_outbox: bool) -> Router {
    let dev = if dev_outbox {
        Router::new().route("/v1/dev/outbox", get(admin::outbox))
    } else {
        Router::new()
    };
    Router::new()
        .route("/v1/time", get(public::time))
        .route("/v1/events/{id}/release", get(public::release))
        .route("/metrics", get(public::metrics))
        .route("/v1/openapi.json", get(openapi::document))
        .route("/v1/devices", post(attendee::enroll))
        .route("/v1/attendee/email/request", post(attendee::email_request))
        .route("/v1/attendee/email/confirm", post(attendee::email_confirm))
        .route("/v1/attendee/phone/request", post(attendee::phone_request))
        .route("/v1/attendee/phone/confirm", post(attendee::phone_confirm))
        .route("/v1/attendee/sync", post(attendee::sync))
        .route(
            "/v1/attendee/tickets/{id}/transfer",
            post(attendee::transfer),
        )
        .route("/v1/attendee/transfers/{id}/accept", post(attendee::accept))
        .route("/v1/attendee/rebind", post(attendee::rebind))
        .route("/v1/attendee/profile", post(attendee::profile))
        .route(
            "/v1/admin/tokens",
            post(admin::tokens).get(admin::list_tokens),
        )
        .route("/v1/admin/tokens/{id}/revoke", post(admin::revoke_token))
        .route("/v1/admin/events", post(admin::events))
        .route("/v1/admin/events/{id}/release", get(admin::release))
        .route("/v1/admin/orders", post(admin::orders))
        .route("/v1/admin/tickets/{id}/revoke", post(admin::revoke))
        .route("/v1/boxoffice/tickets/{id}/holder", post(admin::holder))
        .route("/v1/admin/audit", get(admin::audit))
        .merge(dev)
        .route("/v1/gate/events/{id}/bundle", get(gate::bundle))
        .route("/v1/gate/scans", post(gate::scans))
        .fallback(public::not_found)
        .layer(middleware::from_fn_with_state(st.clone(), finish))
        .with_state(st)
}

/// Gives framework-made errors (wrong method, unreadable path) an `ErrorBody` too, then
/// counts every refusal by code.
async fn finish(State(st): State<Shared>, req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let resp = if resp.extensions().get::<RefusedCode>().is_none() {
        match resp.status() {
            StatusCode::METHOD_NOT_ALLOWED => ApiError {
                status: StatusCode::METHOD_NOT_ALLOWED,
                ..ApiError::bad_request("method not allowed on this path")
            }
            .into_response(),
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::payload_too_large().into_response(),
            s if s.is_client_error() => ApiError {
                status: s,
                ..ApiError::bad_request("bad request")
            }
            .into_response(),
            _ => resp,
        }
    } else {
        resp
    };
    crate::metrics::count_refusal(&st.metrics, &resp);
    resp
}

/// Hands a message to the sender on a blocking thread (it may block on a provider).
/// A sender's failure is 502 `delivery_failed`: the request was fine, the mail server or
/// SMS webhook was not, and trying again later may work. The sender's reason is not told
/// (it may name the provider's set-up).
async fn send(st: &Shared, msg: Outgoing) -> Result<(), ApiError> {
    let st = st.clone();
    let channel: Channel = msg.channel;
    tokio::task::spawn_blocking(move || st.sender.send(channel, &msg.to, &msg.body))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|_| {
            ApiError::delivery_failed(match channel {
                Channel::Email => "the email could not be sent; try again later",
                Channel::Sms => "the SMS could not be sent; try again later",
            })
        })
}
