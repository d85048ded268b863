//! A gate refuses a bundle the issuer did not sign, or one altered after signing, and
//! reports its bundle's age with every verdict (issue 10 item 5), run as door staff would:
//! the headless demo's files and `tessera gate scan`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{tessera, text};
use std::path::Path;
use std::process::Output;

use serde_json::Value;

/// Scans `payload` against `bundle` at `at_ms` with a fresh log; answers the output.
fn scan(dir: &Path, bundle: &Path, payload: &str, at_ms: i64, extra: &[&str]) -> Output {
    let log = dir.join(format!("log-{}.sqlite", rand_suffix()));
    let at = at_ms.to_string();
    let mut args = vec![
        "gate",
        "scan",
        "--bundle",
        bundle.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
        "--json",
        "--at-ms",
        &at,
    ];
    args.extend_from_slice(extra);
    args.push(payload);
    tessera(&args)
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[test]
fn a_gate_refuses_unsigned_and_altered_bundles_and_reports_its_bundles_age() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = tessera(&[
        "demo",
        "--headless",
        "--out",
        out.to_str().unwrap(),
        "--frames",
        "1",
    ]);
    assert!(o.status.success(), "demo failed:\n{}", text(&o));
    let frame: Value = std::fs::read_to_string(out.join("frames.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|l| l["kind"] == "frame")
        .unwrap();
    let payload = frame["payload"].as_str().unwrap();
    let at = frame["scanned_at_ms"].as_i64().unwrap();
    let bundle = out.join("bundle.json");
    let served = std::fs::read_to_string(&bundle).unwrap();

    // As served: admitted, and the verdict says how old the bundle is.
    let o = scan(dir.path(), &bundle, payload, at, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let age = v["bundle_age_secs"]
        .as_i64()
        .unwrap_or_else(|| panic!("no bundle age in {v}"));
    assert!((0..600).contains(&age), "{v}");
    assert!(!v["anomalies"].to_string().contains("bundle_stale"), "{v}");

    // Past the gate's maximum age the verdict stands but carries a warning.
    let late = at + 2 * 3600 * 1000;
    let o = scan(
        dir.path(),
        &bundle,
        payload,
        late,
        &["--max-bundle-age-secs", "3600"],
    );
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&o)));
    assert!(v["anomalies"].to_string().contains("bundle_stale"), "{v}");

    // The bundle inside the signed document, edited by hand: a revocation removed, the
    // window widened, a name changed — every edit is refused before any scan is judged.
    let doc: Value = serde_json::from_str(served.lines().next().unwrap()).unwrap();
    let inner = doc["payload"]
        .as_str()
        .unwrap_or_else(|| panic!("the served bundle is not a signed document: {doc}"));
    for (what, from, to) in [
        ("window", "\"valid_until\":", "\"valid_until\":9"),
        ("holder", "Ada Lovelace", "Eve Mallory"),
        ("seq", "\"seq\":", "\"seq\":9"),
    ] {
        assert!(inner.contains(from), "{what}: {from} not in {inner}");
        let mut altered = doc.clone();
        altered["payload"] = Value::String(inner.replacen(from, to, 1));
        let path = dir.path().join(format!("altered-{what}.json"));
        std::fs::write(&path, altered.to_string()).unwrap();
        let o = scan(dir.path(), &path, payload, at, &[]);
        assert_eq!(o.status.code(), Some(2), "{what}: {}", text(&o));
        assert!(text(&o).contains("signature"), "{what}: {}", text(&o));
    }

    // The bare bundle without its signature: refused as unsigned.
    let path = dir.path().join("unsigned.json");
    std::fs::write(&path, inner).unwrap();
    let o = scan(dir.path(), &path, payload, at, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("not signed"), "{}", text(&o));

    // Signed by another key than the one this gate's log pinned: refused too. The log
    // pinned the issuer's key on its first scan.
    let log = dir.path().join("pinned.sqlite");
    let first = tessera(&[
        "gate",
        "scan",
        "--bundle",
        bundle.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
        "--at-ms",
        &at.to_string(),
        payload,
    ]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let other = tessera(&[
        "demo",
        "--headless",
        "--out",
        dir.path().join("other").to_str().unwrap(),
        "--frames",
        "1",
    ]);
    assert!(other.status.success(), "{}", text(&other));
    let o = tessera(&[
        "gate",
        "scan",
        "--bundle",
        dir.path().join("other/bundle.json").to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
        "--at-ms",
        &at.to_string(),
        payload,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("pinned"), "{}", text(&o));
}
