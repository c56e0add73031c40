//! The `Range` request header, single range only (RFC 9110 §14).
//!
//! Multi-range and syntactically invalid headers are ignored (the whole object is sent,
//! as the RFC allows); a valid range that starts past the end is unsatisfiable (416).

use std::ops::Range;

/// What a `Range` header asks of an object of a given size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable range: send everything with 200.
    Full,
    /// Send these bytes with 206 (never empty, always within the object).
    Partial(Range<u64>),
    /// Answer 416 with `Content-Range: bytes */size`.
    Unsatisfiable,
}

/// Interprets a `Range` header value for an object of `size` bytes.
pub fn parse(header: Option<&[u8]>, size: u64) -> RangeRequest {
    let Some(spec) = header
        .and_then(|h| std::str::from_utf8(h).ok())
        .and_then(|h| {
            let (unit, spec) = h.trim().split_once('=')?;
            unit.trim()
                .eq_ignore_ascii_case("bytes")
                .then_some(spec.trim())
        })
    else {
        return RangeRequest::Full;
    };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return RangeRequest::Full;
    };
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.trim().is_empty(), number(first), number(last)) {
        // "-n": the last n bytes.
        (true, _, Some(n)) => {
            if n == 0 || size == 0 {
                RangeRequest::Unsatisfiable
            } else {
                RangeRequest::Partial(size.saturating_sub(n)..size)
            }
        }
        // "a-": from a to the end.
        (false, Some(a), None) if last.trim().is_empty() => from(a, size, size),
        // "a-b": inclusive.
        (false, Some(a), Some(b)) if a <= b => from(a, b.saturating_add(1), size),
        _ => RangeRequest::Full,
    }
}

fn from(start: u64, end: u64, size: u64) -> RangeRequest {
    if start >= size {
        RangeRequest::Unsatisfiable
    } else {
        RangeRequest::Partial(start..end.min(size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use RangeRequest::*;

    fn p(h: &str, size: u64) -> RangeRequest {
        parse(Some(h.as_bytes()), size)
    }

    #[test]
    fn single_ranges() {
        assert_eq!(parse(None, 10), Full);
        assert_eq!(p("bytes=0-0", 10), Partial(0..1));
        assert_eq!(p("bytes=2-5", 10), Partial(2..6));
        assert_eq!(p("bytes=2-500", 10), Partial(2..10));
        assert_eq!(p("bytes=7-", 10), Partial(7..10));
        assert_eq!(p("bytes=-3", 10), Partial(7..10));
        assert_eq!(p("bytes=-30", 10), Partial(0..10));
        assert_eq!(p(" Bytes = 1 - 2 ", 10), Partial(1..3));
    }

    #[test]
    fn unsatisfiable_and_ignored() {
        assert_eq!(p("bytes=10-", 10), Unsatisfiable);
        assert_eq!(p("bytes=10-20", 10), Unsatisfiable);
        assert_eq!(p("bytes=-0", 10), Unsatisfiable);
        assert_eq!(p("bytes=0-", 0), Unsatisfiable);
        assert_eq!(p("bytes=-5", 0), Unsatisfiable);
        assert_eq!(p("bytes=5-2", 10), Full);
        assert_eq!(p("bytes=0-1,3-4", 10), Full);
        assert_eq!(p("items=0-1", 10), Full);
        assert_eq!(p("bytes=a-b", 10), Full);
        assert_eq!(p("bytes=+1-2", 10), Full);
        assert_eq!(p("bytes=-", 10), Full);
        assert_eq!(p("bytes=99999999999999999999999-", 10), Full);
        assert_eq!(parse(Some(&[0xff, 0xfe]), 10), Full);
    }

    proptest! {
        #[test]
        fn partial_ranges_are_within_the_object(h in ".{0,30}", size in 0u64..1000) {
            if let Partial(r) = p(&h, size) {
                prop_assert!(r.start < r.end && r.end <= size);
            }
        }

        #[test]
        fn explicit_ranges_are_exact(a in 0u64..1000, len in 1u64..1000, size in 1u64..2000) {
            let b = a + len - 1;
            let got = p(&format!("bytes={a}-{b}"), size);
            if a >= size {
                prop_assert_eq!(got, Unsatisfiable);
            } else {
                prop_assert_eq!(got, Partial(a..(b + 1).min(size)));
            }
        }
    }
}
