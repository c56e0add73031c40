//! Macro benchmarks of whole architectures, through the harness's library API
//! (`versus::commands::run::run_arch`, what `versus run` does): target nodes start as processes,
//! the content is published, the users are driven, and only the measured part is timed
//! with `iter_custom`.
//!
//! - `flash_crowd/{cs,p2p}_1MiB_4users`: four users download the same 1 MiB object at
//!   once from one server, or from a seed and each other; one iteration is one flash
//!   crowd, timed by its makespan (the last user's verified download).
//! - `arch_fetch/{cs,p2p}_16KiB_4users`: four closed-loop users fetch 16 KiB objects, over
//!   HTTP from the server or through each user's own peer from the swarm (500 fetches a
//!   user on client-server, 50 on peer-to-peer); one iteration is one run, timed from the
//!   start of its schedule to the end of its drain, and the throughput is fetches per
//!   second.
//!
//! Unshaped and on loopback, so these measure the targets' and the harness's own cost,
//! not a bandwidth cap. Each sample starts its own nodes (a peer-to-peer sample takes
//! a second or two of set-up that is not timed), so every benchmark here takes ten
//! samples of one run each (after one warm-up run), in the quick mode too.

use std::process::ExitCode;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, BenchmarkGroup, Criterion, SamplingMode, Throughput};
use versus_benches::arch_run::{ArchBench, Workload};

/// Users of every run: a handful, so a peer-to-peer run starts only five nodes.
const USERS: u32 = 4;

type Group<'a> = BenchmarkGroup<'a, WallTime>;

/// One run per sample: the untimed set-up of a run (starting nodes, publishing) dwarfs
/// what is timed, so the ten samples criterion needs at least are ten runs, plus one to
/// warm up.
fn group<'a>(c: &'a mut Criterion, name: &str) -> Group<'a> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_millis(1));
    group
}

fn bench(group: &mut Group<'_>, name: &str, fixture: &ArchBench) {
    group.throughput(Throughput::Elements(fixture.ops_per_iteration()));
    group.bench_function(name, |b| {
        b.iter_custom(|iters| fixture.measure(iters).expect("the benchmark run succeeds"))
    });
}

fn flash_crowd(c: &mut Criterion) {
    let mut group = group(c, "flash_crowd");
    for arch in ["cs", "p2p"] {
        let fixture = ArchBench::new(arch, Workload::FlashCrowd, USERS, "1MiB")
            .expect("the benchmark fixture");
        bench(&mut group, &format!("{arch}_1MiB_{USERS}users"), &fixture);
    }
    group.finish();
}

fn fetch(c: &mut Criterion) {
    let mut group = group(c, "arch_fetch");
    // Peer-to-peer fetches go through the swarm and take milliseconds each.
    for (arch, ops_per_user) in [("cs", 500), ("p2p", 50)] {
        let workload = Workload::Fetch { ops_per_user };
        let fixture =
            ArchBench::new(arch, workload, USERS, "16KiB").expect("the benchmark fixture");
        bench(&mut group, &format!("{arch}_16KiB_{USERS}users"), &fixture);
    }
    group.finish();
}

criterion_group! {
    name = architectures;
    config = versus_benches::config();
    targets = flash_crowd, fetch
}

fn main() -> ExitCode {
    // The harness starts target nodes as `<this binary> server|peer …`.
    if let Some(code) = versus_benches::node::run_if_asked() {
        return code;
    }
    architectures();
    Criterion::default().configure_from_args().final_summary();
    ExitCode::SUCCESS
}
