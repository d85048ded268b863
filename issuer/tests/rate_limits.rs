//! Abuse limits that hold whatever the number of devices (issue 10, item 2): SMS codes
//! sent and wrong codes tried per phone number and per account, and enrollment per
//! source address and overall. Every limit answers 429 `rate_limited` with `Retry-After`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../tests/src/harness.rs"]
mod common;

use std::sync::Arc;

use common::{Device, Harness, Reply, confirm_code, request_code, six_digits};
use tessera_core::Verification;
use tessera_core::sync::api::{EmailRequest, EnrollRequest, VerificationStatus};

const MINUTE_MS: i64 = 60_000;

/// Event 1 needs a phone; `email` bought one ticket per number in `phones`; `n` devices
/// confirmed `email` (one attacker with many phones, or many phones of one account).
async fn account_with_devices(h: &Harness, email: &str, phones: &[&str], n: usize) -> Vec<Device> {
    h.event(1, |p| p.requires = vec![Verification::Phone]).await;
    for (i, phone) in phones.iter().enumerate() {
        h.order(1, email, Some(phone), None, &[&format!("A{i}")])
            .await;
    }
    let mut devices = Vec::new();
    for _ in 0..n {
        let d = Device::new();
        d.verify_email(h, email).await;
        devices.push(d);
    }
    devices
}

/// Requests a code on `d` and reads it from the outbox.
async fn code_for(h: &Harness, d: &Device, phone: &str) -> String {
    request_code(h, d, phone).await.ok::<VerificationStatus>();
    six_digits(&h.last_message(phone).await.body)
}

