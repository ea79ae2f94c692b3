//! Blocking work as futures: each call runs on a worker thread and wakes the awaiting task when
//! done, so the core's `join`s overlap requests even though ureq itself blocks. Workers are
//! kept for reuse (a fresh thread costs a stack and a malloc arena each time). CPU-bound jobs
//! go to [`Cores`] instead: one thread per core.

use skopeo_core::effects::Offload;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex, OnceLock};
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
    started_with(dispatch, work)
}

/// Hands `work` to `run` (which starts it somewhere); the future yields its result.
fn started_with<T: Send + 'static>(
    run: fn(Job),
    work: impl FnOnce() -> T + Send + 'static,
) -> impl Future<Output = T> {
    let slot = Arc::new(Mutex::new(Slot {
        result: None,
        waker: None,
    }));
    let filled = Arc::clone(&slot);
    run(Box::new(move || {
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

/// The machine's cores for CPU-bound work (compression): one thread per core taking queued
/// jobs in turn, so however many streams compress at once, the cores are shared, not
/// oversubscribed.
pub struct Cores;

/// The queue the core threads take jobs from (started on first use).
static CORE_QUEUE: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();

fn core_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Queues `job` for the core threads.
fn queue_on_cores(job: Job) {
    let queue = CORE_QUEUE.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..core_count() {
            let rx = Arc::clone(&rx);
            std::thread::spawn(move || loop {
                let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                match next {
                    Ok(job) => job(),
                    Err(_) => return,
                }
            });
        }
        Mutex::new(tx)
    });
    let sent = queue.lock().unwrap_or_else(|p| p.into_inner()).send(job);
    sent.expect("core threads run as long as the process");
}

impl Offload for Cores {
    fn parallelism(&self) -> usize {
        core_count()
    }

    fn start(&self, job: Box<dyn FnOnce() + Send>) -> Pin<Box<dyn Future<Output = ()>>> {
        Box::pin(started_with(queue_on_cores, job))
    }
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

    #[test]
    fn jobs_beyond_the_cores_queue_and_all_complete() {
        let workers = skopeo_core::effects::Workers::new(Cores);
        let started: Vec<_> = (0..4 * core_count() as u64)
            .map(|i| workers.start(move || (0..=i * 100_000).sum::<u64>()))
            .collect();
        let sums = pollster::block_on(async {
            let mut sums = Vec::new();
            for job in started {
                sums.push(job.result().await);
            }
            sums
        });
        let expected: Vec<u64> = (0..4 * core_count() as u64)
            .map(|i| i * 100_000 * (i * 100_000 + 1) / 2)
            .collect();
        assert_eq!(sums, expected);
    }

    #[test]
    fn layers_compress_on_the_cores_to_the_same_bytes_as_inline() {
        use skopeo_core::compression::gzip::{Encoder, BLOCK};
        use skopeo_core::effects::Workers;
        let data: Vec<u8> = (0..5 * BLOCK as u32 + 7)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 % 16 + b'a')
            .collect();
        let encode = |workers: Workers, piece: usize| {
            pollster::block_on(async {
                let mut e = Encoder::new(None, workers);
                let mut out = Vec::new();
                for chunk in data.chunks(piece) {
                    out.extend(e.push(chunk.to_vec()).await.unwrap());
                }
                out.extend(e.finish().await.unwrap());
                out
            })
        };
        let inline = encode(Workers::default(), BLOCK);
        assert_eq!(encode(Workers::new(Cores), 4096), inline);
        assert_eq!(encode(Workers::new(Cores), 3 * BLOCK + 1), inline);
    }
}
