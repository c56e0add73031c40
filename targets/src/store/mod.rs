//! The object store: objects by id, in memory or persisted in a directory.
//!
//! In memory (the default) an object is its verified bytes: the manifest is computed from
//! those very bytes when they are stored, so they are served without hashing again.
//! With a data directory each object is two files, `<id>.data` (the bytes) and
//! `<id>.manifest` (the canonical manifest encoding), written durably and indexed again
//! on start ([`disk`] has the rules that keep them consistent through a crash). Bytes
//! read from disk are always verified, chunk by chunk, against the manifest before anyone
//! sees them: a flipped bit on disk becomes a [`StoreError::Corrupt`], never a served byte.
//!
//! Changes to one id (a PUT that writes files, a DELETE) are serialised by a per-id lock,
//! held across the index and the files, so a DELETE racing a PUT of the same bytes cannot
//! leave an acknowledged PUT pointing at removed files. An optional quota caps the bytes
//! stored; a PUT that would pass it fails with [`StoreFull`].

mod disk;
mod object;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use tokio::sync::{Mutex, MutexGuard};

use crate::content::{ContentError, Manifest, ObjectId, CHUNK_SIZE};

pub use disk::{data_file, manifest_file};
use object::Source;
pub use object::StoredObject;

/// Objects larger than this are hashed on a blocking thread rather than inline.
const INLINE_HASH_LIMIT: usize = CHUNK_SIZE as usize;
/// Number of per-id lock stripes (ids are uniformly random, so stripes are even).
const LOCK_STRIPES: usize = 256;

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
    /// The store's quota has no room for the object.
    #[error(transparent)]
    Full(#[from] StoreFull),
    /// A blocking store task was cancelled or panicked.
    #[error(
        "a store task did not complete ({0}); the server is shutting down or overloaded, retry"
    )]
    Task(String),
}

/// The store's quota has no room for an object.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the store is full: it holds {used} bytes of its {quota}-byte quota (--max-store-size) and {wanted} more do not fit; delete objects or restart the server with a larger quota")]
pub struct StoreFull {
    /// Bytes stored (or being stored) when the object was refused.
    pub used: u64,
    /// The quota.
    pub quota: u64,
    /// Bytes asked for.
    pub wanted: u64,
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

/// Objects by id; in memory, or persisted under a data directory.
#[derive(Debug)]
pub struct Store {
    index: RwLock<Index>,
    dir: Option<PathBuf>,
    /// Bytes of the indexed objects.
    stored_bytes: AtomicU64,
    /// Bytes counted against the quota: the indexed objects and those being written.
    committed: AtomicU64,
    quota: u64,
    locks: Vec<Mutex<()>>,
    skipped: u64,
}

impl Store {
    /// An empty store that keeps objects in memory, without a quota.
    pub fn in_memory() -> Self {
        Store::new(Index::default(), None, 0)
    }

    fn new(index: Index, dir: Option<PathBuf>, skipped: u64) -> Self {
        let stored: u64 = index.values().map(|o| o.size()).sum();
        Store {
            index: RwLock::new(index),
            dir,
            stored_bytes: AtomicU64::new(stored),
            committed: AtomicU64::new(stored),
            quota: u64::MAX,
            locks: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
            skipped,
        }
    }

    /// A store persisted under `dir` (created if needed); objects already there are
    /// indexed, the leftovers of a crash (temporary files, data without a manifest) are
    /// removed, and objects that cannot be loaded are skipped with a warning and counted
    /// ([`Store::skipped`]).
    pub async fn open(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        let scan_dir = dir.clone();
        let scanned = tokio::task::spawn_blocking(move || disk::scan(&scan_dir))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??;
        let store = Store::new(scanned.index, Some(dir), scanned.skipped);
        tracing::info!(
            dir = ?store.dir, objects = store.len(), bytes = store.stored_bytes(),
            skipped = scanned.skipped, removed = scanned.removed, "opened the object store"
        );
        Ok(store)
    }

    /// The same store with a quota of `bytes` stored at most.
    pub fn with_quota(mut self, bytes: u64) -> Self {
        self.quota = bytes;
        self
    }

