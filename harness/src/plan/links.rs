//! Each node's access link, planned from `[network]`: the users' upload and download
//! caps (uniform, by `[[network.classes]]`, or from a lognormal
//! `[network.upload_distribution]`), where the caps are applied (the target's own
//! shaper with `emulation = "app"`, the container's kernel with `"kernel"`), and the
//! capacities the analytical bounds need.

use versus_targets::units::ByteRate;

use crate::scenario::model::{Capacity, Emulation, Network};

/// One node's access link as the scenario describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Link {
    /// Upload cap (`None`: uncapped; [`Capacity::Zero`]: a free-rider).
    pub upload: Option<Capacity>,
    /// Download cap (`None`: uncapped).
    pub download: Option<ByteRate>,
}

impl Link {
    /// A peer that serves nothing (`upload = 0`).
    pub fn free_rider(&self) -> bool {
        self.upload == Some(Capacity::Zero)
    }

    /// The upload as a rate to enforce: a free-rider's is not a cap (it still sends its
    /// requests), it refuses to serve instead.
    fn upload_rate(&self) -> Option<ByteRate> {
        match self.upload {
            Some(Capacity::Rate(r)) => Some(r),
            _ => None,
        }
    }
}

/// What the kernel applies to a container's interface (`emulation = "kernel"`): htb
/// rate caps on egress (upload) and, through an IFB device, on ingress (download), and
/// random loss with iptables.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct KernelLink {
    /// Egress cap, bytes per second on the wire.
    pub upload: Option<ByteRate>,
    /// Ingress cap, bytes per second on the wire.
    pub download: Option<ByteRate>,
    /// Share of packets dropped at random in each direction (0.01 = 1 %).
    pub loss: Option<f64>,
}

impl KernelLink {
    /// True when there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.upload.is_none() && self.download.is_none() && self.loss.is_none_or(|l| l <= 0.0)
    }
}

/// A link split between the target's own shaper and the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Placed {
    /// The target's `--upload`.
    pub upload: Option<ByteRate>,
    /// The target's `--download`.
    pub download: Option<ByteRate>,
    /// What the container's kernel applies instead.
    pub kernel: Option<KernelLink>,
}

/// Where `link`'s caps go under `net`'s emulation: in the target (app) or in the
/// kernel, never both, so no cap is applied twice.
pub fn place(link: Link, net: &Network) -> Placed {
    match net.emulation {
        Emulation::App => Placed {
            upload: link.upload_rate(),
            download: link.download,
            kernel: None,
        },
        Emulation::Kernel => Placed {
            upload: None,
            download: None,
            kernel: Some(KernelLink {
                upload: link.upload_rate(),
                download: link.download,
                loss: net.loss.map(|l| l.fraction()),
            }),
        },
    }
}

/// The server's (and the seed's) link: `server_upload`, and `download` for the seed.
pub fn server_link(net: &Network, with_download: bool) -> Link {
    Link {
        upload: net.server_upload.map(Capacity::Rate),
        download: if with_download { net.download } else { None },
    }
}

