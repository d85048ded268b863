//! The one tokio runtime the library owns.
//!
//! Every network call, every blocking SQLite write of a sync and every watch runs on it,
//! whatever thread or executor the app calls from (a Kotlin coroutine, a Swift task, a
//! Python thread). Exported async functions also carry `async_runtime = "tokio"`, so a
//! future polled by the foreign executor always finds a tokio context; the work itself is
//! spawned here, so there is one pool of threads, one timer wheel and one I/O driver.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::Runtime;
use tokio::task::AbortHandle;

use crate::errors::WalletError;

/// Worker threads: a wallet does little CPU work at a time, and phones count threads.
const WORKER_THREADS: usize = 2;

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// The library runtime, built on first use. Building can only fail when the OS refuses
/// threads; then every call reports it instead of panicking.
pub(crate) fn runtime() -> Result<&'static Runtime, WalletError> {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(WORKER_THREADS)
                .thread_name("tessera-rt")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| WalletError::Internal {
            reason: format!("async runtime could not start: {e}"),
        })
}

/// Aborts a spawned task when the caller's future is dropped before it finished (the
/// foreign side cancelled the call: a Kotlin coroutine, a Swift task, a Python task).
struct AbortOnDrop(Option<AbortHandle>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            h.abort();
        }
    }
}

/// Runs `work` on the library runtime and waits for it from any executor. A panic in
/// `work` comes back as [`WalletError::Internal`], never across the FFI.
pub(crate) async fn run<T, F>(work: F) -> Result<T, WalletError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, WalletError>> + Send + 'static,
{
    let handle = runtime()?.spawn(work);
    let mut guard = AbortOnDrop(Some(handle.abort_handle()));
    let joined = handle.await;
    guard.0 = None;
    match joined {
        Ok(result) => result,
        Err(e) if e.is_panic() => Err(WalletError::Internal {
            reason: "a wallet task panicked".into(),
        }),
        Err(_) => Err(WalletError::Internal {
            reason: "a wallet task was cancelled".into(),
        }),
    }
}
