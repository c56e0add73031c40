//! Fuzzes the chunk-protocol decoder (`versus_targets::peer::codec`): arbitrary bytes, as
//! a remote peer could send them, go through `read_request` and `read_response`, and the
//! request-response forms with their peer-exchange fields (`versus_targets::peer::exchange`):
//! `read_question` and `read_answered`.
//!
//! What is checked:
//! - no panic, whatever the bytes;
//! - bounded allocation: decoding never holds more than [`FIXED_BUDGET`] plus four times
//!   the input's length in live heap memory (a buffer that doubles is briefly held twice
//!   while it moves), so a length prefix alone (a 9-byte message that announces an 8 MiB
//!   manifest) cannot make a peer allocate what was never sent;
//! - canonical encoding: a message that decodes re-encodes to exactly the bytes it was
//!   read from, and decodes again to the same value (a named fellow's peer id and address
//!   are checked for the round trip of the value only).

#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::executor::block_on;
use libfuzzer_sys::fuzz_target;
use versus_targets::peer::codec::{encode_request, encode_response, read_request, read_response};
use versus_targets::peer::exchange::{
    encode_fellows, encode_question, read_answered, read_question,
};

/// Live bytes a decode may use whatever its input: a whole chunk's buffer (256 KiB,
/// preallocated because it is the common case) and a holdings bitmap (32 KiB), rounded up.
const FIXED_BUDGET: usize = 512 << 10;

/// The system allocator, counting live bytes and their high-water mark.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(size: usize) {
    let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` with the same arguments; the counters only
// observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grew(new_size);
        let out = System.realloc(ptr, layout, new_size);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        out
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `decode` and fails if it held more live heap memory than allowed for `input`.
fn bounded<T>(input: &[u8], what: &str, decode: impl FnOnce() -> T) -> T {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let out = decode();
    let used = PEAK.load(Ordering::Relaxed).saturating_sub(before);
    let budget = FIXED_BUDGET + 4 * input.len();
    assert!(
        used <= budget,
        "{what} of {} bytes held {used} bytes of heap (budget {budget})",
        input.len()
    );
    out
}

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    if let Ok(ask) = bounded(data, "read_request", || block_on(read_request(&mut rest))) {
        let consumed = &data[..data.len() - rest.len()];
        let encoded = encode_request(&ask);
        assert_eq!(
            encoded, consumed,
            "request encoding is not canonical: {ask:?}"
        );
        let again = block_on(read_request(&mut &encoded[..])).expect("re-encoded request decodes");
        assert_eq!(again, ask);
    }
    let mut rest = data;
    if let Ok(res) = bounded(data, "read_response", || block_on(read_response(&mut rest))) {
        let consumed = &data[..data.len() - rest.len()];
        let encoded = encode_response(&res);
        assert_eq!(
            encoded, consumed,
            "response encoding is not canonical: {res:?}"
        );
        let again =
            block_on(read_response(&mut &encoded[..])).expect("re-encoded response decodes");
        assert_eq!(again, res);
    }
    let mut rest = data;
    if let Ok(question) = bounded(data, "read_question", || block_on(read_question(&mut rest))) {
        let consumed = &data[..data.len() - rest.len()];
        let encoded = encode_question(&question);
        assert_eq!(encoded, consumed, "question encoding is not canonical: {question:?}");
    }
    let mut rest = data;
    if let Ok(answered) = bounded(data, "read_answered", || block_on(read_answered(&mut rest))) {
        let mut encoded = encode_response(&answered.response);
        encode_fellows(&mut encoded, &answered.fellows);
        let again =
            block_on(read_answered(&mut &encoded[..])).expect("re-encoded answer decodes");
        assert_eq!(again, answered);
    }
});
