//! The names of the /metrics series the harness reads, in one place for the targets
//! that write them and the harness that scrapes them.

/// Bytes sent on the data plane (`versus_bytes_sent_total`).
pub const BYTES_SENT: &str = "versus_bytes_sent_total";
/// Data-plane requests by route and status (`versus_requests_total{route,status}`).
pub const REQUESTS: &str = "versus_requests_total";
/// Bytes received on the data plane.
pub const BYTES_RECEIVED: &str = "versus_bytes_received_total";
/// Chunks that failed verification and were thrown away (peers).
pub const CHUNKS_REJECTED: &str = "versus_chunks_rejected_total";
/// Microseconds during which at least one upload slot was in use (peers).
pub const UPLOAD_BUSY_US: &str = "versus_upload_busy_microseconds_total";
/// Inbound Kademlia provider records this peer refused to store (peers).
pub const PROVIDER_RECORDS_REFUSED: &str = "versus_dht_provider_records_refused_total";
/// Distinct keys this peer keeps provider records of other peers for (peers).
pub const REMOTE_PROVIDER_KEYS: &str = "versus_dht_remote_provider_keys";
/// Incoming data-plane connections refused by a connection limit (peers).
pub const CONNECTIONS_REFUSED: &str = "versus_connections_refused_total";
/// Bytes of blocks received again that this peer already held (endgame duplicates).
pub const DUPLICATE_BYTES: &str = "versus_duplicate_block_bytes_total";
/// Fetches that moved data, whose phases the next three counters sum (peers).
pub const FETCHES_TIMED: &str = "versus_fetches_timed_total";
/// Microseconds from a fetch's start to its first provider found, summed (peers).
pub const FETCH_LOOKUP_US: &str = "versus_fetch_lookup_microseconds_total";
/// Microseconds from a fetch's start to its first verified block, summed (peers).
pub const FETCH_FIRST_BLOCK_US: &str = "versus_fetch_first_block_microseconds_total";
/// Microseconds from a fetch's start to its end, summed (peers).
pub const FETCH_US: &str = "versus_fetch_microseconds_total";
/// Bytes a peer wrote on its libp2p streams, labelled by protocol.
pub const STREAM_BYTES_SENT: &str = "versus_stream_bytes_sent_total";
