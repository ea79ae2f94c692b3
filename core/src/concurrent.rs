//! Running two effects at once. The core stays executor-free: [`join`] polls both futures on
//! the caller's task, so a host whose effects complete on other threads (or as browser
//! promises) overlaps them, and a host that completes them inline just runs them in turn.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;

/// Awaits `a` and `b` together and returns both outputs.
pub async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut out_a, mut out_b) = (None, None);
    poll_fn(|cx| {
        if out_a.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                out_a = Some(v);
            }
        }
        if out_b.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                out_b = Some(v);
            }
        }
        if out_a.is_some() && out_b.is_some() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    match (out_a, out_b) {
        (Some(a), Some(b)) => (a, b),
        _ => unreachable!("poll_fn returned only once both were ready"),
    }
}

/// Which of two raced futures finished first.
pub enum Raced<A, B> {
    First(A),
    Second(B),
}

/// Runs `a` and `b` together until one finishes; the other is dropped where it stands.
pub async fn race<A: Future, B: Future>(a: A, b: B) -> Raced<A::Output, B::Output> {
    let (mut a, mut b) = (pin!(a), pin!(b));
    poll_fn(|cx| {
        if let Poll::Ready(v) = a.as_mut().poll(cx) {
            return Poll::Ready(Raced::First(v));
        }
        if let Poll::Ready(v) = b.as_mut().poll(cx) {
            return Poll::Ready(Raced::Second(v));
        }
        Poll::Pending
    })
    .await
}

/// `f`'s output if it is ready at once, else `None` (`f` is polled once, not awaited).
pub fn now_or_never<F: Future + Unpin>(f: &mut F) -> Option<F::Output> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::Pin::new(f).poll(&mut cx) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

/// Runs `a` and `b` together and returns `a`'s success as soon as it arrives (dropping `b`),
/// otherwise `b`'s result: a fallback started early instead of after the first attempt failed.
pub async fn prefer_first<T, E, A, B>(a: A, b: B) -> std::result::Result<T, E>
where
    A: Future<Output = std::result::Result<T, E>>,
    B: Future<Output = std::result::Result<T, E>>,
{
    let (mut a, mut b) = (pin!(a), pin!(b));
    let mut a_failed = false;
    let mut out_b = None;
    poll_fn(|cx| {
        if !a_failed {
            match a.as_mut().poll(cx) {
                Poll::Ready(Ok(v)) => return Poll::Ready(Ok(v)),
                Poll::Ready(Err(_)) => a_failed = true,
                Poll::Pending => {}
            }
        }
        if out_b.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                out_b = Some(v);
            }
        }
        match out_b.take() {
            Some(v) if a_failed => Poll::Ready(v),
            other => {
                out_b = other;
                Poll::Pending
            }
        }
    })
    .await
}

/// One task at a time in a stretch of work that others on the same thread would otherwise
/// duplicate (a registry's ping): [`Turn::take`] waits while another task holds the turn.
#[derive(Default)]
pub struct Turn {
    held: std::cell::Cell<bool>,
    waiting: std::cell::RefCell<Vec<std::task::Waker>>,
}

/// Holding a [`Turn`]; dropping it passes the turn on and wakes the tasks waiting for it.
pub struct TurnHeld<'a>(&'a Turn);

impl Turn {
    /// Waits until no other task holds the turn, then holds it.
    pub async fn take(&self) -> TurnHeld<'_> {
        poll_fn(|cx| {
            if self.held.get() {
                self.waiting.borrow_mut().push(cx.waker().clone());
                Poll::Pending
            } else {
                self.held.set(true);
                Poll::Ready(())
            }
        })
        .await;
        TurnHeld(self)
    }
}

impl Drop for TurnHeld<'_> {
    fn drop(&mut self) {
        self.0.held.set(false);
        for waker in self.0.waiting.take() {
            waker.wake();
        }
    }
}

