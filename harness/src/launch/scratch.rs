//! A scratch directory for the nodes of one run (a server's `--data-dir`, so a server
//! restarted by a fault finds its objects again), removed when the run ends, on a second
//! Ctrl-C ([`super::registry`]), and — when the harness was killed outright — by the
//! next harness that makes one (its name carries the pid of the harness that owns it).

use std::path::{Path, PathBuf};

use super::registry;

/// Names of scratch directories start with this.
const PREFIX: &str = "versus-scratch-";

/// A directory under the system's temporary directory, removed on drop.
#[derive(Debug)]
pub(crate) struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// Creates `versus-<pid>-<label>-<n>` under the temporary directory, first removing
    /// the scratch directories of harnesses that are no longer running.
    pub(crate) fn new(label: &str) -> std::io::Result<Self> {
        let base = std::env::temp_dir();
        remove_orphans(&base);
        for n in 0u32..1000 {
            let path = base.join(format!("{PREFIX}{}-{label}-{n}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => {
                    registry::created(&path);
                    return Ok(Self { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "no free scratch directory name under the temporary directory",
        ))
    }

    /// Where it is.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            tracing::warn!("could not remove {}: {e}", self.path.display());
        }
        registry::removed(&self.path);
    }
}

/// Removes the scratch directories under `base` whose owning harness has ended.
fn remove_orphans(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        if owner != std::process::id() as i32
            && !versus_targets::harness_watch::alive(owner)
            && entry.path().is_dir()
        {
            tracing::info!(
                "removing {}, left by a harness that ended",
                entry.path().display()
            );
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
