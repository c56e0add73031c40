//! The objects a run publishes: deterministic bytes (so both architectures and every
//! run publish the same content, and so the same ids), where each is published, and
//! the catalogue users fetch from.

use bytes::Bytes;
use rand::rngs::SmallRng;
use versus_targets::content::{Manifest, ObjectId};

/// An object the workload can ask for: its id, request path and the endpoint holding it.
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    /// Content id.
    pub id: versus_targets::content::ObjectId,
    /// Request path, such as `/objects/<id>`.
    pub path: Bytes,
    /// Endpoint (replica or peer) that serves it to this user set.
    pub endpoint: usize,
    /// Client-server with `replication` > 1: the other replicas that hold it, asked in
    /// order when `endpoint` cannot be reached.
    pub fallbacks: Option<std::sync::Arc<[usize]>>,
    /// GET on a server; POST (`/fetch/{id}`) on a peer's admin plane.
    pub method: hyper::Method,
    /// Set when the answer is not the object itself but a peer's fetch statistics of it:
    /// the object's size (what the statistics must name).
    pub delivers: Option<u64>,
}

/// The bytes of published object `index`: deterministic, so every run and both
/// architectures publish the same content (and so the same ids).
pub(crate) fn object_bytes(index: u64, size: usize) -> Bytes {
    use rand::{Rng, SeedableRng};
    let mut bytes = vec![0u8; size];
    SmallRng::seed_from_u64(super::load::SEED ^ index.wrapping_mul(0x2545_F491_4F6C_DD1D))
        .fill_bytes(&mut bytes);
    Bytes::from(bytes)
}

/// One object to publish before the load: which bytes, and the nodes that get it.
#[derive(Debug, Clone)]
pub struct ObjectPlan {
    /// Which deterministic object ([`object_bytes`]).
    pub index: u64,
    /// Its size in bytes.
    pub size: usize,
    /// Its content id, the same on both architectures.
    pub id: ObjectId,
    /// Indexes (into the plan's nodes) of the nodes it is published at.
    pub holders: Vec<usize>,
}

impl ObjectPlan {
    /// Object `index` of `size` bytes, published at `holders`.
    pub fn new(index: u64, size: usize, holders: Vec<usize>) -> Self {
        ObjectPlan {
            index,
            size,
            id: Manifest::of(&object_bytes(index, size)).id(),
            holders,
        }
    }

    /// Its bytes (made again: the plan does not hold them).
    pub fn bytes(&self) -> Bytes {
        object_bytes(self.index, self.size)
    }
}
