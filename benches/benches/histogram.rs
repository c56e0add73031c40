//! Micro benchmarks of latency recording (`versus::record::histogram`): recording one
//! value, merging worker histograms (what the aggregator does every second), and the
//! report's V2 + DEFLATE encoding.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use versus::record::histogram::{decode, encode, new_latency, record_us, Latency};

/// Latencies spread like a real run's: mostly around a millisecond, with a tail.
fn sample_values(n: usize) -> Vec<u64> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let base = 200 + state % 2_000;
            if state % 100 == 0 {
                base * 50
            } else {
                base
            }
        })
        .collect()
}

fn filled(values: &[u64]) -> Latency {
    let mut h = new_latency();
    for &v in values {
        record_us(&mut h, v);
    }
    h
}

fn benches(c: &mut Criterion) {
    let values = sample_values(10_000);
    let mut group = c.benchmark_group("histogram");

    group.throughput(Throughput::Elements(1));
    let mut h = new_latency();
    let mut i = 0usize;
    group.bench_function("record", |b| {
        b.iter(|| {
            i = (i + 1) % values.len();
            record_us(&mut h, black_box(values[i]));
        })
    });

    // One merge of a worker's histogram holding 10,000 samples.
    let worker = filled(&values);
    let mut total = new_latency();
    group.bench_function("merge_10k", |b| b.iter(|| total.add(black_box(&worker))));

    group.throughput(Throughput::Elements(1));
    group.bench_function("encode_10k", |b| b.iter(|| encode(black_box(&worker))));
    let encoded = encode(&worker);
    group.bench_function("decode_10k", |b| b.iter(|| decode(black_box(&encoded))));
    group.finish();
}

criterion_group! {
    name = histogram;
    config = versus_benches::config();
    targets = benches
}
criterion_main!(histogram);
