//! A signal received while work runs (SIGINT, SIGTERM, SIGHUP; the native host watches for
//! them): streams fail at their next chunk and [`signalled`] completes, so an operation
//! stops where it stands and cleans up instead of the process dying with half-written files.

use skopeo_core::effects::{EffectError, EffectErrorKind};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;
use std::task::{Poll, Waker};

/// The first signal received (0: none yet).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// The task waiting in [`signalled`].
static WAITER: Mutex<Option<Waker>> = Mutex::new(None);

/// Records `signal` and wakes the waiting task; false if one was already received.
pub fn notify(signal: i32) -> bool {
    let first = RECEIVED
        .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok();
    if let Some(waker) = WAITER.lock().unwrap_or_else(|p| p.into_inner()).take() {
        waker.wake();
    }
    first
}

/// The signal received, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// A signal's name as the shell prints it.
pub fn name(signal: i32) -> &'static str {
    match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        15 => "SIGTERM",
        _ => "a signal",
    }
}

/// Completes with the signal's name once one is received.
pub async fn signalled() -> String {
    std::future::poll_fn(|cx| {
        *WAITER.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
        match received() {
            Some(signal) => Poll::Ready(name(signal).to_owned()),
            None => Poll::Pending,
        }
    })
    .await
}

/// Fails once a signal was received (checked between steps of long work).
pub fn check() -> Result<(), EffectError> {
    match received() {
        Some(signal) => Err(EffectError::new(
            EffectErrorKind::Other,
            format!("interrupted by {}", name(signal)),
        )),
        None => Ok(()),
    }
}
