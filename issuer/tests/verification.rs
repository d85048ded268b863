//! Email links and SMS codes: device binding of the confirmation, expiry, attempts, rate limits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/src/harness.rs"]
mod common;

use common::{Device, Harness, confirm_code, param, request_code, six_digits};
use tessera_core::Verification;
use tessera_core::sync::api::{EmailConfirm, EmailRequest, VerificationStatus};
use tessera_issuer::{EMAIL_TOKEN_TTL_MS, SMS_CODE_TTL_MS};

async fn request_email(h: &Harness, d: &Device, email: &str) -> VerificationStatus {
    d.post(
        h,
        "/v1/attendee/email/request",
        &EmailRequest {
            email: email.into(),
        },
    )
    .await
    .ok()
}

#[tokio::test]
async fn an_email_link_confirms_only_on_the_device_that_asked() {
    let h = Harness::start().await;
    let (asker, other) = (Device::new(), Device::new());
    asker.enroll(&h).await;
    other.enroll(&h).await;
    let s = request_email(&h, &asker, "Ada@Example.org ").await;
    assert_eq!(
        s.pending_expires_at_ms,
        Some(h.now_ms() + EMAIL_TOKEN_TTL_MS)
    );
    assert!(s.verified.is_empty());
    let msg = h.last_message("ada@example.org").await;
    assert_eq!(msg.channel, "email");
    let token = param(&msg.body, "token");
    assert_eq!(token.len(), 64);

    let r = other
        .post(
            &h,
            "/v1/attendee/email/confirm",
            &EmailConfirm {
                token: token.clone(),
            },
        )
        .await;
    assert_eq!(r.error(403), "forbidden");
    let ok: VerificationStatus = asker
        .post(
            &h,
            "/v1/attendee/email/confirm",
            &EmailConfirm {
                token: token.clone(),
            },
        )
        .await
        .ok();
    assert_eq!(ok.verified, vec![Verification::Email]);
    // One use only.
    let r = asker
        .post(&h, "/v1/attendee/email/confirm", &EmailConfirm { token })
        .await;
    assert_eq!(r.error(410), "code_expired");
    let r = asker
        .post(
            &h,
            "/v1/attendee/email/confirm",
            &EmailConfirm {
                token: "00".repeat(32),
            },
        )
        .await;
    assert_eq!(r.error(404), "not_found");

    // Expired links are refused.
    let late = Device::new();
    late.enroll(&h).await;
    request_email(&h, &late, "late@example.org").await;
    let token = param(&h.last_message("late@example.org").await.body, "token");
    h.advance_ms(EMAIL_TOKEN_TTL_MS);
    let r = late
        .post(&h, "/v1/attendee/email/confirm", &EmailConfirm { token })
        .await;
    assert_eq!(r.error(410), "code_expired");

    // Tokens never reach the audit log, and the token is not in any error text.
    let audit = String::from_utf8(h.get("/v1/admin/audit", Some(&h.admin)).await.body).unwrap();
    assert!(!audit.contains("token="));
}

async fn phone_ready(h: &Harness, email: &str, phone: &str) -> Device {
    h.event(1, |p| p.requires = vec![Verification::Phone]).await;
    h.order(1, email, Some(phone), None, &["A1"]).await;
    let d = Device::new();
    d.verify_email(h, email).await;
    d
}

