//! Latency histograms: one shape for every histogram Versus records (microseconds,
//! 3 significant figures), their summary (min, percentiles, max, mean) and their
//! portable encoding (HdrHistogram V2 + DEFLATE, base64) for report.json.

use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// A latency histogram in microseconds.
pub type Latency = Histogram<u64>;

/// Highest latency tracked before the histogram grows: one hour in microseconds.
const HIGHEST_US: u64 = 3_600_000_000;

/// A new, empty latency histogram (µs, 3 significant figures, grows if it must).
pub fn new_latency() -> Latency {
    // Bounds are constants that hdrhistogram accepts; failing here is a programming error.
    let mut h =
        Histogram::new_with_bounds(1, HIGHEST_US, 3).expect("constant histogram bounds are valid");
    h.auto(true);
    h
}

/// Records `us` microseconds, clamping 0 to 1 µs (the lowest trackable value).
pub fn record_us(h: &mut Latency, us: u64) {
    h.saturating_record(us.max(1));
}

/// min, p50, p90, p99, p99.9, max and mean of a histogram, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LatencySummary {
    /// Smallest value.
    pub min: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest value.
    pub max: u64,
    /// Arithmetic mean.
    pub mean: f64,
}

impl LatencySummary {
    /// Summarises `h`; an empty histogram gives all zeros.
    pub fn of(h: &Latency) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        Self {
            min: h.min(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean(),
        }
    }

    /// The named statistic (`p99`, `mean`, …), as used by thresholds.
    pub fn stat(&self, name: &str) -> Option<f64> {
        Some(match name {
            "min" => self.min as f64,
            "p50" => self.p50 as f64,
            "p90" => self.p90 as f64,
            "p99" => self.p99 as f64,
            "p999" => self.p999 as f64,
            "max" => self.max as f64,
            "mean" => self.mean,
            _ => return None,
        })
    }
}

/// A histogram that could not be decoded from a report.
#[derive(Debug, thiserror::Error)]
#[error("cannot decode histogram: {0}")]
pub struct DecodeError(String);

/// Serialises `h` as V2 + DEFLATE bytes.
pub fn to_bytes(h: &Latency) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail for I/O reasons; a serialization error would mean
    // a corrupt in-memory histogram, which we report as an empty encoding.
    if V2DeflateSerializer::new().serialize(h, &mut out).is_err() {
        out.clear();
    }
    out
}

/// Serialises `h` as base64 of V2 + DEFLATE (the report's `histogram` field).
pub fn encode(h: &Latency) -> String {
    base64::engine::general_purpose::STANDARD.encode(to_bytes(h))
}

/// Decodes V2 (+ DEFLATE) bytes.
pub fn from_bytes(bytes: &[u8]) -> Result<Latency, DecodeError> {
    let mut h: Latency = Deserializer::new()
        .deserialize(&mut &bytes[..])
        .map_err(|e| DecodeError(format!("{e:?}")))?;
    h.auto(true);
    Ok(h)
}

/// Decodes the report's base64 `histogram` field.
pub fn decode(text: &str) -> Result<Latency, DecodeError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| DecodeError(e.to_string()))?;
    from_bytes(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn summary_of_known_values() {
        let mut h = new_latency();
        for us in 1..=1000 {
            record_us(&mut h, us);
        }
        let s = LatencySummary::of(&h);
        assert_eq!((s.min, s.max), (1, 1000));
        assert_eq!(s.p50, 500);
        assert_eq!(s.p99, 990);
        assert!((s.mean - 500.5).abs() < 0.5);
        assert_eq!(
            LatencySummary::of(&new_latency()),
            LatencySummary::default()
        );
    }

    proptest! {
        #[test]
        fn encoding_round_trips(values in proptest::collection::vec(0u64..10_000_000_000, 0..200)) {
            let mut h = new_latency();
            for v in &values { record_us(&mut h, *v); }
            let back = decode(&encode(&h)).unwrap();
            prop_assert_eq!(back.len(), h.len());
            prop_assert_eq!(LatencySummary::of(&back), LatencySummary::of(&h));
        }

        /// Merging histograms equals recording everything into one: the basis of
        /// "merge histograms, never percentiles".
        #[test]
        fn merge_equals_single_recording(
            a in proptest::collection::vec(1u64..100_000_000, 0..300),
            b in proptest::collection::vec(1u64..100_000_000, 0..300),
        ) {
            let (mut ha, mut hb, mut all) = (new_latency(), new_latency(), new_latency());
            for v in &a { record_us(&mut ha, *v); record_us(&mut all, *v); }
            for v in &b { record_us(&mut hb, *v); record_us(&mut all, *v); }
            ha.add(&hb).unwrap();
            prop_assert_eq!(ha.len(), all.len());
            prop_assert_eq!(LatencySummary::of(&ha), LatencySummary::of(&all));
        }
    }
}
