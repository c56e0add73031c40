//! Micro benchmarks of content addressing (`versus_targets::content`): computing an
//! object's manifest (BLAKE3 of every 256 KiB chunk), which every PUT does, and verifying
//! one chunk, which every peer does before it stores or serves it.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use versus_targets::content::{Manifest, CHUNK_SIZE};

fn object(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 31 % 251) as u8).collect()
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("content");
    for (name, size) in [
        ("manifest_of_64KiB", 64 << 10),
        ("manifest_of_8MiB", 8 << 20),
    ] {
        let bytes = object(size);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(name, |b| b.iter(|| Manifest::of(black_box(&bytes))));
    }
    let bytes = object(4 * CHUNK_SIZE as usize);
    let manifest = Manifest::of(&bytes);
    let chunk = &bytes[CHUNK_SIZE as usize..2 * CHUNK_SIZE as usize];
    group.throughput(Throughput::Bytes(u64::from(CHUNK_SIZE)));
    group.bench_function("verify_chunk_256KiB", |b| {
        b.iter(|| {
            manifest
                .verify_chunk(black_box(1), black_box(chunk))
                .expect("the chunk is genuine")
        })
    });
    group.finish();
}

criterion_group! {
    name = content;
    config = versus_benches::config();
    targets = benches
}
criterion_main!(content);
