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
    /// Highest single-process RSS seen (a peer host's: all its peers together).
    pub peak_rss_per_process_bytes: u64,
    /// Highest single-process RSS seen divided by the nodes that process runs: memory
    /// per peer, also when several peers share a process (a peer host of K peers counts
    /// its RSS / K for each). Equal to `peak_rss_per_process_bytes` with a process per node.
    #[serde(default)]
    pub peak_rss_per_node_bytes: u64,
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
    /// Nodes the process runs (more than one for a peer host).
    nodes: u32,
    /// CPU time at the first sample, in nanoseconds.
    cpu_ns_at_start: Option<u64>,
    /// CPU time at the latest sample (kept once the process is gone).
    cpu_ns_last: u64,
    /// CPU time when the current window started, or at the process's first reading if
    /// it was tracked since (`None` until it is first read).
    cpu_ns_window: Option<u64>,
    /// Whether the CPU time comes from the process's CPU-time clock (exact) rather than
    /// from `/proc/<pid>/stat` ticks (10 ms steps); fixed at the first sample so the two
    /// are never mixed.
    exact_clock: Option<bool>,
    /// A child of the harness: once it exits and is reaped, its whole CPU time shows in
    /// the harness's reaped-children clock ([`reaped_children_ns`]).
    child: bool,
    /// Gone since the previous window closed (its reaped time not yet set against it).
    vanished: bool,
    /// Gone, and already set against the reaped-children clock.
    settled: bool,
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
    /// The harness's reaped children's CPU time when the current window started.
    reaped_ns_window: Option<u64>,
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
            reaped_ns_window: None,
        };
        sampler.track(Role::Harness, Probe::Process(std::process::id()));
        sampler
    }

    /// Adds a node (a process, or a container's group) under `role`.
    pub fn track(&mut self, role: Role, probe: Probe) {
        self.track_nodes(role, probe, 1);
    }

    /// Adds a process (or a container's group) that runs `nodes` nodes of `role`.
    pub fn track_nodes(&mut self, role: Role, probe: Probe, nodes: u32) {
        let child = match probe {
            Probe::Process(pid) => parent_of(pid) == Some(std::process::id()),
            Probe::Cgroup(_) => false,
        };
        self.tracked.push(Tracked {
            role,
            probe,
            nodes: nodes.max(1),
            cpu_ns_at_start: None,
            cpu_ns_last: 0,
            cpu_ns_window: None,
            exact_clock: None,
            child,
            vanished: false,
            settled: false,
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
                t.vanished |= t.child && !t.settled && t.cpu_ns_at_start.is_some();
                continue;
            };
            t.cpu_ns_at_start.get_or_insert(cpu_ns);
            // A node tracked while a window is open counts from its first reading: the
            // nodes of a run are tracked in a burst, faster than a window closes.
            t.cpu_ns_window.get_or_insert(cpu_ns);
            t.cpu_ns_last = cpu_ns;
            *rss_by_role.entry(t.role).or_default() += rss;
            let role = self.roles.entry(t.role).or_default();
            role.peak_rss_per_process_bytes = role.peak_rss_per_process_bytes.max(rss);
            role.peak_rss_per_node_bytes =
                role.peak_rss_per_node_bytes.max(rss / u64::from(t.nodes));
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
            let exited = self.exited_since_window();
            tracing::debug!(
                used_s = used as f64 / 1e9,
                exited_s = exited as f64 / 1e9,
                tracked = self.tracked.len(),
                unread = self
                    .tracked
                    .iter()
                    .filter(|t| t.cpu_ns_window.is_none())
                    .count(),
                window_s = (now - since).as_secs_f64(),
                "resource window"
            );
            self.machine.window((used + exited) as f64 / 1e9);
        } else {
            self.reaped_ns_window = reaped_children_ns();
            self.machine.window(0.0);
        }
        for t in &mut self.tracked {
            t.cpu_ns_window = Some(t.cpu_ns_last);
        }
        self.window = Some(now);
    }

    /// CPU time that children of the harness used between their last sample and their
    /// exit, in nanoseconds: the reaped-children clock's growth over the window, less
    /// what the samples had already counted of the children that went. Without it, the
    /// last moments of every node that exits (a flash crowd's peers) would show as other
    /// work on the machine.
    fn exited_since_window(&mut self) -> u64 {
        let Some(reaped) = reaped_children_ns() else {
            return 0;
        };
        let grown = reaped.saturating_sub(self.reaped_ns_window.unwrap_or(reaped));
        self.reaped_ns_window = Some(reaped);
        if grown == 0 {
            // Gone but not yet reaped: set against the clock once it is.
            return 0;
        }
        let mut counted = 0u64;
        for t in self.tracked.iter_mut().filter(|t| t.vanished) {
            counted += t.cpu_ns_last;
            t.vanished = false;
            t.settled = true;
        }
        grown.saturating_sub(counted)
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

/// CPU time (user and system) of the harness's children that have exited and been
/// reaped, in nanoseconds.
fn reaped_children_ns() -> Option<u64> {
    // SAFETY: an all-zero rusage is a valid value for the call to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid rusage for the call to fill.
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
        return None;
    }
    let micros = |t: libc::timeval| {
        u64::try_from(t.tv_sec)
            .ok()?
            .checked_mul(1_000_000)?
            .checked_add(u64::try_from(t.tv_usec).ok()?)
    };
    Some((micros(usage.ru_utime)? + micros(usage.ru_stime)?).saturating_mul(1_000))
}

