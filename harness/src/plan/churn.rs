//! Per-peer churn sessions: every user's peer draws how long it stays online (from the
//! scenario's session-length distribution), departs, stays offline for an exponential
//! time — so rejoins form a Poisson process — and starts a new session, until the end of
//! the load. The draws come from a seeded generator: a scenario always churns the same
//! way, and the intensity per peer does not depend on the size of the swarm.

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Exp, LogNormal, Weibull};

use super::faults::Planned;
use crate::scenario::faults::{Churn, FaultAction, FaultTarget, SessionLengths};

/// Mean offline time when the scenario does not set `churn.mean_offline`.
pub(crate) const DEFAULT_MEAN_OFFLINE: Duration = Duration::from_secs(2);
/// Events per peer at most, whatever the draws (a bound on every loop).
const MAX_EVENTS_PER_PEER: usize = 10_000;

/// Draws session lengths with the scenario's distribution and mean.
enum Sessions {
    Exponential(Exp<f64>),
    Weibull(Weibull<f64>),
    Lognormal(LogNormal<f64>),
}

impl Sessions {
    /// The distribution with mean `mean_s` seconds; `None` for parameters no
    /// distribution takes (validation refuses them first).
    fn new(kind: SessionLengths, mean_s: f64, shape: f64) -> Option<Sessions> {
        Some(match kind {
            SessionLengths::Exponential => Sessions::Exponential(Exp::new(1.0 / mean_s).ok()?),
            SessionLengths::Weibull => {
                // mean = λ Γ(1 + 1/k)
                let scale = mean_s / gamma(1.0 + 1.0 / shape);
                Sessions::Weibull(Weibull::new(scale, shape).ok()?)
            }
            SessionLengths::Lognormal => {
                // mean = exp(μ + σ²/2)
                let mu = mean_s.ln() - shape * shape / 2.0;
                Sessions::Lognormal(LogNormal::new(mu, shape).ok()?)
            }
        })
    }

    fn draw(&self, rng: &mut SmallRng) -> f64 {
        match self {
            Sessions::Exponential(d) => d.sample(rng),
            Sessions::Weibull(d) => d.sample(rng),
            Sessions::Lognormal(d) => d.sample(rng),
        }
    }
}

/// Γ(x) for x in [1, 11] (Lanczos, g = 7): enough for a Weibull mean.
fn gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    let x = x - 1.0;
    let t = x + 7.5;
    let sum = G[1..]
        .iter()
        .enumerate()
        .fold(G[0], |acc, (i, g)| acc + g / (x + i as f64 + 1.0));
    (2.0 * std::f64::consts::PI).sqrt() * t.powf(x + 0.5) * (-t).exp() * sum
}

/// The departures and rejoins of `peers` user peers between `churn.start` and `end`.
pub(crate) fn sessions(
    churn: &Churn,
    peers: usize,
    departure: FaultAction,
    end: Duration,
) -> Vec<Planned> {
    let Some(mean) = churn.mean_session else {
        return Vec::new();
    };
    let Some(lengths) = Sessions::new(
        churn.session,
        mean.0.as_secs_f64(),
        churn.shape.unwrap_or(1.0),
    ) else {
        return Vec::new();
    };
    let offline_mean = churn.mean_offline.map_or(DEFAULT_MEAN_OFFLINE, |d| d.0);
    let Ok(offline) = Exp::new(1.0 / offline_mean.as_secs_f64().max(1e-3)) else {
        return Vec::new();
    };
    let mut rng = SmallRng::seed_from_u64(churn.seed);
    let end_s = end.as_secs_f64();
    let mut out = Vec::new();
    for peer in 0..peers {
        let mut t = churn.start.0.as_secs_f64();
        for _ in 0..MAX_EVENTS_PER_PEER {
            t += lengths.draw(&mut rng);
            if t >= end_s {
                break;
            }
            let event = |at: f64, action| Planned {
                at: Duration::from_secs_f64(at),
                action,
                target: FaultTarget::Peer(peer as u32),
                count: None,
                duration: None,
                source: "churn".into(),
            };
            out.push(event(t, departure));
            t += offline.sample(&mut rng);
            if t >= end_s {
                break;
            }
            out.push(event(t, FaultAction::Join));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::faults::Departure;
    use crate::units::HumanDuration;

    fn churn(kind: SessionLengths, mean_s: u64) -> Churn {
        Churn {
            leave_per_minute: 0.0,
            join_per_minute: None,
            mean_session: Some(HumanDuration(Duration::from_secs(mean_s))),
            session: kind,
            shape: Some(0.8),
            mean_offline: Some(HumanDuration(Duration::from_secs(1))),
            seed: 7,
            start: HumanDuration(Duration::from_secs(2)),
            departure: Departure::Kill,
        }
    }

    #[test]
    fn gamma_matches_known_values() {
        assert!((gamma(1.0) - 1.0).abs() < 1e-9);
        assert!((gamma(5.0) - 24.0).abs() < 1e-7);
        assert!((gamma(1.5) - 0.886_226_925_452_758).abs() < 1e-9);
    }

    #[test]
    fn sessions_alternate_departures_and_rejoins_per_peer() {
        let end = Duration::from_secs(600);
        for kind in [
            SessionLengths::Exponential,
            SessionLengths::Weibull,
            SessionLengths::Lognormal,
        ] {
            let events = sessions(&churn(kind, 20), 50, FaultAction::Kill, end);
            for peer in 0..50u32 {
                let mine: Vec<&Planned> = events
                    .iter()
                    .filter(|e| e.target == FaultTarget::Peer(peer))
                    .collect();
                for (i, e) in mine.iter().enumerate() {
                    let want = if i % 2 == 0 {
                        FaultAction::Kill
                    } else {
                        FaultAction::Join
                    };
                    assert_eq!(e.action, want, "{kind:?} peer {peer}");
                    assert!(e.at >= Duration::from_secs(2) && e.at < end);
                }
                assert!(mine.windows(2).all(|w| w[0].at <= w[1].at));
            }
            // About one departure per (20 s session + 1 s offline) per peer: 50 × 598 / 21.
            let departures = events
                .iter()
                .filter(|e| e.action == FaultAction::Kill)
                .count();
            let expected = 50.0 * 598.0 / 21.0;
            assert!(
                (departures as f64 - expected).abs() < expected * 0.2,
                "{kind:?}: {departures} departures, about {expected:.0} expected"
            );
        }
    }

    #[test]
    fn the_intensity_per_peer_does_not_depend_on_the_swarm_size() {
        let end = Duration::from_secs(300);
        let per_peer = |n: usize| {
            let e = sessions(
                &churn(SessionLengths::Exponential, 10),
                n,
                FaultAction::Kill,
                end,
            );
            e.iter().filter(|e| e.action == FaultAction::Kill).count() as f64 / n as f64
        };
        let (small, large) = (per_peer(16), per_peer(64));
        assert!((small / large - 1.0).abs() < 0.25, "{small} vs {large}");
        assert_eq!(
            sessions(
                &churn(SessionLengths::Exponential, 10),
                16,
                FaultAction::Kill,
                end
            ),
            sessions(
                &churn(SessionLengths::Exponential, 10),
                16,
                FaultAction::Kill,
                end
            ),
            "seeded: the same scenario churns the same way"
        );
    }
}
