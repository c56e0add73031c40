//! Workloads: which operation a user performs next. The load model decides when; the
//! workload decides what (which object, which replica), from a per-user random stream
//! so runs are reproducible.

use rand::rngs::SmallRng;

use crate::drive::session::{Answer, Operation};
use crate::plan::objects::CatalogEntry;
use crate::record::op::{OpKind, OpNames};

/// Chooses operations. Shared by every worker thread.
pub trait Workload: Send + Sync + 'static {
    /// The operation `user` performs as its `iteration`-th, or `None` when it is done.
    fn next_op(&self, user: u64, iteration: u64, rng: &mut SmallRng) -> Option<Operation>;

    /// The report names of its operations (the named requests of a url workload).
    fn op_names(&self) -> OpNames {
        OpNames::default()
    }
}

/// `fetch`: GET objects chosen by Zipf (or uniform) popularity.
pub struct Fetch {
    catalog: Vec<CatalogEntry>,
    zipf: Option<rand_distr::Zipf<f64>>,
    verify: bool,
    /// Peer-to-peer: user u always asks its own peer, endpoint `u % n`.
    own_endpoints: Option<usize>,
}

impl Fetch {
    /// Fetches from `catalog`; object k (0-based) has Zipf weight 1/(k+1)^s when `zipf_exponent` is set.
    pub fn new(catalog: Vec<CatalogEntry>, zipf_exponent: Option<f64>, verify: bool) -> Self {
        let zipf = zipf_exponent.and_then(|s| rand_distr::Zipf::new(catalog.len() as f64, s).ok());
        Self {
            catalog,
            zipf,
            verify,
            own_endpoints: None,
        }
    }

    /// Sends user u's operations to endpoint `u % endpoints` (its own peer) whatever the object.
    pub fn per_user_endpoints(mut self, endpoints: usize) -> Self {
        self.own_endpoints = Some(endpoints.max(1));
        self
    }
}

impl Workload for Fetch {
    fn next_op(&self, user: u64, _iteration: u64, rng: &mut SmallRng) -> Option<Operation> {
        use rand::RngExt;
        use rand_distr::Distribution;
        let n = self.catalog.len();
        if n == 0 {
            return None;
        }
        let index = match &self.zipf {
            Some(z) => (z.sample(rng) as usize).clamp(1, n) - 1,
            None => rng.random_range(0..n),
        };
        let mut op = get(&self.catalog[index], self.verify);
        if let Some(n) = self.own_endpoints {
            op.endpoint = (user % n as u64) as usize;
        }
        Some(op)
    }
}

fn get(entry: &CatalogEntry, verify: bool) -> Operation {
    Operation {
        kind: OpKind::Get,
        endpoint: entry.endpoint,
        fallbacks: entry.fallbacks.clone(),
        method: entry.method.clone(),
        path: entry.path.clone(),
        headers: None,
        body: None,
        // Only a body that is the object itself can be checked against its id.
        answer: match entry.delivers {
            Some(size) => Answer::FetchStats { id: entry.id, size },
            None => Answer::Payload {
                verify: verify.then_some(entry.id),
            },
        },
    }
}

/// `flash-crowd`: each user downloads one object once; user i uses `endpoints[i]`.
pub struct OneShot {
    entry: CatalogEntry,
    endpoints: usize,
    verify: bool,
}

impl OneShot {
    /// Every user fetches `entry`, spread round-robin over `endpoints` endpoints.
    pub fn new(entry: CatalogEntry, endpoints: usize, verify: bool) -> Self {
        Self {
            entry,
            endpoints: endpoints.max(1),
            verify,
        }
    }
}

impl Workload for OneShot {
    fn next_op(&self, user: u64, iteration: u64, _rng: &mut SmallRng) -> Option<Operation> {
        (iteration == 0).then(|| {
            let mut op = get(&self.entry, self.verify);
            op.endpoint = (user % self.endpoints as u64) as usize;
            op
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::objects::object_bytes;
    use bytes::Bytes;
    use rand::SeedableRng;
    use versus_targets::content::Manifest;

    fn catalog(n: usize) -> Vec<CatalogEntry> {
        (0..n)
            .map(|i| CatalogEntry {
                id: Manifest::of(&object_bytes(i as u64, 10)).id(),
                path: Bytes::from(format!("/objects/{i}")),
                endpoint: 0,
                fallbacks: None,
                method: hyper::Method::GET,
                delivers: None,
            })
            .collect()
    }

    #[test]
    fn zipf_prefers_the_first_objects() {
        let fetch = Fetch::new(catalog(16), Some(1.0), true);
        let mut rng = SmallRng::seed_from_u64(1);
        let mut counts = [0u32; 16];
        for _ in 0..20_000 {
            let op = fetch.next_op(0, 0, &mut rng).unwrap();
            let i: usize = std::str::from_utf8(&op.path[9..]).unwrap().parse().unwrap();
            counts[i] += 1;
        }
        // Zipf(1): object 1 is about twice as popular as object 2 and 16x object 16.
        let ratio = f64::from(counts[0]) / f64::from(counts[1]);
        assert!((1.7..2.3).contains(&ratio), "{counts:?}");
        assert!(counts[0] > 8 * counts[15], "{counts:?}");
    }

    #[test]
    fn one_shot_is_once_per_user_and_round_robin() {
        let w = OneShot::new(catalog(1).remove(0), 3, false);
        let mut rng = SmallRng::seed_from_u64(1);
        assert_eq!(w.next_op(4, 0, &mut rng).unwrap().endpoint, 1);
        assert!(w.next_op(4, 1, &mut rng).is_none());
    }

    #[test]
    fn object_bytes_are_deterministic() {
        assert_eq!(object_bytes(3, 100), object_bytes(3, 100));
        assert_ne!(object_bytes(3, 100), object_bytes(4, 100));
    }
}
