//! The `partition` fault in containers: a node's namespace drops every packet to and
//! from the addresses of the nodes across the split, in an iptables chain of its own
//! (`VERSUS-PARTITION`, jumped to first from INPUT and OUTPUT) that is rewritten whole
//! on each change, so healing is writing it empty. The chain lives in the container's
//! namespace and goes with it.

use std::net::IpAddr;

use super::shaping::{Namespace, ShapingError};

/// The chain holding a node's partition rules.
pub(super) const CHAIN: &str = "VERSUS-PARTITION";

impl Namespace {
    /// Drops what goes to or comes from `others`, in place of what was dropped before
    /// (nothing, with an empty list).
    pub async fn isolate(&self, others: &[IpAddr]) -> Result<(), ShapingError> {
        // Declaring the chain creates it, or empties it (--noflush keeps the rest).
        self.run_with_input(
            "iptables-restore",
            &["-w", "--noflush"],
            Some(rules(others).as_str()),
        )
        .await?;
        for hook in ["INPUT", "OUTPUT"] {
            let jump = ["-w", "-C", hook, "-j", CHAIN];
            if self.run("iptables", &jump).await.is_err() {
                self.run("iptables", &["-w", "-I", hook, "1", "-j", CHAIN])
                    .await?;
            }
        }
        Ok(())
    }
}

/// The `iptables-restore` input that makes the chain drop `others` both ways.
fn rules(others: &[IpAddr]) -> String {
    let mut text = format!("*filter\n:{CHAIN} - [0:0]\n");
    for ip in others {
        text.push_str(&format!(
            "-A {CHAIN} -s {ip} -j DROP\n-A {CHAIN} -d {ip} -j DROP\n"
        ));
    }
    text.push_str("COMMIT\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_drops_both_directions_and_heals_empty() {
        let ip: IpAddr = "10.200.0.5".parse().unwrap();
        let text = rules(&[ip]);
        assert!(text.starts_with("*filter\n:VERSUS-PARTITION - [0:0]\n"));
        assert!(text.contains("-A VERSUS-PARTITION -s 10.200.0.5 -j DROP\n"));
        assert!(text.contains("-A VERSUS-PARTITION -d 10.200.0.5 -j DROP\n"));
        assert_eq!(rules(&[]), "*filter\n:VERSUS-PARTITION - [0:0]\nCOMMIT\n");
    }
}
