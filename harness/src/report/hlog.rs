//! The .hlog interval log: one histogram per operation per second, in the standard
//! HdrHistogram log format (readable by HistogramLogAnalyzer and HdrHistogram tools).
//! Values are microseconds; the max column is written in milliseconds.

use std::io::Write;
use std::time::{Duration, SystemTime};

use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;

use crate::record::aggregate::HlogEntry;
use crate::record::histogram::from_bytes;

/// Writes `entries` as an interval log to `out`; `started` is the run's start time.
pub(crate) fn write(
    out: &mut impl Write,
    entries: &[HlogEntry],
    started: SystemTime,
    comment: &str,
) -> std::io::Result<()> {
    let mut serializer = V2DeflateSerializer::new();
    let mut writer = IntervalLogWriterBuilder::new()
        .add_comment(comment)
        .add_comment(
            "Latency values are in microseconds; MaxValueDivisor 1000 shows the max column in ms.",
        )
        .with_start_time(started)
        .with_base_time(started)
        .with_max_value_divisor(1000.0)
        .begin_log_with(out, &mut serializer)?;
    writer.write_comment(
        "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"",
    )?;
    for entry in entries {
        let Ok(histogram) = from_bytes(&entry.encoded) else {
            continue;
        };
        let tag = Tag::new(&entry.tag);
        writer
            .write_histogram(
                &histogram,
                Duration::from_secs(u64::from(entry.index)),
                Duration::from_secs(1),
                tag,
            )
            .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::histogram::{new_latency, record_us, to_bytes};
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

    #[test]
    fn writes_a_log_that_reads_back() {
        let mut h = new_latency();
        record_us(&mut h, 1500);
        let entries = vec![
            HlogEntry {
                index: 0,
                tag: "get".into(),
                encoded: to_bytes(&h),
            },
            HlogEntry {
                index: 1,
                tag: "get".into(),
                encoded: to_bytes(&h),
            },
        ];
        let mut out = Vec::new();
        write(
            &mut out,
            &entries,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            "test",
        )
        .unwrap();
        let histograms: Vec<_> = IntervalLogIterator::new(&out)
            .filter_map(|e| match e {
                Ok(LogEntry::Interval(i)) => Some(i),
                _ => None,
            })
            .collect();
        assert_eq!(histograms.len(), 2);
        assert_eq!(histograms[1].start_timestamp(), Duration::from_secs(1));
        assert_eq!(histograms[0].tag().map(|t| t.as_str()), Some("get"));
        assert!(
            (histograms[0].max() - 1.5).abs() < 0.01,
            "max in ms: {}",
            histograms[0].max()
        );
    }
}
