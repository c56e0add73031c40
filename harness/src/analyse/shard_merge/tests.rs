//! The numeric core of the exact merge, property-tested: samples split at random over
//! k histograms, carried through the report's encoding and added, give exactly the
//! histogram of all the samples — every bucket, not only the percentiles.

use proptest::prelude::*;

use super::ops::add;
use crate::record::histogram::{decode, encode, new_latency, record_us, Latency};

/// (value, count) of every non-empty bucket.
fn buckets(h: &Latency) -> Vec<(u64, u64)> {
    h.iter_recorded()
        .map(|v| (v.value_iterated_to(), v.count_at_value()))
        .collect()
}

proptest! {
    #[test]
    fn split_histograms_add_up_to_the_whole(
        samples in proptest::collection::vec((1u64..5_000_000_000, 0usize..8), 0..2000),
        k in 1usize..8,
    ) {
        let mut whole = new_latency();
        let mut parts: Vec<Latency> = (0..k).map(|_| new_latency()).collect();
        for (value, shard) in &samples {
            record_us(&mut whole, *value);
            record_us(&mut parts[shard % k], *value);
        }
        let mut merged = new_latency();
        for part in &parts {
            // As a shard report carries it: V2 + DEFLATE, base64.
            let carried = decode(&encode(part)).expect("decodes");
            add(&mut merged, &carried, "shard").expect("same configuration");
        }
        prop_assert_eq!(merged.len(), whole.len());
        prop_assert_eq!(buckets(&merged), buckets(&whole));
        prop_assert_eq!(merged.max(), whole.max());
        prop_assert_eq!(merged.min(), whole.min());
    }
}

#[test]
fn histograms_of_another_precision_are_refused() {
    let mut ours = new_latency();
    record_us(&mut ours, 10);
    let mut theirs = Latency::new_with_bounds(1, 1_000_000, 2).expect("bounds");
    theirs.record(10).expect("in range");
    let e = add(&mut ours, &theirs, "shard-1.json").expect_err("refused");
    assert!(
        e.to_string().contains("shard-1.json") && e.to_string().contains("significant figures")
    );
}
