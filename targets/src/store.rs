//! The object store: objects by id, in memory or persisted in a directory.
//!
//! In memory (the default) an object is its verified bytes: the manifest is computed from
//! those very bytes when they are stored, so they are served without hashing again.
//! With a data directory each object is two files, `<id>.data` (the bytes) and
//! `<id>.manifest` (the canonical manifest encoding), written atomically (temporary file,
//! then rename) and indexed again on start. Bytes read from disk are always verified,
//! chunk by chunk, against the manifest before anyone sees them: a flipped bit on disk
//! becomes a [`StoreError::Corrupt`], never a served byte.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use bytes::Bytes;

use crate::content::{ContentError, Manifest, ObjectId, CHUNK_SIZE};

/// Objects larger than this are hashed on a blocking thread rather than inline.
const INLINE_HASH_LIMIT: usize = CHUNK_SIZE as usize;

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file system operation failed.
    #[error("could not {action} {path}: {error}; check that --data-dir names a writable directory with free space")]
    Io {
        /// What was being done ("write", "read", …).
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error (shown in the message, so not chained as a source).
        error: io::Error,
    },
    /// Bytes on disk do not match the manifest; they were not served.
    #[error("object {id} is corrupt on disk at {path}: {detail}; delete it (DELETE /objects/{id}) and upload it again")]
    Corrupt {
        /// The object.
        id: ObjectId,
        /// The data file.
        path: PathBuf,
        /// Which check failed.
        detail: String,
    },
    /// A chunk index past the end of the object.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// A blocking store task was cancelled or panicked.
    #[error(
        "a store task did not complete ({0}); the server is shutting down or overloaded, retry"
    )]
    Task(String),
}

/// A stored object; cheap to share, and every byte it returns has been verified.
#[derive(Debug)]
pub struct StoredObject {
    id: ObjectId,
    manifest: Manifest,
    source: Source,
}

#[derive(Debug)]
enum Source {
    /// Bytes the manifest was computed from, so verified by construction.
    Memory(Bytes),
    /// The object's chunks, each verified against the manifest before it was stored.
    Chunks(Vec<Bytes>),
    /// The data file; read and verified on every access.
    Disk(PathBuf),
}

impl StoredObject {
    /// The object's id.
    pub fn id(&self) -> ObjectId {
        self.id
    }

    /// The size in bytes.
    pub fn size(&self) -> u64 {
        self.manifest.size
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The whole object, when it is held (verified) in memory as one buffer.
    pub fn verified_bytes(&self) -> Option<&Bytes> {
        match &self.source {
            Source::Memory(bytes) => Some(bytes),
            Source::Chunks(_) | Source::Disk(_) => None,
        }
    }

    /// Chunk `index`, when the object is held (verified) in memory; no copy is made.
    pub fn chunk_in_memory(&self, index: usize) -> Option<Bytes> {
        match &self.source {
            Source::Memory(bytes) => {
                let range = self.manifest.chunk_range(index)?;
                Some(bytes.slice(range.start as usize..range.end as usize))
            }
            Source::Chunks(chunks) => chunks.get(index).cloned(),
            Source::Disk(_) => None,
        }
    }

    /// The whole object, when it is held (verified) in memory; an object stored as chunks
    /// is copied into one buffer.
    pub fn bytes_in_memory(&self) -> Option<Bytes> {
        match &self.source {
            Source::Memory(bytes) => Some(bytes.clone()),
            Source::Chunks(chunks) => Some(Bytes::from(chunks.concat())),
            Source::Disk(_) => None,
        }
    }

    /// Chunk `index`, verified against the manifest.
    pub async fn read_chunk(self: &Arc<Self>, index: usize) -> Result<Bytes, StoreError> {
        let range = self
            .manifest
            .chunk_range(index)
            .ok_or(ContentError::ChunkOutOfRange {
                index,
                count: self.manifest.chunk_count(),
            })?;
        match &self.source {
            Source::Memory(bytes) => Ok(bytes.slice(range.start as usize..range.end as usize)),
            Source::Chunks(chunks) => chunks.get(index).cloned().ok_or(
                ContentError::ChunkOutOfRange {
                    index,
                    count: chunks.len(),
                }
                .into(),
            ),
            Source::Disk(_) => {
                let object = Arc::clone(self);
                tokio::task::spawn_blocking(move || object.read_chunk_from_disk(index))
                    .await
                    .map_err(|e| StoreError::Task(e.to_string()))?
            }
        }
    }

    fn read_chunk_from_disk(&self, index: usize) -> Result<Bytes, StoreError> {
        let Source::Disk(path) = &self.source else {
            return Err(StoreError::Task("not a disk object".into()));
        };
        let range = self
            .manifest
            .chunk_range(index)
            .ok_or(ContentError::ChunkOutOfRange {
                index,
                count: self.manifest.chunk_count(),
            })?;
        let io_err = |error| StoreError::Io {
            action: "read",
            path: path.clone(),
            error,
        };
        let file = std::fs::File::open(path).map_err(io_err)?;
        let mut buf = vec![0u8; (range.end - range.start) as usize];
        match read_exact_at(&file, &mut buf, range.start) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(self.corrupt(
                    path,
                    format!(
                        "the file is shorter than the {} bytes of the object",
                        self.size()
                    ),
                ));
            }
            Err(e) => return Err(io_err(e)),
        }
        self.manifest
            .verify_chunk(index, &buf)
            .map_err(|e| self.corrupt(path, e.to_string()))?;
        Ok(Bytes::from(buf))
    }

    fn corrupt(&self, path: &Path, detail: String) -> StoreError {
        StoreError::Corrupt {
            id: self.id,
            path: path.to_path_buf(),
            detail,
        }
    }
}