/// The parent process of `pid`, from `/proc/<pid>/stat` (`None` where it cannot be read).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`; comm may hold spaces and parentheses: split after the
    // last one.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

impl Default for ResourceSampler {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shell that counts for a while: its own CPU, no forks.
    fn busy_shell(iterations: u32) -> std::process::Child {
        std::process::Command::new("sh")
            .args([
                "-c",
                &format!("i=0; while [ $i -lt {iterations} ]; do i=$((i+1)); done"),
            ])
            .spawn()
            .expect("sh starts")
    }

    #[test]
    fn a_node_tracked_while_a_window_is_open_counts_in_it() {
        let mut sampler = ResourceSampler::new();
        // Tracked at once, well within the window the harness's own tracking opened.
        let mut child = busy_shell(3_000_000);
        sampler.track(Role::Peer, Probe::Process(child.id()));
        let at_track = process_cpu_ns(child.id()).unwrap_or(0);
        std::thread::sleep(MIN_WINDOW + std::time::Duration::from_millis(200));
        sampler.sample();
        let burned = process_cpu_ns(child.id())
            .unwrap_or(0)
            .saturating_sub(at_track) as f64
            / 1e9;
        let own = sampler.machine.own_seconds();
        let _ = child.kill();
        let _ = child.wait();
        assert!(burned > 0.05, "the shell barely ran: {burned} s");
        assert!(
            own >= 0.9 * burned,
            "own {own:.3} s < the node's {burned:.3} s in the window"
        );
    }

    #[test]
    fn a_child_that_exits_between_samples_is_the_runs_own_work() {
        let mut sampler = ResourceSampler::new();
        let mut child = busy_shell(400_000);
        let reaped_before = reaped_children_ns().expect("getrusage");
        sampler.track(Role::Peer, Probe::Process(child.id()));
        std::thread::sleep(MIN_WINDOW);
        sampler.sample();
        let counted_while_alive = sampler.machine.own_seconds();
        child.wait().expect("sh exits");
        let burned = (reaped_children_ns().expect("getrusage") - reaped_before) as f64 / 1e9;
        std::thread::sleep(MIN_WINDOW);
        sampler.sample();
        let own = sampler.machine.own_seconds();
        assert!(burned > 0.05, "the shell barely ran: {burned} s");
        // Everything the child burned is the run's own, including what it burned after
        // its last sample (bounded: the harness's own sampling adds a little).
        assert!(
            own >= 0.9 * burned,
            "own {own:.3} s < child's {burned:.3} s (counted while alive {counted_while_alive:.3} s)"
        );
    }

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
        // The idle window after it lasts twice the busy one, so the busy window stands
        // out by 3× from the average even when a loaded machine stretched it.
        let idle = (2 * busy).max(std::time::Duration::from_millis(1200));
        std::thread::sleep(idle);
        s.sample();
        let wall = 0.6 + busy.as_secs_f64() + idle.as_secs_f64();
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