/// The class of each of `users` users: class k gets its share of them (largest
/// remainders round), in one block, in the order the classes are written. Empty
/// without classes.
pub fn user_classes(net: &Network, users: usize) -> Vec<usize> {
    if net.classes.is_empty() {
        return Vec::new();
    }
    let exact: Vec<f64> = net.classes.iter().map(|c| c.share * users as f64).collect();
    let mut counts: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut order: Vec<usize> = (0..exact.len()).collect();
    order.sort_by(|&a, &b| {
        let fa = exact[a] - exact[a].floor();
        let fb = exact[b] - exact[b].floor();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    let mut left = users.saturating_sub(counts.iter().sum());
    for k in order.into_iter().cycle().take(users) {
        if left == 0 {
            break;
        }
        counts[k] += 1;
        left -= 1;
    }
    counts
        .iter()
        .enumerate()
        .flat_map(|(k, &n)| std::iter::repeat_n(k, n))
        .take(users)
        .collect()
}

/// Each user's link (user i's peer in peer-to-peer, user i in client-server).
pub fn user_links(net: &Network, users: usize) -> Vec<Link> {
    let uniform = Link {
        upload: net.peer_upload.map(Capacity::Rate),
        download: net.download,
    };
    if let Some(d) = &net.upload_distribution {
        let median = d.median.bytes_per_sec() as f64;
        return (0..users)
            .map(|i| {
                let q = (i as f64 + 0.5) / users as f64;
                let rate = (median * (d.sigma * normal_quantile(q)).exp()).round();
                Link {
                    upload: Some(Capacity::Rate(ByteRate(rate.max(1.0) as u64))),
                    ..uniform
                }
            })
            .collect();
    }
    let classes = user_classes(net, users);
    if classes.is_empty() {
        return vec![uniform; users];
    }
    classes
        .into_iter()
        .map(|k| {
            let class = &net.classes[k];
            Link {
                upload: class.upload.or(uniform.upload),
                download: class.download.or(uniform.download),
            }
        })
        .collect()
}

/// True when users differ in their links (classes or a distribution).
pub fn heterogeneous(net: &Network) -> bool {
    !net.classes.is_empty() || net.upload_distribution.is_some()
}

/// Σ u_i over `links`, bytes per second; `None` when any upload is uncapped (the
/// aggregate term of the bound drops out).
pub fn upload_sum(links: &[Link]) -> Option<f64> {
    links
        .iter()
        .map(|l| l.upload.map(|u| u.bytes_per_sec() as f64))
        .sum()
}

/// d_min over `links`, bytes per second; `None` when no download is capped.
pub fn min_download(links: &[Link]) -> Option<f64> {
    links
        .iter()
        .filter_map(|l| l.download.map(|d| d.bytes_per_sec() as f64))
        .reduce(f64::min)
}

/// The standard normal quantile Φ⁻¹(p) for 0 < p < 1 (Acklam's rational
/// approximation, relative error below 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::PeerClass;

    const MIB: u64 = 1 << 20;

    fn class(share: f64, upload: Option<Capacity>) -> PeerClass {
        PeerClass {
            name: None,
            share,
            upload,
            download: None,
        }
    }

    #[test]
    fn classes_get_their_shares_in_blocks() {
        let net = Network {
            classes: vec![
                class(0.25, Some(Capacity::Rate(ByteRate(4 * MIB)))),
                class(0.5, None),
                class(0.25, Some(Capacity::Zero)),
            ],
            peer_upload: Some(ByteRate(MIB)),
            ..Network::default()
        };
        assert_eq!(user_classes(&net, 8), [0, 0, 1, 1, 1, 1, 2, 2]);
        // 7 users: 1.75, 3.5, 1.75 → 2, 3 (rounded by largest remainders), 2.
        let seven = user_classes(&net, 7);
        assert_eq!(seven.len(), 7);
        assert_eq!(seven.iter().filter(|&&k| k == 1).count(), 3);
        let links = user_links(&net, 8);
        assert_eq!(links[0].upload, Some(Capacity::Rate(ByteRate(4 * MIB))));
        assert_eq!(links[3].upload, Some(Capacity::Rate(ByteRate(MIB))));
        assert!(links[7].free_rider());
        // Σu = 2·4 + 4·1 + 2·0 MiB/s.
        assert_eq!(upload_sum(&links), Some((12 * MIB) as f64));
        assert_eq!(min_download(&links), None);
    }

    #[test]
    fn an_uncapped_peer_removes_the_aggregate_term() {
        let links = [
            Link {
                upload: Some(Capacity::Zero),
                download: Some(ByteRate(MIB)),
            },
            Link::default(),
        ];
        assert_eq!(upload_sum(&links), None);
        assert_eq!(min_download(&links), Some(MIB as f64));
    }

    #[test]
    fn lognormal_quantiles_have_the_median_and_spread() {
        assert!(normal_quantile(0.5).abs() < 1e-9);
        assert!((normal_quantile(0.975) - 1.959964).abs() < 1e-5);
        assert!((normal_quantile(0.01) + 2.326348).abs() < 1e-5);
        let net = Network {
            upload_distribution: Some(crate::scenario::model::UploadDistribution {
                median: ByteRate(MIB),
                sigma: 0.5,
            }),
            ..Network::default()
        };
        let ups: Vec<u64> = user_links(&net, 101)
            .iter()
            .map(|l| l.upload.map_or(0, Capacity::bytes_per_sec))
            .collect();
        assert!(ups.windows(2).all(|w| w[0] <= w[1]), "slowest first");
        assert_eq!(ups[50], MIB);
        // 20 users: the slowest sits at the 2.5 % quantile, the median × e^(−0.5·1.96).
        let first = user_links(&net, 20)[0]
            .upload
            .map_or(0, Capacity::bytes_per_sec);
        let expected = MIB as f64 * (-0.5f64 * 1.959964).exp();
        assert!((first as f64 / expected - 1.0).abs() < 1e-4, "{first}");
    }

    #[test]
    fn kernel_emulation_moves_the_caps_out_of_the_target() {
        let link = Link {
            upload: Some(Capacity::Rate(ByteRate(MIB))),
            download: Some(ByteRate(2 * MIB)),
        };
        let app = place(link, &Network::default());
        assert_eq!(app.upload, Some(ByteRate(MIB)));
        assert!(app.kernel.is_none());
        let net = Network {
            emulation: Emulation::Kernel,
            loss: Some(versus_targets::units::Percent(0.02)),
            ..Network::default()
        };
        let kernel = place(link, &net);
        assert_eq!((kernel.upload, kernel.download), (None, None));
        let k = kernel.kernel.unwrap();
        assert_eq!(k.upload, Some(ByteRate(MIB)));
        assert_eq!(k.download, Some(ByteRate(2 * MIB)));
        assert_eq!(k.loss, Some(0.02));
    }
}