#[cfg(unix)]
fn read_exact_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_exact_at(mut file: &std::fs::File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

/// Object ids are uniformly random already: hash them by taking their first 8 bytes.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0u8; 8];
        let n = bytes.len().min(8);
        word[..n].copy_from_slice(&bytes[..n]);
        self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
    }
}

type Index = HashMap<ObjectId, Arc<StoredObject>, BuildHasherDefault<IdHasher>>;

/// Where a data directory keeps the bytes of object `id`.
pub fn data_file(dir: &Path, id: &ObjectId) -> PathBuf {
    dir.join(format!("{id}.data"))
}

/// Where a data directory keeps the manifest of object `id`.
pub fn manifest_file(dir: &Path, id: &ObjectId) -> PathBuf {
    dir.join(format!("{id}.manifest"))
}

/// Objects by id; in memory, or persisted under a data directory.
#[derive(Debug)]
pub struct Store {
    index: RwLock<Index>,
    dir: Option<PathBuf>,
    stored_bytes: AtomicU64,
}

impl Store {
    /// An empty store that keeps objects in memory.
    pub fn in_memory() -> Self {
        Store {
            index: RwLock::new(Index::default()),
            dir: None,
            stored_bytes: AtomicU64::new(0),
        }
    }

    /// A store persisted under `dir` (created if needed); objects already there are
    /// indexed. Files that cannot be indexed are skipped with a warning.
    pub async fn open(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        let scan_dir = dir.clone();
        let index = tokio::task::spawn_blocking(move || scan(&scan_dir))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??;
        let stored: u64 = index.values().map(|o| o.size()).sum();
        tracing::info!(dir = %dir.display(), objects = index.len(), bytes = stored, "opened the object store");
        Ok(Store {
            index: RwLock::new(index),
            dir: Some(dir),
            stored_bytes: AtomicU64::new(stored),
        })
    }

