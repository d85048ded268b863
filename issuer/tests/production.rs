//! Production mode: emails through a real SMTP server (aiosmtpd, started here), SMS through
//! a real webhook (a small axum server, started here), the dev outbox gone (`not_found`),
//! no verification code or link token in clear in the issuer's files, and both failure
//! paths: a webhook that answers 500, an issuer binary given no way to deliver.
//!
//! The SMTP test needs a Python with aiosmtpd, named by `TESSERA_SMTP_PYTHON`
//! (scripts/test-all.sh installs it into target/py-venv and sets it, together with
//! `TESSERA_REQUIRE_SMTP_SINK=1`, which turns a missing sink into a failure). Without the
//! variable, a plain `cargo test` says it ran without the sink and passes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../tests/src/harness.rs"]
mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post as post_route;
use common::{Device, Harness, param, six_digits};
use tessera_core::Verification;
use tessera_core::sync::api::{
    EmailConfirm, EmailRequest, PhoneConfirm, PhoneRequest, VerificationStatus,
};
use tessera_issuer::{Channel, Delivery, MessageSender, SendError, SmsWebhook};
use zeroize::Zeroizing;

const PHONE: &str = "+41790000123";

// ---- a real SMS webhook ------------------------------------------------------------

/// What the webhook received, and what it answers.
struct Hook {
    /// Each call: the Authorization header and the JSON body.
    calls: Mutex<Vec<(Option<String>, serde_json::Value)>>,
    /// The HTTP status it answers with.
    status: AtomicU16,
}

impl Hook {
    fn calls(&self) -> Vec<(Option<String>, serde_json::Value)> {
        self.calls.lock().unwrap().clone()
    }
}

async fn record(State(hook): State<Arc<Hook>>, headers: HeaderMap, body: String) -> StatusCode {
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned());
    let json = serde_json::from_str(&body).unwrap();
    hook.calls.lock().unwrap().push((auth, json));
    StatusCode::from_u16(hook.status.load(Ordering::SeqCst)).unwrap()
}

