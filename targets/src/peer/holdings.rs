//! What a peer holds: complete objects (in the shared [`Store`]) and partial objects being
//! assembled chunk by chunk during a download.
//!
//! A partial object is served as soon as it has a chunk: the node answers chunk requests
//! from it and announces itself as a provider. Every chunk is verified against the
//! manifest on the way in ([`Holdings::insert_chunk`]), so nothing unverified is ever
//! held or served. When the last chunk arrives, [`Holdings::complete`] moves the chunks
//! into the store as they are (no copy, no second hashing: each was verified already).
//! Peers that ask about a partial object are remembered: they are downloading it too,
//! and the download adds them to the peers it trades with.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use libp2p::PeerId;

use super::have::{ChunkSet, Have};
use crate::content::{ContentError, Manifest, ObjectId};
use crate::store::{Store, StoredObject};

/// Peers remembered per partial object as having asked for it (they are downloading it
/// too, so soon worth asking back), at most.
const MAX_REQUESTERS: usize = 64;

/// An object being downloaded.
#[derive(Debug)]
struct Partial {
    manifest: Arc<Manifest>,
    encoded: Bytes,
    chunks: Vec<Option<Bytes>>,
    have: ChunkSet,
    /// Peers that asked this node about the object since the download last looked, with
    /// the latest holdings they told.
    requesters: Vec<(PeerId, Option<Have>)>,
}

/// The answer to "give me chunk `i` of object `id`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkLookup {
    /// The verified chunk, and what is held of the object.
    Found(Bytes, Have),
    /// The object is being downloaded and that chunk is not here yet.
    Missing(Have),
    /// Nothing of that object is here.
    Unknown,
}

/// What an insertion changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inserted {
    /// The chunk was new (not a duplicate).
    pub new: bool,
    /// Every chunk is now held.
    pub complete: bool,
}

/// Why a chunk was not kept.
#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    /// The bytes do not match the manifest.
    #[error(transparent)]
    Corrupt(#[from] ContentError),
    /// No download of the object was begun here.
    #[error("no download of object {0} is in progress here, so its chunks cannot be checked; fetch the manifest first")]
    NotStarted(ObjectId),
}

/// Complete and partial objects of one node.
#[derive(Debug)]
pub struct Holdings {
    store: Store,
    partial: Mutex<HashMap<ObjectId, Partial>>,
    /// Objects published here (`POST /objects`): this peer is their origin.
    published: Mutex<HashSet<ObjectId>>,
}

impl Default for Holdings {
    fn default() -> Self {
        Self::new()
    }
}

impl Holdings {
    /// Empty holdings, in memory.
    pub fn new() -> Self {
        Holdings {
            store: Store::in_memory(),
            partial: Mutex::new(HashMap::new()),
            published: Mutex::new(HashSet::new()),
        }
    }

    fn partial(&self) -> MutexGuard<'_, HashMap<ObjectId, Partial>> {
        self.partial
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The complete objects.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Number of objects being assembled.
    pub fn partial_count(&self) -> usize {
        self.partial().len()
    }

    /// Records that `id` was published here: this peer is its origin.
    pub fn mark_published(&self, id: ObjectId) {
        if let Ok(mut published) = self.published.lock() {
            published.insert(id);
        }
    }

    /// Whether `id` was published here.
    pub fn is_published(&self, id: &ObjectId) -> bool {
        self.published.lock().is_ok_and(|p| p.contains(id))
    }

    /// The complete object `id`, if held.
    pub fn complete_object(&self, id: &ObjectId) -> Option<Arc<StoredObject>> {
        self.store.get(id)
    }

    /// The manifest of `id` (canonical encoding) and what is held of it.
    pub fn manifest(&self, id: &ObjectId) -> Option<(Bytes, Have)> {
        if let Some(object) = self.store.get(id) {
            return Some((Bytes::from(object.manifest().encode()), Have::All));
        }
        let partial = self.partial();
        let p = partial.get(id)?;
        Some((p.encoded.clone(), Have::Some(p.have.clone())))
    }

