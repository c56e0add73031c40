//! Resource sampling: CPU time and resident memory of the harness and of every target
//! node (a process, or a container's cgroup: [`Probe`]), once a second, grouped by role
//! (`harness`, `server`, `peer`). Also tells whether the harness itself was
//! CPU-saturated, because a saturated load generator under-reports latency and
//! throughput.

use crate::arch::Role;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

pub use super::cgroup::Cgroup;
use serde::{Deserialize, Serialize};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// Usage of one role, summed over its processes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RoleResources {
    /// CPU-seconds used during the run.
    pub cpu_s: f64,
    /// Highest sum of resident set sizes seen in one sample.
    pub peak_rss_bytes: u64,
    /// Highest single-process RSS seen (for "memory per peer").
    pub peak_rss_per_process_bytes: u64,
    /// Processes sampled.
    pub processes: u32,
}

/// How busy the harness was.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HarnessLoad {
    /// Load-generator threads.
    pub threads: u32,
    /// Highest one-second CPU use, in cores.
    pub peak_cpu_cores: f64,
    /// Seconds in which the harness used at least 90% of its threads' capacity.
    pub saturated_seconds: u32,
    /// True when the harness was CPU-bound for at least a quarter of the run:
    /// latency and throughput are then limits of the harness, not of the target.
    pub cpu_saturated: bool,
}

/// What to sample for one node: a process (and its threads), or a control group (a
/// container: every process in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// A process, by the host's process id.
    Process(u32),
    /// A control group's accounting files.
    Cgroup(Cgroup),
}

impl Probe {
    /// CPU time used so far, in nanoseconds (a process's exact CPU-time clock).
    pub fn cpu_ns(&self) -> Option<u64> {
        match self {
            Probe::Process(pid) => process_cpu_ns(*pid),
            Probe::Cgroup(group) => group.cpu_ns(),
        }
    }
}

/// Nodes started while the sampler runs (a restarted node): (role, probe), taken up at
/// the next sample.
pub type NewProcesses = Arc<Mutex<Vec<(Role, Probe)>>>;

struct Tracked {
    role: Role,
    probe: Probe,
    /// CPU time at the first sample, in nanoseconds.
    cpu_ns_at_start: Option<u64>,
    /// CPU time at the latest sample (kept once the process is gone).
    cpu_ns_last: u64,
    /// CPU time when the current window started (`None` for a process tracked since).
    cpu_ns_window: Option<u64>,
    /// Whether the CPU time comes from the process's CPU-time clock (exact) rather than
    /// from `/proc/<pid>/stat` ticks (10 ms steps); fixed at the first sample so the two
    /// are never mixed.
    exact_clock: Option<bool>,
}

/// Samples processes once a second.
pub struct ResourceSampler {
    system: System,
    tracked: Vec<Tracked>,
    roles: BTreeMap<Role, RoleResources>,
    harness_cpu_samples: Vec<f64>,
    arrivals: NewProcesses,
    /// When the current window started.
    window: Option<std::time::Instant>,
    /// Highest CPU use of every tracked process together over one window, in cores.
    peak_cores: f64,
    /// The whole machine's CPU use over the same windows.
    machine: super::machine_load::MachineLoad,
}

/// A window shorter than this does not count towards the peak (too short to be a rate).
const MIN_WINDOW: std::time::Duration = std::time::Duration::from_millis(500);

impl ResourceSampler {
    /// A sampler that watches the harness's own process.
    pub fn new() -> Self {
        let mut sampler = Self {
            system: System::new(),
            tracked: Vec::new(),
            roles: BTreeMap::new(),
            harness_cpu_samples: Vec::new(),
            arrivals: NewProcesses::default(),
            window: None,
            peak_cores: 0.0,
            machine: Default::default(),
        };
        sampler.track(Role::Harness, Probe::Process(std::process::id()));
        sampler
    }

    /// Adds a node (a process, or a container's group) under `role`.
    pub fn track(&mut self, role: Role, probe: Probe) {
        self.tracked.push(Tracked {
            role,
            probe,
            cpu_ns_at_start: None,
            cpu_ns_last: 0,
            cpu_ns_window: None,
            exact_clock: None,
        });
        self.roles.entry(role).or_default().processes += 1;
        self.sample();
    }

    /// Where to announce processes started later (they are tracked from the next sample).
    pub fn arrivals(&self) -> NewProcesses {
        self.arrivals.clone()
    }

