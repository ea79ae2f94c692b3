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
}
