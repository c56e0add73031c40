//! One keep-alive HTTP/1.1 connection of the driver, on hyper's HTTP/1.1 client. Its
//! hyper `Connection` is polled inside the user's own task while an operation runs (no
//! task per connection, no cross-task wake-up per request); between operations nothing
//! runs for it at all.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::task::Poll;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{Builder, Connection, SendRequest};
use hyper::Request;
use hyper_util::rt::TokioIo;
use versus_targets::tls::client::Wire;

use super::http::{Exchanged, Received};
use crate::record::op::ErrorKind;

/// Read buffer per connection: small, because thousands of idle users each hold one.
/// hyper reads bodies through it in pieces of this size.
const READ_BUFFER: usize = 4096;

type ConnectionDriver = Connection<TokioIo<Wire>, Full<Bytes>>;

/// One keep-alive HTTP/1.1 connection.
pub(super) struct Conn {
    sender: SendRequest<Full<Bytes>>,
    driver: Pin<Box<ConnectionDriver>>,
    /// The connection has ended (closed by the server, or failed).
    ended: bool,
}

/// Awaits `fut` while driving the connection's I/O (`driver`); notes when it ends.
/// `None` when the connection ended while `fut` was still waiting: the ended connection
/// is still held here, so hyper's request handle would never learn it closed and would
/// wait forever (a server that crashed between two requests).
async fn drive<F: Future>(
    driver: &mut Pin<Box<ConnectionDriver>>,
    ended: &mut bool,
    fut: F,
) -> Option<F::Output> {
    let mut fut = pin!(fut);
    poll_fn(|cx| {
        if !*ended && driver.as_mut().poll(cx).is_ready() {
            *ended = true;
        }
        match fut.as_mut().poll(cx) {
            Poll::Ready(output) => Poll::Ready(Some(output)),
            Poll::Pending if *ended => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

impl Conn {
    /// An HTTP/1.1 connection over `wire`.
    pub(super) async fn new(wire: Wire) -> Result<Self, ErrorKind> {
        let (sender, driver) = Builder::new()
            .read_buf_exact_size(Some(READ_BUFFER))
            .handshake(TokioIo::new(wire))
            .await
            .map_err(|_| ErrorKind::Connect)?;
        Ok(Conn {
            sender,
            driver: Box::pin(driver),
            ended: false,
        })
    }

    /// Whether the connection can take the next request. A keep-alive connection the
    /// server has closed (`Connection: close`, an idle timeout) cannot: it is not an
    /// error, the caller opens a new one.
    pub(super) async fn ready(&mut self) -> bool {
        let Conn {
            sender,
            driver,
            ended,
        } = self;
        !*ended && matches!(drive(driver, ended, sender.ready()).await, Some(Ok(())))
    }

    /// Sends `request` and reads the whole response; the body is kept when `keep`.
    pub(super) async fn exchange(
        &mut self,
        request: Request<Full<Bytes>>,
        keep: bool,
    ) -> Result<Exchanged, ErrorKind> {
        let Conn {
            sender,
            driver,
            ended,
        } = self;
        let response = drive(driver, ended, sender.send_request(request))
            .await
            .ok_or(ErrorKind::Io)?
            .map_err(|_| ErrorKind::Io)?;
        let status = response.status();
        let mut body = response.into_body();
        let mut received = Received::new(keep);
        while let Some(frame) = drive(driver, ended, body.frame())
            .await
            .ok_or(ErrorKind::Body)?
        {
            received.add(frame)?;
        }
        Ok((status, received))
    }
}
