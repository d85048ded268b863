#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The gate vectors of docs/PROTOCOL.md §11.4 through the real verifier: every reject
//! vector of `tests/vectors/reject.json` gives exactly its reason, every control is
//! admitted with its seat and name, and every positive code of `t1.json`, `s1.json` and
//! `c1.json` is admitted by a gate whose bundle is built from the vector's own fields.
//! (Regenerate with `cargo run -p tessera-gate --example gen_reject_vectors`.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::str::FromStr;

use serde_json::{Value, json};
use tessera_gate::{GateBundle, RejectReason, ScanLog, Verdict, Verifier};

fn load(file: &str) -> Value {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "tests", "vectors", file]
        .iter()
        .collect();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run the generator)", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn gate(bundle: &Value) -> Verifier {
    let bundle = GateBundle::from_json(&bundle.to_string()).unwrap();
    Verifier::new(bundle, "gate-vectors", ScanLog::open_in_memory().unwrap()).unwrap()
}

/// What the verifier answers, as the vectors write it: "admit" or a reason's name.
fn answer(v: &Verdict) -> &'static str {
    match v {
        Verdict::Admit { .. } => "admit",
        Verdict::Reject { reason } => reason.as_str(),
    }
}

/// Runs one vector's prior scans and returns the gate ready for its payload.
fn prepared(doc: &Value, v: &Value) -> Verifier {
    let name = v["name"].as_str().unwrap();
    let bundle = &doc["bundles"][v["bundle"].as_str().unwrap()];
    assert!(bundle.is_object(), "{name}: no bundle {}", v["bundle"]);
    let mut g = gate(bundle);
    for (i, p) in v["prior"].as_array().unwrap().iter().enumerate() {
        let r = g.verify(
            p["payload"].as_str().unwrap(),
            p["now_ms"].as_i64().unwrap(),
        );
        assert_eq!(
            answer(&r.verdict),
            p["expect"].as_str().unwrap(),
            "{name}: prior scan {i}"
        );
    }
    g
}

/// The verdict for the vector's payload (text through `verify`, raw bytes through
/// `verify_bytes`), after `check` gave the same answer without recording.
fn judge(g: &mut Verifier, v: &Value) -> Verdict {
    let now = v["now_ms"].as_i64().unwrap();
    match (v["payload"].as_str(), v["payload_hex"].as_str()) {
        (Some(text), None) => {
            let checked = g.check(text, now);
            let verdict = g.verify(text, now).verdict;
            assert_eq!(checked, verdict, "{}: check and verify differ", v["name"]);
            verdict
        }
        (None, Some(hex)) => g.verify_bytes(&hex::decode(hex).unwrap(), now).verdict,
        _ => panic!("{}: exactly one of payload and payload_hex", v["name"]),
    }
}

