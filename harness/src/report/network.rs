//! The network profile a run had, as its report records it: the caps, who applied them
//! (app or kernel emulation), the loss, and with peer classes the capacities the
//! analytical bounds were computed from.

use super::model::RunNetwork;
use crate::plan::links;
use crate::scenario::model::{Capacity, Network};

impl RunNetwork {
    /// The profile of `net` for a run of `users` users.
    pub fn of(net: &Network, users: usize) -> RunNetwork {
        let user_links = links::user_links(net, users);
        let heterogeneous = links::heterogeneous(net);
        RunNetwork {
            server_upload: net.server_upload.map(|r| r.0),
            peer_upload: net.peer_upload.map(|r| r.0),
            download: net.download.map(|r| r.0),
            emulation: net.emulation,
            loss: net.loss.map(|l| l.fraction()),
            peer_upload_sum: heterogeneous
                .then(|| links::upload_sum(&user_links))
                .flatten()
                .map(|s| s as u64),
            min_download: heterogeneous
                .then(|| links::min_download(&user_links))
                .flatten()
                .map(|d| d as u64),
            free_riders: user_links
                .iter()
                .filter(|l| l.upload == Some(Capacity::Zero))
                .count() as u32,
        }
    }
}
