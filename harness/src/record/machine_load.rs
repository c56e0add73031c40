//! The whole machine's CPU use, from `/proc/stat`, so a run can tell its own load from
//! other work on the machine: a compiler or another benchmark running beside it slows
//! its nodes down as surely as a CPU-bound run does, but does not show in the run's own
//! processes.

use std::time::Instant;

/// Kernel clock ticks per second of `/proc/stat` (USER_HZ, 100 on Linux).
const TICKS_PER_S: f64 = 100.0;

/// CPU time the machine spent busy (every core, not idle or waiting for I/O) so far, in
/// seconds, or `None` where `/proc/stat` cannot be read.
fn busy_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal [guest guest_nice: inside user].
    // Interrupt time is left out: loopback traffic is carried in softirqs that no process
    // is charged for, so it would count the run's own packets as other work. Steal (a
    // hypervisor giving the core to another guest) is other work.
    if fields.len() < 8 {
        return None;
    }
    let busy = fields[0] + fields[1] + fields[2] + fields[7];
    Some(busy as f64 / TICKS_PER_S)
}

/// Accumulates, window by window, the machine's busy CPU time beside the run's own.
#[derive(Debug, Default)]
pub(crate) struct MachineLoad {
    /// Busy seconds and the time when the current window began.
    start: Option<(f64, Instant)>,
    /// Machine busy seconds over the closed windows.
    machine_s: f64,
    /// The run's own CPU-seconds over the same windows.
    own_s: f64,
    /// Wall seconds of the closed windows.
    wall_s: f64,
}

impl MachineLoad {
    /// Closes the current window, in which the run's own processes used `own_s`
    /// CPU-seconds, and opens the next.
    pub(crate) fn window(&mut self, own_s: f64) {
        let Some(busy) = busy_seconds() else {
            return;
        };
        let now = Instant::now();
        if let Some((before, since)) = self.start {
            self.machine_s += (busy - before).max(0.0);
            tracing::debug!(machine_s = busy - before, own_s, "machine window");
            self.own_s += own_s;
            self.wall_s += (now - since).as_secs_f64();
        }
        self.start = Some((busy, now));
    }

    /// The run's own CPU-seconds over the closed windows.
    #[cfg(test)]
    pub(crate) fn own_seconds(&self) -> f64 {
        self.own_s
    }

    /// Cores busy with work other than the run's, on average over the closed windows.
    pub(crate) fn other_cores(&self) -> Option<f64> {
        (self.wall_s > 0.0).then(|| ((self.machine_s - self.own_s) / self.wall_s).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_thread_beside_the_run_shows_as_other_work() {
        if busy_seconds().is_none() {
            eprintln!("no /proc/stat here: nothing to check");
            return;
        }
        let mut load = MachineLoad::default();
        load.window(0.0);
        // Burn one core for about 300 ms on another thread, counted as not the run's.
        let burner = std::thread::spawn(|| {
            let until = Instant::now() + std::time::Duration::from_millis(300);
            let mut x = 0u64;
            while Instant::now() < until {
                x = x.wrapping_mul(31).wrapping_add(1);
            }
            x
        });
        let _ = burner.join();
        load.window(0.0);
        let other = load.other_cores().expect("a closed window");
        // Bounded, not tight: at least a good part of the burning core shows.
        assert!(other > 0.3, "{other}");
    }
}
