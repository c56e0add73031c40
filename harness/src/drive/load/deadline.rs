//! The operation timeout, with one timer per user instead of one per operation.
//!
//! Arming a tokio timer (and clearing it when the operation ends first, as nearly every
//! one does) costs a trip through the timer wheel per operation. A [`Deadline`] keeps a
//! single timer armed and moves it lazily: an operation whose deadline is later than
//! the armed one leaves it be, and when it fires early the timer is re-armed to the
//! running operation's own deadline. So the timer is touched about once per timeout
//! period, yet every operation still times out exactly when its own deadline passes.

use std::future::Future;
use std::pin::{pin, Pin};
use std::task::Poll;

use tokio::time::{Instant, Sleep};

/// One user's (or one arrival's) operation timer.
#[derive(Default)]
pub(super) struct Deadline {
    /// The armed timer, made by the first operation (boxed: an idle user's future stays
    /// small, and the timer wheel keeps a pointer to it).
    timer: Option<Pin<Box<Sleep>>>,
}

impl Deadline {
    /// Runs `operation` until it ends or `deadline` passes (`None`: timed out; the
    /// operation is dropped unfinished).
    pub(super) async fn run<F: Future>(
        &mut self,
        deadline: Instant,
        operation: F,
    ) -> Option<F::Output> {
        let timer = match &mut self.timer {
            Some(timer) => {
                // A timer armed past this deadline (a shorter one than before), or one
                // that has fired, is moved; an earlier one is moved when it fires.
                if timer.deadline() > deadline || timer.is_elapsed() {
                    timer.as_mut().reset(deadline);
                }
                timer
            }
            None => self
                .timer
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        let mut operation = pin!(operation);
        std::future::poll_fn(|cx| {
            if let Poll::Ready(output) = operation.as_mut().poll(cx) {
                return Poll::Ready(Some(output));
            }
            loop {
                match timer.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    // Armed for this deadline (or later): it has passed.
                    Poll::Ready(()) if timer.deadline() >= deadline => return Poll::Ready(None),
                    // An earlier operation's deadline: the timer moves to this one's.
                    Poll::Ready(()) => timer.as_mut().reset(deadline),
                }
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn times_out_at_each_operations_own_deadline() {
        let mut timer = Deadline::default();
        let start = Instant::now();
        // Ends first: its output.
        let quick = timer.run(start + Duration::from_secs(1), async { 7 }).await;
        assert_eq!(quick, Some(7));
        // A later deadline than the armed one: the early firing re-arms, and the
        // operation is cut off at its own deadline, not the first one.
        let later = start + Duration::from_millis(1500);
        let slow = timer.run(later, std::future::pending::<()>()).await;
        assert_eq!(slow, None);
        assert!(Instant::now() >= later);
        assert!(Instant::now() < later + Duration::from_millis(100));
        // An earlier deadline than the armed one moves the timer back.
        let now = Instant::now();
        let sooner = timer.run(
            now + Duration::from_millis(10),
            std::future::pending::<()>(),
        );
        assert_eq!(sooner.await, None);
        assert!(Instant::now() < now + Duration::from_millis(100));
        // One that ends before its deadline is not cut off.
        let now = Instant::now();
        let ok = timer.run(now + Duration::from_secs(5), async {
            tokio::time::sleep(Duration::from_secs(4)).await;
            1
        });
        assert_eq!(ok.await, Some(1));
    }
}
