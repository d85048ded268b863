//! `tessera gate bundle` against real issuers on loopback: the first fetch pins the
//! issuer's key, a later one appends only what changed, and no fetch (`--full` included)
//! replaces the pinned issuer without `--issuer-key` (found by the outside attack on issue
//! 10: `--full` used to re-pin whatever the issuer answered).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::text;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};
use tessera_issuer::{Issuer, IssuerConfig, RunningIssuer};

/// An issuer with event 5 (open now), one ticket, and a gate token for it in a file.
async fn issuer(dir: &Path, name: &str) -> (RunningIssuer, std::path::PathBuf) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let issuer = Issuer::start(IssuerConfig::new(dir.join(name)))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let admin = issuer.admin_token();
    let post = async |path: &str, body: Value| -> Value {
        let r = http
            .post(format!("{}{path}", issuer.url()))
            .bearer_auth(&admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut policy = serde_json::to_value(tessera_core::EventPolicy::new(
        tessera_core::EventId(5),
        "Five",
        i64::try_from(now).unwrap() - 60,
        i64::try_from(now).unwrap() + 3600,
    ))
    .unwrap();
    policy["format"] = json!("S1");
    post("/v1/admin/events", policy).await;
    post(
        "/v1/admin/orders",
        json!({"event_id": 5, "email": "a@example.org", "phone": null, "holder_name": null,
               "seats": ["A1", "A2"]}),
    )
    .await;
    let token = post(
        "/v1/admin/tokens",
        json!({"role": "gate", "event_id": 5, "gate_id": "north-1"}),
    )
    .await;
    let file = dir.join(format!("{name}.token"));
    std::fs::write(&file, format!("{}\n", token["token"].as_str().unwrap())).unwrap();
    (issuer, file)
}

fn fetch(issuer: &RunningIssuer, token: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["gate", "bundle", "--issuer", &issuer.url(), "--event", "5"])
        .arg("--token-file")
        .arg(token)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gate_bundle_pins_its_issuer_appends_updates_and_never_re_pins_silently() {
    let dir = tempfile::tempdir().unwrap();
    let (a, a_token) = issuer(dir.path(), "a").await;
    let (b, b_token) = issuer(dir.path(), "b").await;
    let out = dir.path().join("bundle.jsonl");
    let a_key = hex::encode(a.issuer_public_key());

    // A bare bundle left by a version before signing: set up again, not refused forever.
    std::fs::write(&out, "{\"event\": 5}").unwrap();
    let o = fetch(&a, &a_token, &out, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&a_key),
        "the pinned key is printed: {}",
        text(&o)
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 1);

    // Again: only what changed, appended as a second signed line.
    let o = fetch(&a, &a_token, &out, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("update since"), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 2);

    // Another issuer's bundle into this gate's file: refused, with or without --full, and
    // the file is left as it was.
    let before = std::fs::read(&out).unwrap();
    for extra in [&[][..], &["--full"][..]] {
        let o = fetch(&b, &b_token, &out, extra);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", text(&o));
        assert!(text(&o).contains("pinned"), "{extra:?}: {}", text(&o));
        assert_eq!(std::fs::read(&out).unwrap(), before, "{extra:?}");
    }
    // --full from the pinned issuer starts the file again (one whole bundle).
    let o = fetch(&a, &a_token, &out, &["--full"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 1);
    // Moving this gate to issuer B takes B's key, given by the operator.
    let b_key = hex::encode(b.issuer_public_key());
    let o = fetch(&b, &b_token, &out, &["--full", "--issuer-key", &b_key]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(&b_key), "{}", text(&o));
}
