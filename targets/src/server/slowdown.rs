//! Test-only: a deliberate slowdown of the object store, to check that a performance
//! gate notices a regression (`ci/perf-gate.sh` runs a candidate with it).
//!
//! When the environment variable [`SLOWDOWN_ENV`] (`VERSUS_TEST_SLOWDOWN_NS`) holds a
//! number of nanoseconds, every data-plane request the server handles first does that
//! much busy CPU work. The work is a fixed number of iterations of an integer mixing
//! loop, calibrated once when the server starts (the fastest of several timed trials,
//! so a busy machine does not shrink it), so a request costs the same extra CPU whatever
//! else runs on the machine, as a real regression would, instead of spinning on a clock
//! that keeps running while the thread is descheduled.
//!
//! The variable is read once, when the first server of the process starts; the setting is
//! process-wide. Unset (or 0) it costs one relaxed atomic load per request. It is not a
//! feature: never set it outside tests.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The environment variable: nanoseconds of extra CPU work per data-plane request.
pub const SLOWDOWN_ENV: &str = "VERSUS_TEST_SLOWDOWN_NS";

/// Largest accepted value (1 s per request is already absurd).
const MAX_NS: u64 = 1_000_000_000;
/// Iterations per calibration trial.
const TRIAL_ITERATIONS: u64 = 200_000;
/// Timed calibration trials; the fastest counts.
const TRIALS: usize = 7;

/// Iterations of [`work`] added to every request; 0 when the slowdown is off.
static ITERATIONS: AtomicU64 = AtomicU64::new(0);
/// The outcome of reading the variable, kept so that every server of the process agrees.
static SETTING: OnceLock<Result<u64, String>> = OnceLock::new();

/// A bad value of [`SLOWDOWN_ENV`].
#[derive(Debug, thiserror::Error)]
#[error("{SLOWDOWN_ENV}={0}")]
pub struct SlowdownError(String);

/// Reads [`SLOWDOWN_ENV`] (the first call in the process does; later calls return the
/// same outcome) and, when it asks for a slowdown, calibrates the work per request.
/// Returns the nanoseconds per request (0 when off).
pub fn init() -> Result<u64, SlowdownError> {
    SETTING
        .get_or_init(|| {
            let ns = parse(std::env::var(SLOWDOWN_ENV).ok().as_deref())?;
            if ns > 0 {
                let iterations = iterations_for(Duration::from_nanos(ns));
                ITERATIONS.store(iterations, Ordering::Relaxed);
                tracing::warn!(
                    "{SLOWDOWN_ENV}={ns}: test-only slowdown active, {iterations} iterations \
                     (about {ns} ns of CPU) added to every data-plane request"
                );
            }
            Ok(ns)
        })
        .clone()
        .map_err(SlowdownError)
}

/// The extra work of one request: nothing unless the slowdown is on.
#[inline]
pub fn apply() {
    let iterations = ITERATIONS.load(Ordering::Relaxed);
    if iterations != 0 {
        black_box(work(iterations));
    }
}

/// The value of the variable: unset or empty is 0; otherwise a whole number of
/// nanoseconds up to one second.
fn parse(value: Option<&str>) -> Result<u64, String> {
    let Some(text) = value.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(0);
    };
    match text.parse::<u64>() {
        Ok(ns) if ns <= MAX_NS => Ok(ns),
        _ => Err(format!(
            "{text:?} is not a whole number of nanoseconds from 0 to {MAX_NS}; \
             unset it (it is a test-only hook) or give e.g. 20000"
        )),
    }
}

/// Iterations of [`work`] that take about `target` on this machine.
fn iterations_for(target: Duration) -> u64 {
    let fastest = (0..TRIALS)
        .map(|_| {
            let started = Instant::now();
            black_box(work(black_box(TRIAL_ITERATIONS)));
            started.elapsed()
        })
        .min()
        .unwrap_or(Duration::from_millis(1))
        .max(Duration::from_nanos(1));
    let per_iteration = fastest.as_secs_f64() / TRIAL_ITERATIONS as f64;
    ((target.as_secs_f64() / per_iteration).round() as u64).max(1)
}

/// `iterations` rounds of a dependent multiply-xorshift chain: pure CPU, no memory
/// traffic, and nothing the compiler can fold away.
fn work(iterations: u64) -> u64 {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..iterations {
        x ^= x >> 29;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9).wrapping_add(i);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(parse(None), Ok(0));
        assert_eq!(parse(Some("")), Ok(0));
        assert_eq!(parse(Some(" 0 ")), Ok(0));
        assert_eq!(parse(Some("20000")), Ok(20_000));
        for bad in ["-1", "1.5", "20us", "abc", "1000000001"] {
            let e = parse(Some(bad)).unwrap_err();
            assert!(e.contains("whole number of nanoseconds"), "{bad}: {e}");
        }
    }

    #[test]
    fn calibrated_work_takes_about_the_target() {
        let target = Duration::from_millis(2);
        let iterations = iterations_for(target);
        // The fastest of a few runs: other tests share the machine.
        let fastest = (0..5)
            .map(|_| {
                let started = Instant::now();
                black_box(work(black_box(iterations)));
                started.elapsed()
            })
            .min()
            .unwrap_or_default();
        assert!(
            fastest >= target / 2 && fastest <= target * 3,
            "{iterations} iterations took {fastest:?}, wanted about {target:?}"
        );
    }

    #[test]
    fn off_by_default_costs_nothing() {
        // Without the variable set by this test process, apply() does no work.
        if std::env::var_os(SLOWDOWN_ENV).is_none() {
            assert_eq!(init().ok(), Some(0));
            assert_eq!(ITERATIONS.load(Ordering::Relaxed), 0);
            apply();
        }
    }
}
