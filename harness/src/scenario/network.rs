//! The richer parts of `[network]`: where the profile is applied (`emulation`), packet
//! loss, and heterogeneous peers — `[[network.classes]]` (a share of the peers each,
//! with their own caps; free-riders have `upload = 0`) or a lognormal
//! `[network.upload_distribution]` — with the rules that span these keys.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use versus_targets::units::ByteRate;

use super::model::{LauncherKind, Scenario, WorkloadKind};

/// `[network] emulation`: who applies the rate caps (and loss).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Emulation {
    /// The targets shape their own data plane (token buckets in the process).
    #[default]
    App,
    /// Rate caps are htb qdiscs on each container's interface (ingress through an IFB
    /// device) and loss is an iptables rule, all inside the container's network
    /// namespace (`launcher = "docker"` only). Latency stays in the targets.
    Kernel,
}

impl Emulation {
    /// The name as a scenario writes it.
    pub fn name(self) -> &'static str {
        match self {
            Emulation::App => "app",
            Emulation::Kernel => "kernel",
        }
    }

    /// True for the default, so it is left out of a serialized scenario.
    pub fn is_app(&self) -> bool {
        *self == Emulation::App
    }
}

/// A peer's capacity in one direction: a rate, or nothing at all (`0`: a free-rider's
/// upload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capacity {
    /// Sends nothing to others (it still asks for what it downloads).
    Zero,
    /// At most this many bytes per second.
    Rate(ByteRate),
}

impl Capacity {
    /// Bytes per second (0 for [`Capacity::Zero`]).
    pub fn bytes_per_sec(self) -> u64 {
        match self {
            Capacity::Zero => 0,
            Capacity::Rate(r) => r.bytes_per_sec(),
        }
    }
}

impl Serialize for Capacity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Capacity::Zero => s.serialize_str("0"),
            Capacity::Rate(r) => r.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Capacity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Integer(i64),
            Float(f64),
        }
        let negative = || {
            serde::de::Error::custom("a rate cannot be negative; write 0 for none (a free-rider's upload) or a rate such as \"1MiB/s\"")
        };
        let text = match Raw::deserialize(d)? {
            Raw::Integer(0) => return Ok(Capacity::Zero),
            Raw::Integer(n) if n < 0 => return Err(negative()),
            Raw::Float(f) if f < 0.0 => return Err(negative()),
            Raw::Float(0.0) => return Ok(Capacity::Zero),
            Raw::Integer(n) => n.to_string(),
            Raw::Float(f) => f.to_string(),
            Raw::Text(t) => t,
        };
        let t = text.trim();
        if t.starts_with('-') {
            return Err(negative());
        }
        if t == "0" || t.trim_end_matches(|c: char| c.is_alphabetic() || c == '/') == "0" {
            return Ok(Capacity::Zero);
        }
        t.parse()
            .map(Capacity::Rate)
            .map_err(serde::de::Error::custom)
    }
}

/// `[[network.classes]]`: a share of the users' peers with their own caps.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerClass {
    /// Its name in reports (`class 0`, `class 1`… when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The share of the users in this class (the shares sum to 1).
    pub share: f64,
    /// Upload cap of its peers (`0`: free-riders, who serve nothing); `peer_upload`
    /// when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<Capacity>,
    /// Download cap of its users; `download` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download: Option<ByteRate>,
}

/// `[network.upload_distribution]`: the users' peer uploads drawn from a lognormal
/// distribution — placed at its quantiles (i + ½)/N, so every run of N users gets the
/// same capacities, the slowest peer first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadDistribution {
    /// The median upload.
    pub median: ByteRate,
    /// The standard deviation of the upload's logarithm (0.5 gives a 90 % range of
    /// about ×0.44 to ×2.3 around the median).
    pub sigma: f64,
}

/// True for a zero duration (left out of a serialized scenario).
pub(super) fn zero_duration(d: &versus_targets::units::HumanDuration) -> bool {
    d.0.is_zero()
}

/// Keys checked here, for messages.
const CLASSES: &str = "network.classes";
const DISTRIBUTION: &str = "network.upload_distribution";

/// How far the class shares may be from summing to one.
const SHARE_TOLERANCE: f64 = 1e-6;