    /// What is held of `id`.
    pub fn have(&self, id: &ObjectId) -> Option<Have> {
        if self.store.get(id).is_some() {
            return Some(Have::All);
        }
        self.partial().get(id).map(|p| Have::Some(p.have.clone()))
    }

    /// Chunk `index` of `id`.
    pub fn chunk(&self, id: &ObjectId, index: usize) -> ChunkLookup {
        if let Some(object) = self.store.get(id) {
            return match object.chunk_in_memory(index) {
                Some(bytes) => ChunkLookup::Found(bytes, Have::All),
                None => ChunkLookup::Missing(Have::All),
            };
        }
        let partial = self.partial();
        let Some(p) = partial.get(id) else {
            return ChunkLookup::Unknown;
        };
        let have = Have::Some(p.have.clone());
        match p.chunks.get(index) {
            Some(Some(bytes)) => ChunkLookup::Found(bytes.clone(), have),
            _ => ChunkLookup::Missing(have),
        }
    }

    /// Starts assembling the object `manifest` describes (no-op if it is already held or
    /// being assembled). The manifest must already be checked against the id.
    pub fn begin(&self, manifest: &Manifest) {
        let id = manifest.id();
        if self.store.get(&id).is_some() {
            return;
        }
        let count = manifest.chunk_count();
        self.partial().entry(id).or_insert_with(|| Partial {
            manifest: Arc::new(manifest.clone()),
            encoded: Bytes::from(manifest.encode()),
            chunks: vec![None; count],
            have: ChunkSet::empty(count),
            requesters: Vec::new(),
        });
    }

    /// Remembers that `peer` asked about `id`, telling it holds `have`: if `id` is being
    /// downloaded here, `peer` is most likely downloading it too, and may have chunks to
    /// trade.
    pub fn note_requester(&self, id: &ObjectId, peer: PeerId, have: Option<Have>) {
        if let Some(p) = self.partial().get_mut(id) {
            if let Some(entry) = p.requesters.iter_mut().find(|(q, _)| *q == peer) {
                if have.is_some() {
                    entry.1 = have;
                }
            } else if p.requesters.len() < MAX_REQUESTERS {
                p.requesters.push((peer, have));
            }
        }
    }

    /// The peers that asked about `id` since the last call, with what they hold.
    pub fn take_requesters(&self, id: &ObjectId) -> Vec<(PeerId, Option<Have>)> {
        self.partial()
            .get_mut(id)
            .map(|p| std::mem::take(&mut p.requesters))
            .unwrap_or_default()
    }

    /// Verifies chunk `index` of `id` against the manifest and keeps it. Errors when the
    /// bytes do not match (nothing is kept) or when no download of `id` was begun.
    pub fn insert_chunk(
        &self,
        id: &ObjectId,
        index: usize,
        bytes: Bytes,
    ) -> Result<Inserted, InsertError> {
        let manifest = {
            let partial = self.partial();
            match partial.get(id) {
                Some(p) => Arc::clone(&p.manifest),
                None if self.store.get(id).is_some() => {
                    return Ok(Inserted {
                        new: false,
                        complete: true,
                    })
                }
                None => return Err(InsertError::NotStarted(*id)),
            }
        };
        // Hash outside the lock: serving must not wait for it.
        manifest.verify_chunk(index, &bytes)?;
        let mut partial = self.partial();
        let Some(p) = partial.get_mut(id) else {
            return Ok(Inserted {
                new: false,
                complete: true,
            });
        };
        let new = !p.have.contains(index);
        if new {
            p.chunks[index] = Some(bytes);
            p.have.insert(index);
        }
        Ok(Inserted {
            new,
            complete: p.have.is_full(),
        })
    }

