//! Macro benchmark: GETs of one object from an in-process `versus server`, driven through
//! the harness's own pipeline (scenario → load plan → closed-loop users → HTTP driver →
//! histograms). One criterion iteration is one GET; `iter_custom` times the run from the
//! start of the schedule to the end of the drain, so the time per iteration is the
//! pipeline's time per operation at that concurrency, and the throughput is its rate.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use versus_benches::FetchFixture;

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("fetch");
    group.throughput(Throughput::Elements(1));
    for (name, size, users) in [
        ("get_4KiB_4users", 4 << 10, 4),
        ("get_64KiB_4users", 64 << 10, 4),
    ] {
        let fixture = FetchFixture::start(size, users).expect("the benchmark server starts");
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let (driven, done) = fixture.run(iters).expect("the fetch run succeeds");
                // Rounding up to whole users may have run a few more GETs than asked.
                Duration::from_secs_f64(driven.duration_s * iters as f64 / done as f64)
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = fetch;
    config = versus_benches::config();
    targets = benches
}
criterion_main!(fetch);