    /// Takes one sample of every tracked process (call about once a second).
    pub fn sample(&mut self) {
        let arrived: Vec<(Role, Probe)> = self
            .arrivals
            .lock()
            .map(|mut a| a.drain(..).collect())
            .unwrap_or_default();
        for (role, probe) in arrived {
            self.track(role, probe);
        }
        let pids: Vec<Pid> = self
            .tracked
            .iter()
            .filter_map(|t| match t.probe {
                Probe::Process(pid) => Some(Pid::from_u32(pid)),
                Probe::Cgroup(_) => None,
            })
            .collect();
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&pids),
            true,
            // Threads are not separate processes here: skip listing /proc/<pid>/task.
            ProcessRefreshKind::nothing()
                .with_cpu()
                .with_memory()
                .without_tasks(),
        );
        let mut rss_by_role: BTreeMap<Role, u64> = BTreeMap::new();
        for t in &mut self.tracked {
            let Some((cpu_ns, rss)) = Self::read(&self.system, t) else {
                continue;
            };
            t.cpu_ns_at_start.get_or_insert(cpu_ns);
            t.cpu_ns_last = cpu_ns;
            *rss_by_role.entry(t.role).or_default() += rss;
            let role = self.roles.entry(t.role).or_default();
            role.peak_rss_per_process_bytes = role.peak_rss_per_process_bytes.max(rss);
            if t.role == Role::Harness {
                if let Probe::Process(pid) = t.probe {
                    if let Some(process) = self.system.process(Pid::from_u32(pid)) {
                        self.harness_cpu_samples
                            .push(f64::from(process.cpu_usage()) / 100.0);
                    }
                }
            }
        }
        for (role, rss) in rss_by_role {
            let r = self.roles.entry(role).or_default();
            r.peak_rss_bytes = r.peak_rss_bytes.max(rss);
        }
        self.close_window();
    }

    /// CPU time (ns) and resident memory (bytes) of `t` now; `None` once it is gone.
    fn read(system: &System, t: &mut Tracked) -> Option<(u64, u64)> {
        match &t.probe {
            Probe::Process(pid) => {
                let process = system.process(Pid::from_u32(*pid))?;
                let exact = process_cpu_ns(*pid);
                let use_exact = *t.exact_clock.get_or_insert(exact.is_some());
                let cpu_ns = match (use_exact, exact) {
                    (true, Some(ns)) => ns,
                    (true, None) => t.cpu_ns_last,
                    (false, _) => process.accumulated_cpu_time().saturating_mul(1_000_000),
                };
                Some((cpu_ns, process.memory()))
            }
            Probe::Cgroup(group) => Some((group.cpu_ns()?, group.rss_bytes()?)),
        }
    }

    /// Ends the current window once it is long enough: its CPU use in cores may be the
    /// new peak.
    fn close_window(&mut self) {
        let now = std::time::Instant::now();
        if let Some(since) = self.window {
            if now - since < MIN_WINDOW {
                return;
            }
            let used: u64 = self
                .tracked
                .iter()
                .filter_map(|t| Some(t.cpu_ns_last.saturating_sub(t.cpu_ns_window?)))
                .sum();
            let cores = used as f64 / 1e9 / (now - since).as_secs_f64();
            self.peak_cores = self.peak_cores.max(cores);
            self.machine.window(used as f64 / 1e9);
        } else {
            self.machine.window(0.0);
        }
        for t in &mut self.tracked {
            t.cpu_ns_window = Some(t.cpu_ns_last);
        }
        self.window = Some(now);
    }

    /// The highest CPU use of every tracked process together over one sampling window
    /// (about a second), in cores: a run can be CPU-bound for seconds at a time while its
    /// average looks harmless.
    pub fn peak_cores(&self) -> f64 {
        self.peak_cores
    }

    /// Cores the machine spent on work other than the tracked processes, on average over
    /// the sampled windows (`None` where the machine's load cannot be read).
    pub fn other_cores(&self) -> Option<f64> {
        self.machine.other_cores()
    }

    /// Usage per role so far (CPU-seconds since each process was first sampled).
    pub fn roles(&self) -> BTreeMap<Role, RoleResources> {
        let mut roles = self.roles.clone();
        for r in roles.values_mut() {
            r.cpu_s = 0.0;
        }
        for t in &self.tracked {
            let used = t
                .cpu_ns_last
                .saturating_sub(t.cpu_ns_at_start.unwrap_or(t.cpu_ns_last));
            if let Some(r) = roles.get_mut(&t.role) {
                r.cpu_s += used as f64 / 1e9;
            }
        }
        roles
    }

    /// How busy the harness was, given how many load-generator threads it ran.
    pub fn harness_load(&self, threads: u32) -> HarnessLoad {
        // The first sample has no previous one to measure against.
        let samples = self.harness_cpu_samples.get(1..).unwrap_or(&[]);
        let capacity = f64::from(threads.max(1));
        let saturated_seconds = samples.iter().filter(|c| **c >= 0.9 * capacity).count() as u32;
        HarnessLoad {
            threads,
            peak_cpu_cores: samples.iter().copied().fold(0.0, f64::max),
            saturated_seconds,
            cpu_saturated: !samples.is_empty() && saturated_seconds as usize * 4 >= samples.len(),
        }
    }
}