/// Runs `task` for every item, at most `limit` at a time, starting them in the items' order;
/// returns the first error as soon as it happens (the tasks still running are dropped).
pub async fn try_for_each_limited<I, F, Fut, E>(
    items: I,
    limit: usize,
    mut task: F,
) -> std::result::Result<(), E>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future<Output = std::result::Result<(), E>>,
{
    let mut pending = items.into_iter();
    let mut running: Vec<std::pin::Pin<Box<Fut>>> = Vec::new();
    let limit = limit.max(1);
    poll_fn(|cx| loop {
        while running.len() < limit {
            match pending.next() {
                Some(item) => running.push(Box::pin(task(item))),
                None => break,
            }
        }
        if running.is_empty() {
            return Poll::Ready(Ok(()));
        }
        let before = running.len();
        let mut i = 0;
        while i < running.len() {
            match running[i].as_mut().poll(cx) {
                Poll::Ready(Ok(())) => {
                    running.remove(i);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => i += 1,
            }
        }
        if running.len() == before {
            return Poll::Pending;
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A future that is pending `n` times before finishing, waking itself each time.
    struct Yields<'a>(u32, &'a Cell<Vec<&'static str>>, &'static str);

    impl Future for Yields<'_> {
        type Output = &'static str;
        fn poll(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> Poll<Self::Output> {
            let mut log = self.1.take();
            log.push(self.2);
            self.1.set(log);
            if self.0 == 0 {
                return Poll::Ready(self.2);
            }
            self.0 -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    #[test]
    fn both_outputs_arrive_and_the_futures_interleave() {
        let log = Cell::new(Vec::new());
        let out = pollster::block_on(join(Yields(2, &log, "a"), Yields(1, &log, "b")));
        assert_eq!(out, ("a", "b"));
        assert_eq!(log.take(), ["a", "b", "a", "b", "a"]);
    }

    async fn after<T>(log: &Cell<Vec<&'static str>>, polls: u32, name: &'static str, v: T) -> T {
        Yields(polls, log, name).await;
        v
    }

    #[test]
    fn prefer_first_returns_the_first_success_without_waiting_for_the_fallback() {
        let log = Cell::new(Vec::new());
        let first = after(&log, 1, "a", Ok::<_, ()>(1));
        let fallback = after(&log, 5, "b", Ok::<_, ()>(2));
        assert_eq!(pollster::block_on(prefer_first(first, fallback)), Ok(1));
        assert_eq!(log.take(), ["a", "b", "a"]);
    }

    #[test]
    fn prefer_first_falls_back_when_the_first_fails() {
        let log = Cell::new(Vec::new());
        let first = after(&log, 0, "a", Err::<i32, _>("no"));
        let fallback = after(&log, 2, "b", Ok::<_, &str>(2));
        assert_eq!(pollster::block_on(prefer_first(first, fallback)), Ok(2));
        let first = after(&log, 3, "a", Err::<i32, _>("no"));
        let fallback = after(&log, 0, "b", Err::<i32, _>("also no"));
        assert_eq!(
            pollster::block_on(prefer_first(first, fallback)),
            Err("also no")
        );
    }

    #[test]
    fn limited_runs_start_in_order_and_never_exceed_the_limit() {
        let log = Cell::new(Vec::new());
        let running = Cell::new(0usize);
        let most = Cell::new(0usize);
        let names = ["a", "b", "c", "d", "e"];
        let out = pollster::block_on(try_for_each_limited(names, 2, |name| {
            let mut l = log.take();
            l.push(name);
            log.set(l);
            running.set(running.get() + 1);
            most.set(most.get().max(running.get()));
            let (running, log) = (&running, &log);
            async move {
                Yields(2, log, "poll").await;
                running.set(running.get() - 1);
                Ok::<(), ()>(())
            }
        }));
        assert_eq!(out, Ok(()));
        assert_eq!(most.get(), 2);
        let started: Vec<_> = log.take().into_iter().filter(|n| *n != "poll").collect();
        assert_eq!(started, names);
    }

    #[test]
    fn limited_runs_stop_at_the_first_error() {
        let started = Cell::new(0);
        let out = pollster::block_on(try_for_each_limited(0..10, 3, |i| {
            started.set(started.get() + 1);
            async move {
                if i == 1 {
                    Err(i)
                } else {
                    std::future::pending::<()>().await;
                    Ok(())
                }
            }
        }));
        assert_eq!(out, Err(1));
        assert_eq!(started.get(), 3);
    }
}
