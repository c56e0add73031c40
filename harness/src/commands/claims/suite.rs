//! The claim suite: which experiments answer which claims, at which sizes, loads and
//! server counts, in the full suite and in `--quick`. The scenarios ship in
//! `scenarios/claims/` and are embedded in the binary, so `versus claims` runs anywhere.

use crate::arch::Arch;
use crate::scenario::{self, Override, Scenario};

/// One experiment of the suite: a scenario run at several variants on its architectures.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// Short name, as reports and progress lines show it (`flash`).
    pub name: &'static str,
    /// Where the scenario ships.
    pub file: &'static str,
    /// The scenario's text.
    pub text: &'static str,
    /// The claims it answers.
    pub claims: &'static [u8],
    /// Variants of the full suite.
    pub full: &'static [Variant],
    /// Variants of `--quick`.
    pub quick: &'static [Variant],
    /// Run in the first repetition only (a map, not a verdict).
    pub once: bool,
    /// Its scenario churns: each repetition draws its own churn schedule (seed), so the
    /// interval covers schedules, not only the machine's noise.
    pub churn: bool,
}

impl Experiment {
    /// Claims whose evidence it adds to without judging them (the crossover map: 8).
    pub fn evidence_for(&self) -> &'static [u8] {
        if self.name == "crossover" {
            &[8]
        } else {
            &[]
        }
    }

    /// Whether it is needed for the claims in `only` (every experiment when empty).
    pub fn answers(&self, only: &[u8]) -> bool {
        only.is_empty()
            || self
                .claims
                .iter()
                .chain(self.evidence_for())
                .any(|c| only.contains(c))
    }
}

/// What a variant sets on top of its experiment's scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    /// Users (and peers).
    pub users: u32,
    /// Client-server replicas, if set.
    pub servers: Option<u32>,
    /// Open model: arrivals per second, if set.
    pub rate: Option<u32>,
    /// Each peer's upload (`network.peer_upload`), if set.
    pub peer_upload: Option<&'static str>,
    /// Client-server replicas holding each object (`architectures.replication`), if set:
    /// a client-server-only variant.
    pub replication: Option<u32>,
}

const fn users(n: u32) -> Variant {
    Variant {
        users: n,
        servers: None,
        rate: None,
        peer_upload: None,
        replication: None,
    }
}

/// `servers` replicas, each object on all of them (client-server only).
const fn replicated(users: u32, servers: u32) -> Variant {
    Variant {
        servers: Some(servers),
        replication: Some(servers),
        ..self::users(users)
    }
}

const fn servers(users: u32, servers: u32) -> Variant {
    Variant {
        servers: Some(servers),
        ..self::users(users)
    }
}

const fn rate(users: u32, rate: u32) -> Variant {
    Variant {
        rate: Some(rate),
        ..self::users(users)
    }
}

const fn upload(users: u32, peer_upload: &'static str) -> Variant {
    Variant {
        peer_upload: Some(peer_upload),
        ..self::users(users)
    }
}

/// The crossover grid: N ∈ {2, 4, 8, 16} × u_s / u_i ∈ {1, 2, 4, 8} (u_s = 8 MiB/s).
const CROSSOVER_GRID: [Variant; 16] = {
    const UPLOADS: [&str; 4] = ["8MiB/s", "4MiB/s", "2MiB/s", "1MiB/s"];
    const SIZES: [u32; 4] = [2, 4, 8, 16];
    let mut grid = [users(1); 16];
    let mut i = 0;
    while i < 16 {
        grid[i] = upload(SIZES[i % 4], UPLOADS[i / 4]);
        i += 1;
    }
    grid
};

