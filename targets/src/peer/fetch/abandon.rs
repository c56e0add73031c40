//! What a download that does not complete leaves behind, freed: the partial object
//! leaves the holdings (so `GET /status` counts it no more) and the provider announcement
//! made as soon as the manifest arrived is withdrawn. Runs on drop, so a fetch whose
//! request is cancelled mid-way is cleaned up too.

use super::FetchContext;
use crate::content::ObjectId;

/// Frees what a download that did not complete leaves behind, when dropped armed (after
/// an error, or when the fetch is cancelled): the partial object, and the provider
/// announcement made as soon as the manifest arrived. A complete object is kept.
pub(super) struct Abandon<'a> {
    pub(super) ctx: &'a FetchContext,
    pub(super) id: ObjectId,
    /// Whether to clean up when dropped.
    pub(super) armed: bool,
}

impl Drop for Abandon<'_> {
    fn drop(&mut self) {
        let holdings = &self.ctx.holdings;
        if !self.armed || holdings.complete_object(&self.id).is_some() {
            return;
        }
        if holdings.drop_partial(&self.id) {
            // Queued after the announcement (both without waiting), so it wins.
            self.ctx.node.stop_providing_soon(self.id);
            tracing::debug!(id = %self.id, "the download failed: dropped its partial object and its provider record");
        }
    }
}