    /// Moves the fully assembled `id` into the store, chunk by chunk as they were
    /// verified (no copy). Errors when chunks are still missing.
    pub async fn complete(&self, id: &ObjectId) -> Result<Arc<StoredObject>, String> {
        if let Some(object) = self.store.get(id) {
            return Ok(object);
        }
        let (manifest, chunks) = {
            let partial = self.partial();
            let p = partial
                .get(id)
                .ok_or_else(|| format!("object {id} is not being assembled here"))?;
            if !p.have.is_full() {
                return Err(format!(
                    "object {id} has {} of {} chunks; it cannot be completed yet",
                    p.have.count(),
                    p.have.len()
                ));
            }
            let chunks: Vec<Bytes> = p.chunks.iter().flatten().cloned().collect();
            (Manifest::clone(&p.manifest), chunks)
        };
        // The partial stays servable until the complete object is in the store.
        let result = self.store.put_verified_chunks(manifest, chunks).await;
        let object = result.map_err(|e| format!("could not store object {id}: {e}"))?;
        self.partial().remove(id);
        Ok(object)
    }

    /// Forgets `id`, complete or partial; returns whether anything was held.
    pub async fn remove(&self, id: &ObjectId) -> Result<bool, String> {
        let partial = self.partial().remove(id).is_some();
        let complete = self
            .store
            .delete(id)
            .await
            .map_err(|e| format!("could not drop object {id}: {e}"))?;
        Ok(partial || complete)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::CHUNK_SIZE;

    fn sample(len: usize) -> Bytes {
        (0..len)
            .map(|i| (i * 7 % 251) as u8)
            .collect::<Vec<_>>()
            .into()
    }

    #[tokio::test]
    async fn assembles_serves_partially_and_completes() {
        let bytes = sample(2 * CHUNK_SIZE as usize + 5);
        let manifest = Manifest::of(&bytes);
        let id = manifest.id();
        let h = Holdings::new();
        assert_eq!(h.chunk(&id, 0), ChunkLookup::Unknown);
        assert!(h.insert_chunk(&id, 0, bytes.slice(0..10)).is_err());
        h.begin(&manifest);
        let chunk = |i: usize| {
            let r = manifest.chunk_range(i).unwrap();
            bytes.slice(r.start as usize..r.end as usize)
        };
        assert!(matches!(h.chunk(&id, 1), ChunkLookup::Missing(_)));
        let mut bad = chunk(1).to_vec();
        bad[3] ^= 1;
        assert!(matches!(
            h.insert_chunk(&id, 1, bad.into()),
            Err(InsertError::Corrupt(ContentError::ChunkHash { index: 1 }))
        ));
        assert!(matches!(h.chunk(&id, 1), ChunkLookup::Missing(_)));
        let first = h.insert_chunk(&id, 1, chunk(1)).unwrap();
        assert_eq!((first.new, first.complete), (true, false));
        assert!(!h.insert_chunk(&id, 1, chunk(1)).unwrap().new);
        match h.chunk(&id, 1) {
            ChunkLookup::Found(b, Have::Some(set)) => {
                assert_eq!(b, chunk(1));
                assert_eq!(set.count(), 1);
            }
            other => panic!("{other:?}"),
        }
        assert!(h.complete(&id).await.is_err(), "not complete yet");
        h.insert_chunk(&id, 0, chunk(0)).unwrap();
        assert!(h.insert_chunk(&id, 2, chunk(2)).unwrap().complete);
        let object = h.complete(&id).await.unwrap();
        assert_eq!(object.bytes_in_memory(), Some(bytes.clone()));
        assert_eq!(object.read_chunk(1).await.unwrap(), chunk(1));
        assert_eq!(h.partial_count(), 0);
        assert_eq!(h.have(&id), Some(Have::All));
        assert_eq!(h.chunk(&id, 2), ChunkLookup::Found(chunk(2), Have::All));
        assert_eq!(h.remove(&id).await, Ok(true));
        assert_eq!((h.have(&id), h.remove(&id).await), (None, Ok(false)));
    }
}
