//! `--max-memory`: refuse new libp2p connections while this process's resident memory is
//! above a number of bytes, with ONE memory probe per process however many peers it
//! hosts ([`super::host`]).
//!
//! libp2p's `memory-connection-limits` reads the process's memory once per behaviour
//! (every 100 ms at most, on each connection attempt): a process hosting 128 peers would
//! read it 128 times as often, for the same number. Here every peer's [`MemoryLimit`]
//! asks the process-wide [`ProcessMemory`], which reads `/proc/self/statm` at most once
//! per [`MAX_STALE`]. The limit is on the process: in a host, the peers share it.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use libp2p::core::transport::PortUse;
use libp2p::core::Endpoint;
use libp2p::swarm::{
    dummy, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId};

/// Longest a memory reading is reused before the process is probed again.
pub const MAX_STALE: Duration = Duration::from_millis(100);

/// The process's resident memory, read at most once per [`MAX_STALE`] for all its peers.
#[derive(Debug)]
pub struct ProcessMemory {
    /// When the process started being probed; readings are stamped relative to it.
    epoch: Instant,
    /// Resident bytes at the last reading.
    rss: AtomicU64,
    /// Microseconds after `epoch` of the last reading (`u64::MAX`: never read).
    read_at_us: AtomicU64,
    /// Readings taken so far (tests check that peers share them).
    probes: AtomicU64,
    /// A failed reading was reported.
    warned: AtomicBool,
}

impl ProcessMemory {
    /// The one probe of this process.
    pub fn global() -> &'static ProcessMemory {
        static PROBE: OnceLock<ProcessMemory> = OnceLock::new();
        PROBE.get_or_init(|| ProcessMemory {
            epoch: Instant::now(),
            rss: AtomicU64::new(0),
            read_at_us: AtomicU64::new(u64::MAX),
            probes: AtomicU64::new(0),
            warned: AtomicBool::new(false),
        })
    }

    /// Resident bytes, at most [`MAX_STALE`] old; `None` where the system does not say.
    pub fn resident_bytes(&self) -> Option<u64> {
        let now_us = self.epoch.elapsed().as_micros() as u64;
        let last = self.read_at_us.load(Ordering::Acquire);
        let fresh = last != u64::MAX && now_us.saturating_sub(last) < MAX_STALE.as_micros() as u64;
        // One caller wins the right to probe; the others use the last reading.
        if !fresh
            && self
                .read_at_us
                .compare_exchange(last, now_us, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.probes.fetch_add(1, Ordering::Relaxed);
            match read_statm() {
                Some(rss) => self.rss.store(rss, Ordering::Release),
                None => {
                    // Once per process, not every 100 ms (no descriptor left, say).
                    if !self.warned.swap(true, Ordering::Relaxed) {
                        tracing::warn!("could not read this process's memory from /proc/self/statm (are its file descriptors exhausted?); --max-memory is not enforced while it cannot");
                    }
                    return None;
                }
            }
        }
        Some(self.rss.load(Ordering::Acquire))
    }

    /// Readings taken so far in this process.
    pub fn probes(&self) -> u64 {
        self.probes.load(Ordering::Relaxed)
    }
}

/// Resident bytes from `/proc/self/statm` (second field, in pages).
fn read_statm() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages.saturating_mul(u64::try_from(page).ok().filter(|p| *p > 0)?))
}

/// The process's memory was above `--max-memory` when a connection was attempted.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("this process's resident memory ({resident} bytes) is above --max-memory ({limit} bytes)")]
pub struct MemoryLimitExceeded {
    /// Resident bytes at the last reading.
    pub resident: u64,
    /// The limit.
    pub limit: u64,
}

/// A behaviour that refuses every new connection, incoming or outgoing, while the
/// process's resident memory is above a limit; open connections stay.
#[derive(Debug, Clone, Copy)]
pub struct MemoryLimit {
    limit: u64,
}

impl MemoryLimit {
    /// Refuses connections above `limit` bytes of resident memory.
    pub fn new(limit: u64) -> Self {
        MemoryLimit { limit }
    }

    fn check(&self) -> Result<(), ConnectionDenied> {
        match ProcessMemory::global().resident_bytes() {
            Some(resident) if resident > self.limit => {
                Err(ConnectionDenied::new(MemoryLimitExceeded {
                    resident,
                    limit: self.limit,
                }))
            }
            _ => Ok(()),
        }
    }
}

impl NetworkBehaviour for MemoryLimit {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.check()
    }

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn handle_pending_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: Option<PeerId>,
        _: &[Multiaddr],
        _: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        self.check()?;
        Ok(Vec::new())
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, _: FromSwarm) {}

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_reading_serves_every_peer_within_the_stale_window() {
        let probe = ProcessMemory::global();
        let first = probe.resident_bytes().expect("/proc/self/statm");
        assert!(first > 1 << 20, "{first}");
        let before = probe.probes();
        let limits: Vec<MemoryLimit> = (0..64).map(|_| MemoryLimit::new(u64::MAX)).collect();
        for limit in &limits {
            assert!(limit.check().is_ok());
        }
        // 64 peers checked at once: at most one more reading (if the window just ended).
        assert!(probe.probes() - before <= 1);
        assert!(MemoryLimit::new(1).check().is_err());
    }
}
