//! `tessera issuer serve` without `--dev`: it needs real senders, and says so. (The
//! senders themselves are tested in issuer/tests/production.rs; `token_arg` by its unit
//! tests.)

// Helpers outside #[test] functions fail loudly too: this whole file is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `tessera issuer serve ARGS`, which must exit within 20 s: (exit code, stdout, stderr).
fn serve(args: &[&str]) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["issuer", "serve", "--port", "0", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            let mut out = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            panic!("issuer serve {args:?} kept running:\n{out}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn issuer_serve_without_dev_or_senders_exits_2_naming_the_ways_out() {
    let (code, stdout, stderr) = serve(&[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    for flag in ["--dev", "--smtp-url", "--mail-from", "--sms-webhook"] {
        assert!(stderr.contains(flag), "{flag} not in: {stderr}");
    }
    let (code, _, stderr) = serve(&["--smtp-url", "smtp://127.0.0.1:25"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--sms-webhook"), "{stderr}");
}

#[test]
fn issuer_serve_help_lists_the_production_flags() {
    let o = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["issuer", "serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    for flag in [
        "--dev",
        "--smtp-url",
        "--mail-from",
        "--smtp-password-file",
        "--sms-webhook",
        "--sms-webhook-token-file",
        "TESSERA_SMTP_PASSWORD",
        "TESSERA_SMS_WEBHOOK_TOKEN",
    ] {
        assert!(help.contains(flag), "{flag} not in:\n{help}");
    }
}
