//! What a peer holds: complete objects (in the shared [`Store`]) and partial objects being
//! assembled block by block during a download.
//!
//! A partial object is served as soon as it has a block: the node answers block requests
//! from it and announces itself as a provider, before it holds any whole chunk (cut-through
//! forwarding). Every block is verified against the object's block hashes on the way in
//! ([`Holdings::insert_block`]), and the block hashes against the manifest when the
//! download begins, so nothing unverified is ever held or served. The blocks of a chunk are
//! joined into one buffer once they are all there; when the last one arrives,
//! [`Holdings::complete`] moves the chunks into the store as they are (no second hashing).
//! Peers that ask about a partial object are remembered: they are downloading it too,
//! and the download adds them to the peers it trades with.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use libp2p::{Multiaddr, PeerId};

use super::exchange::{Fellow, RecentAskers};
use super::have::{ChunkSet, Have};
use crate::content::{BlockHashes, ContentError, Manifest, ObjectId};
use crate::store::{Store, StoredObject};

/// Peers remembered per partial object as having asked for it (they are downloading it
/// too, so soon worth asking back), at most.
const MAX_REQUESTERS: usize = 64;

/// An object's manifest and block hashes, checked, with their wire encodings.
#[derive(Debug)]
struct Outboard {
    manifest: Arc<Manifest>,
    hashes: Arc<BlockHashes>,
    encoded: Bytes,
    hashes_encoded: Bytes,
}

impl Outboard {
    fn new(manifest: Manifest, hashes: BlockHashes) -> Self {
        Outboard {
            encoded: Bytes::from(manifest.encode()),
            hashes_encoded: Bytes::from(hashes.encode()),
            manifest: Arc::new(manifest),
            hashes: Arc::new(hashes),
        }
    }
}

/// An object being downloaded.
#[derive(Debug)]
struct Partial {
    outboard: Arc<Outboard>,
    /// Chunks whose every block arrived, joined into one buffer.
    chunks: Vec<Option<Bytes>>,
    /// Blocks of the chunks not joined yet, by block index.
    blocks: HashMap<usize, Bytes>,
    /// The blocks held, joined or not.
    have: ChunkSet,
    /// Peers that asked this node about the object since the download last looked, with
    /// the latest holdings they told.
    requesters: Vec<(PeerId, Option<Have>)>,
}

impl Partial {
    fn block(&self, index: usize) -> Option<Bytes> {
        if let Some(bytes) = self.blocks.get(&index) {
            return Some(bytes.clone());
        }
        let (chunk, within) = self.outboard.manifest.block_in_chunk(index)?;
        let bytes = self.chunks.get(chunk)?.as_ref()?;
        Some(bytes.slice(within))
    }

    /// Joins chunk `chunk` into one buffer if all its blocks are here.
    fn join_if_whole(&mut self, chunk: usize) {
        let blocks = self.outboard.manifest.blocks_of_chunk(chunk);
        if !blocks.clone().all(|b| self.blocks.contains_key(&b)) {
            return;
        }
        let parts: Vec<Bytes> = blocks.filter_map(|b| self.blocks.remove(&b)).collect();
        let joined = if parts.len() == 1 {
            parts.into_iter().next().unwrap_or_default()
        } else {
            Bytes::from(parts.concat())
        };
        if let Some(slot) = self.chunks.get_mut(chunk) {
            *slot = Some(joined);
        }
    }
}

/// The answer to "give me block `i` of object `id`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockLookup {
    /// The verified block, and what is held of the object.
    Found(Bytes, Have),
    /// The object is being downloaded and that block is not here yet.
    Missing(Have),
    /// Nothing of that object is here.
    Unknown,
}

/// What an insertion changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inserted {
    /// The block was new (not a duplicate).
    pub new: bool,
    /// Every block is now held.
    pub complete: bool,
}

/// Why a block was not kept.
#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    /// The bytes do not match the block hashes.
    #[error(transparent)]
    Corrupt(#[from] ContentError),
    /// No download of the object was begun here.
    #[error("no download of object {0} is in progress here, so its blocks cannot be checked; fetch the manifest first")]
    NotStarted(ObjectId),
}

