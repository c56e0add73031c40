//! The budget of provider records this node keeps for other peers.
//!
//! Kademlia's [`MemoryStore`] counts every key it holds providers of against one limit,
//! remote and local alike: one hostile peer announcing thousands of distinct keys used
//! to fill it, after which this node's own `start_providing` failed and its objects
//! could not be found. So record filtering is on (`StoreInserts::FilterBoth`, set in
//! `behaviour`), inbound provider records reach the swarm task as events, and
//! [`RemoteRecords::admit`] stores one only within the remote budget: at most
//! [`MAX_REMOTE_KEYS`] distinct keys with remote providers, and at most
//! [`MAX_KEYS_PER_PROVIDER`] keys announced by any one remote peer. The store is sized
//! for the remote budget plus [`MAX_OWN_KEYS`], so this node's own announcements
//! always have room. Refused records are counted (`versus_dht_provider_records_refused_total`).
//!
//! Remote records are never dropped during a run (their time to live is Kademlia's
//! default, 48 hours, and nothing here republishes them), so the counts only grow.

use std::collections::{HashMap, HashSet};

use libp2p::kad::store::{MemoryStore, RecordStore as _};
use libp2p::kad::{ProviderRecord, RecordKey};
use libp2p::PeerId;

/// Distinct keys this node may announce itself (objects published or fetched here).
pub const MAX_OWN_KEYS: usize = 4096;
/// Distinct keys with remote providers this node keeps records for. A flash crowd of
/// any size is one key; a run with many objects spreads their keys over the swarm,
/// each node holding those closest to it.
pub const MAX_REMOTE_KEYS: usize = 4096;
/// Keys one remote peer may have recorded here. Honest peers announce what they hold;
/// in a swarm of 20 peers or fewer every node is among the closest to every key, so
/// this is also the most objects one honest peer can announce there without refusals.
pub const MAX_KEYS_PER_PROVIDER: usize = 1024;
/// Keys the store holds at most: both budgets, so that the remote one cannot eat into
/// this node's own.
pub const STORE_KEYS: usize = MAX_OWN_KEYS + MAX_REMOTE_KEYS;

/// Why an inbound provider record was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The provider has used up its share.
    #[error("peer {provider} already has {MAX_KEYS_PER_PROVIDER} keys recorded here, the most one remote provider may have")]
    ProviderFull {
        /// The remote provider.
        provider: PeerId,
    },
    /// The remote budget is used up.
    #[error("this node already keeps records for {MAX_REMOTE_KEYS} keys of remote providers, its budget")]
    RemoteFull,
    /// The key already lists the most providers the store keeps per key.
    #[error("the key already lists the most providers kept per key")]
    KeyFull,
    /// The store refused it.
    #[error("the provider-record store refused it: {0}")]
    Store(String),
}

/// What is stored for remote providers, counted.
#[derive(Debug, Default)]
pub struct RemoteRecords {
    /// Keys recorded per remote provider.
    by_provider: HashMap<PeerId, HashSet<RecordKey>>,
    /// Keys with at least one remote provider recorded.
    keys: HashSet<RecordKey>,
}

impl RemoteRecords {
    /// Stores `record`, announced by a remote peer, into `store` if the budget allows.
    /// A record that refreshes one already stored is always taken.
    pub fn admit(
        &mut self,
        store: &mut MemoryStore,
        record: ProviderRecord,
    ) -> Result<(), Refusal> {
        let provider = record.provider;
        let key = record.key.clone();
        let known = self
            .by_provider
            .get(&provider)
            .is_some_and(|keys| keys.contains(&key));
        if !known {
            if self
                .by_provider
                .get(&provider)
                .is_some_and(|keys| keys.len() >= MAX_KEYS_PER_PROVIDER)
            {
                return Err(Refusal::ProviderFull { provider });
            }
            if !self.keys.contains(&key) && self.keys.len() >= MAX_REMOTE_KEYS {
                return Err(Refusal::RemoteFull);
            }
        }
        store
            .add_provider(record)
            .map_err(|e| Refusal::Store(e.to_string()))?;
        // A full provider list ignores newcomers without an error.
        if !store.providers(&key).iter().any(|p| p.provider == provider) {
            return Err(Refusal::KeyFull);
        }
        self.keys.insert(key.clone());
        self.by_provider.entry(provider).or_default().insert(key);
        Ok(())
    }

    /// Distinct keys with remote providers recorded.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::kad::store::MemoryStoreConfig;

    fn store(local: PeerId) -> MemoryStore {
        MemoryStore::with_config(
            local,
            MemoryStoreConfig {
                max_provided_keys: STORE_KEYS,
                max_providers_per_key: 2,
                ..MemoryStoreConfig::default()
            },
        )
    }

    fn record(key: u32, provider: PeerId) -> ProviderRecord {
        ProviderRecord::new(RecordKey::new(&key.to_be_bytes()), provider, Vec::new())
    }

    #[test]
    fn one_provider_gets_its_share_and_own_keys_keep_room() {
        let local = PeerId::random();
        let mut store = store(local);
        let mut remote = RemoteRecords::default();
        let hostile = PeerId::random();
        let mut refused = 0;
        for key in 0..(MAX_KEYS_PER_PROVIDER as u32 + 10) {
            if let Err(e) = remote.admit(&mut store, record(key, hostile)) {
                assert_eq!(e, Refusal::ProviderFull { provider: hostile });
                refused += 1;
            }
        }
        assert_eq!(refused, 10);
        // Refreshing a record already held is always taken.
        assert_eq!(remote.admit(&mut store, record(0, hostile)), Ok(()));
        // Many hostile identities fill the remote budget, not more.
        let mut key = 1_000_000u32;
        while remote.key_count() < MAX_REMOTE_KEYS {
            let sybil = PeerId::random();
            for _ in 0..MAX_KEYS_PER_PROVIDER {
                key += 1;
                if remote.key_count() < MAX_REMOTE_KEYS {
                    assert_eq!(remote.admit(&mut store, record(key, sybil)), Ok(()));
                }
            }
        }
        let late = PeerId::random();
        assert_eq!(
            remote.admit(&mut store, record(7, late)),
            Ok(()),
            "a known key"
        );
        assert_eq!(
            remote.admit(&mut store, record(u32::MAX, late)),
            Err(Refusal::RemoteFull)
        );
        assert_eq!(
            remote.admit(&mut store, record(7, PeerId::random())),
            Err(Refusal::KeyFull),
            "two providers per key in this store"
        );
        for own in 0..MAX_OWN_KEYS as u32 {
            let own_record = record(own + 3_000_000, local);
            store.add_provider(own_record).expect("own keys have room");
        }
    }
}