/// CPU time used so far by process `pid` (all its threads, exited ones included), in
/// nanoseconds, read from its CPU-time clock; `None` when the process is gone or the
/// clock cannot be read. Exact, where `/proc/<pid>/stat` counts 10 ms ticks: a short run's
/// CPU per request is then measurable.
fn process_cpu_ns(pid: u32) -> Option<u64> {
    let pid = libc::pid_t::try_from(pid).ok()?;
    let mut clock: libc::clockid_t = 0;
    // SAFETY: `clock` is a valid place for the clock id; the call only writes to it.
    if unsafe { libc::clock_getcpuclockid(pid, &mut clock) } != 0 {
        return None;
    }
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid timespec for the call to fill.
    if unsafe { libc::clock_gettime(clock, &mut time) } != 0 {
        return None;
    }
    let seconds = u64::try_from(time.tv_sec).ok()?;
    let nanos = u64::try_from(time.tv_nsec).ok()?;
    Some(seconds.saturating_mul(1_000_000_000).saturating_add(nanos))
}

impl Default for ResourceSampler {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This thread's CPU time.
    fn thread_cpu() -> std::time::Duration {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes into the timespec we own.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
        std::time::Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
    }

    /// Spins until this thread has used `cpu` of CPU time (bounded by a minute of wall
    /// time, however busy the machine is).
    fn burn(cpu: std::time::Duration) {
        let (cpu0, wall0) = (thread_cpu(), std::time::Instant::now());
        let mut x = 0u64;
        while thread_cpu() - cpu0 < cpu && wall0.elapsed().as_secs() < 60 {
            for _ in 0..1_000 {
                x = x.wrapping_mul(31).wrapping_add(7);
            }
        }
        std::hint::black_box(x);
    }

    #[test]
    fn the_peak_is_the_busiest_window_not_the_average() {
        let mut s = ResourceSampler::new();
        std::thread::sleep(std::time::Duration::from_millis(600));
        s.sample();
        // One busy window of about 0.6 s of CPU between two idle ones.
        let started = std::time::Instant::now();
        burn(std::time::Duration::from_millis(600));
        let busy = started.elapsed();
        s.sample();
        std::thread::sleep(std::time::Duration::from_millis(1200));
        s.sample();
        let wall = 0.6 + busy.as_secs_f64() + 1.2;
        let average = s.roles()[&Role::Harness].cpu_s / wall;
        // The burning thread ran at most one core; on a busy machine it may have had less.
        let busy_cores = 0.6 / busy.as_secs_f64();
        assert!(
            s.peak_cores() >= 0.8 * busy_cores,
            "peak {} busy {busy_cores}",
            s.peak_cores()
        );
        assert!(
            s.peak_cores() > 1.5 * average,
            "peak {} average {average}",
            s.peak_cores()
        );
    }

    #[test]
    fn samples_own_process() {
        let mut s = ResourceSampler::new();
        s.sample();
        burn(std::time::Duration::from_millis(300));
        s.sample();
        let roles = s.roles();
        let h = &roles[&Role::Harness];
        assert!(h.peak_rss_bytes > 1 << 20, "{h:?}");
        assert!(h.cpu_s > 0.29 && h.cpu_s < 60.0, "{h:?}");
    }

    #[test]
    fn cpu_time_is_finer_than_a_clock_tick() {
        // 3 ms of CPU is less than one 10 ms tick of /proc/<pid>/stat: only the exact
        // CPU-time clock sees all of it. (Other tests' threads may add to the process's
        // time, never take from it.)
        let mut s = ResourceSampler::new();
        s.sample();
        burn(std::time::Duration::from_millis(3));
        s.sample();
        let cpu_s = s.roles()[&Role::Harness].cpu_s;
        assert!((0.003..60.0).contains(&cpu_s), "{cpu_s}");
        // Tick counting can only give whole multiples of 10 ms.
        let ticks = cpu_s * 100.0;
        assert!(
            (ticks - ticks.round()).abs() > 1e-9,
            "{cpu_s} s: tick-sized"
        );
    }
}