fn wrong(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

/// Asserts a 429 `rate_limited` whose `Retry-After` is 1..=`max_secs`; returns it.
fn assert_rate_limited(r: &Reply, max_secs: u64) -> u64 {
    assert_eq!(r.error(429), "rate_limited");
    let secs: u64 = r
        .retry_after
        .as_deref()
        .expect("rate_limited without Retry-After")
        .parse()
        .unwrap();
    assert!((1..=max_secs).contains(&secs), "Retry-After {secs}");
    secs
}

async fn sms_to(h: &Harness, phone: &str) -> usize {
    h.outbox()
        .await
        .into_iter()
        .filter(|m| m.channel == "sms" && m.to == phone)
        .count()
}

#[tokio::test]
async fn codes_to_one_number_are_limited_whatever_the_number_of_devices() {
    let h = Harness::start().await;
    let phone = "+15550200";
    let devices = account_with_devices(&h, "pat@example.org", &[phone], 8).await;
    let mut sent = 0;
    for d in &devices {
        let r = request_code(&h, d, phone).await;
        if r.status == 200 {
            sent += 1;
        } else {
            // The first code was sent just now: the window frees in 10 minutes.
            assert_eq!(assert_rate_limited(&r, 601), 601);
        }
    }
    assert_eq!(
        sent, 3,
        "codes sent to one number in 10 minutes by 8 devices"
    );
    assert_eq!(sms_to(&h, phone).await, 3);
    // Ten minutes later one more code goes out, to a device that had none.
    h.advance_ms(10 * MINUTE_MS);
    let code = code_for(&h, &devices[7], phone).await;
    confirm_code(&h, &devices[7], &code)
        .await
        .ok::<VerificationStatus>();
    assert_eq!(sms_to(&h, phone).await, 4);
}

#[tokio::test]
async fn codes_to_one_number_are_limited_across_accounts() {
    let h = Harness::start().await;
    let phone = "+15550209";
    // Two accounts (two addresses of one household, or an attacker's second account)
    // with orders for one number: each stays under its own limit.
    let a = account_with_devices(&h, "xan@example.org", &[phone], 2).await;
    let b = account_with_devices(&h, "xia@example.org", &[phone], 2).await;
    for d in [&a[0], &a[1], &b[0]] {
        request_code(&h, d, phone).await.ok::<VerificationStatus>();
    }
    assert_rate_limited(&request_code(&h, &b[1], phone).await, 601);
    assert_eq!(sms_to(&h, phone).await, 3);
}

#[tokio::test]
async fn codes_for_one_account_are_limited_across_its_numbers() {
    let h = Harness::start().await;
    let (a, b) = ("+15550201", "+15550202");
    let d = account_with_devices(&h, "quinn@example.org", &[a, b], 4).await;
    request_code(&h, &d[0], a).await.ok::<VerificationStatus>();
    request_code(&h, &d[1], b).await.ok::<VerificationStatus>();
    request_code(&h, &d[2], a).await.ok::<VerificationStatus>();
    // Number b had one code only, but the account has had three.
    assert_rate_limited(&request_code(&h, &d[3], b).await, 601);
    assert_eq!(sms_to(&h, a).await + sms_to(&h, b).await, 3);
}

#[tokio::test]
async fn wrong_codes_for_one_number_are_limited_across_devices_and_accounts() {
    let h = Harness::start().await;
    let phone = "+15550203";
    // Two phones of one account and one of another account that shares the number, so
    // neither account reaches its own limit.
    let mut devices = account_with_devices(&h, "rae@example.org", &[phone], 2).await;
    devices.extend(account_with_devices(&h, "ray@example.org", &[phone], 1).await);
    let mut codes = Vec::new();
    for d in &devices {
        codes.push(code_for(&h, d, phone).await);
    }
    // Round robin over three live codes: each code alone would allow 5 wrong tries.
    let (mut wrong_answers, mut limited) = (0, 0);
    for round in 0..5 {
        for (d, code) in devices.iter().zip(&codes) {
            let r = confirm_code(&h, d, &wrong(code)).await;
            match r
                .json::<tessera_core::sync::api::ErrorBody>()
                .error
                .as_str()
            {
                "wrong_code" => {
                    assert_eq!(r.status, 400);
                    wrong_answers += 1;
                }
                "rate_limited" => {
                    // The first wrong try was at T0: it leaves the hour then.
                    assert_eq!(assert_rate_limited(&r, 3601), 3601);
                    limited += 1;
                }
                other => panic!("round {round}: {other}"),
            }
        }
    }
    assert_eq!(
        wrong_answers, 10,
        "wrong codes checked for one number in an hour"
    );
    assert_eq!(limited, 5);
    // Once the number is limited even the right code is not checked: no oracle.
    assert_rate_limited(&confirm_code(&h, &devices[2], &codes[2]).await, 3601);
    let m = String::from_utf8(h.get("/metrics", None).await.body).unwrap();
    assert!(
        m.contains("tessera_failed_verifications_total{kind=\"sms_code\"} 10"),
        "{m}"
    );
    // An hour later the number may be verified again with a fresh code.
    h.advance_ms(60 * MINUTE_MS);
    let code = code_for(&h, &devices[2], phone).await;
    let s: VerificationStatus = confirm_code(&h, &devices[2], &code).await.ok();
    assert!(s.verified.contains(&Verification::Phone));
}

#[tokio::test]
async fn wrong_codes_for_one_account_are_limited_across_its_numbers() {
    let h = Harness::start().await;
    let (a, b) = ("+15550204", "+15550205");
    let d = account_with_devices(&h, "sam@example.org", &[a, b], 3).await;
    let ca = code_for(&h, &d[0], a).await;
    let cb = code_for(&h, &d[1], b).await;
    let ca2 = code_for(&h, &d[2], a).await;
    for _ in 0..4 {
        assert_eq!(
            confirm_code(&h, &d[0], &wrong(&ca)).await.error(400),
            "wrong_code"
        );
        assert_eq!(
            confirm_code(&h, &d[1], &wrong(&cb)).await.error(400),
            "wrong_code"
        );
    }
    for _ in 0..2 {
        assert_eq!(
            confirm_code(&h, &d[2], &wrong(&ca2)).await.error(400),
            "wrong_code"
        );
    }
    // Ten wrong codes for the account: number b (4 wrong) and d[1]'s code (4 wrong) are
    // refused too.
    assert_rate_limited(&confirm_code(&h, &d[1], &wrong(&cb)).await, 3601);
    assert_rate_limited(&confirm_code(&h, &d[1], &cb).await, 3601);
}

#[tokio::test]
async fn a_burst_of_guesses_from_eight_devices_gets_ten_checks_at_most() {
    let h = Arc::new(Harness::start().await);
    let phone = "+15550206";
    let devices = account_with_devices(&h, "tao@example.org", &[phone], 8).await;
    let mut codes = Vec::new();
    for d in &devices[..3] {
        codes.push(code_for(&h, d, phone).await);
    }
    // The attack from the report: every device guessing at once, 15 tries each.
    let mut set = tokio::task::JoinSet::new();
    for (i, d) in devices.into_iter().enumerate() {
        let (h, d) = (h.clone(), Arc::new(d));
        let code = codes.get(i % 3).cloned().unwrap_or_else(|| "000000".into());
        set.spawn(async move {
            let mut answers = Vec::new();
            for _ in 0..15 {
                let r = confirm_code(&h, &d, &wrong(&code)).await;
                answers.push((
                    r.status.as_u16(),
                    r.json::<tessera_core::sync::api::ErrorBody>().error,
                    r.retry_after,
                ));
            }
            answers
        });
    }
    let mut wrong_answers = 0;
    while let Some(answers) = set.join_next().await {
        for (status, code, retry_after) in answers.unwrap() {
            match code.as_str() {
                "wrong_code" => wrong_answers += 1,
                // The 5th wrong try kills a code; a dead code is not checked again.
                "too_many_attempts" => assert_eq!(status, 429),
                // A device without a code of its own learns nothing either.
                "not_found" => assert_eq!(status, 404),
                "rate_limited" => assert!(retry_after.is_some()),
                other => panic!("{other}"),
            }
        }
    }
    assert!(wrong_answers <= 10, "{wrong_answers} wrong codes answered");
    // Codes actually compared with a guess, as the issuer counts them.
    let m = String::from_utf8(h.get("/metrics", None).await.body).unwrap();
    assert!(
        m.contains("tessera_failed_verifications_total{kind=\"sms_code\"} 10"),
        "{m}"
    );
}

/// Enrolls a fresh device; the raw answer.
async fn enroll_new(h: &Harness) -> (Device, Reply) {
    let d = Device::new();
    let r = d
        .post(
            h,
            "/v1/devices",
            &EnrollRequest {
                platform: "test".into(),
            },
        )
        .await;
    (d, r)
}

#[tokio::test]
async fn mass_enrollment_from_one_address_is_throttled() {
    let h = Harness::start().await;
    let mut enrolled = Vec::new();
    let mut refused = Vec::new();
    for _ in 0..60 {
        let (d, r) = enroll_new(&h).await;
        if r.status == 200 {
            enrolled.push(d);
        } else {
            assert_eq!(assert_rate_limited(&r, 61), 61);
            refused.push(d);
        }
    }
    assert_eq!(
        enrolled.len(),
        20,
        "new devices enrolled from one address in a minute"
    );
    // A refused device was not enrolled; an enrolled one may enroll again (idempotent).
    let r = refused[0]
        .post(
            &h,
            "/v1/attendee/email/request",
            &EmailRequest {
                email: "x@example.org".into(),
            },
        )
        .await;
    assert_eq!(r.error(401), "unauthorized");
    enrolled[0].enroll(&h).await;
    // A minute later the address may enroll again.
    h.advance_ms(MINUTE_MS);
    refused[0].enroll(&h).await;
}

/// A client whose connections come from `ip` (any 127.x.y.z reaches the loopback issuer).
fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(ip))
        .build()
        .unwrap()
}

