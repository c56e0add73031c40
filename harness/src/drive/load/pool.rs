//! The open model's connection pool: a fixed number of sessions, handed out first come,
//! first served. Arrivals that find every session busy wait here, and that wait counts
//! in their (corrected) latency.

use std::cell::{Cell, RefCell};

use tokio::sync::Semaphore;

use crate::drive::session::Connector;

/// A bounded pool of sessions on one worker thread.
pub(super) struct Pool<C: Connector> {
    connector: C,
    idle: RefCell<Vec<C::Session>>,
    permits: Semaphore,
    created: Cell<u64>,
}

impl<C: Connector> Pool<C> {
    /// A pool of at most `size` sessions, made lazily by `connector`.
    pub(super) fn new(connector: C, size: usize) -> Self {
        Self {
            connector,
            idle: RefCell::new(Vec::with_capacity(size)),
            permits: Semaphore::new(size.max(1)),
            created: Cell::new(0),
        }
    }

    /// Waits for a free session (FIFO) and takes it.
    pub(super) async fn acquire(&self) -> C::Session {
        // The semaphore is never closed, so acquiring cannot fail.
        if let Ok(permit) = self.permits.acquire().await {
            permit.forget();
        }
        let idle = self.idle.borrow_mut().pop();
        idle.unwrap_or_else(|| {
            let slot = self.created.get();
            self.created.set(slot + 1);
            self.connector.session(slot)
        })
    }

    /// Gives a session back.
    pub(super) fn release(&self, session: C::Session) {
        self.idle.borrow_mut().push(session);
        self.permits.add_permits(1);
    }
}
