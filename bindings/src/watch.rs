//! Watching a ticket: a task on the library runtime that sleeps until the next thing
//! that can change what the screen shows (the next step boundary, the window opening, the
//! expiry) or until a wallet call changed something, and tells the listener.
//!
//! Policy stays in core: the task asks core for the state and the frame, and for how
//! long to sleep (`Wallet::next_change_in`, DECISIONS 42). One wake-up per step, no
//! polling.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tessera_core::TicketId;
use tessera_core::wallet::Wallet as CoreWallet;
use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::errors::CallbackError;
use crate::errors::WalletError;
use crate::foreign::{FrameListener, Log};
use crate::runtime::runtime;
use crate::types::RevealState;

/// A running watch (`Wallet.watch`). Stops on `stop()` and when the handle is dropped
/// (garbage-collected; Kotlin: `close()` / `use {}`, which every UniFFI object has).
#[derive(uniffi::Object)]
pub struct WatchHandle {
    task: AbortHandle,
    closed: Arc<AtomicBool>,
}

impl std::fmt::Debug for WatchHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchHandle")
            .field("active", &self.is_active())
            .finish()
    }
}

#[uniffi::export]
impl WatchHandle {
    /// Stops the watch. No callback starts after this returns (one already running
    /// finishes). Idempotent. (Named `stop`, not `close`: Kotlin objects already have
    /// `AutoCloseable.close()`, which frees the handle and so stops the watch too.)
    pub fn stop(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.task.abort();
    }

    /// Whether the watch is still running.
    pub fn is_active(&self) -> bool {
        !self.closed.load(Ordering::SeqCst) && !self.task.is_finished()
    }
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

pub(crate) fn start_watch(
    wallet: Arc<CoreWallet>,
    id: TicketId,
    listener: Arc<dyn FrameListener>,
    changes: watch::Receiver<u64>,
    log: Log,
) -> Result<Arc<WatchHandle>, WalletError> {
    let closed = Arc::new(AtomicBool::new(false));
    log.info(|| format!("watch {id}: started"));
    let task = runtime()?.spawn(watch_loop(Watch {
        wallet,
        id,
        listener,
        changes: Some(changes),
        closed: Arc::clone(&closed),
        log,
        last_state: None,
        last_step: None,
    }));
    Ok(Arc::new(WatchHandle {
        task: task.abort_handle(),
        closed,
    }))
}

struct Watch {
    wallet: Arc<CoreWallet>,
    id: TicketId,
    listener: Arc<dyn FrameListener>,
    /// None once the `Wallet` object is gone: only timers can wake the watch then.
    changes: Option<watch::Receiver<u64>>,
    closed: Arc<AtomicBool>,
    log: Log,
    last_state: Option<RevealState>,
    last_step: Option<u64>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        // The task ended (stopped, aborted with its handle, or the runtime gone): the
        // listener is released with it. Logged so an app (and the adapters' tests: a
        // cancelled Flow or `async for`) can see that a watch really stopped.
        let id = self.id;
        self.log.info(|| format!("watch {id}: stopped"));
    }
}

async fn watch_loop(mut w: Watch) {
    loop {
        if let Some(rx) = w.changes.as_mut() {
            // Mark what we have seen before looking, so a change made while we look wakes
            // us again rather than being lost.
            rx.borrow_and_update();
        }
        let sleep = w.evaluate();
        if w.closed.load(Ordering::SeqCst) {
            return;
        }
        let timer = async {
            match sleep {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending::<()>().await,
            }
        };
        let changed = async {
            match w.changes.as_mut() {
                Some(rx) => rx.changed().await.is_ok(),
                None => std::future::pending::<bool>().await,
            }
        };
        tokio::select! {
            () = timer => {}
            alive = changed => {
                if !alive {
                    w.changes = None;
                }
            }
        }
    }
}

impl Watch {
    /// Tells the listener what changed; returns how long to sleep before looking again
    /// (None: until a wallet call changes something). Core decides the sleep.
    fn evaluate(&mut self) -> Option<Duration> {
        let shown = match self.wallet.ticket(&self.id) {
            Ok(s) => s,
            Err(e) => {
                self.log
                    .warn(|| format!("watch {}: state unavailable: {}", self.id, e.kind()));
                return None;
            }
        };
        let ffi_state = shown.state.clone();
        if self.last_state.as_ref() != Some(&ffi_state) {
            self.last_state = Some(ffi_state.clone());
            self.deliver(|l| l.on_state(ffi_state));
        }
        let frame = match shown.state {
            tessera_core::RevealState::Ready { .. } => self.frame_step(),
            _ => None,
        };
        self.wallet.next_change_in(&shown, frame.as_ref())
    }

    /// Delivers the current step's frame (once) and draws the next one ahead; returns
    /// the frame shown, whose end core wakes the watch for.
    fn frame_step(&mut self) -> Option<tessera_core::Frame> {
        let frame = match self.wallet.frame(&self.id) {
            Ok(f) => f,
            Err(e) => {
                self.log
                    .warn(|| format!("watch {}: no frame: {}", self.id, e.kind()));
                return None;
            }
        };
        if self.last_step != Some(frame.step) {
            self.last_step = Some(frame.step);
            let f = frame.clone();
            self.deliver(|l| l.on_frame(f));
        }
        // Drawn now, while nothing waits on it, so the frame at the boundary is a read.
        if let Err(e) = self.wallet.prepare_next_frame(&self.id) {
            // Expired here only means this was the last step of the window.
            self.log
                .debug(|| format!("watch {}: next frame not drawn: {}", self.id, e.kind()));
        }
        Some(frame)
    }

    fn deliver(&self, call: impl FnOnce(&dyn FrameListener) -> Result<(), CallbackError>) {
        if self.closed.load(Ordering::SeqCst) {
            return;
        }
        if call(self.listener.as_ref()).is_err() {
            self.log
                .warn(|| format!("watch {}: the listener threw", self.id));
        }
    }
}
