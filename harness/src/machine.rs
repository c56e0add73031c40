//! The machine a report was made on: its fingerprint lets `versus compare` warn when
//! two reports come from different machines.

use serde::{Deserialize, Serialize};
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

/// What the machine is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MachineInfo {
    /// Host name.
    pub hostname: String,
    /// Operating system and version.
    pub os: String,
    /// CPU brand string.
    pub cpu_model: String,
    /// Logical cores.
    pub cores: u32,
    /// Physical memory.
    pub memory_bytes: u64,
}

impl MachineInfo {
    /// Reads this machine's facts.
    pub fn current() -> Self {
        let system = System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(CpuRefreshKind::nothing())
                .with_memory(MemoryRefreshKind::nothing().with_ram()),
        );
        Self {
            hostname: System::host_name().unwrap_or_default(),
            os: System::long_os_version().unwrap_or_default(),
            cpu_model: system
                .cpus()
                .first()
                .map(|c| c.brand().trim().to_string())
                .unwrap_or_default(),
            cores: system.cpus().len() as u32,
            memory_bytes: system.total_memory(),
        }
    }
}
