//! The test servers (tokio, rustls): a tiny raw-HTTP server on loopback that can also
//! answer the way broken or hostile servers do, and a minimal HTTPS one. Only the client
//! tests use them, so they need the `sync-client` feature.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as the test server saw it.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

/// How the test server answers.
pub enum Reply {
    /// Status and JSON body with a correct Content-Length.
    Json(u16, Vec<u8>),
    /// Bytes written as they are, then the connection closes.
    Raw(Vec<u8>),
    /// A chunked 200 body of `n` bytes with no Content-Length.
    Chunked(usize),
    /// Never answers.
    Hang,
}

impl Reply {
    pub fn json<T: serde::Serialize>(status: u16, body: &T) -> Self {
        Self::Json(status, serde_json::to_vec(body).unwrap())
    }

    pub fn error(status: u16, code: &str) -> Self {
        Self::json(
            status,
            &crate::sync::api::ErrorBody {
                error: code.into(),
                message: format!("{code} from test server"),
            },
        )
    }
}

type Handler = Arc<dyn Fn(&Req) -> Reply + Send + Sync>;

/// A raw HTTP/1.1 server on a random loopback port; one request per connection.
pub struct TestServer {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    pub async fn start(handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let handler: Handler = Arc::new(handler);
        let h = hits.clone();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let handler = handler.clone();
                let hits = h.clone();
                tokio::spawn(async move {
                    let _ = serve(sock, handler, hits).await;
                });
            }
        });
        Self { addr, hits, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Stops accepting: later connections are refused.
    pub async fn stop(&self) {
        self.task.abort();
        // Let the runtime drop the listener before the test goes on.
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut sock: TcpStream,
    handler: Handler,
    hits: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let mut parts = first.split(' ');
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    hits.fetch_add(1, Ordering::SeqCst);
    let req = Req {
        method,
        path,
        headers,
        body,
    };
    match handler(&req) {
        Reply::Json(status, body) => {
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            sock.write_all(head.as_bytes()).await?;
            sock.write_all(&body).await?;
        }
        Reply::Raw(bytes) => sock.write_all(&bytes).await?,
        Reply::Chunked(n) => {
            sock.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            )
            .await?;
            let piece = vec![b' '; 64 * 1024];
            let mut left = n;
            while left > 0 {
                let k = left.min(piece.len());
                sock.write_all(format!("{k:x}\r\n").as_bytes()).await?;
                sock.write_all(&piece[..k]).await?;
                sock.write_all(b"\r\n").await?;
                left -= k;
            }
            sock.write_all(b"0\r\n\r\n").await?;
        }
        Reply::Hang => {
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        }
    }
    sock.shutdown().await?;
    Ok(())
}

/// A minimal HTTPS server (rustls with ring, the test CA's leaf) on a random loopback
/// port, answering every request with `body` as JSON. Runs on its own thread.
pub fn start_tls_server(body: Vec<u8>) -> SocketAddr {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use std::io::{Read, Write};

    let leaf = include_bytes!("../testdata/test-leaf.der").to_vec();
    let key = include_bytes!("../testdata/test-leaf-key.der").to_vec();
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from(leaf)],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
    )
    .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let config = Arc::new(config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, stream);
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // A client that refuses the certificate ends the handshake: read fails.
            let ok = loop {
                match tls.read(&mut chunk) {
                    Ok(0) | Err(_) => break false,
                    Ok(n) => {
                        buf.extend_from_slice(&chunk[..n]);
                        if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                            break true;
                        }
                    }
                }
            };
            if ok {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = tls.write_all(head.as_bytes());
                let _ = tls.write_all(&body);
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        }
    });
    addr
}
