//! Micro benchmarks of the network shaper (`versus_targets::shaping`): one token-bucket
//! reservation, and moving 1 MiB through a `ShapedStream` over an in-memory Tokio duplex
//! pipe, unshaped (byte counting only) and under a cap far above what the pipe can move
//! (the cost of the bookkeeping, not of the cap).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use versus_targets::shaping::{NetProfile, Shaper, TokenBucket};
use versus_targets::units::ByteRate;

const MIB: usize = 1 << 20;
/// A cap no in-memory pipe reaches: 1 TiB/s.
const HUGE: ByteRate = ByteRate(1 << 40);

fn bucket(c: &mut Criterion) {
    let mut group = c.benchmark_group("shaping");
    group.throughput(Throughput::Elements(1));
    let bucket = TokenBucket::new(HUGE);
    group.bench_function("token_bucket_reserve", |b| {
        b.iter(|| bucket.reserve(black_box(1500)))
    });
    group.finish();
}

/// Writes 1 MiB through `shaper`'s stream and reads it on the other end of the pipe.
async fn pump(shaper: &Shaper, payload: &[u8]) -> usize {
    let (near, mut far) = tokio::io::duplex(64 * 1024);
    let mut shaped = shaper.wrap(near);
    let writer = async {
        shaped
            .write_all(payload)
            .await
            .expect("write into the pipe");
        shaped.shutdown().await.expect("close the pipe");
    };
    let reader = async {
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0;
        loop {
            match far.read(&mut buf).await.expect("read from the pipe") {
                0 => break total,
                n => total += n,
            }
        }
    };
    let ((), total) = tokio::join!(writer, reader);
    total
}

fn stream(c: &mut Criterion) {
    let runtime = versus_benches::runtime(1).expect("a runtime");
    let payload = vec![0xA5u8; MIB];
    let mut group = c.benchmark_group("shaping");
    group.throughput(Throughput::Bytes(MIB as u64));
    let profiles = [
        ("shaped_stream_unshaped_1MiB", NetProfile::default()),
        (
            "shaped_stream_capped_1MiB",
            NetProfile {
                upload: Some(HUGE),
                download: Some(HUGE),
                latency: Duration::ZERO,
                jitter: Duration::ZERO,
            },
        ),
    ];
    for (name, profile) in profiles {
        let shaper = Shaper::new(&profile);
        group.bench_function(name, |b| {
            b.iter(|| {
                let moved = runtime.block_on(pump(&shaper, &payload));
                assert_eq!(moved, MIB, "every byte arrives");
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = shaping;
    config = versus_benches::config();
    targets = bucket, stream
}
criterion_main!(shaping);