/// Starts the webhook on a loopback port; returns it and its URL.
async fn start_webhook() -> (Arc<Hook>, String) {
    let hook = Arc::new(Hook {
        calls: Mutex::new(Vec::new()),
        status: AtomicU16::new(200),
    });
    let app = axum::Router::new()
        .route("/sms", post_route(record))
        .with_state(hook.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (hook, url)
}

// ---- helpers -----------------------------------------------------------------------

/// Keeps the emails a test sender is given (the SMTP test covers the real one).
#[derive(Default)]
struct Emails(Mutex<Vec<(String, String)>>);

impl MessageSender for Emails {
    fn send(&self, channel: Channel, to: &str, body: &str) -> Result<(), SendError> {
        assert_eq!(channel, Channel::Email, "SMS go to the webhook");
        self.0
            .lock()
            .unwrap()
            .push((to.to_owned(), body.to_owned()));
        Ok(())
    }
}

async fn post<T: serde::Serialize>(h: &Harness, d: &Device, path: &str, body: &T) -> common::Reply {
    d.post(h, path, body).await
}

async fn request_email(h: &Harness, d: &Device, email: &str) {
    let r = post(
        h,
        d,
        "/v1/attendee/email/request",
        &EmailRequest {
            email: email.into(),
        },
    )
    .await;
    r.ok::<VerificationStatus>();
}

async fn confirm_email(h: &Harness, d: &Device, token: String) -> VerificationStatus {
    post(h, d, "/v1/attendee/email/confirm", &EmailConfirm { token })
        .await
        .ok()
}

async fn request_code(h: &Harness, d: &Device) -> common::Reply {
    post(
        h,
        d,
        "/v1/attendee/phone/request",
        &PhoneRequest {
            phone: PHONE.into(),
        },
    )
    .await
}

async fn confirm_code(h: &Harness, d: &Device, code: &str) -> common::Reply {
    post(
        h,
        d,
        "/v1/attendee/phone/confirm",
        &PhoneConfirm { code: code.into() },
    )
    .await
}

/// `GET /v1/dev/outbox` is an unknown path, with the admin token and without.
async fn assert_no_outbox(h: &Harness) {
    for token in [Some(h.admin.as_str()), None] {
        let r = h.get("/v1/dev/outbox", token).await;
        assert_eq!(r.error(404), "not_found");
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether the link token (64 hex) is in `bytes`: as text in either case, or as its bytes.
fn holds_token(bytes: &[u8], token: &str) -> bool {
    contains(bytes, token.as_bytes())
        || contains(bytes, token.to_ascii_uppercase().as_bytes())
        || contains(bytes, &hex::decode(token).unwrap())
}

// ---- (b) the SMS webhook, and what the database keeps --------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_go_through_the_webhook_a_failing_webhook_leaves_no_code_and_nothing_is_kept_in_clear()
{
    let (hook, hook_url) = start_webhook().await;
    let emails = Arc::new(Emails::default());
    let email_sender = emails.clone();
    let token = Zeroizing::new("webhook-secret".to_owned());
    let sms = Arc::new(SmsWebhook::new(&hook_url, Some(token)).unwrap());
    let mut h = Harness::start_with(move |c| {
        c.dev_outbox = false;
        c.sender = Some(Arc::new(Delivery::new(email_sender, sms)));
    })
    .await;
    assert_no_outbox(&h).await;
    h.event(1, |p| p.requires = vec![Verification::Phone]).await;
    h.order(1, "ada@example.org", Some(PHONE), None, &["A1"])
        .await;
    let d = Device::new();
    d.enroll(&h).await;
    request_email(&h, &d, "ada@example.org").await;
    let (to, body) = emails.0.lock().unwrap().last().cloned().unwrap();
    assert_eq!(to, "ada@example.org");
    let link_token = param(&body, "token");
    confirm_email(&h, &d, link_token.clone()).await;

    // The webhook fails: the attendee is told so, and the code it was given is dead.
    hook.status.store(500, Ordering::SeqCst);
    let r = request_code(&h, &d).await;
    assert_eq!(r.error(502), "delivery_failed");
    let message = r.json::<tessera_core::sync::api::ErrorBody>().message;
    assert!(message.contains("SMS could not be sent"), "{message}");
    let calls = hook.calls();
    assert_eq!(calls.len(), 1);
    let lost_code = six_digits(calls[0].1["body"].as_str().unwrap());
    let r = confirm_code(&h, &d, &lost_code).await;
    assert_eq!(r.error(404), "not_found", "no code may stay pending");

    // The webhook works: its code confirms the phone.
    hook.status.store(200, Ordering::SeqCst);
    request_code(&h, &d).await.ok::<VerificationStatus>();
    let calls = hook.calls();
    assert_eq!(calls.len(), 2);
    let (auth, json) = &calls[1];
    assert_eq!(auth.as_deref(), Some("Bearer webhook-secret"));
    assert_eq!(json["to"], PHONE);
    let text = json["body"].as_str().unwrap();
    assert!(text.contains("verification code"), "{text}");
    let code = six_digits(text);
    let s: VerificationStatus = confirm_code(&h, &d, &code).await.ok();
    assert!(s.verified.contains(&Verification::Phone), "{s:?}");
    assert_no_outbox(&h).await;

    // The issuer's files hold neither the link token nor either code, in any form.
    let sms_code_request_again = request_code(&h, &d).await.ok::<VerificationStatus>();
    assert!(sms_code_request_again.pending_expires_at_ms.is_some());
    let pending_code = six_digits(hook.calls()[2].1["body"].as_str().unwrap());
    h.issuer.take().unwrap().shutdown().await;
    let bytes = h.stored_bytes();
    assert!(
        contains(&bytes, b"ada@example.org") && contains(&bytes, PHONE.as_bytes()),
        "the files read are the issuer's database"
    );
    assert!(
        !holds_token(&bytes, &link_token),
        "email link token in clear"
    );
    for c in [&lost_code, &code, &pending_code] {
        assert!(!contains(&bytes, c.as_bytes()), "SMS code in clear");
    }
}

/// The control for the search above: in dev mode the outbox does hold the token, and the
/// same search finds it.
#[tokio::test]
async fn in_dev_mode_the_outbox_is_the_one_clear_copy_and_the_search_finds_it() {
    let mut h = Harness::start().await;
    let d = Device::new();
    d.enroll(&h).await;
    request_email(&h, &d, "ada@example.org").await;
    let token = param(&h.last_message("ada@example.org").await.body, "token");
    h.issuer.take().unwrap().shutdown().await;
    assert!(holds_token(&h.stored_bytes(), &token));
}

// ---- (a) a real SMTP server, through the issuer binary ------------------------------

/// Child processes killed when the test ends, also when it fails.
struct Kill(Vec<Child>, Option<ChildStdin>);

impl Drop for Kill {
    fn drop(&mut self) {
        drop(self.1.take());
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts the SMTP sink; returns the process guard, its port and its output directory.
fn start_sink(python: &str, dir: &Path) -> (Kill, u16, PathBuf) {
    let out = dir.join("mail");
    std::fs::create_dir(&out).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_sink.py");
    let stderr = std::fs::File::create(dir.join("sink.log")).unwrap();
    let mut child = Command::new(python)
        .arg(script)
        .arg(&out)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("TESSERA_SMTP_PYTHON={python}: {e}"));
    let stdin = child.stdin.take();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let Some(port) = line.trim().strip_prefix("port ") else {
        let _ = child.wait();
        let log = std::fs::read_to_string(dir.join("sink.log")).unwrap_or_default();
        panic!("the SMTP sink did not start (is aiosmtpd installed for {python}?):\n{log}");
    };
    let port = port.parse().unwrap();
    (Kill(vec![child], stdin), port, out)
}

/// The messages the sink has written, oldest first, waiting up to 10 s for `n` of them.
fn sink_messages(out: &Path, n: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut names: Vec<PathBuf> = std::fs::read_dir(out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        if names.len() >= n || Instant::now() > deadline {
            names.sort();
            return names
                .iter()
                .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
                .collect();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emails_go_through_a_real_smtp_server_and_the_dev_outbox_is_gone() {
    let Ok(python) = std::env::var("TESSERA_SMTP_PYTHON") else {
        assert!(
            std::env::var("TESSERA_REQUIRE_SMTP_SINK").as_deref() != Ok("1"),
            "TESSERA_REQUIRE_SMTP_SINK=1 but TESSERA_SMTP_PYTHON (a Python with aiosmtpd) is unset"
        );
        eprintln!(
            "SMTP test ran WITHOUT its SMTP sink: set TESSERA_SMTP_PYTHON to a Python with \
             aiosmtpd (scripts/test-all.sh does) to run it"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (mut guard, smtp_port, mail) = start_sink(&python, dir.path());
    let (hook, hook_url) = start_webhook().await;
    let token_file = dir.path().join("webhook-token");
    std::fs::write(&token_file, "hook-secret\n").unwrap();
    let mut issuer = Command::new(env!("CARGO_BIN_EXE_tessera-issuer"))
        .args(["--port", "0", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--smtp-url", &format!("smtp://127.0.0.1:{smtp_port}")])
        .args(["--mail-from", "Tessera Tickets <tickets@example.org>"])
        .args(["--sms-webhook", &hook_url, "--sms-webhook-token-file"])
        .arg(&token_file)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(issuer.stdout.take().unwrap()).lines();
    guard.0.push(issuer);
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    assert!(first.starts_with("tessera-issuer listening on "), "{first}");
    let h = Harness::attach(
        first.rsplit(' ').next().unwrap().to_owned(),
        second.strip_prefix("admin token: ").unwrap().to_owned(),
    );
    assert_no_outbox(&h).await;
    h.event(1, |p| p.requires = vec![Verification::Phone]).await;
    h.order(1, "bea@example.org", Some(PHONE), None, &["B1"])
        .await;
    let d = Device::new();
    d.enroll(&h).await;

    request_email(&h, &d, "bea@example.org").await;
    let got = sink_messages(&mail, 1);
    assert_eq!(got.len(), 1, "the SMTP sink received no email");
    let m = &got[0];
    assert_eq!(m["rcpt_tos"], serde_json::json!(["bea@example.org"]));
    assert_eq!(m["mail_from"], "tickets@example.org");
    assert_eq!(m["subject"], tessera_issuer::EMAIL_SUBJECT);
    assert!(
        m["from"].as_str().unwrap().contains("Tessera Tickets"),
        "{m}"
    );
    let body = m["body"].as_str().unwrap();
    assert!(body.contains("tessera://verify-email?token="), "{body}");
    let s = confirm_email(&h, &d, param(body, "token")).await;
    assert_eq!(s.verified, vec![Verification::Email]);

    request_code(&h, &d).await.ok::<VerificationStatus>();
    let calls = hook.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0.as_deref(), Some("Bearer hook-secret"));
    let code = six_digits(calls[0].1["body"].as_str().unwrap());
    let s: VerificationStatus = confirm_code(&h, &d, &code).await.ok();
    assert!(s.verified.contains(&Verification::Phone), "{s:?}");
    assert_no_outbox(&h).await;
    assert_eq!(
        sink_messages(&mail, 1).len(),
        1,
        "one email, no copy of the SMS"
    );
}

// ---- (c) no way to deliver: the binary refuses to start ----------------------------

/// Runs the issuer binary, which must exit within 20 s (it must not start serving).
fn run_issuer(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera-issuer"))
        .args(["--port", "0", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let mut out = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            panic!("tessera-issuer {args:?} kept running:\n{out}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        !dir.path().join("data").exists(),
        "{args:?}: refused, yet the data directory was created"
    );
    out
}

#[test]
fn without_dev_and_without_senders_the_issuer_exits_2_naming_dev() {
    let secret_pw = "hunter2-not-for-ps";
    let url_with_pw = format!("smtps://u:{secret_pw}@mail.example.org");
    let cases: &[(&[&str], &[&str])] = &[
        (&[], &["--dev", "--smtp-url", "--sms-webhook"]),
        (
            &[
                "--smtp-url",
                "smtp://127.0.0.1:25",
                "--mail-from",
                "t@example.org",
            ],
            &["--dev", "--sms-webhook"],
        ),
        (
            &["--sms-webhook", "https://sms.example.org/hook"],
            &["--dev", "--smtp-url"],
        ),
        (
            &["--dev", "--sms-webhook", "https://sms.example.org/hook"],
            &["--dev"],
        ),
        (
            &[
                "--smtp-url",
                &url_with_pw,
                "--mail-from",
                "t@example.org",
                "--sms-webhook",
                "https://sms.example.org/hook",
            ],
            &["--smtp-password-file", "TESSERA_SMTP_PASSWORD"],
        ),
        (
            &[
                "--smtp-url",
                "smtp://127.0.0.1:25",
                "--mail-from",
                "t@example.org",
                "--sms-webhook",
                "http://sms.example.org/hook",
            ],
            &["--sms-webhook", "https://"],
        ),
    ];
    for (args, named) in cases {
        let out = run_issuer(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?} printed {:?}", out.stdout);
        for word in *named {
            assert!(stderr.contains(word), "{args:?}: {word} not in: {stderr}");
        }
        assert!(!stderr.contains(secret_pw), "{stderr}");
    }
}
