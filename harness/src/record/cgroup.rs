//! CPU time and resident memory of a control group, read from the host's cgroup files:
//! how a container's usage is sampled (all its processes together, whatever they are).
//! Both layouts are read: v1 (`cpuacct.usage`, `memory.stat`'s `rss` + `mapped_file`)
//! and v2 (`cpu.stat`'s `usage_usec`, `memory.stat`'s `anon` + `file_mapped`). The
//! memory figure is the resident set (anonymous memory plus mapped files) so it compares
//! with a process's RSS; the page cache a cgroup also charges is left out.

use std::path::{Path, PathBuf};

/// Where the cgroup hierarchies are mounted.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// One control group's accounting files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    /// `cpuacct.usage` (v1, nanoseconds) or `cpu.stat` (v2, `usage_usec`).
    cpu: PathBuf,
    /// `memory.stat`.
    memory_stat: PathBuf,
    /// Unified hierarchy (v2).
    unified: bool,
}

impl Cgroup {
    /// The control group process `pid` (as the host sees it) belongs to, if its
    /// accounting files can be read.
    pub fn of_pid(pid: u32) -> Option<Cgroup> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        Self::from_proc(&text, Path::new(CGROUP_ROOT)).filter(Cgroup::readable)
    }

    /// Parses `/proc/<pid>/cgroup` (`id:controllers:path` lines) into the files under
    /// `root`: the v1 `cpuacct` and `memory` hierarchies when they are there, else the
    /// unified one.
    fn from_proc(text: &str, root: &Path) -> Option<Cgroup> {
        let mut cpuacct = None;
        let mut memory = None;
        let mut unified = None;
        for line in text.lines() {
            let mut fields = line.splitn(3, ':');
            let (Some(_), Some(controllers), Some(path)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let path = path.trim_start_matches('/');
            if controllers.is_empty() {
                unified = Some(path.to_string());
            }
            for controller in controllers.split(',') {
                match controller {
                    "cpuacct" => cpuacct = Some((controllers.to_string(), path.to_string())),
                    "memory" => memory = Some(path.to_string()),
                    _ => {}
                }
            }
        }
        match (cpuacct, memory) {
            (Some((mount, cpu)), Some(mem)) => Some(Cgroup {
                cpu: v1_dir(root, &mount, "cpuacct")
                    .join(cpu)
                    .join("cpuacct.usage"),
                memory_stat: root.join("memory").join(mem).join("memory.stat"),
                unified: false,
            }),
            _ => {
                let dir = root.join(unified?);
                Some(Cgroup {
                    cpu: dir.join("cpu.stat"),
                    memory_stat: dir.join("memory.stat"),
                    unified: true,
                })
            }
        }
    }

    fn readable(&self) -> bool {
        self.cpu_ns().is_some() && self.rss_bytes().is_some()
    }

    /// CPU time used by the group so far, in nanoseconds.
    pub fn cpu_ns(&self) -> Option<u64> {
        let text = std::fs::read_to_string(&self.cpu).ok()?;
        if self.unified {
            stat_field(&text, "usage_usec").map(|us| us.saturating_mul(1000))
        } else {
            text.trim().parse().ok()
        }
    }

    /// Resident memory of the group now (anonymous plus mapped file pages), in bytes.
    pub fn rss_bytes(&self) -> Option<u64> {
        let text = std::fs::read_to_string(&self.memory_stat).ok()?;
        let (anon, mapped) = if self.unified {
            ("anon", "file_mapped")
        } else {
            ("rss", "mapped_file")
        };
        Some(stat_field(&text, anon)? + stat_field(&text, mapped).unwrap_or(0))
    }
}

/// The v1 mount of a controller: a combined `cpu,cpuacct` line may be mounted under
/// that name, else under the controller's own (usually a link to it).
fn v1_dir(root: &Path, controllers: &str, own: &str) -> PathBuf {
    let combined = root.join(controllers);
    if combined.is_dir() {
        combined
    } else {
        root.join(own)
    }
}

/// The value of `name` in a `key value` stat file.
fn stat_field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(' ')?;
        (key == name).then(|| value.trim().parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_files_of_both_layouts() {
        let root = Path::new("/nonexistent");
        let v1 = "4:memory:/docker/abc\n2:cpuacct:/docker/abc\n1:cpu:/docker/abc\n0::/docker/abc\n";
        let g = Cgroup::from_proc(v1, root).unwrap();
        assert_eq!(g.cpu, root.join("cpuacct/docker/abc/cpuacct.usage"));
        assert_eq!(g.memory_stat, root.join("memory/docker/abc/memory.stat"));
        assert!(!g.unified);
        let v2 = "0::/system.slice/docker-abc.scope\n";
        let g = Cgroup::from_proc(v2, root).unwrap();
        assert_eq!(g.cpu, root.join("system.slice/docker-abc.scope/cpu.stat"));
        assert!(g.unified);
        assert!(Cgroup::from_proc("garbage", root).is_none());
    }

    #[test]
    fn reads_stat_fields() {
        let text = "cache 10\nrss 2048\nmapped_file 4096\n";
        assert_eq!(stat_field(text, "rss"), Some(2048));
        assert_eq!(stat_field(text, "mapped_file"), Some(4096));
        assert_eq!(stat_field(text, "anon"), None);
    }

    #[test]
    fn reads_own_group_where_readable() {
        // Whatever this machine's layout, a readable group has a CPU time and memory.
        if let Some(g) = Cgroup::of_pid(std::process::id()) {
            assert!(g.cpu_ns().is_some() && g.rss_bytes().is_some());
        }
    }
}
