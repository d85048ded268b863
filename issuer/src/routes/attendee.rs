//! Attendee endpoints: every one is device-signed (see `auth::Signed`).

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use tessera_core::sync::api::{
    EmailConfirm, EmailRequest, EnrollRequest, EnrollResponse, OrderResponse, PhoneConfirm,
    PhoneRequest, ProfileUpdate, SyncRequest, SyncResponse, TransferRequest, TransferResponse,
    VerificationStatus,
};
use tessera_core::sync::signed_time::parse_nonce;
use zeroize::Zeroizing;

use super::send;
use crate::auth::{Enrolling, NoBody, Signed};
use crate::error::ApiError;
use crate::idempotency::{self, IdempotencyKey};
use crate::outbox::Channel;
use crate::state::Shared;
use crate::verification::{self, Outgoing};
use crate::{sync as sync_mod, tickets};

/// Longest platform name stored.
const MAX_PLATFORM_LEN: usize = 64;

type JsonResult<T> = Result<Json<T>, ApiError>;

/// `POST /v1/devices`: enrolls the signing device (idempotent); a new device counts
/// against its source address and the overall enrollment limits (`limits::enroll`).
pub(super) async fn enroll(
    State(st): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    s: Enrolling<EnrollRequest>,
) -> JsonResult<EnrollResponse> {
    if s.body.platform.len() > MAX_PLATFORM_LEN {
        return Err(ApiError::bad_request("platform name longer than 64 bytes"));
    }
    // PostgreSQL's text refuses NUL, SQLite's stores it: refused on both, before storing.
    if s.body.platform.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "platform name with a control character",
        ));
    }
    let now = st.now_ms();
    let device = s.device;
    let limits = st.limits;
    st.db
        .call(move |c| crate::limits::enroll(c, &limits, &device, &s.body.platform, peer, now))
        .await?;
    Ok(Json(EnrollResponse {
        device_id: hex::encode(device),
        server_time_ms: now,
    }))
}

/// `POST /v1/attendee/email/request`.
pub(super) async fn email_request(
    State(st): State<Shared>,
    s: Signed<EmailRequest>,
) -> JsonResult<VerificationStatus> {
    let now = st.now_ms();
    let (status, msg) = st
        .db
        .call(move |c| verification::request_email(c, &s.device, &s.body.email, now))
        .await?;
    send(&st, msg).await?;
    Ok(Json(status))
}

/// `POST /v1/attendee/email/confirm`.
pub(super) async fn email_confirm(
    State(st): State<Shared>,
    s: Signed<EmailConfirm>,
) -> JsonResult<VerificationStatus> {
    let now = st.now_ms();
    let token = Zeroizing::new(s.body.token);
    let (r, notice) = st
        .db
        .call(move |c| verification::confirm_email(c, &s.device, &token, now))
        .await?;
    if let Some(msg) = notice {
        send(&st, msg).await?;
    }
    Ok(Json(r))
}

/// `POST /v1/attendee/phone/request`.
pub(super) async fn phone_request(
    State(st): State<Shared>,
    s: Signed<PhoneRequest>,
) -> JsonResult<VerificationStatus> {
    let now = st.now_ms();
    let st2 = st.clone();
    let device = s.device;
    let (status, msg) = st
        .db
        .call(move |c| verification::request_phone(&st2, c, &s.device, &s.body.phone, now))
        .await?;
    if let Err(e) = send(&st, msg).await {
        // The code never reached the phone: none stays pending (confirming answers
        // `not_found`, "request one"). The request still counts towards the limits, so a
        // failing provider cannot be hammered through the issuer.
        if let Some(expires) = status.pending_expires_at_ms {
            st.db
                .call(move |c| verification::withdraw_phone_code(c, &device, expires))
                .await?;
        }
        return Err(e);
    }
    Ok(Json(status))
}

/// `POST /v1/attendee/phone/confirm`.
pub(super) async fn phone_confirm(
    State(st): State<Shared>,
    s: Signed<PhoneConfirm>,
) -> JsonResult<VerificationStatus> {
    let now = st.now_ms();
    let st2 = st.clone();
    let code = Zeroizing::new(s.body.code);
    let r = st
        .db
        .call(move |c| verification::confirm_phone(&st2, c, &s.device, &code, now))
        .await?;
    Ok(Json(r))
}

