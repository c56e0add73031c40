//! A node started by the harness ends when the harness does, however it ends — also on
//! SIGKILL, and also when it runs under a wrapper (`VERSUS_TARGET_EXE`) whose own child
//! the kernel's parent-death signal does not reach. The harness names itself in
//! [`HARNESS_PID_ENV`]; the node watches that process and stops once it is gone.

use std::time::Duration;

/// The environment variable that carries the harness's process id to its nodes.
pub const HARNESS_PID_ENV: &str = "VERSUS_HARNESS_PID";

/// How often the node looks.
const EVERY: Duration = Duration::from_millis(500);

/// The harness process this node belongs to, when it was started by one.
pub fn harness_pid() -> Option<i32> {
    std::env::var(HARNESS_PID_ENV)
        .ok()?
        .parse()
        .ok()
        .filter(|pid| *pid > 0)
}

/// True while process `pid` runs (a zombie has ended: it only waits to be reaped).
pub fn alive(pid: i32) -> bool {
    // SAFETY: kill(2) with signal 0 only checks that the process exists.
    let exists = unsafe { libc::kill(pid, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    if !exists {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which ends at the last ')'.
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        // kill(2) found it; a file that cannot be opened now (every descriptor in use,
        // in a busy peer host) says nothing about the harness.
        Err(e) => {
            tracing::debug!("could not read /proc/{pid}/stat ({e}); taking the harness as alive");
            true
        }
    }
}

/// Resolves once the harness that started this node has ended; never, for a node
/// started by hand.
pub async fn harness_gone() {
    let Some(pid) = harness_pid() else {
        return std::future::pending().await;
    };
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tick.tick().await;
        if !alive(pid) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_not() {
        assert!(alive(std::process::id() as i32));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        child.wait().unwrap();
        assert!(!alive(pid));
    }

    #[test]
    fn a_zombie_counts_as_gone() {
        let child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        // Not reaped yet: once it has exited it is a zombie.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while alive(pid) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!alive(pid));
        drop(child);
    }
}
