//! Micro benchmark of scenario parsing (`versus::scenario::parse`): the shipped
//! quickstart, with its validation, and with one `--set` override applied.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use versus::scenario::{parse, Override};

const QUICKSTART: &str = include_str!("../../scenarios/quickstart.toml");

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("scenario");
    group.bench_function("parse_quickstart", |b| {
        b.iter(|| parse("quickstart.toml", black_box(QUICKSTART), &[]).expect("quickstart parses"))
    });
    let overrides = [Override::parse("load.users=32").expect("a valid override")];
    group.bench_function("parse_quickstart_with_override", |b| {
        b.iter(|| {
            parse("quickstart.toml", black_box(QUICKSTART), &overrides).expect("quickstart parses")
        })
    });
    group.finish();
}

criterion_group! {
    name = scenario;
    config = versus_benches::config();
    targets = benches
}
criterion_main!(scenario);