/// The experiments, in the order each repetition runs them.
pub const EXPERIMENTS: [Experiment; 7] = [
    Experiment {
        name: "flash",
        file: "scenarios/claims/flash.toml",
        text: include_str!("../../../../scenarios/claims/flash.toml"),
        claims: &[1, 3, 5, 8],
        full: &[users(4), users(8), users(16), users(32)],
        quick: &[users(4), users(16)],
        once: false,
        churn: false,
    },
    Experiment {
        name: "response",
        file: "scenarios/claims/response.toml",
        text: include_str!("../../../../scenarios/claims/response.toml"),
        claims: &[4],
        full: &[rate(8, 10), rate(8, 25), rate(8, 50)],
        quick: &[rate(8, 10), rate(8, 40)],
        once: false,
        churn: false,
    },
    Experiment {
        name: "servers",
        file: "scenarios/claims/servers.toml",
        text: include_str!("../../../../scenarios/claims/servers.toml"),
        claims: &[2],
        full: &[
            servers(16, 1),
            servers(16, 2),
            servers(16, 4),
            servers(8, 1),
            servers(32, 4),
        ],
        quick: &[servers(16, 1), servers(16, 4)],
        once: false,
        churn: false,
    },
    Experiment {
        name: "spof",
        file: "scenarios/claims/spof.toml",
        text: include_str!("../../../../scenarios/claims/spof.toml"),
        claims: &[6],
        full: &[users(8), replicated(8, 2)],
        quick: &[users(8), replicated(8, 2)],
        once: false,
        churn: false,
    },
    Experiment {
        name: "holders",
        file: "scenarios/claims/holders.toml",
        text: include_str!("../../../../scenarios/claims/holders.toml"),
        claims: &[6],
        full: &[users(8)],
        quick: &[users(8)],
        once: false,
        churn: false,
    },
    Experiment {
        name: "churn",
        file: "scenarios/claims/churn.toml",
        text: include_str!("../../../../scenarios/claims/churn.toml"),
        claims: &[7],
        full: &[users(8), users(16), users(32)],
        quick: &[users(8), users(16)],
        once: false,
        churn: true,
    },
    Experiment {
        name: "crossover",
        file: "scenarios/claims/crossover.toml",
        text: include_str!("../../../../scenarios/claims/crossover.toml"),
        claims: &[],
        full: &CROSSOVER_GRID,
        quick: &[],
        once: true,
        churn: false,
    },
];

/// One run of the suite: an experiment's variant on one architecture, in one repetition.
#[derive(Debug, Clone)]
pub struct Step {
    /// The experiment.
    pub experiment: &'static Experiment,
    /// Its variant.
    pub variant: Variant,
    /// The architecture.
    pub arch: Arch,
    /// The repetition (0-based).
    pub repetition: u32,
}

impl Step {
    /// `flash N=16 p2p (repetition 2/5)`.
    pub fn describe(&self, repetitions: u32) -> String {
        let mut text = format!("{} N={}", self.experiment.name, self.variant.users);
        if let Some(s) = self.variant.servers {
            text.push_str(&format!(" {s} server(s)"));
        }
        if let Some(r) = self.variant.rate {
            text.push_str(&format!(" at {r}/s"));
        }
        if let Some(u) = self.variant.peer_upload {
            text.push_str(&format!(" peer upload {u}"));
        }
        if let Some(k) = self.variant.replication {
            text.push_str(&format!(" {k} copies"));
        }
        format!(
            "{text} {} (repetition {}/{repetitions})",
            self.arch,
            self.repetition + 1
        )
    }

    /// The experiment's scenario with this variant (and the user's overrides) applied.
    pub fn scenario(&self, extra: &[Override]) -> Result<Scenario, scenario::ScenarioError> {
        let mut overrides = extra.to_vec();
        let v = self.variant;
        overrides.push(Override::from_flag(
            "--users",
            "load.users",
            &v.users.to_string(),
        ));
        if let Some(s) = v.servers {
            overrides.push(Override::from_flag(
                "--servers",
                "architectures.servers",
                &s.to_string(),
            ));
        }
        if self.experiment.churn {
            let seed = u64::from(self.repetition) + 1;
            overrides.push(Override::from_flag(
                "--set",
                "churn.seed",
                &seed.to_string(),
            ));
        }
        if let Some(u) = v.peer_upload {
            overrides.push(Override::from_flag("--set", "network.peer_upload", u));
        }
        if let Some(k) = v.replication {
            overrides.push(Override::from_flag(
                "--set",
                "architectures.replication",
                &k.to_string(),
            ));
        }
        if let Some(r) = v.rate {
            overrides.push(Override::from_flag(
                "--rate",
                "load.rate",
                &format!("{r}/s"),
            ));
            overrides.push(Override::from_flag(
                "--rate",
                "load.connections",
                &v.users.to_string(),
            ));
        }
        scenario::parse(self.experiment.file, self.experiment.text, &overrides)
    }
}

