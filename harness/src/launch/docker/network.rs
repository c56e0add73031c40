//! The bridge network of one run: made with its own subnet (a /20 in 10.200.0.0/13, the
//! first free one from a starting point that differs per harness), labelled with the run,
//! and handing out one address per node. Addresses are chosen here, not by the engine,
//! so a node knows its own address before it starts (it listens on exactly that one, and
//! a peer announces only it) and a node started again gets the address it had.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU32, Ordering};

use super::engine::{self, label, DockerError, HARNESS_PID_LABEL, RUN_LABEL};

/// Subnets tried before giving up.
const ATTEMPTS: u32 = 32;
/// Prefix length of a run's subnet: 4,094 addresses.
const PREFIX: u32 = 20;
/// How many /20 subnets 10.200.0.0/13 holds.
const SUBNETS: u32 = 1 << (32 - 13 - (32 - PREFIX));

/// A run's network.
#[derive(Debug)]
pub(super) struct RunNetwork {
    /// Its name in the engine.
    pub(super) name: String,
    /// The subnet's first address.
    base: u32,
    /// The next host number to hand out (1 is the gateway).
    next: AtomicU32,
}

impl RunNetwork {
    /// Creates the network of run `run`.
    pub(super) async fn create(run: &str) -> Result<RunNetwork, DockerError> {
        let name = format!("versus-{run}");
        let start = std::process::id();
        let mut last = None;
        for attempt in 0..ATTEMPTS {
            let base = subnet_base(start.wrapping_add(attempt));
            let subnet = format!("{}/{PREFIX}", Ipv4Addr::from(base));
            let created = engine::run(&[
                "network",
                "create",
                "--driver",
                "bridge",
                "--subnet",
                &subnet,
                "--label",
                &label(RUN_LABEL, run),
                "--label",
                &label(HARNESS_PID_LABEL, &std::process::id().to_string()),
                &name,
            ])
            .await;
            match created {
                Ok(_) => {
                    tracing::info!("network {name} on {subnet}");
                    return Ok(RunNetwork {
                        name,
                        base,
                        next: AtomicU32::new(2),
                    });
                }
                // Most likely a subnet another network uses: try the next one.
                Err(e @ DockerError::Failed { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(DockerError::Unreachable("no subnet tried".into())))
    }

    /// A fresh address for a node; `None` once the subnet is full.
    pub(super) fn allocate(&self) -> Option<Ipv4Addr> {
        let host = self.next.fetch_add(1, Ordering::Relaxed);
        (host < (1 << (32 - PREFIX)) - 1).then(|| Ipv4Addr::from(self.base + host))
    }
}

/// The first address of candidate subnet `n` (modulo the subnets there are).
fn subnet_base(n: u32) -> u32 {
    u32::from(Ipv4Addr::new(10, 200, 0, 0)) + (n % SUBNETS) * (1 << (32 - PREFIX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_stay_in_their_range_and_do_not_overlap() {
        assert_eq!(SUBNETS, 128);
        assert_eq!(Ipv4Addr::from(subnet_base(0)), Ipv4Addr::new(10, 200, 0, 0));
        assert_eq!(
            Ipv4Addr::from(subnet_base(1)),
            Ipv4Addr::new(10, 200, 16, 0)
        );
        assert_eq!(
            Ipv4Addr::from(subnet_base(127)),
            Ipv4Addr::new(10, 207, 240, 0)
        );
        assert_eq!(subnet_base(128), subnet_base(0));
    }

    #[test]
    fn addresses_skip_the_gateway_and_end_before_broadcast() {
        let net = RunNetwork {
            name: "n".into(),
            base: subnet_base(0),
            next: AtomicU32::new(2),
        };
        assert_eq!(net.allocate(), Some(Ipv4Addr::new(10, 200, 0, 2)));
        net.next.store(4094, Ordering::Relaxed);
        assert_eq!(net.allocate(), Some(Ipv4Addr::new(10, 200, 15, 254)));
        assert_eq!(net.allocate(), None);
    }
}
