//! Reading a `PUT /objects` body within the node's limits: at most `--max-object-size`
//! bytes, no pause between two reads longer than `--body-timeout`, every byte received
//! charged to the node's `--max-body-in-flight` budget ([`LimitedBody`]), and the store's quota checked as
//! the bytes arrive, so a full store refuses early.
//!
//! The buffer is exact: one frame is kept as it is; with a declared `Content-Length`
//! (already checked against `--max-object-size`, and enforced by hyper) the buffer is
//! allocated once at that size; without one, frames are kept as they come and copied
//! once into a buffer of the final size. It never grows by doubling.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;

use crate::limits::{self, BudgetExhausted, LimitedBody, Limits, Reservation};
use crate::store::{Store, StoreFull};

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The object is larger than `--max-object-size` (413).
    #[error("the object is larger than this server's --max-object-size of {}; upload a smaller object or restart the server with a larger limit", crate::units::ByteSize(*.0))]
    TooLarge(u64),
    /// The node buffers too many upload bytes already (503).
    #[error(transparent)]
    Busy(#[from] BudgetExhausted),
    /// The store has no room for the object (503).
    #[error(transparent)]
    Full(#[from] StoreFull),
    /// The client paused longer than `--body-timeout` (408).
    #[error("the request body sent nothing for {}, this server's --body-timeout; send the body without pausing", crate::units::format_duration(*.0))]
    Timeout(Duration),
    /// The body could not be read (400).
    #[error("the request body could not be read ({0}); send the object bytes as the PUT body")]
    Body(String),
}

/// A body read whole, with the budget it holds until the handler drops it.
pub struct Upload {
    /// The bytes.
    pub bytes: Bytes,
    /// Their share of the node's upload budget.
    pub reservation: Reservation,
}

/// Reads `body` within `limits`, `max` bytes at most, with `declared` as its
/// `Content-Length` (if any, already at most `max`), checking room in `store` as it goes.
pub async fn read(
    body: Incoming,
    declared: Option<u64>,
    max: u64,
    limits: &Limits,
    store: &Store,
) -> Result<Upload, UploadError> {
    let mut body = LimitedBody::new(body, limits);
    let mut frames = Frames::new(declared);
    let mut total = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| classify(e, limits))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        total += data.len() as u64;
        if total > max {
            return Err(UploadError::TooLarge(max));
        }
        store.check_room(total)?;
        frames.push(data);
    }
    Ok(Upload {
        bytes: frames.finish(total),
        reservation: body.into_reservation(),
    })
}

/// The upload error a body error stands for.
fn classify(error: Box<dyn std::error::Error + Send + Sync>, limits: &Limits) -> UploadError {
    if limits::is_body_timeout(&*error) {
        return UploadError::Timeout(limits.body_timeout);
    }
    match error.downcast::<BudgetExhausted>() {
        Ok(busy) => UploadError::Busy(*busy),
        Err(other) => UploadError::Body(other.to_string()),
    }
}

/// The frames of a body, gathered without growing a buffer by doubling.
enum Frames {
    Empty { declared: Option<u64> },
    One { first: Bytes, declared: Option<u64> },
    Exact(BytesMut),
    Many(Vec<Bytes>),
}

impl Frames {
    fn new(declared: Option<u64>) -> Self {
        Frames::Empty { declared }
    }

    fn push(&mut self, data: Bytes) {
        *self = match std::mem::replace(self, Frames::Many(Vec::new())) {
            Frames::Empty { declared } => Frames::One {
                first: data,
                declared,
            },
            Frames::One { first, declared } => match declared {
                Some(len) if len >= (first.len() + data.len()) as u64 => {
                    let mut buf = BytesMut::with_capacity(len as usize);
                    buf.extend_from_slice(&first);
                    buf.extend_from_slice(&data);
                    Frames::Exact(buf)
                }
                _ => Frames::Many(vec![first, data]),
            },
            Frames::Exact(mut buf) if buf.capacity() - buf.len() >= data.len() => {
                buf.extend_from_slice(&data);
                Frames::Exact(buf)
            }
            Frames::Exact(buf) => Frames::Many(vec![buf.freeze(), data]),
            Frames::Many(mut frames) => {
                frames.push(data);
                Frames::Many(frames)
            }
        };
    }

    /// The body as one buffer of exactly `total` bytes.
    fn finish(self, total: u64) -> Bytes {
        match self {
            Frames::Empty { .. } => Bytes::new(),
            Frames::One { first, .. } => first,
            Frames::Exact(buf) => buf.freeze(),
            Frames::Many(frames) => {
                let mut buf = BytesMut::with_capacity(total as usize);
                for frame in frames {
                    buf.extend_from_slice(&frame);
                }
                buf.freeze()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gather(declared: Option<u64>, parts: &[&[u8]]) -> Bytes {
        let mut frames = Frames::new(declared);
        let mut total = 0;
        for part in parts {
            total += part.len() as u64;
            frames.push(Bytes::copy_from_slice(part));
        }
        frames.finish(total)
    }

    #[test]
    fn frames_are_gathered_whole_whatever_the_declared_length() {
        let parts: &[&[u8]] = &[b"ab", b"cde", b"f"];
        for declared in [None, Some(6), Some(3), Some(1 << 20)] {
            assert_eq!(&gather(declared, parts)[..], b"abcdef", "{declared:?}");
        }
        assert!(gather(Some(6), &[]).is_empty());
        assert_eq!(&gather(None, &[b"xyz"])[..], b"xyz");
    }

    proptest::proptest! {
        #[test]
        fn any_split_gathers_to_the_same_bytes(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000),
            cuts in proptest::collection::vec(0usize..2000, 0..8),
            declared_delta in proptest::option::of(-3i64..3),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.sort_unstable();
            let mut parts = Vec::new();
            let mut from = 0;
            for cut in cuts.into_iter().chain([bytes.len()]) {
                parts.push(&bytes[from..cut]);
                from = cut;
            }
            let parts: Vec<&[u8]> = parts.into_iter().filter(|p| !p.is_empty()).collect();
            let declared = declared_delta
                .map(|d| (bytes.len() as i64 + d).max(0) as u64);
            let gathered = gather(declared, &parts);
            proptest::prop_assert_eq!(&gathered[..], &bytes[..]);
        }
    }

    #[test]
    fn a_declared_length_gives_an_exact_buffer() {
        let mut frames = Frames::new(Some(6));
        for part in [&b"ab"[..], b"cd", b"ef"] {
            frames.push(Bytes::copy_from_slice(part));
        }
        match &frames {
            Frames::Exact(buf) => assert_eq!((buf.len(), buf.capacity()), (6, 6)),
            _ => panic!("not one exact buffer"),
        }
    }
}