    /// The data directory, if the store is persisted.
    pub fn data_dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    fn read_index(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_index(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores `bytes` and returns the object. Storing the same bytes again is a no-op.
    pub async fn put(&self, bytes: Bytes) -> Result<Arc<StoredObject>, StoreError> {
        let manifest = if bytes.len() <= INLINE_HASH_LIMIT {
            Manifest::of(&bytes)
        } else {
            let to_hash = bytes.clone();
            tokio::task::spawn_blocking(move || Manifest::of(&to_hash))
                .await
                .map_err(|e| StoreError::Task(e.to_string()))?
        };
        let id = manifest.id();
        if let Some(existing) = self.get(&id) {
            return Ok(existing);
        }
        let source = match &self.dir {
            None => Source::Memory(bytes),
            Some(dir) => {
                let (dir, encoded) = (dir.clone(), manifest.encode());
                let path = tokio::task::spawn_blocking(move || {
                    let data = data_file(&dir, &id);
                    write_atomically(&dir, &data, &bytes)?;
                    write_atomically(&dir, &manifest_file(&dir, &id), &encoded)?;
                    Ok::<_, StoreError>(data)
                })
                .await
                .map_err(|e| StoreError::Task(e.to_string()))??;
                Source::Disk(path)
            }
        };
        let object = Arc::new(StoredObject {
            id,
            manifest,
            source,
        });
        let mut index = self.write_index();
        let entry = index.entry(id).or_insert_with(|| {
            self.stored_bytes
                .fetch_add(object.size(), Ordering::Relaxed);
            Arc::clone(&object)
        });
        Ok(Arc::clone(entry))
    }

    /// Stores an object given as its chunks, each already verified against `manifest`
    /// (as a download does on the way in), without hashing or copying them again: in
    /// memory the chunks are kept as they are. Errors when the chunks do not have the
    /// lengths the manifest gives.
    pub async fn put_verified_chunks(
        &self,
        manifest: Manifest,
        chunks: Vec<Bytes>,
    ) -> Result<Arc<StoredObject>, StoreError> {
        let id = manifest.id();
        if chunks.len() != manifest.chunk_count() {
            return Err(ContentError::MalformedManifest(format!(
                "{} chunks given for an object of {}",
                chunks.len(),
                manifest.chunk_count()
            ))
            .into());
        }
        for (index, chunk) in chunks.iter().enumerate() {
            let expected = manifest.chunk_range(index).map_or(0, |r| r.end - r.start);
            if chunk.len() as u64 != expected {
                return Err(ContentError::ChunkLength {
                    index,
                    expected,
                    actual: chunk.len() as u64,
                }
                .into());
            }
        }
        if let Some(existing) = self.get(&id) {
            return Ok(existing);
        }
        if self.dir.is_some() {
            // Persisted: one data file, written (and its manifest recomputed) as usual.
            return self.put(Bytes::from(chunks.concat())).await;
        }
        let object = Arc::new(StoredObject {
            id,
            manifest,
            source: Source::Chunks(chunks),
        });
        let mut index = self.write_index();
        let entry = index.entry(id).or_insert_with(|| {
            self.stored_bytes
                .fetch_add(object.size(), Ordering::Relaxed);
            Arc::clone(&object)
        });
        Ok(Arc::clone(entry))
    }

    /// The object `id`, if stored.
    pub fn get(&self, id: &ObjectId) -> Option<Arc<StoredObject>> {
        self.read_index().get(id).cloned()
    }

    /// Removes object `id`; returns whether it was there.
    pub async fn delete(&self, id: &ObjectId) -> Result<bool, StoreError> {
        let Some(object) = self.write_index().remove(id) else {
            return Ok(false);
        };
        self.stored_bytes
            .fetch_sub(object.size(), Ordering::Relaxed);
        if let Some(dir) = &self.dir {
            let (dir, id) = (dir.clone(), *id);
            tokio::task::spawn_blocking(move || {
                for path in [manifest_file(&dir, &id), data_file(&dir, &id)] {
                    match std::fs::remove_file(&path) {
                        Err(e) if e.kind() != io::ErrorKind::NotFound => {
                            return Err(StoreError::Io {
                                action: "delete",
                                path,
                                error: e,
                            });
                        }
                        _ => {}
                    }
                }
                Ok(())
            })
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??;
        }
        Ok(true)
    }

    /// Number of objects stored.
    pub fn len(&self) -> usize {
        self.read_index().len()
    }

    /// True when no object is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total size of the stored objects, in bytes.
    pub fn stored_bytes(&self) -> u64 {
        self.stored_bytes.load(Ordering::Relaxed)
    }
}

/// Writes `bytes` to `path` through a temporary file in `dir`, so a crash never leaves a
/// half-written object under its final name.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&tmp, bytes).map_err(|error| StoreError::Io {
        action: "write",
        path: tmp.clone(),
        error,
    })?;
    std::fs::rename(&tmp, path).map_err(|error| {
        let _ = std::fs::remove_file(&tmp);
        StoreError::Io {
            action: "rename into place",
            path: path.to_path_buf(),
            error,
        }
    })
}

