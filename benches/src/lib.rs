//! Shared pieces of the Versus criterion benchmarks (`cargo bench`, see benches/README.md):
//! one criterion configuration, sized so the whole suite finishes in a few minutes on a
//! 2-core machine (shorter still with `VERSUS_BENCH_QUICK=1`), and the fixture of the
//! in-process macro benchmark: an object store holding one object, and a closed-loop
//! fetch run against it through the harness's own library API. The architecture macro
//! benchmarks run whole scenarios with [`arch_run`], their nodes started from the
//! benchmark binary itself ([`node`]).

pub mod arch_run;
pub mod node;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use bytes::Bytes;
use criterion::Criterion;
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;
use versus::drive::http::{Endpoint, HttpConnector, Target};
use versus::drive::load::Job;
use versus::drive::phase::{drive, Control, Driven};
use versus::drive::progress::ProgressMode;
use versus::drive::request::RequestWorkload;
use versus::plan::load::load_plan;
use versus::record::resources::ResourceSampler;
use versus_targets::server::{self, RunningServer, ServerArgs};

/// Set to `1` (or anything but `0`) for the quick mode: fewer samples, shorter runs.
pub const QUICK_ENV: &str = "VERSUS_BENCH_QUICK";

/// True when [`QUICK_ENV`] asks for the quick mode.
pub fn quick() -> bool {
    std::env::var(QUICK_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The criterion configuration of every Versus benchmark: 20 samples over 2 s after a
/// 0.5 s warm-up (10 samples, 0.5 s and 0.2 s in the quick mode). Command-line flags
/// (`cargo bench -- --quick`, `--sample-size`, …) still override it.
pub fn config() -> Criterion {
    let (samples, measure, warm_up) = if quick() {
        (10, Duration::from_millis(500), Duration::from_millis(200))
    } else {
        (20, Duration::from_secs(2), Duration::from_millis(500))
    };
    Criterion::default()
        .sample_size(samples)
        .measurement_time(measure)
        .warm_up_time(warm_up)
}

/// A Tokio runtime with `workers` threads, for benchmarks that need one.
pub fn runtime(workers: usize) -> anyhow::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .enable_all()
        .build()
        .context("cannot build a Tokio runtime for the benchmark")
}

/// The macro benchmark's world: an in-process `versus server` holding one object, and
/// the runtime that serves it.
pub struct FetchFixture {
    runtime: Runtime,
    server: Option<RunningServer>,
    url: String,
    users: u32,
}

impl FetchFixture {
    /// Starts a server on loopback (one runtime thread, so the load generator gets the
    /// other core), stores an object of `object_size` bytes on it, and prepares `users`
    /// closed-loop users that GET it.
    pub fn start(object_size: usize, users: u32) -> anyhow::Result<Self> {
        let runtime = runtime(1)?;
        let (server, url) = runtime.block_on(async {
            let server = server::start(ServerArgs::default())
                .await
                .context("cannot start the in-process object store")?;
            let bytes = Bytes::from((0..object_size).map(|i| i as u8).collect::<Vec<u8>>());
            let object = server
                .store()
                .put(bytes)
                .await
                .map_err(|e| anyhow!("cannot store the benchmark object: {e}"))?;
            let url = format!("http://{}/objects/{}", server.data_addr(), object.id());
            anyhow::Ok((server, url))
        })?;
        Ok(FetchFixture {
            runtime,
            server: Some(server),
            url,
            users,
        })
    }

    /// The URL every user GETs.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs `total_ops` GETs (rounded up to a multiple of the users) through the harness:
    /// a `kind = "url"` scenario with `iterations` per user, its load plan, the HTTP
    /// connector and [`versus::drive::phase::drive`]. Returns what was driven; fails when any
    /// operation failed, since a benchmark of errors measures nothing.
    pub fn run(&self, total_ops: u64) -> anyhow::Result<(Driven, u64)> {
        let per_user = total_ops.div_ceil(u64::from(self.users)).max(1);
        let text = format!(
            "name = \"bench-fetch\"\n\
             [workload]\nkind = \"url\"\nurl = \"{url}\"\n\
             [load]\nusers = {users}\niterations = {per_user}\nduration = \"10m\"\nthreads = 1\n",
            url = self.url,
            users = self.users,
        );
        let scenario = versus::scenario::parse("bench-fetch.toml", &text, &[])
            .map_err(|e| anyhow!("the benchmark scenario is invalid: {e}"))?;
        let target = Target::parse(&self.url).map_err(|e| anyhow!("{e}"))?;
        let addr = target.resolve().map_err(|e| anyhow!("{e}"))?;
        let connector = HttpConnector::new(
            vec![Endpoint {
                authority: target.authority.clone(),
                ..Endpoint::at(addr)
            }],
            None,
        );
        let plan = load_plan(&scenario);
        let workload = Arc::new(RequestWorkload::new(&scenario.workload.resolved));
        let mut sampler = ResourceSampler::new();
        let stop = CancellationToken::new();
        let job = Job {
            connector,
            workload,
            gate: None,
        };
        let driven = self.runtime.block_on(drive(
            &plan,
            job,
            &mut sampler,
            Control::soon(&stop, ProgressMode::Quiet, "bench"),
        ))?;
        let (mut done, mut failed) = (0, 0);
        for totals in driven.recorded.totals.values() {
            done += totals.counters.count;
            failed += totals.counters.errors_total();
        }
        if failed > 0 {
            return Err(anyhow!(
                "{failed} of {done} benchmark GETs of {} failed",
                self.url
            ));
        }
        Ok((driven, done))
    }
}

impl Drop for FetchFixture {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            // Shutting down gracefully keeps the benchmark's output free of aborted tasks.
            let _ = self.runtime.block_on(server.shutdown());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_fetch_run_through_the_library() {
        let fixture = FetchFixture::start(4096, 2).expect("the fixture starts");
        let (driven, done) = fixture.run(21).expect("the run succeeds");
        assert_eq!(done, 22, "21 GETs rounded up to 11 per user");
        assert!(driven.duration_s > 0.0);
        assert!(fixture.url().contains("/objects/"));
    }

    #[test]
    fn config_is_modest() {
        // Only checks that building it does not panic (criterion validates its limits).
        let _ = config();
    }
}
