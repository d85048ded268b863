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

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::{Context, Poll, Wake, Waker};
    use std::thread::Thread;
    use std::time::Duration;

    use super::*;

    /// A minimal executor with no tokio in sight, like a foreign language's event loop.
    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut f = pin!(f);
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::park();
        }
    }

    #[test]
    fn work_runs_on_the_library_runtime_from_any_executor() {
        // A timer needs a tokio reactor: polled from a plain executor, it works because
        // it runs on the library runtime.
        let got = block_on(run(async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            Ok(tokio::runtime::Handle::current().metrics().num_workers())
        }));
        assert_eq!(got, Ok(WORKER_THREADS));
    }

    #[test]
    #[allow(clippy::panic)]
    fn a_panicking_task_is_an_internal_error() {
        let got: Result<(), WalletError> = block_on(run(async { panic!("bug") }));
        assert!(matches!(got, Err(WalletError::Internal { .. })), "{got:?}");
    }

    #[test]
    fn dropping_the_caller_future_aborts_the_task() {
        let finished = Arc::new(AtomicBool::new(false));
        let f = finished.clone();
        let fut = run(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            f.store(true, Ordering::SeqCst);
            Ok(())
        });
        {
            // Poll once (the task starts), then drop: a cancelled coroutine.
            let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
            let mut fut = Box::pin(fut);
            assert!(
                fut.as_mut()
                    .poll(&mut Context::from_waker(&waker))
                    .is_pending()
            );
        }
        std::thread::sleep(Duration::from_millis(400));
        assert!(!finished.load(Ordering::SeqCst));
    }
}