/// Complete and partial objects of one node.
#[derive(Debug)]
pub struct Holdings {
    store: Store,
    partial: Mutex<HashMap<ObjectId, Partial>>,
    /// Manifests and block hashes of complete objects, made when first asked for.
    outboards: Mutex<HashMap<ObjectId, Arc<Outboard>>>,
    /// Objects published here (`POST /objects`): this peer is their origin.
    published: Mutex<HashSet<ObjectId>>,
    /// Who asked about which held object lately.
    askers: Mutex<RecentAskers>,
}

impl Default for Holdings {
    fn default() -> Self {
        Self::new()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Holdings {
    /// Empty holdings, in memory.
    pub fn new() -> Self {
        Holdings {
            store: Store::in_memory(),
            partial: Mutex::new(HashMap::new()),
            outboards: Mutex::new(HashMap::new()),
            published: Mutex::new(HashSet::new()),
            askers: Mutex::new(RecentAskers::default()),
        }
    }

    fn partial(&self) -> MutexGuard<'_, HashMap<ObjectId, Partial>> {
        lock(&self.partial)
    }

    /// The complete objects.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Number of objects being assembled.
    pub fn partial_count(&self) -> usize {
        self.partial().len()
    }

    /// Records that `id` was published here: this peer is its origin. Its block hashes
    /// are made now, not when the first manifest request arrives (in the swarm task, as a
    /// flash crowd begins).
    pub fn mark_published(&self, id: ObjectId) {
        lock(&self.published).insert(id);
        if let Some(object) = self.store.get(&id) {
            let _ = self.complete_outboard(&object);
        }
    }

    /// Whether `id` was published here.
    pub fn is_published(&self, id: &ObjectId) -> bool {
        lock(&self.published).contains(id)
    }

    /// The complete object `id`, if held.
    pub fn complete_object(&self, id: &ObjectId) -> Option<Arc<StoredObject>> {
        self.store.get(id)
    }

    /// The outboard of the complete object `id`, computed on first use.
    fn complete_outboard(&self, object: &StoredObject) -> Option<Arc<Outboard>> {
        if let Some(outboard) = lock(&self.outboards).get(&object.id()) {
            return Some(Arc::clone(outboard));
        }
        let bytes = object.bytes_in_memory()?;
        let manifest = object.manifest().clone();
        let hashes = match BlockHashes::of(&manifest, &bytes) {
            Ok(hashes) => hashes,
            Err(e) => {
                tracing::warn!(id = %object.id(), "cannot serve the object by blocks: {e}");
                return None;
            }
        };
        let outboard = Arc::new(Outboard::new(manifest, hashes));
        lock(&self.outboards).insert(object.id(), Arc::clone(&outboard));
        Some(outboard)
    }

    /// The manifest of `id` and its block hashes (canonical encodings), and what is held.
    pub fn manifest(&self, id: &ObjectId) -> Option<(Bytes, Bytes, Have)> {
        if let Some(object) = self.store.get(id) {
            let outboard = self.complete_outboard(&object)?;
            return Some((
                outboard.encoded.clone(),
                outboard.hashes_encoded.clone(),
                Have::All,
            ));
        }
        let partial = self.partial();
        let p = partial.get(id)?;
        Some((
            p.outboard.encoded.clone(),
            p.outboard.hashes_encoded.clone(),
            Have::Some(p.have.clone()),
        ))
    }

    /// What is held of `id`.
    pub fn have(&self, id: &ObjectId) -> Option<Have> {
        if self.store.get(id).is_some() {
            return Some(Have::All);
        }
        self.partial().get(id).map(|p| Have::Some(p.have.clone()))
    }

    /// Block `index` of `id`.
    pub fn block(&self, id: &ObjectId, index: usize) -> BlockLookup {
        if let Some(object) = self.store.get(id) {
            let found = object
                .manifest()
                .block_in_chunk(index)
                .and_then(|(c, within)| {
                    let chunk = object.chunk_in_memory(c)?;
                    Some(chunk.slice(within))
                });
            return match found {
                Some(bytes) => BlockLookup::Found(bytes, Have::All),
                None => BlockLookup::Missing(Have::All),
            };
        }
        let partial = self.partial();
        let Some(p) = partial.get(id) else {
            return BlockLookup::Unknown;
        };
        let have = Have::Some(p.have.clone());
        match p.block(index) {
            Some(bytes) => BlockLookup::Found(bytes, have),
            None => BlockLookup::Missing(have),
        }
    }

    /// Starts assembling the object `manifest` describes, whose blocks `hashes` describe
    /// (no-op if it is already held or being assembled). The manifest must already be
    /// checked against the id, and the hashes against the manifest.
    pub fn begin(&self, manifest: &Manifest, hashes: &BlockHashes) {
        let id = manifest.id();
        if self.store.get(&id).is_some() {
            return;
        }
        self.partial().entry(id).or_insert_with(|| Partial {
            outboard: Arc::new(Outboard::new(manifest.clone(), hashes.clone())),
            chunks: vec![None; manifest.chunk_count()],
            blocks: HashMap::new(),
            have: ChunkSet::empty(manifest.block_count()),
            requesters: Vec::new(),
        });
    }

    /// Remembers that `peer` asked about `id`, telling it holds `have`: if `id` is being
    /// downloaded here, `peer` is most likely downloading it too, and may have blocks to
    /// trade.
    /// trade. Whoever asks about an object held here, partly or whole, becomes one of
    /// the fellow downloaders answers name ([`Holdings::fellows`]).
    pub fn note_requester(&self, id: &ObjectId, peer: PeerId, have: Option<Have>) {
        let mut held = false;
        if let Some(p) = self.partial().get_mut(id) {
            held = true;
            if let Some(entry) = p.requesters.iter_mut().find(|(q, _)| *q == peer) {
                if have.is_some() {
                    entry.1 = have;
                }
            } else if p.requesters.len() < MAX_REQUESTERS {
                p.requesters.push((peer, have));
            }
        }
        if held || self.store.get(id).is_some() {
            lock(&self.askers).note(*id, peer);
        }
    }

    /// Up to `n` peers that asked about `id` lately, with their addresses (`address`
    /// knows them), leaving out `asker`: the fellow downloaders an answer names.
    pub fn fellows(
        &self,
        id: &ObjectId,
        asker: &PeerId,
        n: u8,
        address: impl Fn(&PeerId) -> Option<Multiaddr>,
    ) -> Vec<Fellow> {
        lock(&self.askers).pick(id, asker, n, address)
    }

    /// The peers that asked about `id` since the last call, with what they hold.
    pub fn take_requesters(&self, id: &ObjectId) -> Vec<(PeerId, Option<Have>)> {
        self.partial()
            .get_mut(id)
            .map(|p| std::mem::take(&mut p.requesters))
            .unwrap_or_default()
    }

    /// Verifies block `index` of `id` against its block hash and keeps it. Errors when the
    /// bytes do not match (nothing is kept) or when no download of `id` was begun.
    pub fn insert_block(
        &self,
        id: &ObjectId,
        index: usize,
        bytes: Bytes,
    ) -> Result<Inserted, InsertError> {
        let outboard = {
            let partial = self.partial();
            match partial.get(id) {
                Some(p) => Arc::clone(&p.outboard),
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
        outboard
            .hashes
            .verify_block(&outboard.manifest, index, &bytes)?;
        let mut partial = self.partial();
        let Some(p) = partial.get_mut(id) else {
            return Ok(Inserted {
                new: false,
                complete: true,
            });
        };
        let new = !p.have.contains(index);
        if new {
            p.blocks.insert(index, bytes);
            p.have.insert(index);
            if let Some((chunk, _)) = outboard.manifest.block_in_chunk(index) {
                p.join_if_whole(chunk);
            }
        }
        Ok(Inserted {
            new,
            complete: p.have.is_full(),
        })
    }

    /// Drops the partial object `id` (a download that failed); complete objects are
    /// untouched. Returns whether a partial object was held.
    pub fn drop_partial(&self, id: &ObjectId) -> bool {
        self.partial().remove(id).is_some()
    }

    /// Moves the fully assembled `id` into the store, chunk by chunk as they were
    /// verified (no copy). Errors when blocks are still missing.
    pub async fn complete(&self, id: &ObjectId) -> Result<Arc<StoredObject>, String> {
        if let Some(object) = self.store.get(id) {
            return Ok(object);
        }
        let (outboard, chunks) = {
            let partial = self.partial();
            let p = partial
                .get(id)
                .ok_or_else(|| format!("object {id} is not being assembled here"))?;
            if !p.have.is_full() || p.chunks.iter().any(Option::is_none) {
                return Err(format!(
                    "object {id} has {} of {} blocks; it cannot be completed yet",
                    p.have.count(),
                    p.have.len()
                ));
            }
            let chunks: Vec<Bytes> = p.chunks.iter().flatten().cloned().collect();
            (Arc::clone(&p.outboard), chunks)
        };
        // The partial stays servable until the complete object is in the store.
        let manifest = Manifest::clone(&outboard.manifest);
        let result = self.store.put_verified_chunks(manifest, chunks).await;
        let object = result.map_err(|e| format!("could not store object {id}: {e}"))?;
        lock(&self.outboards).insert(*id, outboard);
        self.partial().remove(id);
        Ok(object)
    }

    /// Forgets `id`, complete or partial, and that it was published here; returns
    /// whether anything was held.
    pub async fn remove(&self, id: &ObjectId) -> Result<bool, String> {
        lock(&self.published).remove(id);
        let partial = self.partial().remove(id).is_some();
        lock(&self.outboards).remove(id);
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
    use crate::content::{BLOCK_SIZE, CHUNK_SIZE};

    fn sample(len: usize) -> Bytes {
        (0..len)
            .map(|i| (i * 7 % 251) as u8)
            .collect::<Vec<_>>()
            .into()
    }

    #[tokio::test]
    async fn assembles_serves_blocks_before_whole_chunks_and_completes() {
        let bytes = sample(2 * CHUNK_SIZE as usize + 5);
        let manifest = Manifest::of(&bytes);
        let hashes = BlockHashes::of(&manifest, &bytes).unwrap();
        let id = manifest.id();
        let h = Holdings::new();
        assert_eq!(h.block(&id, 0), BlockLookup::Unknown);
        assert!(h.insert_block(&id, 0, bytes.slice(0..10)).is_err());
        h.begin(&manifest, &hashes);
        let block = |i: usize| {
            let r = manifest.block_range(i).unwrap();
            bytes.slice(r.start as usize..r.end as usize)
        };
        assert!(matches!(h.block(&id, 17), BlockLookup::Missing(_)));
        let mut bad = block(17).to_vec();
        bad[3] ^= 1;
        assert!(matches!(
            h.insert_block(&id, 17, bad.into()),
            Err(InsertError::Corrupt(ContentError::BlockHash { index: 17 }))
        ));
        assert!(matches!(h.block(&id, 17), BlockLookup::Missing(_)));
        let first = h.insert_block(&id, 17, block(17)).unwrap();
        assert_eq!((first.new, first.complete), (true, false));
        assert!(!h.insert_block(&id, 17, block(17)).unwrap().new);
        // Cut-through: one block of chunk 1 is served while the chunk is incomplete.
        match h.block(&id, 17) {
            BlockLookup::Found(b, Have::Some(set)) => {
                assert_eq!(b, block(17));
                assert_eq!(set.count(), 1);
            }
            other => panic!("{other:?}"),
        }
        assert!(h.complete(&id).await.is_err(), "not complete yet");
        let mut last = None;
        for i in 0..manifest.block_count() {
            last = Some(h.insert_block(&id, i, block(i)).unwrap());
        }
        assert!(last.unwrap().complete);
        // Joined chunks still serve their blocks.
        assert_eq!(
            h.block(&id, 3),
            BlockLookup::Found(block(3), Have::Some(ChunkSet::full(33)))
        );
        let object = h.complete(&id).await.unwrap();
        assert_eq!(object.bytes_in_memory(), Some(bytes.clone()));
        assert_eq!(h.partial_count(), 0);
        assert_eq!(h.have(&id), Some(Have::All));
        assert_eq!(h.block(&id, 32), BlockLookup::Found(block(32), Have::All));
        assert_eq!(block(32).len(), 5);
        assert_eq!(block(31).len(), BLOCK_SIZE as usize);
        let (m, encoded_hashes, have) = h.manifest(&id).unwrap();
        assert_eq!(Manifest::decode(&m).unwrap(), manifest);
        assert_eq!(
            BlockHashes::decode(&manifest, &encoded_hashes).unwrap(),
            hashes
        );
        assert_eq!(have, Have::All);
        assert_eq!(h.remove(&id).await, Ok(true));
        assert_eq!((h.have(&id), h.remove(&id).await), (None, Ok(false)));
    }

    #[tokio::test]
    async fn published_objects_get_their_block_hashes_on_first_ask() {
        let bytes = sample(CHUNK_SIZE as usize + 3);
        let h = Holdings::new();
        let object = h.store().put(bytes.clone()).await.unwrap();
        let (_, encoded, _) = h.manifest(&object.id()).unwrap();
        let hashes = BlockHashes::decode(object.manifest(), &encoded).unwrap();
        assert_eq!(hashes.len(), 17);
    }
}