fn wrong(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

#[tokio::test]
async fn sms_code_verifies_the_phone_of_an_order() {
    let h = Harness::start().await;
    let d = phone_ready(&h, "bo@example.org", "+44 20 7946 0000").await;
    // Only the order's number, and only after email confirmation.
    assert_eq!(
        request_code(&h, &d, "+1 555 0100").await.error(404),
        "not_found"
    );
    let stranger = Device::new();
    stranger.enroll(&h).await;
    assert_eq!(
        request_code(&h, &stranger, "+442079460000")
            .await
            .error(403),
        "needs_verification"
    );
    let s: VerificationStatus = request_code(&h, &d, "+442079460000").await.ok();
    assert_eq!(s.pending_expires_at_ms, Some(h.now_ms() + SMS_CODE_TTL_MS));
    let msg = h.last_message("+442079460000").await;
    assert_eq!(msg.channel, "sms");
    let code = six_digits(&msg.body);
    assert_eq!(
        confirm_code(&h, &d, &wrong(&code)).await.error(400),
        "wrong_code"
    );
    let s: VerificationStatus = confirm_code(&h, &d, &code).await.ok();
    assert_eq!(s.verified, vec![Verification::Email, Verification::Phone]);
    let (sync, _) = d.sync(&h).await;
    assert_eq!(
        sync.verified,
        vec![Verification::Email, Verification::Phone]
    );
}

#[tokio::test]
async fn sms_codes_expire_after_five_minutes() {
    let h = Harness::start().await;
    let d = phone_ready(&h, "cy@example.org", "+15550101").await;
    request_code(&h, &d, "+15550101")
        .await
        .ok::<VerificationStatus>();
    let code = six_digits(&h.last_message("+15550101").await.body);
    h.advance_ms(SMS_CODE_TTL_MS);
    assert_eq!(confirm_code(&h, &d, &code).await.error(410), "code_expired");
    // A fresh code works.
    request_code(&h, &d, "+15550101")
        .await
        .ok::<VerificationStatus>();
    let code = six_digits(&h.last_message("+15550101").await.body);
    h.advance_ms(SMS_CODE_TTL_MS - 1);
    confirm_code(&h, &d, &code).await.ok::<VerificationStatus>();
}

#[tokio::test]
async fn five_wrong_codes_kill_the_code() {
    let h = Harness::start().await;
    let d = phone_ready(&h, "di@example.org", "+15550102").await;
    request_code(&h, &d, "+15550102")
        .await
        .ok::<VerificationStatus>();
    let code = six_digits(&h.last_message("+15550102").await.body);
    for _ in 0..4 {
        assert_eq!(
            confirm_code(&h, &d, &wrong(&code)).await.error(400),
            "wrong_code"
        );
    }
    assert_eq!(
        confirm_code(&h, &d, &wrong(&code)).await.error(429),
        "too_many_attempts"
    );
    // Even the right code is refused now; a new code starts over.
    assert_eq!(
        confirm_code(&h, &d, &code).await.error(429),
        "too_many_attempts"
    );
    request_code(&h, &d, "+15550102")
        .await
        .ok::<VerificationStatus>();
    let code = six_digits(&h.last_message("+15550102").await.body);
    confirm_code(&h, &d, &code).await.ok::<VerificationStatus>();
    let m = String::from_utf8(h.get("/metrics", None).await.body).unwrap();
    assert!(
        m.contains("tessera_failed_verifications_total{kind=\"sms_code\"} 5"),
        "{m}"
    );
}

#[tokio::test]
async fn sms_requests_are_rate_limited_per_device() {
    let h = Harness::start().await;
    let d = phone_ready(&h, "ed@example.org", "+15550103").await;
    for _ in 0..3 {
        request_code(&h, &d, "+15550103")
            .await
            .ok::<VerificationStatus>();
        h.advance_ms(60_000);
    }
    let r = request_code(&h, &d, "+15550103").await;
    assert_eq!(r.error(429), "rate_limited");
    // The oldest request (3 minutes ago) leaves the window in 7 minutes.
    assert_eq!(r.retry_after.as_deref(), Some("421"));
    // The first request leaves the window 10 minutes after it was made.
    h.advance_ms(7 * 60_000);
    request_code(&h, &d, "+15550103")
        .await
        .ok::<VerificationStatus>();
    assert_eq!(
        request_code(&h, &d, "+15550103").await.error(429),
        "rate_limited"
    );
    // Codes only ever appear in the outbox.
    let sms: Vec<_> = h
        .outbox()
        .await
        .into_iter()
        .filter(|m| m.channel == "sms")
        .collect();
    assert_eq!(sms.len(), 4);
}

/// A recording sender, standing in for an email/SMS provider.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<(tessera_issuer::Channel, String, String)>>);

impl tessera_issuer::MessageSender for Recorder {
    fn send(
        &self,
        channel: tessera_issuer::Channel,
        to: &str,
        body: &str,
    ) -> Result<(), tessera_issuer::SendError> {
        self.0
            .lock()
            .unwrap()
            .push((channel, to.to_owned(), body.to_owned()));
        Ok(())
    }
}

#[tokio::test]
async fn a_plugged_in_sender_gets_the_messages_instead_of_the_outbox() {
    let rec = std::sync::Arc::new(Recorder::default());
    let r2 = rec.clone();
    let h = Harness::start_with(move |c| c.sender = Some(r2)).await;
    let d = Device::new();
    d.enroll(&h).await;
    request_email(&h, &d, "uma@example.org").await;
    assert!(h.outbox().await.is_empty());
    let sent = rec.0.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, tessera_issuer::Channel::Email);
    assert_eq!(sent[0].1, "uma@example.org");
    let token = param(&sent[0].2, "token");
    d.post(&h, "/v1/attendee/email/confirm", &EmailConfirm { token })
        .await
        .ok::<VerificationStatus>();
}
