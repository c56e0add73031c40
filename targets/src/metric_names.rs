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
