//! The coordinator's state: who has joined (each with a slice of its own), the common
//! start once all M have, and the reports (or failures) handed in. Joins wait on it
//! until the run starts or is abandoned.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use hyper::StatusCode;
use tokio::sync::watch;

use super::protocol::{build, Assignment, JoinRequest};
use crate::plan::shard::{rfc3339, Shard};

/// Where the run stands.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Phase {
    /// Shards are still joining.
    Waiting,
    /// Every shard joined: the common start.
    Started(SystemTime),
    /// The coordinator gave up, and why.
    Abandoned(String),
}

#[derive(Default)]
struct Inner {
    hash: Option<String>,
    taken: BTreeSet<u32>,
    reports: BTreeMap<u32, Bytes>,
    failures: BTreeMap<u32, String>,
}

/// An answer refused: its status and message.
pub(super) type Refusal = (StatusCode, String);

/// The shared state of one coordinated run.
pub(super) struct Board {
    count: u32,
    lead: Duration,
    inner: Mutex<Inner>,
    phase: watch::Sender<Phase>,
}

impl Board {
    /// A run of `count` shards starting `lead` after the last one joins.
    pub(super) fn new(count: u32, lead: Duration) -> Self {
        Board {
            count,
            lead,
            inner: Mutex::new(Inner::default()),
            phase: watch::Sender::new(Phase::Waiting),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind: keep using it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a slice for `join` and waits until every shard has one (then the start).
    pub(super) async fn join(&self, join: JoinRequest) -> Result<Assignment, Refusal> {
        let shard = self.take(&join)?;
        let mut phase = self.phase.subscribe();
        let settled = phase
            .wait_for(|p| *p != Phase::Waiting)
            .await
            .map(|p| p.clone())
            .unwrap_or(Phase::Abandoned("the coordinator is stopping".into()));
        match settled {
            Phase::Started(at) => Ok(Assignment {
                shard,
                start_at: rfc3339(at),
            }),
            Phase::Abandoned(why) => Err((StatusCode::SERVICE_UNAVAILABLE, why)),
            Phase::Waiting => Err((StatusCode::SERVICE_UNAVAILABLE, "not started".into())),
        }
    }

    fn take(&self, join: &JoinRequest) -> Result<Shard, Refusal> {
        let conflict = |why: String| (StatusCode::CONFLICT, why);
        if join.build != build() {
            return Err(conflict(format!(
                "the shard is {}, the coordinator {}: run one build everywhere",
                join.build,
                build()
            )));
        }
        if *self.phase.borrow() != Phase::Waiting {
            return Err(conflict(format!(
                "the run of {} shards has already started or been abandoned",
                self.count
            )));
        }
        let mut inner = self.inner();
        match &inner.hash {
            Some(h) if *h != join.scenario_hash => {
                return Err(conflict(format!(
                    "the shard's scenario (hash {}) differs from the first shard's ({h}): give every shard the same scenario and overrides",
                    join.scenario_hash
                )))
            }
            Some(_) => {}
            None => inner.hash = Some(join.scenario_hash.clone()),
        }
        let index = match join.shard {
            Some(s) if s.count != self.count || s.index >= s.count => {
                return Err(conflict(format!(
                    "the shard says it is {s}, but the coordinator runs {} shards",
                    self.count
                )))
            }
            Some(s) if inner.taken.contains(&s.index) => {
                return Err(conflict(format!(
                    "shard {s} has already joined: give each shard its own index"
                )));
            }
            Some(s) => s.index,
            None => (0..self.count)
                .find(|i| !inner.taken.contains(i))
                .ok_or_else(|| conflict(format!("all {} shards have joined", self.count)))?,
        };
        inner.taken.insert(index);
        tracing::info!("shard {index}/{} joined", self.count);
        if inner.taken.len() as u32 == self.count {
            let at = SystemTime::now() + self.lead;
            self.phase.send_replace(Phase::Started(at));
        }
        Ok(Shard {
            index,
            count: self.count,
        })
    }

    /// Gives up waiting: every pending join is answered `503 why`.
    pub(super) fn abandon(&self, why: &str) {
        self.phase.send_replace(Phase::Abandoned(why.to_string()));
    }

    /// Where the run stands.
    pub(super) fn phase(&self) -> Phase {
        self.phase.borrow().clone()
    }

    /// The slices taken so far, and those still free.
    pub(super) fn joined(&self) -> (Vec<u32>, Vec<u32>) {
        let inner = self.inner();
        let taken: Vec<u32> = inner.taken.iter().copied().collect();
        let free = (0..self.count)
            .filter(|i| !inner.taken.contains(i))
            .collect();
        (taken, free)
    }

    /// Keeps shard `index`'s report.
    pub(super) fn report(&self, index: u32, report: Bytes) -> Result<(), Refusal> {
        let mut inner = self.inner();
        if !inner.taken.contains(&index) {
            return Err((
                StatusCode::CONFLICT,
                format!("shard {index} never joined this run"),
            ));
        }
        inner.reports.insert(index, report);
        Ok(())
    }

    /// Keeps why shard `index` has no report.
    pub(super) fn failed(&self, index: u32, why: String) -> Result<(), Refusal> {
        let mut inner = self.inner();
        if !inner.taken.contains(&index) {
            return Err((
                StatusCode::CONFLICT,
                format!("shard {index} never joined this run"),
            ));
        }
        inner.failures.insert(index, why);
        Ok(())
    }

    /// The reports handed in, the failures, and the shards not heard from.
    pub(super) fn outcome(&self) -> (BTreeMap<u32, Bytes>, BTreeMap<u32, String>, Vec<u32>) {
        let inner = self.inner();
        let silent = (0..self.count)
            .filter(|i| !inner.reports.contains_key(i) && !inner.failures.contains_key(i))
            .collect();
        (inner.reports.clone(), inner.failures.clone(), silent)
    }
}
