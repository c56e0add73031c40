//! A scratch directory for the nodes of one run (a server's `--data-dir`, so a server
//! restarted by a fault finds its objects again), removed when the run ends.

use std::path::{Path, PathBuf};

/// A directory under the system's temporary directory, removed on drop.
#[derive(Debug)]
pub(crate) struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// Creates `versus-<pid>-<label>-<n>` under the temporary directory.
    pub(crate) fn new(label: &str) -> std::io::Result<Self> {
        let base = std::env::temp_dir();
        for n in 0u32..1000 {
            let path = base.join(format!("versus-{}-{label}-{n}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(Self { path }),
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
    }
}
