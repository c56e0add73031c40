//! A delay line: bytes written now reach the underlying stream `latency` later.
//!
//! This is how a node adds one-way latency without root: writes are copied into a queue
//! stamped with their due time, and a background task (the pump) writes each piece to the
//! socket when it is due. With jitter each piece's delay is the latency plus or minus a
//! uniform share of the jitter, never less than the piece before it (a byte stream is
//! not reordered: a late piece holds back the ones behind it, as on a TCP connection). Throughput is not reduced — like a long cable, many bytes are
//! in flight at once — but the amount in flight is bounded by a window (like a TCP
//! window), so per-connection throughput is at most `window / latency`.
//!
//! Flushing returns at once (the bytes are "on the wire"); shutting down waits until the
//! queue has drained and the underlying stream is shut down. When the writing side is
//! dropped, the pump still delivers what is queued, for at most [`CLOSE_GRACE`].

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::io::AsyncWrite;
use tokio::time::{Instant, Sleep};

/// How long queued bytes are still delivered after the writer is gone.
pub const CLOSE_GRACE: Duration = Duration::from_secs(30);

/// Writing half of a delay line; the pump task owns the real stream.
#[derive(Debug)]
pub(crate) struct DelayLine {
    shared: Arc<Mutex<State>>,
    latency: Duration,
    jitter: Option<Jitter>,
    window: usize,
}

/// Uniform offsets in ±`spread`, from a small generator of its own (SplitMix64): jitter
/// needs no statistical quality, only spread and independence between connections.
#[derive(Debug)]
pub(super) struct Jitter {
    spread: Duration,
    state: u64,
}

impl Jitter {
    pub(super) fn new(spread: Duration) -> Option<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static STREAMS: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
        if spread.is_zero() {
            return None;
        }
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let stream = STREAMS.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        Some(Jitter {
            spread,
            state: clock ^ stream,
        })
    }

    /// The next uniform number in [0, 1).
    fn next_unit(&mut self) -> f64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `latency` moved by a uniform offset in ±spread, at least zero.
    pub(super) fn delay(&mut self, latency: Duration) -> Duration {
        let offset = (self.next_unit() * 2.0 - 1.0) * self.spread.as_secs_f64();
        Duration::from_secs_f64((latency.as_secs_f64() + offset).max(0.0))
    }
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<(Instant, Bytes)>,
    queued: usize,
    /// Due time of the last piece queued: later pieces are never due before it.
    last_due: Option<Instant>,
    /// The writer, waiting for room in the window or for shutdown to finish.
    writer: Option<Waker>,
    /// The pump, waiting for data.
    pump: Option<Waker>,
    closing: bool,
    finished: bool,
    error: Option<(io::ErrorKind, String)>,
}

impl State {
    fn fail(&mut self, kind: io::ErrorKind, message: String) {
        self.error.get_or_insert((kind, message));
        self.finished = true;
        self.wake_writer();
    }

    fn wake_writer(&mut self) {
        if let Some(waker) = self.writer.take() {
            waker.wake();
        }
    }

    fn error(&self) -> Option<io::Error> {
        self.error
            .as_ref()
            .map(|(kind, message)| io::Error::new(*kind, message.clone()))
    }
}