/// The cross-key rules of `[network]`'s emulation, loss and peer classes: the first
/// problem as (key, message).
pub(super) fn check(s: &Scenario) -> Result<(), (String, String)> {
    let n = &s.network;
    let fail = |key: &str, message: String| Err((key.to_string(), message));
    if n.emulation == Emulation::Kernel {
        if s.architectures.launcher != LauncherKind::Docker {
            return fail(
                "network.emulation",
                "\"kernel\" shapes each container's own interface; it needs architectures.launcher = \"docker\" (or --launcher docker), or use emulation = \"app\"".into(),
            );
        }
        if s.workload.kind == WorkloadKind::Url {
            return fail(
                "network.emulation",
                "\"kernel\" shapes the nodes the harness starts; a url workload starts none".into(),
            );
        }
    }
    if let Some(loss) = n.loss {
        if n.emulation != Emulation::Kernel {
            return fail(
                "network.loss",
                "needs emulation = \"kernel\" (the targets cannot drop packets of their own TCP connections), with launcher = \"docker\"".into(),
            );
        }
        if !(loss.fraction().is_finite() && (0.0..0.5).contains(&loss.fraction())) {
            return fail(
                "network.loss",
                format!("{loss} must be at least 0% and below 50%, such as \"1%\""),
            );
        }
    }
    for (i, f) in s.faults.iter().enumerate() {
        let splits = matches!(
            f.action,
            super::faults::FaultAction::Partition | super::faults::FaultAction::Heal
        );
        if splits && s.architectures.launcher != LauncherKind::Docker {
            return fail(
                &format!("faults[{i}].action"),
                format!(
                    "{} needs nodes with their own addresses: architectures.launcher = \"docker\" (or --launcher docker)",
                    f.action.name()
                ),
            );
        }
    }
    super::regions::check(s)?;
    if let Some(smallest) = super::regions::smallest_latency(s) {
        if n.jitter.0 > smallest {
            return fail(
                "network.jitter",
                format!(
                    "{} is more than the smallest entry of network.latency_matrix ({}): the delay is the latency ± the jitter, so give a jitter at most that",
                    n.jitter,
                    versus_targets::units::HumanDuration(smallest)
                ),
            );
        }
    } else if n.jitter.0 > n.latency.0 {
        return fail(
            "network.jitter",
            format!(
                "{} is more than network.latency ({}): the delay is the latency ± the jitter, so give a latency at least as large",
                n.jitter, n.latency
            ),
        );
    }
    if !n.classes.is_empty() && n.upload_distribution.is_some() {
        return fail(
            DISTRIBUTION,
            "and network.classes both set; give the peers classes or a distribution, not both"
                .into(),
        );
    }
    let mut total = 0.0;
    for (i, class) in n.classes.iter().enumerate() {
        if !(class.share.is_finite() && class.share > 0.0 && class.share <= 1.0) {
            return fail(
                &format!("{CLASSES}[{i}].share"),
                format!(
                    "{} must be a share above 0 and at most 1 (0.25 = a quarter of the peers)",
                    class.share
                ),
            );
        }
        total += class.share;
    }
    if !n.classes.is_empty() && (total - 1.0).abs() > SHARE_TOLERANCE {
        return fail(
            &format!("{CLASSES}[0].share"),
            format!("the shares of network.classes sum to {total}, not 1; make them add up to 1"),
        );
    }
    if let Some(d) = &n.upload_distribution {
        if !(d.sigma.is_finite() && (0.0..=3.0).contains(&d.sigma)) {
            return fail(
                &format!("{DISTRIBUTION}.sigma"),
                format!(
                    "{} must be between 0 and 3 (the spread of log upload; 0.5 is moderate)",
                    d.sigma
                ),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "name = \"t\"\n[workload]\nkind = \"flash-crowd\"\n";

    fn key_of(extra: &str) -> Option<String> {
        crate::scenario::parse("t.toml", &format!("{BASE}{extra}"), &[])
            .err()
            .and_then(|e| e.key)
    }

    #[test]
    fn kernel_emulation_needs_containers_and_loss_needs_the_kernel() {
        assert_eq!(
            key_of("[network]\nemulation = \"kernel\"\n").as_deref(),
            Some("network.emulation")
        );
        assert_eq!(
            key_of("[network]\nloss = \"1%\"\n").as_deref(),
            Some("network.loss")
        );
        let docker = "[architectures]\nlauncher = \"docker\"\n";
        assert_eq!(
            key_of(&format!(
                "[network]\nemulation = \"kernel\"\nloss = \"1%\"\n{docker}"
            )),
            None
        );
        assert_eq!(
            key_of(&format!(
                "[network]\nemulation = \"kernel\"\nloss = \"60%\"\n{docker}"
            ))
            .as_deref(),
            Some("network.loss")
        );
    }

    #[test]
    fn class_shares_must_sum_to_one_and_rates_be_positive() {
        let classes = |a: &str, b: &str| {
            format!("[[network.classes]]\nshare = {a}\n[[network.classes]]\nshare = {b}\n")
        };
        assert_eq!(key_of(&classes("0.5", "0.5")), None);
        assert_eq!(
            key_of(&classes("0.5", "0.4")).as_deref(),
            Some("network.classes[0].share")
        );
        assert_eq!(
            key_of(&classes("1.5", "-0.5")).as_deref(),
            Some("network.classes[0].share")
        );
        let err = crate::scenario::parse(
            "t.toml",
            &format!("{BASE}[[network.classes]]\nshare = 1\nupload = \"-1MiB/s\"\n"),
            &[],
        )
        .unwrap_err();
        assert!(err.to_string().contains("negative"), "{err}");
        assert!(
            err.to_string().contains("upload") || err.line == Some(6),
            "{err}"
        );
        let free = crate::scenario::parse(
            "t.toml",
            &format!("{BASE}[[network.classes]]\nshare = 1\nupload = 0\n"),
            &[],
        )
        .unwrap();
        assert_eq!(free.network.classes[0].upload, Some(Capacity::Zero));
        assert_eq!(
            key_of(
                "[network.upload_distribution]\nmedian = \"1MiB/s\"\nsigma = 0.5\n[[network.classes]]\nshare = 1\n"
            )
            .as_deref(),
            Some("network.upload_distribution")
        );
        assert_eq!(
            key_of("[network.upload_distribution]\nmedian = \"1MiB/s\"\nsigma = -1\n").as_deref(),
            Some("network.upload_distribution.sigma")
        );
    }
}