/// Indexes the objects under `dir`, creating it if needed.
fn scan(dir: &Path) -> Result<Index, StoreError> {
    let io_err = |action| {
        move |error| StoreError::Io {
            action,
            path: dir.to_path_buf(),
            error,
        }
    };
    std::fs::create_dir_all(dir).map_err(io_err("create the data directory"))?;
    let mut index = Index::default();
    for entry in std::fs::read_dir(dir).map_err(io_err("list the data directory"))? {
        let path = entry.map_err(io_err("list the data directory"))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with(".tmp-") {
            // Left over by a crash in the middle of a write.
            let _ = std::fs::remove_file(&path);
            continue;
        }
        let Some(stem) = name.strip_suffix(".manifest") else {
            continue;
        };
        match load_object(dir, stem, &path) {
            Ok(object) => {
                index.insert(object.id, Arc::new(object));
            }
            Err(why) => tracing::warn!(path = %path.display(), "skipping a stored object: {why}"),
        }
    }
    Ok(index)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(len: usize) -> Bytes {
        (0..len).map(|i| (i % 253) as u8).collect::<Vec<_>>().into()
    }

    #[tokio::test]
    async fn memory_put_get_delete() {
        let store = Store::in_memory();
        let bytes = sample(CHUNK_SIZE as usize + 10);
        let object = store.put(bytes.clone()).await.unwrap();
        assert_eq!(object.id(), Manifest::of(&bytes).id());
        assert_eq!(store.put(bytes.clone()).await.unwrap().id(), object.id());
        assert_eq!((store.len(), store.stored_bytes()), (1, bytes.len() as u64));
        let got = store.get(&object.id()).unwrap();
        assert_eq!(got.verified_bytes(), Some(&bytes));
        assert_eq!(
            got.read_chunk(1).await.unwrap(),
            bytes.slice(CHUNK_SIZE as usize..)
        );
        assert!(got.read_chunk(2).await.is_err());
        assert!(store.delete(&object.id()).await.unwrap());
        assert!(!store.delete(&object.id()).await.unwrap());
        assert_eq!((store.len(), store.stored_bytes()), (0, 0));
    }

    #[tokio::test]
    async fn disk_store_reloads_and_detects_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = sample(2 * CHUNK_SIZE as usize + 3);
        let id = {
            let store = Store::open(dir.path()).await.unwrap();
            store.put(bytes.clone()).await.unwrap().id()
        };
        std::fs::write(dir.path().join("junk.manifest"), b"nope").unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        assert_eq!(store.len(), 1);
        let object = store.get(&id).unwrap();
        assert!(object.verified_bytes().is_none());
        assert_eq!(
            object.read_chunk(2).await.unwrap(),
            bytes.slice(2 * CHUNK_SIZE as usize..)
        );

        let path = data_file(dir.path(), &id);
        let mut on_disk = std::fs::read(&path).unwrap();
        on_disk[CHUNK_SIZE as usize + 5] ^= 0x01;
        std::fs::write(&path, &on_disk).unwrap();
        assert!(object.read_chunk(0).await.is_ok());
        let err = object.read_chunk(1).await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains(&path.display().to_string()));

        std::fs::write(&path, &on_disk[..10]).unwrap();
        assert!(matches!(
            object.read_chunk(0).await,
            Err(StoreError::Corrupt { .. })
        ));
        assert!(store.delete(&id).await.unwrap());
        assert!(!path.exists());
    }
}
