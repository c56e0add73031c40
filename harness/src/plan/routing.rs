//! Client-side routing of objects to server replicas by rendezvous (highest random
//! weight) hashing: every client picks the same replica for an object without
//! coordination, and adding a replica moves only the objects that now score highest
//! on it.

use versus_targets::content::ObjectId;

/// The replica (0..replicas) that holds `id` (the first of [`replicas_for`]).
#[cfg(test)]
pub(crate) fn replica_for(id: &ObjectId, replicas: usize) -> usize {
    (0..replicas.max(1))
        .max_by_key(|replica| score(id, *replica))
        .unwrap_or(0)
}

/// The `k` replicas (0..replicas) that hold `id`, best first: the first is
/// [`replica_for`], the others where its users go when it cannot be reached.
pub(crate) fn replicas_for(id: &ObjectId, replicas: usize, k: usize) -> Vec<usize> {
    let mut ranked: Vec<usize> = (0..replicas.max(1)).collect();
    ranked.sort_by_key(|replica| std::cmp::Reverse(score(id, *replica)));
    ranked.truncate(k.clamp(1, replicas.max(1)));
    ranked
}

fn score(id: &ObjectId, replica: usize) -> u64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(id.as_bytes());
    hasher.update(&(replica as u64).to_le_bytes());
    let hash = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_le_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use versus_targets::content::Manifest;

    fn ids(n: u32) -> Vec<ObjectId> {
        (0..n)
            .map(|i| Manifest::of(&i.to_le_bytes()).id())
            .collect()
    }

    #[test]
    fn spreads_evenly_and_moves_little_when_growing() {
        let ids = ids(4000);
        let mut counts = [0usize; 4];
        for id in &ids {
            counts[replica_for(id, 4)] += 1;
        }
        assert!(counts.iter().all(|c| (800..1200).contains(c)), "{counts:?}");
        let moved = ids
            .iter()
            .filter(|id| replica_for(id, 4) != replica_for(id, 5))
            .count();
        // Ideally 1/5 of the objects move to the new replica, and only to it.
        assert!((600..1000).contains(&moved), "{moved}");
        assert!(ids
            .iter()
            .all(|id| replica_for(id, 4) == replica_for(id, 5) || replica_for(id, 5) == 4));
        assert_eq!(replica_for(&ids[0], 1), 0);
    }

    #[test]
    fn the_first_of_k_replicas_is_the_one_replica_and_all_differ() {
        for id in ids(200) {
            let three = replicas_for(&id, 4, 3);
            assert_eq!(three.len(), 3);
            assert_eq!(three[0], replica_for(&id, 4));
            assert!(three[0] != three[1] && three[1] != three[2] && three[0] != three[2]);
            assert_eq!(replicas_for(&id, 4, 9).len(), 4);
            assert_eq!(replicas_for(&id, 1, 2), vec![0]);
        }
    }
}
