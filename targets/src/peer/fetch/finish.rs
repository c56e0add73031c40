//! The end of a download that got every block: the object moves from the holdings'
//! partial objects into the store, the node announces itself if it has not yet, and the
//! statistics of `POST /fetch/{id}` are put together.

use std::time::Duration;

use super::{Download, FetchError, FetchStats};

impl Download<'_> {
    pub(super) async fn finish(self) -> Result<FetchStats, FetchError> {
        let object = match self.ctx.holdings.complete(&self.id).await {
            Ok(object) => object,
            Err(detail) => return Err(self.internal(detail)),
        };
        if !self.announced {
            self.ctx.node.provide_in_background(self.id).await;
        }
        if let (Some(lookup), Some(first)) = (self.first_provider, self.first_chunk) {
            self.ctx
                .metrics
                .fetch_phases
                .add(lookup, first, self.started.elapsed());
        }
        let stats = FetchStats {
            id: self.id.to_string(),
            size: object.size(),
            bytes: self.bytes,
            duration_ms: millis(self.started.elapsed()),
            provider_lookup_ms: self.first_provider.map(millis),
            chunks: object.manifest().chunk_count(),
            blocks: object.manifest().block_count(),
            chunks_by_peer: self
                .chunks_by_peer
                .iter()
                .map(|(p, n)| (p.to_string(), *n))
                .collect(),
            rejected_chunks: self.rejected,
            providers: self.providers.len(),
            first_chunk_ms: self.first_chunk.map(millis),
            duplicate_chunks: self.duplicates,
            busy_answers: self.busy,
            cancelled: self.cancelled,
        };
        tracing::debug!(
            id = %stats.id,
            duration_ms = stats.duration_ms,
            lookup_ms = ?stats.provider_lookup_ms,
            first_chunk_ms = ?stats.first_chunk_ms,
            duplicates = stats.duplicate_chunks,
            busy = stats.busy_answers,
            cancelled = stats.cancelled,
            withdrawals = self.withdrawals,
            sources = stats.chunks_by_peer.len(),
            "fetch complete"
        );
        Ok(stats)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
