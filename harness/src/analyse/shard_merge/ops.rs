//! Adding the shards' operations up: run totals (histograms added, counts, bytes and
//! errors summed) and per-second rows (shifted onto the common start, each second's
//! percentiles read from its added histograms).

use std::collections::BTreeMap;

use base64::Engine;

use super::run::Part;
use super::ShardMergeError;
use crate::record::aggregate::{IntervalOp, IntervalSummary};
use crate::record::histogram::{self, new_latency, Latency, LatencySummary};
use crate::report::model::{IntervalHistogram, LatencyReport, OpReport};
use crate::report::resilience;

/// A histogram added into `into`, refusing one of another configuration (another
/// precision or lowest value: adding it would not be exact).
pub(super) fn add(into: &mut Latency, from: &Latency, label: &str) -> Result<(), ShardMergeError> {
    if (into.sigfig(), into.low()) != (from.sigfig(), from.low()) {
        return Err(ShardMergeError::Content {
            input: label.to_string(),
            why: format!(
                "a histogram of {} significant figures from {} differs from the others' ({} from {}): histograms of different configurations cannot be added exactly",
                from.sigfig(),
                from.low(),
                into.sigfig(),
                into.low()
            ),
        });
    }
    into.add(from).map_err(|e| ShardMergeError::Content {
        input: label.to_string(),
        why: format!("cannot add its histogram: {e:?}"),
    })
}

fn decode(text: &str, label: &str, what: &str) -> Result<Latency, ShardMergeError> {
    histogram::decode(text).map_err(|e| ShardMergeError::Content {
        input: label.to_string(),
        why: format!("{what}: {e}"),
    })
}

/// Every operation of the shards, added up; `rps` over `duration_s`.
pub(super) fn merge_ops(
    parts: &[Part<'_>],
    duration_s: f64,
) -> Result<BTreeMap<String, OpReport>, ShardMergeError> {
    let mut names: Vec<&String> = parts.iter().flat_map(|p| p.run.ops.keys()).collect();
    names.sort();
    names.dedup();
    let mut out = BTreeMap::new();
    for name in names {
        let (mut latency, mut uncorrected) = (new_latency(), None::<Latency>);
        let (mut count, mut errors_total, mut bytes) = (0, 0, 0);
        let mut errors: BTreeMap<String, u64> = BTreeMap::new();
        for part in parts {
            let Some(op) = part.run.ops.get(name) else {
                continue;
            };
            count += op.count;
            errors_total += op.errors_total;
            bytes += op.bytes;
            for (kind, n) in &op.errors {
                *errors.entry(kind.clone()).or_default() += n;
            }
            let what = format!("the histogram of {name}");
            add(
                &mut latency,
                &decode(&op.histogram, part.label, &what)?,
                part.label,
            )?;
            if let Some(u) = &op.uncorrected {
                let h = decode(&u.histogram, part.label, &what)?;
                add(uncorrected.get_or_insert_with(new_latency), &h, part.label)?;
            }
        }
        out.insert(
            name.clone(),
            OpReport {
                count,
                errors_total,
                errors,
                bytes,
                rps: if duration_s > 0.0 {
                    count as f64 / duration_s
                } else {
                    0.0
                },
                latency_us: LatencySummary::of(&latency),
                histogram: histogram::encode(&latency),
                uncorrected: uncorrected.map(|h| LatencyReport {
                    latency_us: LatencySummary::of(&h),
                    histogram: histogram::encode(&h),
                }),
            },
        );
    }
    Ok(out)
}

/// Whole seconds a shard's rows move by: its offset from the common start, rounded.
pub(super) fn shift(offset_s: f64) -> u32 {
    offset_s.max(0.0).round() as u32
}

/// The shards' per-second rows added on the common start, and the added histogram of
/// every second and tag (for the merged .hlog).
pub(super) fn merge_intervals(
    parts: &[Part<'_>],
) -> Result<(Vec<IntervalSummary>, Vec<IntervalHistogram>), ShardMergeError> {
    let mut rows: BTreeMap<u32, BTreeMap<String, (u64, u64)>> = BTreeMap::new();
    let mut hists: BTreeMap<(u32, String), Latency> = BTreeMap::new();
    for part in parts {
        let shard = part.run.shard.clone().unwrap_or_default();
        let by = shift(shard.start_offset_s);
        for interval in &part.run.intervals {
            let row = rows.entry(interval.t_s + by).or_default();
            for (name, op) in &interval.ops {
                let acc = row.entry(name.clone()).or_default();
                acc.0 += op.count;
                acc.1 += op.errors;
            }
        }
        let b64 = base64::engine::general_purpose::STANDARD;
        for h in &shard.interval_histograms {
            let bytes = b64
                .decode(h.histogram.trim())
                .map_err(|e| ShardMergeError::Content {
                    input: part.label.to_string(),
                    why: format!("the histogram of second {} ({}): {e}", h.t_s, h.tag),
                })?;
            let decoded = histogram::from_bytes(&bytes).map_err(|e| ShardMergeError::Content {
                input: part.label.to_string(),
                why: format!("the histogram of second {} ({}): {e}", h.t_s, h.tag),
            })?;
            let into = hists
                .entry((h.t_s + by, h.tag.clone()))
                .or_insert_with(new_latency);
            add(into, &decoded, part.label)?;
        }
    }
    let last = rows.keys().next_back().copied();
    let mut intervals = Vec::new();
    for t_s in last.map_or(0..0, |l| 0..l + 1) {
        let mut summary = IntervalSummary {
            t_s,
            ..Default::default()
        };
        for (name, (count, errors)) in rows.remove(&t_s).unwrap_or_default() {
            let h = hists.get(&(t_s, name.clone()));
            let q = |q: f64| {
                h.filter(|h| !h.is_empty())
                    .map_or(0, |h| h.value_at_quantile(q))
            };
            summary.ops.insert(
                name,
                IntervalOp {
                    count,
                    errors,
                    p50_us: q(0.5),
                    p99_us: q(0.99),
                },
            );
        }
        summary.availability = resilience::second_availability(&summary);
        intervals.push(summary);
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let histograms = hists
        .into_iter()
        .map(|((t_s, tag), h)| IntervalHistogram {
            t_s,
            tag,
            histogram: b64.encode(histogram::to_bytes(&h)),
        })
        .collect();
    Ok((intervals, histograms))
}
