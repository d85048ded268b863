//! The OpenAPI document (`issuer/openapi.json`) and the real router describe the same
//! API: every `.route(` in `src/routes/mod.rs` is documented with its methods, every
//! documented operation reaches a handler on a running issuer (not the fallback 404 or a
//! 405), and every other method on a documented path answers 405. A route cannot be added,
//! removed or given another method without this test failing until the document follows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../tests/src/harness.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::Harness;
use reqwest::Method;
use serde_json::Value;
use tessera_core::sync::api::{ApiErrorCode, ErrorBody};

/// The document the issuer serves (`routes/openapi.rs` compiles the same file in).
const DOC: &str = include_str!("../openapi.json");
/// The router's source: the one place routes are declared.
const ROUTER_SRC: &str = include_str!("../src/routes/mod.rs");
/// HTTP methods an OpenAPI path item can hold, as its keys.
const METHODS: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];
/// What the router's fallback answers for a path it does not know (`public::not_found`).
const FALLBACK_MESSAGE: &str = "no such endpoint";

/// (method in upper case, path template) pairs.
type Routes = BTreeSet<(String, String)>;

fn doc() -> Value {
    serde_json::from_str(DOC).expect("issuer/openapi.json is not JSON")
}

/// Every documented operation.
fn documented(doc: &Value) -> Routes {
    let mut out = Routes::new();
    for (path, item) in doc["paths"].as_object().expect("no paths object") {
        for m in METHODS {
            if item.get(m).is_some() {
                out.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// The text inside the parentheses that open at byte `open` of `src`.
fn balanced(src: &str, open: usize) -> &str {
    let mut depth = 0usize;
    for (i, ch) in src[open..].char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &src[open + 1..open + i];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses after byte {open} of routes/mod.rs");
}

/// The method routers named in a `.route(…)` call: `get(handler)`, `post(h).get(h2)`, …
fn methods_in(call: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in call.match_indices('(') {
        let start = call[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .map_or(0, |p| p + 1);
        let name = call[start..i].rsplit("::").next().unwrap_or_default();
        if METHODS.contains(&name) {
            found.push(name.to_uppercase());
        } else if matches!(name, "any" | "on" | "method_routing" | "any_service")
            || name.ends_with("_service")
        {
            // A route for every method, or one built from a filter, is not something this
            // test can read; keep the router to the plain method functions.
            panic!("routes/mod.rs uses `{name}(` in a route: list methods explicitly");
        }
    }
    found
}

/// Every (method, path) the router declares, read from its source.
fn declared() -> Routes {
    let mut out = Routes::new();
    for (at, _) in ROUTER_SRC.match_indices(".route(") {
        let call = balanced(ROUTER_SRC, at + ".route".len());
        let path = call
            .split('"')
            .nth(1)
            .unwrap_or_else(|| panic!("no path literal in .route({call})"));
        let methods = methods_in(&call[call.find(',').unwrap_or(0)..]);
        assert!(!methods.is_empty(), "no method in .route({call})");
        for m in methods {
            assert!(
                out.insert((m.clone(), path.to_owned())),
                "{m} {path} declared twice"
            );
        }
    }
    assert!(out.len() > 10, "routes/mod.rs parsed to only {out:?}");
    out
}

#[test]
fn every_route_of_the_router_is_documented_and_nothing_else() {
    let declared = declared();
    let documented = documented(&doc());
    let undocumented: Vec<_> = declared.difference(&documented).collect();
    let phantom: Vec<_> = documented.difference(&declared).collect();
    assert!(
        undocumented.is_empty() && phantom.is_empty(),
        "issuer/openapi.json and src/routes/mod.rs disagree.\n  routes missing from the \
         document: {undocumented:?}\n  documented operations with no route: {phantom:?}"
    );
}

#[test]
fn routes_are_declared_in_routes_mod_rs_only() {
    // Routes added anywhere else (a nested or merged router) would escape the check above.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            if path.ends_with("routes/mod.rs") {
                // The router itself: every path must be a `.route(` literal here (a router
                // merged in is built in this file too, see below); nesting would prefix
                // paths this test cannot see.
                for needle in [
                    ".nest(",
                    ".route_service(",
                    ".nest_service(",
                    ".fallback_service(",
                ] {
                    assert!(
                        !text.contains(needle),
                        "routes/mod.rs uses {needle}: this test reads `.route(` calls only"
                    );
                }
            } else {
                assert!(
                    !text.contains("Router") && !text.contains(".route("),
                    "{} builds routes: keep them in routes/mod.rs",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn the_document_is_well_formed() {
    let doc = doc();
    assert_eq!(doc["openapi"], "3.0.3");
    // Every reference resolves.
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external $ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
    }
    // Unique operation ids, declared path parameters, and an answer for each status.
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            let id = op["operationId"].as_str().expect("operationId");
            assert!(ids.insert(id.to_owned()), "operationId {id} twice");
            let params: BTreeSet<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .filter_map(|p| p["name"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            let in_template: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            assert_eq!(params, in_template, "{m} {path}: path parameters");
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses.keys().any(|k| k.starts_with('2')),
                "{m} {path}: no success answer"
            );
            assert!(op.get("security").is_some(), "{m} {path}: say who may call");
        }
    }
}

/// A concrete path for a template: each `{param}` becomes its documented example.
fn concrete(op: &Value, template: &str) -> String {
    let examples: BTreeMap<&str, String> = op["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter(|p| p["in"] == "path")
                .map(|p| {
                    let name = p["name"].as_str().unwrap();
                    let ex = p["example"]
                        .as_str()
                        .unwrap_or_else(|| panic!("path parameter {name} has no example"));
                    (name, ex.to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    template
        .split('/')
        .map(
            |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => examples[name].clone(),
                None => seg.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

struct Answer {
    status: u16,
    error: Option<ErrorBody>,
}

async fn send(h: &Harness, method: &Method, path: &str) -> Answer {
    let r = h
        .http
        .request(method.clone(), format!("{}{path}", h.url))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body = r.bytes().await.unwrap();
    Answer {
        status,
        error: serde_json::from_slice(&body).ok(),
    }
}

#[tokio::test]
async fn every_documented_operation_reaches_its_handler() {
    let h = Harness::start().await;
    // The fallback is recognisable, or the checks below would prove nothing.
    let unknown = send(&h, &Method::GET, "/v1/no-such-route").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.error.unwrap().message, FALLBACK_MESSAGE);

    let doc = doc();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
            let url = concrete(op, path);
            // No credentials and no body: each handler answers for itself (200 for the
            // public ones, 401 for the others), never the router.
            let a = send(&h, &method, &url).await;
            let routed = a.status != 405
                && !(a.status == 404
                    && a.error
                        .as_ref()
                        .is_some_and(|e| e.message == FALLBACK_MESSAGE));
            assert!(
                routed,
                "{method} {url}: answered {} by the router",
                a.status
            );
            assert!(
                op["responses"].get(a.status.to_string()).is_some(),
                "{method} {url}: status {} is not documented",
                a.status
            );
        }
    }
}

#[tokio::test]
async fn other_methods_on_documented_paths_answer_405() {
    let h = Harness::start().await;
    let doc = doc();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let op = METHODS.iter().find_map(|m| item.get(*m)).unwrap();
        let url = concrete(op, path);
        for m in METHODS {
            // HEAD is part of GET in HTTP (and axum answers it wherever GET is).
            if item.get(m).is_some() || (m == "head" && item.get("get").is_some()) {
                continue;
            }
            let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
            let a = send(&h, &method, &url).await;
            assert_eq!(a.status, 405, "{method} {url} is not documented");
            if method != Method::HEAD {
                assert_eq!(
                    a.error.expect("an ErrorBody").error,
                    ApiErrorCode::BadRequest
                );
            }
        }
    }
}

#[tokio::test]
async fn the_issuer_serves_this_document() {
    let h = Harness::start().await;
    let r = h
        .http
        .get(format!("{}/v1/openapi.json", h.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.text().await.unwrap(), DOC);
}