#[tokio::test]
async fn enrollment_is_throttled_per_source_address_and_overall() {
    let mut h = Harness::start_with(|c| {
        c.limits.enroll_per_address = tessera_issuer::RateLimit::new(2, MINUTE_MS);
        c.limits.enroll_total = tessera_issuer::RateLimit::new(5, MINUTE_MS);
    })
    .await;
    // 127.0.0.1: two new devices, then the address is throttled.
    for _ in 0..2 {
        assert_eq!(enroll_new(&h).await.1.status, 200);
    }
    assert_rate_limited(&enroll_new(&h).await.1, 61);
    // Another address is not.
    h.http = client_from([127, 0, 0, 2]);
    for _ in 0..2 {
        assert_eq!(enroll_new(&h).await.1.status, 200);
    }
    h.advance_ms(30_000);
    h.http = client_from([127, 0, 0, 3]);
    assert_eq!(enroll_new(&h).await.1.status, 200);
    // Five new devices in the minute: every address waits, this one too.
    let r = enroll_new(&h).await.1;
    assert_eq!(
        r.json::<tessera_core::sync::api::ErrorBody>().message,
        "too many devices enrolling right now; try again later"
    );
    assert_eq!(assert_rate_limited(&r, 61), 31);
    h.http = client_from([127, 0, 0, 4]);
    assert_rate_limited(&enroll_new(&h).await.1, 61);
    h.advance_ms(30_000);
    assert_eq!(enroll_new(&h).await.1.status, 200);
}

