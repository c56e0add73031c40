//! A scenario's conditions in words — workload, object size, load model, network profile,
//! and the launcher when it is not the default — as a claim quotes them next to the
//! evidence of the run that gave it.

use super::model::{LauncherKind, LoadModel, Scenario, WorkloadKind};

impl Scenario {
    /// `workload flash-crowd, object 2MiB, closed model, server upload 4MiB/s, peer
    /// upload 1MiB/s`: what was run, without the number of users (a claim says which N).
    pub fn conditions(&self) -> String {
        let w = &self.workload;
        let kind = match w.kind {
            WorkloadKind::Url => "url",
            WorkloadKind::Fetch => "fetch",
            WorkloadKind::FlashCrowd => "flash-crowd",
        };
        let mut parts = vec![format!("workload {kind}")];
        if w.kind != WorkloadKind::Url {
            parts.push(format!("object {}", w.object_size));
        }
        if w.kind == WorkloadKind::Fetch {
            parts.push(format!("{} objects", w.objects));
        }
        match (self.load.model, self.load.rate) {
            (LoadModel::Open, Some(rate)) => parts.push(format!("open model at {rate}")),
            (LoadModel::Open, None) => parts.push("open model".into()),
            (LoadModel::Closed, _) if w.kind != WorkloadKind::FlashCrowd => {
                parts.push("closed model".into())
            }
            _ => {}
        }
        let n = &self.network;
        for (label, value) in [
            ("server upload", n.server_upload),
            ("peer upload", n.peer_upload),
            ("download", n.download),
        ] {
            if let Some(v) = value {
                parts.push(format!("{label} {v}"));
            }
        }
        if !n.latency.0.is_zero() && n.jitter.0.is_zero() {
            parts.push(format!("latency {}", n.latency));
        } else if !n.latency.0.is_zero() {
            parts.push(format!("latency {} ± {}", n.latency, n.jitter));
        }
        if !n.regions.is_empty() {
            let names: Vec<&str> = n.regions.iter().map(|r| r.name.as_str()).collect();
            let server = n.server_region.as_deref().unwrap_or(names[0]);
            parts.push(format!(
                "{} regions ({}), servers in {server}",
                names.len(),
                names.join(", ")
            ));
        }
        if n.tls {
            parts.push("cs over TLS".into());
        }
        if !n.classes.is_empty() {
            parts.push(format!("{} peer classes", n.classes.len()));
        }
        if let Some(d) = &n.upload_distribution {
            parts.push(format!(
                "lognormal peer uploads (median {}, sigma {})",
                d.median, d.sigma
            ));
        }
        if let Some(loss) = n.loss {
            parts.push(format!("loss {loss}"));
        }
        if n.emulation != super::network::Emulation::App {
            parts.push(format!("{} emulation", n.emulation.name()));
        }
        if self.architectures.launcher != LauncherKind::Process {
            parts.push(format!("{} launcher", self.architectures.launcher.name()));
        }
        parts.join(", ")
    }
}
