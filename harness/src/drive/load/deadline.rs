//! The operation timeout, with one timer per user instead of one per operation.
//!
//! Arming a tokio timer (and clearing it when the operation ends first, as nearly every
//! one does) costs a trip through the timer wheel per operation. A [`Deadline`] keeps a
//! single timer armed and moves it lazily: an operation whose deadline is later than
//! the armed one leaves it be, and when it fires early the timer is re-armed to the
//! running operation's own deadline. So the timer is touched about once per timeout
//! period, yet every operation still times out exactly when its own deadline passes.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::time::{Instant, Sleep};

/// One user's (or one arrival's) operation timer.
#[derive(Default)]
pub(super) struct Deadline {
    /// The armed timer, made by the first operation (boxed: an idle user's future stays
    /// small, and the timer wheel keeps a pointer to it).
    timer: Option<Pin<Box<Sleep>>>,
}

impl Deadline {
    /// The timer, armed for an operation due by `deadline`. A timer armed past it (a
    /// shorter timeout than before), or one that has fired, is moved; one armed
    /// earlier is left be and moved when it fires.
    pub(super) fn arm(&mut self, deadline: Instant) -> Armed<'_> {
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() > deadline || timer.is_elapsed() {
            timer.as_mut().reset(deadline);
        }
        Armed {
            timer: timer.as_mut(),
            deadline,
        }
    }
}

/// The timer of one operation.
pub(super) struct Armed<'a> {
    timer: Pin<&'a mut Sleep>,
    deadline: Instant,
}

impl Armed<'_> {
    /// Polls `operation`: its output when it ends, `None` once the deadline has passed
    /// first. Until then the task is woken when the deadline passes (or when the timer,
    /// armed earlier, must move).
    pub(super) fn poll<F: Future>(
        &mut self,
        cx: &mut Context<'_>,
        operation: Pin<&mut F>,
    ) -> Poll<Option<F::Output>> {
        if let Poll::Ready(output) = operation.poll(cx) {
            return Poll::Ready(Some(output));
        }
        loop {
            match self.timer.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                // Armed for this deadline (or later): it has passed.
                Poll::Ready(()) if self.timer.deadline() >= self.deadline => {
                    return Poll::Ready(None)
                }
                // An earlier operation's deadline: the timer moves to this one's.
                Poll::Ready(()) => self.timer.as_mut().reset(self.deadline),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// `operation`, cut off by `timer` at `deadline` (as the load does it).
    async fn run<F: Future>(
        timer: &mut Deadline,
        deadline: Instant,
        operation: F,
    ) -> Option<F::Output> {
        let mut armed = timer.arm(deadline);
        let mut operation = std::pin::pin!(operation);
        std::future::poll_fn(|cx| armed.poll(cx, operation.as_mut())).await
    }

    #[tokio::test(start_paused = true)]
    async fn times_out_at_each_operations_own_deadline() {
        let mut timer = Deadline::default();
        let start = Instant::now();
        // Ends first: its output.
        let quick = run(&mut timer, start + Duration::from_secs(1), async { 7 }).await;
        assert_eq!(quick, Some(7));
        // A later deadline than the armed one: the early firing re-arms, and the
        // operation is cut off at its own deadline, not the first one.
        let later = start + Duration::from_millis(1500);
        let slow = run(&mut timer, later, std::future::pending::<()>()).await;
        assert_eq!(slow, None);
        assert!(Instant::now() >= later);
        assert!(Instant::now() < later + Duration::from_millis(100));
        // An earlier deadline than the armed one moves the timer back.
        let now = Instant::now();
        let sooner = run(
            &mut timer,
            now + Duration::from_millis(10),
            std::future::pending::<()>(),
        );
        assert_eq!(sooner.await, None);
        assert!(Instant::now() < now + Duration::from_millis(100));
        // One that ends before its deadline is not cut off.
        let now = Instant::now();
        let ok = run(&mut timer, now + Duration::from_secs(5), async {
            tokio::time::sleep(Duration::from_secs(4)).await;
            1
        });
        assert_eq!(ok.await, Some(1));
    }
}
