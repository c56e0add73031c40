//! Buffers of the HTTP/1.1 exchanges, pooled per worker thread: an exchange takes a
//! pair (the request it writes, the response it reads) and gives it back when it ends,
//! so a connection between two operations holds none and a thread keeps only as many
//! as it has exchanges running at once.

use std::cell::RefCell;

use bytes::BytesMut;

/// What an exchange's first read asks the socket for: a small response (a 1 KiB body
/// and its head) in one read, and little memory held by each exchange in flight.
pub(super) const READ_FIRST: usize = 4 * 1024;
/// Reads that come back full double, up to this (a large body in few reads).
pub(super) const READ_MAX: usize = 64 * 1024;
/// Buffers larger than this (a large request body, a huge response head) are not kept.
const KEEP_AT_MOST: usize = 2 * READ_MAX;
/// Pairs a thread keeps for its next exchanges.
const POOLED: usize = 256;

/// One exchange's buffers.
#[derive(Default)]
pub(super) struct Pooled {
    write: Vec<u8>,
    read: BytesMut,
}

impl Pooled {
    /// The request's bytes.
    pub(super) fn write(&mut self) -> &mut Vec<u8> {
        &mut self.write
    }

    /// The response's bytes.
    pub(super) fn read(&mut self) -> &mut BytesMut {
        &mut self.read
    }
}

thread_local! {
    static POOL: RefCell<Vec<Pooled>> = const { RefCell::new(Vec::new()) };
}

/// A pair from this thread's pool (new ones when it is empty).
pub(super) fn take() -> Pooled {
    POOL.with(|pool| pool.borrow_mut().pop())
        .unwrap_or_default()
}

/// Gives `buffers` back to this thread's pool, emptied.
pub(super) fn give(mut buffers: Pooled) {
    if buffers.write.capacity() > KEEP_AT_MOST || buffers.read.capacity() > KEEP_AT_MOST {
        return;
    }
    buffers.write.clear();
    buffers.read.clear();
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.len() < POOLED {
            pool.push(buffers);
        }
    });
}
