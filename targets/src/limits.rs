//! Request limits shared by every HTTP plane (the server's data plane and every admin
//! plane), as nginx and hyper users expect them:
//!
//! - an idle body timeout ([`LimitArgs::body_timeout`]): a request body that sends
//!   nothing for this long is cut, like nginx's `client_body_timeout`;
//! - a node-wide budget of request-body bytes buffered at once ([`BodyBudget`]): an upload
//!   that would take the node past it is refused with 503 instead of growing its memory;
//! - a cap on connections served at once per plane ([`ConnectionLimit`]): beyond it the
//!   accept loop waits, and new clients wait in the kernel's listen backlog.
//!
//! The budget counts bytes actually received, never a declared `Content-Length`, so a
//! client that declares 64 MiB and then trickles holds nothing but its connection (and the
//! body timeout takes that away).

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Buf as _;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower_http::timeout::{TimeoutBody, TimeoutError};

use crate::units::{ByteSize, HumanDuration};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Default of `--body-timeout`.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Default of `--max-body-in-flight`: one largest object (the default `--max-object-size`).
pub const DEFAULT_BODY_IN_FLIGHT: u64 = 1 << 30;
/// Default of `--max-connections`.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 4096;

/// Command-line options for the request limits of a node's HTTP planes.
#[derive(clap::Args, Debug, Clone)]
pub struct LimitArgs {
    /// Cut a request whose body sends nothing for this long, between two reads (e.g. "30s").
    #[arg(long, value_name = "DUR", default_value = "30s")]
    pub body_timeout: HumanDuration,
    /// Request-body bytes this node buffers at once over all uploads; an upload that would
    /// pass it gets 503 (retry later). Keep it at least --max-object-size.
    #[arg(long, value_name = "SIZE", default_value = "1GiB")]
    pub max_body_in_flight: ByteSize,
    /// Connections each HTTP plane serves at once; more wait in the listen backlog until
    /// one closes.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
}

impl Default for LimitArgs {
    /// The same values as the command line's defaults.
    fn default() -> Self {
        LimitArgs {
            body_timeout: HumanDuration(DEFAULT_BODY_TIMEOUT),
            max_body_in_flight: ByteSize(DEFAULT_BODY_IN_FLIGHT),
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// The limits of one node, built once from [`LimitArgs`] and shared by its planes.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The longest pause between two reads of a request body.
    pub body_timeout: Duration,
    /// Request-body bytes buffered at once, over the whole node.
    pub budget: BodyBudget,
    /// Connections served at once, per plane (each plane gets its own [`ConnectionLimit`]).
    pub max_connections: u32,
}

impl Limits {
    /// The limits `args` describe.
    pub fn new(args: &LimitArgs) -> Self {
        Limits {
            body_timeout: args.body_timeout.0,
            budget: BodyBudget::new(args.max_body_in_flight.bytes()),
            max_connections: args.max_connections,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new(&LimitArgs::default())
    }
}

/// A node-wide budget of request-body bytes buffered at once.
#[derive(Debug, Clone)]
pub struct BodyBudget(Arc<BudgetInner>);

#[derive(Debug)]
struct BudgetInner {
    capacity: u64,
    used: AtomicU64,
}

/// The budget was spent: an upload asked for more than is left.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("this node is already buffering {used} bytes of uploads, its --max-body-in-flight is {capacity}; retry later")]
pub struct BudgetExhausted {
    /// Bytes in use when the request was refused.
    pub used: u64,
    /// The budget.
    pub capacity: u64,
}

impl BodyBudget {
    /// A budget of `capacity` bytes.
    pub fn new(capacity: u64) -> Self {
        BodyBudget(Arc::new(BudgetInner {
            capacity,
            used: AtomicU64::new(0),
        }))
    }

    /// Bytes in use now.
    pub fn used(&self) -> u64 {
        self.0.used.load(Ordering::Relaxed)
    }

    /// An empty reservation, to grow as body bytes arrive; released when dropped.
    pub fn reserve(&self) -> Reservation {
        Reservation {
            budget: self.clone(),
            held: 0,
        }
    }

    fn take(&self, n: u64) -> Result<(), BudgetExhausted> {
        let inner = &self.0;
        inner
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|&after| after <= inner.capacity)
            })
            .map(drop)
            .map_err(|used| BudgetExhausted {
                used,
                capacity: inner.capacity,
            })
    }