/// Every step of the suite, interleaved: repetition by repetition, each experiment's
/// variants in turn, CS then P2P for each — so the two runs of a pair are made one after
/// the other, under the same state of the machine.
pub fn steps(
    only: &[u8],
    quick: bool,
    repetitions: u32,
) -> Result<Vec<Step>, scenario::ScenarioError> {
    let chosen: Vec<&'static Experiment> = EXPERIMENTS.iter().filter(|e| e.answers(only)).collect();
    let mut out = Vec::new();
    for repetition in 0..repetitions {
        for experiment in chosen.iter().filter(|e| repetition == 0 || !e.once) {
            let variants = if quick {
                experiment.quick
            } else {
                experiment.full
            };
            for &variant in variants {
                let probe = Step {
                    experiment,
                    variant,
                    arch: Arch::Cs,
                    repetition,
                };
                let scenario = probe.scenario(&[])?;
                for (arch, on) in [
                    (Arch::Cs, scenario.architectures.cs),
                    (
                        Arch::P2p,
                        scenario.architectures.p2p && variant.replication.is_none(),
                    ),
                ] {
                    if on {
                        out.push(Step {
                            arch,
                            ..probe.clone()
                        });
                    }
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_claim_has_an_experiment_and_every_scenario_parses() {
        for claim in 1..=8u8 {
            assert!(
                EXPERIMENTS.iter().any(|e| e.claims.contains(&claim)),
                "claim {claim}"
            );
        }
        let all = steps(&[], false, 1).expect("the suite's scenarios parse");
        assert!(all.len() >= 15, "{}", all.len());
        let quick = steps(&[], true, 3).expect("quick");
        assert!(quick.len() < all.len() * 3);
        let once = all
            .iter()
            .filter(|s| s.experiment.name == "crossover")
            .count();
        assert_eq!(once, 32, "a 4 × 4 grid on both architectures");
        let twice = steps(&[], false, 2).unwrap();
        assert_eq!(
            twice
                .iter()
                .filter(|s| s.experiment.name == "crossover")
                .count(),
            32,
            "the map runs in the first repetition only"
        );
        assert!(steps(&[], true, 3)
            .unwrap()
            .iter()
            .all(|s| s.experiment.name != "crossover"));
    }

    #[test]
    fn steps_interleave_architectures_and_repetitions() {
        let s = steps(&[8], true, 2).unwrap();
        let names: Vec<String> = s.iter().map(|s| s.describe(2)).collect();
        assert_eq!(names[0], "flash N=4 cs (repetition 1/2)");
        assert_eq!(names[1], "flash N=4 p2p (repetition 1/2)");
        assert!(
            names.iter().all(|n| n.starts_with("flash")),
            "--only 8 runs flash only"
        );
        assert_eq!(s.last().unwrap().repetition, 1);
        let churn = steps(&[7], true, 2).unwrap();
        let seeds: Vec<u64> = churn
            .iter()
            .map(|s| s.scenario(&[]).unwrap().churn.unwrap().seed)
            .collect();
        assert_eq!(seeds, [1, 1, 2, 2], "one churn schedule per repetition");
        let response = steps(&[4], true, 1).unwrap();
        let scenario = response[0].scenario(&[]).unwrap();
        assert_eq!(
            scenario.load.rate.map(|r| r.to_string()),
            Some("10/s".into())
        );
    }
}
