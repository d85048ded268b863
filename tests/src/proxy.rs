//! A reverse proxy on loopback in front of the real issuer, for the tests of what a hostile
//! network or server does to a wallet (`hostile_issuer`, `time_attack`): every request is
//! passed on, and a [`Tamper`] may answer in the issuer's place or rewrite its answer.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;

/// What the proxy does to the traffic. Both hooks default to passing everything through,
/// so a test writes only the attack it is about.
pub trait Tamper: Send + Sync + 'static {
    /// An answer (200, JSON) of the proxy's own to `uri`, instead of the issuer's.
    fn answer(&self, _uri: &Uri) -> Option<Vec<u8>> {
        None
    }

    /// Changes the issuer's answer to `uri`, which came with `status`, on its way back.
    fn rewrite(&self, _uri: &Uri, _status: StatusCode, _body: &mut Vec<u8>) {}
}

struct Proxy<T> {
    upstream: String,
    tamper: Arc<T>,
    http: reqwest::Client,
}

/// Starts a proxy in front of `upstream` (the issuer's URL) that lets `tamper` at every
/// answer; returns the proxy's URL, for the wallet's client.
pub async fn start<T: Tamper>(upstream: String, tamper: Arc<T>) -> String {
    let proxy = Arc::new(Proxy {
        upstream,
        tamper,
        http: reqwest::Client::new(),
    });
    let app = axum::Router::new().fallback(forward::<T>).with_state(proxy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app.into_make_service()).await });
    url
}

async fn forward<T: Tamper>(
    State(p): State<Arc<Proxy<T>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(own) = p.tamper.answer(&uri) {
        return json(StatusCode::OK, own);
    }
    let path_and_query = uri.path_and_query().map(|x| x.as_str()).unwrap_or("/");
    let mut req = p
        .http
        .request(method, format!("{}{path_and_query}", p.upstream))
        .body(body);
    // What the issuer reads: the device signature, the body's type, a staff token.
    for (k, v) in &headers {
        if k.as_str().starts_with("x-tessera") || k == "content-type" || k == "authorization" {
            req = req.header(k, v);
        }
    }
    let r = req.send().await.unwrap();
    let status = StatusCode::from_u16(r.status().as_u16()).unwrap();
    let mut text = r.bytes().await.unwrap().to_vec();
    p.tamper.rewrite(&uri, status, &mut text);
    json(status, text)
}

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap()
}