fn lock(shared: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic elsewhere while holding the lock leaves the queue consistent enough to go on.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl DelayLine {
    /// Starts the pump for `write` on the current Tokio runtime: pieces are due
    /// `latency` ± up to `jitter` after they are written.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub(crate) fn spawn<W>(write: W, latency: Duration, jitter: Duration, window: usize) -> Self
    where
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let shared = Arc::new(Mutex::new(State::default()));
        let pump = Pump {
            shared: Arc::clone(&shared),
            write,
            sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
            give_up: None,
            needs_flush: false,
        };
        tokio::spawn(pump);
        DelayLine {
            shared,
            latency,
            jitter: Jitter::new(jitter),
            window: window.max(1),
        }
    }

    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let delay = match self.jitter.as_mut() {
            Some(j) => j.delay(self.latency),
            None => self.latency,
        };
        let mut st = lock(&self.shared);
        if let Some(err) = st.error() {
            return Poll::Ready(Err(err));
        }
        if st.closing {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "write after shutdown of a delayed stream",
            )));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let room = self.window.saturating_sub(st.queued);
        if room == 0 {
            st.writer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.len().min(room);
        let due = (Instant::now() + delay).max(st.last_due.unwrap_or_else(Instant::now));
        st.last_due = Some(due);
        st.queue.push_back((due, Bytes::copy_from_slice(&buf[..n])));
        st.queued += n;
        if let Some(pump) = st.pump.take() {
            pump.wake();
        }
        Poll::Ready(Ok(n))
    }

    pub(crate) fn poll_flush(&self) -> Poll<io::Result<()>> {
        match lock(&self.shared).error() {
            Some(err) => Poll::Ready(Err(err)),
            None => Poll::Ready(Ok(())),
        }
    }

    pub(crate) fn poll_shutdown(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut st = lock(&self.shared);
        st.closing = true;
        if st.finished {
            return Poll::Ready(st.error().map_or(Ok(()), Err));
        }
        st.writer = Some(cx.waker().clone());
        if let Some(pump) = st.pump.take() {
            pump.wake();
        }
        Poll::Pending
    }
}

impl Drop for DelayLine {
    fn drop(&mut self) {
        let mut st = lock(&self.shared);
        st.closing = true;
        st.writer = None;
        if let Some(pump) = st.pump.take() {
            pump.wake();
        }
    }
}

/// The background task that moves due bytes from the queue to the stream.
struct Pump<W> {
    shared: Arc<Mutex<State>>,
    write: W,
    sleep: Pin<Box<Sleep>>,
    give_up: Option<Pin<Box<Sleep>>>,
    needs_flush: bool,
}

impl<W: AsyncWrite + Unpin> Future for Pump<W> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let shared = Arc::clone(&this.shared);
        let mut st = lock(&shared);
        loop {
            if st.finished {
                return Poll::Ready(());
            }
            if st.closing {
                let give_up = this
                    .give_up
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(CLOSE_GRACE)));
                if give_up.as_mut().poll(cx).is_ready() {
                    let message =
                        format!("delayed bytes not delivered within {CLOSE_GRACE:?} of close");
                    st.fail(io::ErrorKind::TimedOut, message);
                    return Poll::Ready(());
                }
            }
            let Some((due, data)) = st.queue.front_mut() else {
                if this.needs_flush {
                    match Pin::new(&mut this.write).poll_flush(cx) {
                        Poll::Ready(Ok(())) => this.needs_flush = false,
                        Poll::Ready(Err(e)) => {
                            st.fail(e.kind(), e.to_string());
                            return Poll::Ready(());
                        }
                        Poll::Pending => return Poll::Pending,
                    }
                }
                if !st.closing {
                    st.pump = Some(cx.waker().clone());
                    return Poll::Pending;
                }
                return match Pin::new(&mut this.write).poll_shutdown(cx) {
                    Poll::Ready(result) => {
                        if let Err(e) = result {
                            st.fail(e.kind(), e.to_string());
                        }
                        st.finished = true;
                        st.wake_writer();
                        Poll::Ready(())
                    }
                    Poll::Pending => Poll::Pending,
                };
            };
            if *due > Instant::now() {
                this.sleep.as_mut().reset(*due);
                if this.sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                continue;
            }
            match Pin::new(&mut this.write).poll_write(cx, data) {
                Poll::Ready(Ok(0)) => {
                    st.fail(
                        io::ErrorKind::WriteZero,
                        "the stream accepted no bytes".into(),
                    );
                    return Poll::Ready(());
                }
                Poll::Ready(Ok(n)) => {
                    data.advance(n);
                    if data.is_empty() {
                        st.queue.pop_front();
                    }
                    st.queued -= n;
                    this.needs_flush = true;
                    st.wake_writer();
                }
                Poll::Ready(Err(e)) => {
                    st.fail(e.kind(), e.to_string());
                    return Poll::Ready(());
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
