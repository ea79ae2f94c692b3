//! Blocking work as futures: each call runs on a worker thread and wakes the awaiting task when
//! done, so the core's `join`s overlap requests even though ureq itself blocks. Workers are
//! kept for reuse (a fresh thread costs a stack and a malloc arena each time).

use std::future::{poll_fn, Future};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

type Job = Box<dyn FnOnce() + Send>;

/// Workers waiting for a job.
static IDLE: Mutex<Vec<Sender<Job>>> = Mutex::new(Vec::new());

/// Runs `job` on an idle worker, or on a new one when all are busy, without waiting for it.
pub fn spawn(job: impl FnOnce() + Send + 'static) {
    dispatch(Box::new(job))
}

/// Runs `job` on an idle worker, or on a new one when all are busy.
fn dispatch(job: Job) {
    let idle = IDLE.lock().unwrap_or_else(|p| p.into_inner()).pop();
    let job = match idle {
        Some(worker) => match worker.send(job) {
            Ok(()) => return,
            Err(returned) => returned.0,
        },
        None => job,
    };
    let (tx, rx) = channel::<Job>();
    std::thread::spawn(move || {
        job();
        loop {
            IDLE.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(tx.clone());
            match rx.recv() {
                Ok(next) => next(),
                Err(_) => return,
            }
        }
    });
}

struct Slot<T> {
    result: Option<T>,
    waker: Option<Waker>,
}

/// Starts `work` on a worker thread; the future yields its result. Dropping the future lets
/// the work finish unobserved.
pub fn on_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> impl Future<Output = T> {
    let slot = Arc::new(Mutex::new(Slot {
        result: None,
        waker: None,
    }));
    let filled = Arc::clone(&slot);
    dispatch(Box::new(move || {
        let value = work();
        let mut slot = filled.lock().unwrap_or_else(|p| p.into_inner());
        slot.result = Some(value);
        if let Some(waker) = slot.waker.take() {
            waker.wake();
        }
    }));
    poll_fn(move |cx| {
        let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
        match slot.result.take() {
            Some(value) => Poll::Ready(value),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::sync_channel;
    use std::time::Duration;

    #[test]
    fn two_blocking_calls_run_at_the_same_time_under_join() {
        // Each job announces itself and waits for the other's announcement: only possible
        // when both run at once (in turn, the first would give up waiting).
        let (to_a, from_b) = sync_channel::<()>(1);
        let (to_b, from_a) = sync_channel::<()>(1);
        let a = on_thread(move || {
            to_b.send(()).unwrap();
            from_b.recv_timeout(Duration::from_secs(10)).is_ok()
        });
        let b = on_thread(move || {
            to_a.send(()).unwrap();
            from_a.recv_timeout(Duration::from_secs(10)).is_ok()
        });
        let (a_met_b, b_met_a) = pollster::block_on(skopeo_core::concurrent::join(a, b));
        assert!(a_met_b && b_met_a);
    }
}
