//! The files of a data directory: `<id>.data` (the bytes) and `<id>.manifest` (the
//! canonical manifest encoding), and the rules that keep them consistent through a crash.
//!
//! - A PUT writes the data file, then the manifest, each through a temporary file that is
//!   fsynced and renamed into place, with the directory fsynced after each rename; an
//!   object exists once its manifest does, and its data file is complete by then.
//! - A DELETE removes the manifest first, then the data file, then fsyncs the directory.
//! - On start, [`scan`] removes what a crash can leave behind (temporary files, data files
//!   without a manifest) and counts the objects it cannot load, which it leaves in place.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::object::{Source, StoredObject};
use super::{Index, StoreError};
use crate::content::{ContentError, Manifest, ObjectId};

/// Prefix of the temporary files a write goes through.
const TMP_PREFIX: &str = ".tmp-";

/// Where a data directory keeps the bytes of object `id`.
pub fn data_file(dir: &Path, id: &ObjectId) -> PathBuf {
    dir.join(format!("{id}.data"))
}

/// Where a data directory keeps the manifest of object `id`.
pub fn manifest_file(dir: &Path, id: &ObjectId) -> PathBuf {
    dir.join(format!("{id}.manifest"))
}

fn io_error<'p>(action: &'static str, path: &'p Path) -> impl FnOnce(io::Error) -> StoreError + 'p {
    move |error| StoreError::Io {
        action,
        path: path.to_path_buf(),
        error,
    }
}

/// Writes object `id` (its `bytes`, then its `manifest` encoding) durably; returns the
/// data file.
pub(super) fn write_object(
    dir: &Path,
    id: &ObjectId,
    bytes: &[u8],
    manifest: &[u8],
) -> Result<PathBuf, StoreError> {
    let data = data_file(dir, id);
    write_durably(dir, &data, bytes)?;
    write_durably(dir, &manifest_file(dir, id), manifest)?;
    Ok(data)
}

/// Removes object `id`: manifest first (then the object is gone, also after a crash),
/// then the data file. A data file that cannot be removed once its manifest is gone is
/// only logged: it is a leftover that the next start removes.
pub(super) fn remove_object(dir: &Path, id: &ObjectId) -> Result<(), StoreError> {
    let manifest = manifest_file(dir, id);
    match std::fs::remove_file(&manifest) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(io_error("delete", &manifest)(e));
        }
        _ => {}
    }
    let data = data_file(dir, id);
    match std::fs::remove_file(&data) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => tracing::warn!(
            path = %data.display(),
            "could not delete the data file of a deleted object ({e}); the next start removes it"
        ),
        _ => {}
    }
    sync_dir(dir)
}

/// Writes `bytes` to `path` through a temporary file in `dir` (written, fsynced, renamed,
/// then the directory fsynced), so a crash never leaves a half-written file under its
/// final name and a rename that returned survives a power cut.
fn write_durably(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(
        "{TMP_PREFIX}{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let written = File::create(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .map_err(io_error("write", &tmp))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(io_error("rename into place", path)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    sync_dir(dir)
}

/// Makes the directory's entries (renames, removals) durable.
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error("fsync the data directory", dir))
}

/// What [`scan`] found in a data directory.
pub(super) struct Scanned {
    pub(super) index: Index,
    /// Objects that could not be loaded (left in place, counted in /metrics).
    pub(super) skipped: u64,
    /// Leftovers of a crash that were removed.
    pub(super) removed: u64,
}

/// Indexes the objects under `dir` (created if needed) and removes the leftovers of a
/// crash: temporary files and data files without a manifest.
pub(super) fn scan(dir: &Path) -> Result<Scanned, StoreError> {
    std::fs::create_dir_all(dir).map_err(io_error("create the data directory", dir))?;
    let mut names = HashSet::new();
    for entry in std::fs::read_dir(dir).map_err(io_error("list the data directory", dir))? {
        let entry = entry.map_err(io_error("list the data directory", dir))?;
        if let Ok(name) = entry.file_name().into_string() {
            names.insert(name);
        }
    }
    let mut scanned = Scanned {
        index: Index::default(),
        skipped: 0,
        removed: 0,
    };
    for name in &names {
        let path = dir.join(name);
        let orphan = name.starts_with(TMP_PREFIX)
            || name
                .strip_suffix(".data")
                .is_some_and(|stem| !names.contains(&format!("{stem}.manifest")));
        if orphan {
            tracing::info!(path = %path.display(), "removing what a crash left behind");
            std::fs::remove_file(&path).map_err(io_error("remove the leftover", &path))?;
            scanned.removed += 1;
            continue;
        }
        let Some(stem) = name.strip_suffix(".manifest") else {
            continue;
        };
        match load_object(dir, stem, &path) {
            Ok(object) => {
                scanned.index.insert(object.id, Arc::new(object));
            }
            Err(why) => {
                scanned.skipped += 1;
                tracing::warn!(path = %path.display(), "skipping a stored object: {why}; delete its files or upload it again");
            }
        }
    }
    if scanned.removed > 0 {
        sync_dir(dir)?;
    }
    Ok(scanned)
}

fn load_object(dir: &Path, stem: &str, manifest_path: &Path) -> Result<StoredObject, String> {
    let id: ObjectId = stem.parse().map_err(|e: ContentError| e.to_string())?;
    let encoded = std::fs::read(manifest_path).map_err(|e| format!("cannot read it: {e}"))?;
    let manifest = Manifest::decode(&encoded).map_err(|e| e.to_string())?;
    if manifest.id() != id {
        return Err(format!(
            "the manifest hashes to {}, not to its file name",
            manifest.id()
        ));
    }
    let data = data_file(dir, &id);
    let len = std::fs::metadata(&data)
        .map_err(|e| format!("its data file {} is unusable: {e}", data.display()))?
        .len();
    if len != manifest.size {
        return Err(format!(
            "{} has {len} bytes, the manifest says {}",
            data.display(),
            manifest.size
        ));
    }
    Ok(StoredObject {
        id,
        manifest,
        source: Source::Disk(data),
    })
}
