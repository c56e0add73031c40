//! Stage 5, driving: carrying out a load plan against running nodes. Sessions
//! ([`session`], [`http`] over HTTP/1.1 or HTTP/2) carry out one user's operations; workloads ([`workload`])
//! choose them; the load models ([`load`]) decide when, on worker threads; faults
//! ([`inject`]) hit the nodes on the load's clock while the [`gate`] tells the users;
//! [`phase`] runs one load phase and [`progress`] shows it.

mod buffers;
pub(crate) mod gate;
pub mod http;
mod http1;
mod http2;
pub(crate) mod inject;
pub mod load;
pub mod phase;
pub mod progress;
pub mod request;
pub mod session;
pub(crate) mod user_seconds;
pub mod workload;
