//! Workloads: which operation a user performs next. The load model decides when; the
//! workload decides what (which object, which replica), from a per-user random stream
//! so runs are reproducible.

use bytes::Bytes;
use rand::rngs::SmallRng;

use crate::driver::{OpKind, Operation};

/// Chooses operations. Shared by every worker thread.
pub trait Workload: Send + Sync + 'static {
    /// The operation `user` performs as its `iteration`-th, or `None` when it is done.
    fn next_op(&self, user: u64, iteration: u64, rng: &mut SmallRng) -> Option<Operation>;
}

/// GET one path again and again (the `url` workload, `versus run --url`).
pub struct RepeatGet {
    op: Operation,
}

impl RepeatGet {
    /// GETs `path` on endpoint 0.
    pub fn new(path: &str) -> Self {
        Self {
            op: Operation {
                kind: OpKind::Get,
                endpoint: 0,
                path: Bytes::copy_from_slice(path.as_bytes()),
                body: None,
                expect: None,
            },
        }
    }
}

impl Workload for RepeatGet {
    fn next_op(&self, _user: u64, _iteration: u64, _rng: &mut SmallRng) -> Option<Operation> {
        Some(self.op.clone())
    }
}