    fn give(&self, n: u64) {
        self.0.used.fetch_sub(n, Ordering::AcqRel);
    }
}

/// Bytes of a [`BodyBudget`] held by one request; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    budget: BodyBudget,
    held: u64,
}

impl Reservation {
    /// Holds `n` more bytes, or refuses when the budget has not that many left.
    pub fn grow(&mut self, n: u64) -> Result<(), BudgetExhausted> {
        self.budget.take(n)?;
        self.held += n;
        Ok(())
    }

    /// Bytes held.
    pub fn held(&self) -> u64 {
        self.held
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.give(self.held);
    }
}

/// At most N connections served at once on one plane.
#[derive(Debug, Clone)]
pub struct ConnectionLimit(Arc<Semaphore>);

impl ConnectionLimit {
    /// A limit of `max` connections.
    pub fn new(max: u32) -> Self {
        ConnectionLimit(Arc::new(Semaphore::new(max as usize)))
    }

    /// Waits for a free slot; the connection holds the permit while it is served. `None`
    /// only if the semaphore were closed, which it never is (then nothing is limited).
    pub async fn acquire(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.0).acquire_owned().await.ok()
    }
}

/// A request body within the node's limits: cut after [`Limits::body_timeout`] without a
/// frame, and each data frame charged to the node's [`BodyBudget`] (given back when the
/// body is dropped); a frame past the budget ends the body with [`BudgetExhausted`].
pub struct LimitedBody<B> {
    inner: Pin<Box<TimeoutBody<B>>>,
    reservation: Reservation,
}

impl<B> LimitedBody<B> {
    /// Wraps `body` in `limits`.
    pub fn new(body: B, limits: &Limits) -> Self {
        LimitedBody {
            inner: Box::pin(TimeoutBody::new(limits.body_timeout, body)),
            reservation: limits.budget.reserve(),
        }
    }
}

impl<B> LimitedBody<B> {
    /// The budget this body holds, to keep until its bytes are stored.
    pub fn into_reservation(self) -> Reservation {
        self.reservation
    }
}

/// Whether a body error is the idle timeout of a [`TimeoutBody`] (or a [`LimitedBody`]).
pub fn is_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    error.is::<TimeoutError>()
}

impl<B> Body for LimitedBody<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, BoxError>>> {
        let this = &mut *self;
        let frame = std::task::ready!(this.inner.as_mut().poll_frame(cx));
        if let Some(Ok(frame)) = &frame {
            if let Some(data) = frame.data_ref() {
                if let Err(e) = this.reservation.grow(data.remaining() as u64) {
                    return Poll::Ready(Some(Err(Box::new(e))));
                }
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        limits: LimitArgs,
    }

    #[test]
    fn defaults_match_the_command_line() {
        use clap::Parser as _;
        let parsed = Cli::try_parse_from(["versus"]).unwrap().limits;
        let default = LimitArgs::default();
        assert_eq!(parsed.body_timeout, default.body_timeout);
        assert_eq!(parsed.max_body_in_flight, default.max_body_in_flight);
        assert_eq!(parsed.max_connections, default.max_connections);
        assert!(Cli::try_parse_from(["versus", "--max-connections", "0"]).is_err());
    }

    #[test]
    fn a_budget_refuses_past_its_capacity_and_frees_on_drop() {
        let budget = BodyBudget::new(100);
        let mut a = budget.reserve();
        a.grow(60).unwrap();
        let mut b = budget.reserve();
        let err = b.grow(41).unwrap_err();
        assert_eq!((err.used, err.capacity), (60, 100));
        b.grow(40).unwrap();
        assert_eq!(budget.used(), 100);
        drop(a);
        assert_eq!(budget.used(), 40);
        b.grow(60).unwrap();
        drop(b);
        assert_eq!(budget.used(), 0);
        assert!(budget.reserve().grow(u64::MAX).is_err());
    }
}