/// `POST /v1/attendee/sync`.
pub(super) async fn sync(
    State(st): State<Shared>,
    s: Signed<SyncRequest>,
) -> JsonResult<SyncResponse> {
    let wallet = sync_mod::parse_ephemeral(&s.body.ephemeral_public_key)?;
    let time_nonce = parse_nonce(&s.body.time_nonce)
        .ok_or_else(|| ApiError::bad_request("time_nonce must be 64 hex digits"))?;
    let now = st.now_ms();
    let st2 = st.clone();
    let r = st
        .db
        .call(move |c| sync_mod::sync(&st2, c, &s.device, wallet, &time_nonce, now))
        .await?;
    Ok(Json(r))
}

/// `POST /v1/attendee/tickets/{id}/transfer`; with an `Idempotency-Key`, a retry gets
/// the first answer (and sends no second email).
pub(super) async fn transfer(
    State(st): State<Shared>,
    Path(id): Path<String>,
    key: IdempotencyKey,
    s: Signed<TransferRequest>,
) -> JsonResult<TransferResponse> {
    let id = tickets::parse_id(&id)?;
    let now = st.now_ms();
    let to = s.body.to_email.clone();
    let path = format!("/v1/attendee/tickets/{id}/transfer");
    let claim = key.device(&s.device, &path, &s.body)?;
    let (transfer_id, first) = st
        .db
        .call(move |c| {
            let claim = claim.as_ref();
            if let Some(r) = idempotency::replay::<TransferResponse>(c, claim, now)? {
                return Ok((r.transfer_id, false));
            }
            let id = tickets::transfer(c, &s.device, &id, &s.body.to_email, now, |tx, t| {
                let answer = TransferResponse {
                    transfer_id: t.to_owned(),
                };
                idempotency::remember(tx, claim, &answer, now)
            })?;
            Ok((id, true))
        })
        .await?;
    if !first {
        return Ok(Json(TransferResponse { transfer_id }));
    }
    let to = crate::accounts::normalize_email(&to)?;
    send(
        &st,
        Outgoing {
            channel: Channel::Email,
            to,
            body: Zeroizing::new(format!(
                "A ticket was transferred to you. Confirm this address in the app, then accept \
                 transfer {transfer_id}.\ntessera://accept-transfer?id={transfer_id}"
            )),
        },
    )
    .await?;
    Ok(Json(TransferResponse { transfer_id }))
}

/// `POST /v1/attendee/transfers/{id}/accept`.
pub(super) async fn accept(
    State(st): State<Shared>,
    Path(id): Path<String>,
    s: Signed<NoBody>,
) -> JsonResult<OrderResponse> {
    let now = st.now_ms();
    let tickets = st
        .db
        .call(move |c| tickets::accept(c, &s.device, &id, now))
        .await?;
    Ok(Json(OrderResponse { tickets }))
}

/// `POST /v1/attendee/rebind`.
pub(super) async fn rebind(
    State(st): State<Shared>,
    s: Signed<NoBody>,
) -> JsonResult<OrderResponse> {
    let now = st.now_ms();
    let tickets = st
        .db
        .call(move |c| tickets::rebind(c, &s.device, now))
        .await?;
    Ok(Json(OrderResponse { tickets }))
}

/// `POST /v1/attendee/profile`: a new holder name applies at once; a new address only
/// once the link mailed to it is confirmed on this device (the old address is told).
pub(super) async fn profile(
    State(st): State<Shared>,
    s: Signed<ProfileUpdate>,
) -> JsonResult<VerificationStatus> {
    let now = st.now_ms();
    let (r, messages) = st
        .db
        .call(move |c| {
            let change = tickets::update_profile(c, &s.device, &s.body, now)?;
            let (pending, messages) = match change {
                Some((expires, messages)) => (Some(expires), Vec::from(messages)),
                None => (None, Vec::new()),
            };
            let status = VerificationStatus {
                verified: verification::verified(c, &s.device)?,
                pending_expires_at_ms: pending,
            };
            Ok((status, messages))
        })
        .await?;
    for msg in messages {
        send(&st, msg).await?;
    }
    Ok(Json(r))
}