    /// The data directory, if the store is persisted.
    pub fn data_dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Objects found in the data directory on start that could not be loaded.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Whether `bytes` more would fit in the quota now (an early check, as an upload
    /// arrives; the PUT itself checks again).
    pub fn check_room(&self, bytes: u64) -> Result<(), StoreFull> {
        let used = self.committed.load(Ordering::Acquire);
        match used.checked_add(bytes) {
            Some(after) if after <= self.quota => Ok(()),
            _ => Err(StoreFull {
                used,
                quota: self.quota,
                wanted: bytes,
            }),
        }
    }

    /// Counts `bytes` against the quota, or refuses.
    fn commit(&self, bytes: u64) -> Result<(), StoreFull> {
        self.committed
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&after| after <= self.quota)
            })
            .map(drop)
            .map_err(|used| StoreFull {
                used,
                quota: self.quota,
                wanted: bytes,
            })
    }

    fn uncommit(&self, bytes: u64) {
        self.committed.fetch_sub(bytes, Ordering::AcqRel);
    }

    async fn lock(&self, id: &ObjectId) -> MutexGuard<'_, ()> {
        self.locks[usize::from(id.as_bytes()[0]) % self.locks.len()]
            .lock()
            .await
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

    /// Indexes `object`, already counted against the quota; when another task indexed the
    /// same id first, gives the quota back and returns that one.
    fn insert(&self, object: Arc<StoredObject>) -> Arc<StoredObject> {
        let mut index = self.write_index();
        if let Some(existing) = index.get(&object.id) {
            self.uncommit(object.size());
            return Arc::clone(existing);
        }
        self.stored_bytes
            .fetch_add(object.size(), Ordering::Relaxed);
        index.insert(object.id, Arc::clone(&object));
        object
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
        let Some(dir) = &self.dir else {
            if let Some(existing) = self.get(&id) {
                return Ok(existing);
            }
            self.commit(manifest.size)?;
            let source = Source::Memory(bytes);
            return Ok(self.insert(Arc::new(StoredObject {
                id,
                manifest,
                source,
            })));
        };
        let _changing = self.lock(&id).await;
        if let Some(existing) = self.get(&id) {
            return Ok(existing);
        }
        self.commit(manifest.size)?;
        let (dir, encoded) = (dir.clone(), manifest.encode());
        let written =
            tokio::task::spawn_blocking(move || disk::write_object(&dir, &id, &bytes, &encoded))
                .await
                .map_err(|e| StoreError::Task(e.to_string()))
                .and_then(|written| written);
        let path = match written {
            Ok(path) => path,
            Err(err) => {
                self.uncommit(manifest.size);
                return Err(err);
            }
        };
        Ok(self.insert(Arc::new(StoredObject {
            id,
            manifest,
            source: Source::Disk(path),
        })))
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
        self.commit(manifest.size)?;
        Ok(self.insert(Arc::new(StoredObject {
            id,
            manifest,
            source: Source::Chunks(chunks),
        })))
    }

    /// The object `id`, if stored.
    pub fn get(&self, id: &ObjectId) -> Option<Arc<StoredObject>> {
        self.read_index().get(id).cloned()
    }

    /// Removes object `id`; returns whether it was there. With a data directory the
    /// files are gone (durably) when this returns `Ok(true)`.
    pub async fn delete(&self, id: &ObjectId) -> Result<bool, StoreError> {
        let Some(dir) = &self.dir else {
            return Ok(self.take(id).is_some());
        };
        let _changing = self.lock(id).await;
        // Out of the index first, so no new reader finds it while its files go.
        let Some(object) = self.take(id) else {
            return Ok(false);
        };
        let (dir, file_id) = (dir.clone(), *id);
        let removed = tokio::task::spawn_blocking(move || disk::remove_object(&dir, &file_id))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))
            .and_then(|removed| removed);
        if let Err(err) = removed {
            // The files (at least the manifest) are still there: so is the object.
            self.commit_unchecked(object.size());
            self.insert(object);
            return Err(err);
        }
        Ok(true)
    }

    /// Removes `id` from the index and the quota; returns what was there.
    fn take(&self, id: &ObjectId) -> Option<Arc<StoredObject>> {
        let object = self.write_index().remove(id)?;
        self.stored_bytes
            .fetch_sub(object.size(), Ordering::Relaxed);
        self.uncommit(object.size());
        Some(object)
    }

    fn commit_unchecked(&self, bytes: u64) {
        self.committed.fetch_add(bytes, Ordering::AcqRel);
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn deletes_racing_puts_of_the_same_bytes_keep_index_and_files_in_step() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).await.unwrap());
        let bytes = sample(4 * CHUNK_SIZE as usize + 1);
        let id = Manifest::of(&bytes).id();
        let manifest = manifest_file(dir.path(), &id);
        for round in 0..60 {
            let tasks: Vec<_> = (0..4)
                .map(|task| {
                    let (store, bytes) = (Arc::clone(&store), bytes.clone());
                    tokio::spawn(async move {
                        if task == 2 {
                            store.delete(&id).await.map(drop)
                        } else {
                            store.put(bytes).await.map(drop)
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap().unwrap();
            }
            let indexed = store.get(&id).is_some();
            assert_eq!(
                (
                    indexed,
                    manifest.exists(),
                    data_file(dir.path(), &id).exists()
                ),
                (indexed, indexed, indexed),
                "round {round}: the index and the files disagree"
            );
        }
    }
}
