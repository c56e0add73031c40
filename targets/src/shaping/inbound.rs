//! The receiving half of a delay line: bytes that arrive now are handed to the reader
//! `latency` later.
//!
//! A node that opens a connection to another region applies both directions of that
//! region's latency (see [`super::route`]), so what it receives must be delayed too. A
//! background task (the pump) reads the socket as bytes arrive, stamps each piece with
//! its due time (the latency ± the jitter, never before the piece before it) and queues
//! it; the reader gets a piece once it is due. The end of the stream (or an error) is
//! delivered after the last piece, when it is due itself. At most `window` bytes wait in
//! the queue: beyond that the pump stops reading and TCP's own flow control holds the
//! sender back, as with a full receive window.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::delay::Jitter;

/// Bytes the pump reads from the socket at once.
const READ_CHUNK: usize = 16 << 10;

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<(Instant, Bytes)>,
    queued: usize,
    last_due: Option<Instant>,
    /// When the stream's end is due, and the error it ended with, if any.
    end: Option<(Instant, Option<(io::ErrorKind, String)>)>,
    reader: Option<Waker>,
    pump: Option<Waker>,
    /// The reader is gone: the pump stops.
    dropped: bool,
}

impl State {
    fn due(&mut self, delay: Duration) -> Instant {
        let now = Instant::now();
        let due = (now + delay).max(self.last_due.unwrap_or(now));
        self.last_due = Some(due);
        due
    }

    fn wake_reader(&mut self) {
        if let Some(w) = self.reader.take() {
            w.wake();
        }
    }
}

fn lock(shared: &Mutex<State>) -> MutexGuard<'_, State> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Reading half of an inbound delay line; the pump task owns the real stream.
#[derive(Debug)]
pub(crate) struct DelayedRead {
    shared: Arc<Mutex<State>>,
    sleep: Pin<Box<Sleep>>,
}

impl DelayedRead {
    /// Starts the pump for `read` on the current Tokio runtime: what arrives is handed
    /// over `latency` ± up to `jitter` later, with at most `window` bytes waiting.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub(crate) fn spawn<R>(read: R, latency: Duration, jitter: Duration, window: usize) -> Self
    where
        R: AsyncRead + Unpin + Send + 'static,
    {
        let shared = Arc::new(Mutex::new(State::default()));
        tokio::spawn(Pump {
            shared: Arc::clone(&shared),
            read,
            buf: vec![0; READ_CHUNK].into_boxed_slice(),
            latency,
            jitter: Jitter::new(jitter),
            window: window.max(1),
        });
        DelayedRead {
            shared,
            sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
        }
    }

    /// Hands over what is due, waits for what is not.
    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let shared = Arc::clone(&self.shared);
        let mut st = lock(&shared);
        loop {
            let due = if let Some((due, data)) = st.queue.front_mut() {
                if *due <= Instant::now() {
                    let n = data.len().min(buf.remaining());
                    buf.put_slice(&data[..n]);
                    data.advance(n);
                    if data.is_empty() {
                        st.queue.pop_front();
                    }
                    st.queued -= n;
                    if let Some(pump) = st.pump.take() {
                        pump.wake();
                    }
                    return Poll::Ready(Ok(()));
                }
                *due
            } else if let Some((due, error)) = &st.end {
                if *due <= Instant::now() {
                    return Poll::Ready(match error {
                        Some((kind, message)) => Err(io::Error::new(*kind, message.clone())),
                        None => Ok(()),
                    });
                }
                *due
            } else {
                st.reader = Some(cx.waker().clone());
                return Poll::Pending;
            };
            self.sleep.as_mut().reset(due);
            if self.sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

impl Drop for DelayedRead {
    fn drop(&mut self) {
        let mut st = lock(&self.shared);
        st.dropped = true;
        if let Some(pump) = st.pump.take() {
            pump.wake();
        }
    }
}

/// The background task that moves arriving bytes from the stream to the queue.
struct Pump<R> {
    shared: Arc<Mutex<State>>,
    read: R,
    buf: Box<[u8]>,
    latency: Duration,
    jitter: Option<Jitter>,
    window: usize,
}

impl<R> Pump<R> {
    fn delay(&mut self) -> Duration {
        match self.jitter.as_mut() {
            Some(j) => j.delay(self.latency),
            None => self.latency,
        }
    }
}

impl<R: AsyncRead + Unpin> Future for Pump<R> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let shared = Arc::clone(&this.shared);
        loop {
            {
                let mut st = lock(&shared);
                if st.dropped || st.end.is_some() {
                    return Poll::Ready(());
                }
                // Woken by the reader: for room in the window, or when it is dropped
                // (also while the socket is quiet, so the stream is not held open).
                st.pump = Some(cx.waker().clone());
                if st.queued >= this.window {
                    return Poll::Pending;
                }
            }
            let mut read = ReadBuf::new(&mut this.buf);
            let result = std::task::ready!(Pin::new(&mut this.read).poll_read(cx, &mut read));
            let got = read.filled().len();
            let piece = Bytes::copy_from_slice(read.filled());
            let delay = this.delay();
            let mut st = lock(&shared);
            let due = st.due(delay);
            match result {
                Ok(()) if got > 0 => {
                    st.queue.push_back((due, piece));
                    st.queued += got;
                    st.wake_reader();
                }
                Ok(()) => {
                    st.end = Some((due, None));
                    st.wake_reader();
                    return Poll::Ready(());
                }
                Err(e) => {
                    st.end = Some((due, Some((e.kind(), e.to_string()))));
                    st.wake_reader();
                    return Poll::Ready(());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    struct Reader(DelayedRead);

    impl AsyncRead for Reader {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            self.get_mut().0.poll_read(cx, buf)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn arrivals_are_handed_over_one_latency_later_then_the_end() {
        let (mut a, b) = tokio::io::duplex(1 << 16);
        let mut r = Reader(DelayedRead::spawn(
            b,
            Duration::from_millis(30),
            Duration::ZERO,
            1 << 20,
        ));
        let start = Instant::now();
        a.write_all(b"ping").await.unwrap();
        let mut got = [0u8; 4];
        r.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");
        assert_eq!(start.elapsed(), Duration::from_millis(30));
        // A burst arrives together, one latency after it was sent; then the end.
        let start = Instant::now();
        for i in 0..10u8 {
            a.write_all(&[i; 1000]).await.unwrap();
        }
        drop(a);
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest.len(), 10_000);
        assert!(rest.windows(2).all(|w| w[0] <= w[1]), "in order");
        assert!(
            start.elapsed() < Duration::from_millis(35),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_window_stops_the_reading() {
        let (mut a, b) = tokio::io::duplex(4096);
        let _r = DelayedRead::spawn(b, Duration::from_secs(1), Duration::ZERO, 8192);
        // The window (8 KiB) and the pipe (4 KiB) fill, then the writer waits.
        let wrote =
            tokio::time::timeout(Duration::from_millis(100), a.write_all(&[0u8; 64 << 10])).await;
        assert!(wrote.is_err(), "the writer must be held back");
    }
}