#[test]
fn every_reject_vector_gives_its_reason_at_the_real_gate() {
    let doc = load("reject.json");
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 100, "{} vectors", vectors.len());
    // Every disagreement at once, not only the first.
    let mut wrong = Vec::new();
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let want = RejectReason::from_str(v["reason"].as_str().unwrap())
            .unwrap_or_else(|_| panic!("{name}: unknown reason {}", v["reason"]));
        let mut g = prepared(&doc, v);
        let got = judge(&mut g, v);
        if got.reason() != Some(want) {
            wrong.push(format!("{name} ({}): {got:?}, want {want:?}", v["rule"]));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_admit_control_is_admitted_with_its_seat_and_name() {
    let doc = load("reject.json");
    let controls = doc["admit"].as_array().unwrap();
    assert!(controls.len() >= 10);
    for v in controls {
        let name = v["name"].as_str().unwrap();
        let mut g = prepared(&doc, v);
        match judge(&mut g, v) {
            Verdict::Admit {
                seat, holder_name, ..
            } => {
                assert_eq!(seat.as_deref(), v["seat"].as_str(), "{name}: seat");
                assert_eq!(
                    holder_name.as_deref(),
                    v["holder_name"].as_str(),
                    "{name}: holder name"
                );
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

/// Every reason and every numbered rule of the checklists (PROTOCOL §10.4, §10.5, §10.7)
/// has a vector, and every reason has a C1 vector.
#[test]
fn the_vectors_cover_every_reason_and_every_rule() {
    let doc = load("reject.json");
    let vectors = doc["vectors"].as_array().unwrap();
    let reasons: BTreeSet<&str> = vectors
        .iter()
        .map(|v| v["reason"].as_str().unwrap())
        .collect();
    for r in RejectReason::ALL {
        assert!(reasons.contains(r.as_str()), "no vector for {}", r.as_str());
    }
    let rules: BTreeSet<&str> = vectors
        .iter()
        .filter_map(|v| v["rule"].as_str()?.split(' ').next())
        .collect();
    for n in 1..=10 {
        assert!(
            rules.contains(format!("T1.{n}").as_str()),
            "no vector for T1.{n}"
        );
    }
    for n in 1..=11 {
        assert!(
            rules.contains(format!("S1.{n}").as_str()),
            "no vector for S1.{n}"
        );
    }
    for n in 1..=3 {
        assert!(
            rules.contains(format!("C1.{n}").as_str()),
            "no vector for C1.{n}"
        );
    }
    // Every reason applies to C1 codes too (PROTOCOL §10.7: C1.3 is S1.2–S1.11).
    let c1_reasons: BTreeSet<&str> = vectors
        .iter()
        .filter(|v| v["rule"].as_str().unwrap().starts_with("C1."))
        .map(|v| v["reason"].as_str().unwrap())
        .collect();
    for r in RejectReason::ALL {
        assert!(
            c1_reasons.contains(r.as_str()),
            "no C1 vector for {}",
            r.as_str()
        );
    }
    // Two credentials sharing a reference (a real collision of 4 digest bytes).
    let collision = &doc["bundles"]["c1-collision"]["credentials"];
    let references: BTreeSet<String> = collision
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let c = hex::decode(c.as_str().unwrap()).unwrap();
            let n = usize::from(c[79]);
            hex::encode(&ring::digest::digest(&ring::digest::SHA256, &c[..80 + n]).as_ref()[..4])
        })
        .collect();
    assert_eq!(
        (collision.as_array().unwrap().len(), references.len()),
        (2, 1)
    );
    // Version 1 of both formats is refused (PROTOCOL §13).
    for name in [
        "t1-version-1-genuine-revision-1-code",
        "s1-version-1-genuine-revision-1-code",
    ] {
        assert!(vectors.iter().any(|v| v["name"] == name), "{name} missing");
    }
}

fn hex_secret(v: &Value, k: &str) -> Value {
    v[k].clone()
}

/// The positive vectors are codes a gate admits: build each one's bundle from its own fields.
#[test]
fn every_positive_vector_is_admitted_by_the_real_gate() {
    let algorithm = |name: &str| match name {
        "SHA1" => "Sha1",
        "SHA256" => "Sha256",
        "SHA512" => "Sha512",
        other => panic!("{other}"),
    };
    let window = |v: &Value| {
        let t = v["unix_time"].as_i64().unwrap();
        (t - 1, t + 1)
    };
    let mut admitted = 0;
    for v in load("t1.json")["vectors"].as_array().unwrap() {
        let event = v["event_id"].as_u64().unwrap();
        let (from, until) = window(v);
        let ticket = v["ticket_id_hex"].as_str().unwrap();
        let mut release = BTreeMap::new();
        if !v["release_secret_hex"].is_null() {
            release.insert(event.to_string(), hex_secret(v, "release_secret_hex"));
        }
        let bundle = json!({
            "event": event, "period_secs": v["period"], "valid_from": from, "valid_until": until,
            "issuer_keys": {}, "release_secrets": release,
            "t1": {
                "algorithm": algorithm(v["algorithm"].as_str().unwrap()),
                "digits": v["digits"],
                "event_seed": hex_secret(v, "event_seed_hex"),
                "ticket_seeds": { ticket: hex_secret(v, "seed_hex") },
            },
        });
        let mut g = gate(&bundle);
        let now = v["unix_time"].as_i64().unwrap() * 1000;
        let r = g.verify(v["payload"].as_str().unwrap(), now);
        assert!(r.verdict.is_admit(), "{}: {:?}", v["name"], r.verdict);
        admitted += 1;
    }
    for v in load("s1.json")["vectors"].as_array().unwrap() {
        let event = v["event_id"].as_u64().unwrap();
        let mut release = BTreeMap::new();
        if !v["release_secret_hex"].is_null() {
            release.insert(event.to_string(), hex_secret(v, "release_secret_hex"));
        }
        let bundle = json!({
            "event": event, "period_secs": v["period"],
            "valid_from": v["reveal_opens_at"], "valid_until": v["valid_until"],
            "issuer_keys": { v["key_id"].to_string(): v["issuer_public_key_hex"] },
            "release_secrets": release,
        });
        let mut g = gate(&bundle);
        let now = v["unix_time"].as_i64().unwrap() * 1000;
        let r = g.verify(v["payload"].as_str().unwrap(), now);
        assert!(r.verdict.is_admit(), "{}: {:?}", v["name"], r.verdict);
        admitted += 1;
    }
    // C1: the gate's bundle lists the vector's signed credential (PROTOCOL §10.2).
    for v in load("c1.json")["vectors"].as_array().unwrap() {
        let event = v["event_id"].as_u64().unwrap();
        let mut release = BTreeMap::new();
        if !v["release_secret_hex"].is_null() {
            release.insert(event.to_string(), hex_secret(v, "release_secret_hex"));
        }
        let mut bundle = json!({
            "event": event, "period_secs": v["period"],
            "valid_from": v["reveal_opens_at"], "valid_until": v["valid_until"],
            "issuer_keys": { v["key_id"].to_string(): v["issuer_public_key_hex"] },
            "release_secrets": release,
            "credentials": [v["signed_credential_hex"]],
        });
        let now = v["unix_time"].as_i64().unwrap() * 1000;
        let payload = v["payload"].as_str().unwrap();
        let mut g = gate(&bundle);
        let r = g.verify(payload, now);
        assert!(r.verdict.is_admit(), "{}: {:?}", v["name"], r.verdict);
        assert_eq!(
            answer(&g.verify(payload, now).verdict),
            "replay",
            "{}",
            v["name"]
        );
        // Without the credential in the bundle: unknown_ticket (PROTOCOL §10.7, C1.2).
        bundle["credentials"] = json!([]);
        let r = gate(&bundle).verify(payload, now);
        assert_eq!(answer(&r.verdict), "unknown_ticket", "{}", v["name"]);
        admitted += 1;
    }
    assert!(admitted >= 36, "{admitted}");
}

/// Bundles that break a rule of PROTOCOL §10.2 are refused whole.
#[test]
fn every_invalid_bundle_is_refused() {
    let doc = load("reject.json");
    let invalid = doc["invalid_bundles"].as_array().unwrap();
    assert!(invalid.len() >= 20);
    for v in invalid {
        assert!(
            GateBundle::from_json(&v["bundle"].to_string()).is_err(),
            "{} loads",
            v["name"]
        );
    }
}