#[tokio::test]
async fn limits_are_kept_in_the_database_across_restarts() {
    let mut h = Harness::start().await;
    let phone = "+15550207";
    let devices = account_with_devices(&h, "uli@example.org", &[phone], 4).await;
    for d in &devices[..3] {
        request_code(&h, d, phone).await.ok::<VerificationStatus>();
    }
    // Not in memory: a restarted issuer (or another one on the same database) still
    // counts the three codes.
    h.restart().await;
    assert_eq!(
        assert_rate_limited(&request_code(&h, &devices[3], phone).await, 601),
        601
    );
    h.advance_ms(10 * MINUTE_MS);
    request_code(&h, &devices[3], phone)
        .await
        .ok::<VerificationStatus>();
}

#[tokio::test]
async fn the_limits_are_configurable() {
    assert_eq!(
        tessera_issuer::IssuerConfig::new("x").limits,
        tessera_issuer::Limits::default()
    );
    let d = tessera_issuer::Limits::default();
    assert_eq!(
        d.sms_codes_per_phone,
        tessera_issuer::RateLimit::new(3, 10 * MINUTE_MS)
    );
    assert_eq!(
        d.wrong_codes_per_phone,
        tessera_issuer::RateLimit::new(10, 60 * MINUTE_MS)
    );
    let h = Harness::start_with(|c| {
        c.limits.sms_codes_per_phone = tessera_issuer::RateLimit::new(1, MINUTE_MS);
    })
    .await;
    let phone = "+15550208";
    let devices = account_with_devices(&h, "vic@example.org", &[phone], 2).await;
    request_code(&h, &devices[0], phone)
        .await
        .ok::<VerificationStatus>();
    assert_rate_limited(&request_code(&h, &devices[1], phone).await, 61);
}

#[tokio::test]
async fn the_issuer_binary_takes_an_enrollment_limit() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera-issuer"))
        .arg("--dev")
        .args(["--port", "0", "--enroll-per-address", "1", "--data-dir"])
        .arg(dir.path().join("data"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.rsplit(' ').next().unwrap().to_owned();
    let h = Harness::attach(url, String::new());
    let first_device = enroll_new(&h).await.1;
    let second_device = enroll_new(&h).await.1;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(first_device.status, 200);
    assert_rate_limited(&second_device, 61);
}
