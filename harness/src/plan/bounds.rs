//! Analytical lower bounds on distributing a file of size F to N users (Kurose & Ross),
//! with server upload u_s, peer uploads u_i and the smallest download d_min:
//!
//! - client-server: `D_cs >= max(N*F/u_s, F/d_min)`
//! - peer-to-peer: `D_p2p >= max(F/u_s, F/d_min, N*F/(u_s + sum u_i))`
//!
//! Rates are bytes per second; `None` means uncapped (that term drops out). With no
//! capped term at all there is no bound.

/// The client-server bound in seconds.
pub(crate) fn client_server(
    file: f64,
    users: f64,
    server_upload: Option<f64>,
    min_download: Option<f64>,
) -> Option<f64> {
    let terms = [
        server_upload.map(|u| users * file / u),
        min_download.map(|d| file / d),
    ];
    max_of(&terms)
}

/// The peer-to-peer bound in seconds; `peer_uploads` is the sum of the users' uploads.
pub(crate) fn peer_to_peer(
    file: f64,
    users: f64,
    server_upload: Option<f64>,
    min_download: Option<f64>,
    peer_uploads: Option<f64>,
) -> Option<f64> {
    let aggregate = match (server_upload, peer_uploads) {
        (Some(s), Some(p)) => Some(users * file / (s + p)),
        _ => None,
    };
    let terms = [
        server_upload.map(|u| file / u),
        min_download.map(|d| file / d),
        aggregate,
    ];
    max_of(&terms)
}

fn max_of(terms: &[Option<f64>]) -> Option<f64> {
    terms
        .iter()
        .flatten()
        .copied()
        .filter(|t| t.is_finite())
        .fold(None, |m, t| Some(m.map_or(t, |m: f64| m.max(t))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIB: f64 = 1048576.0;

    #[test]
    fn textbook_values() {
        // F = 8 MiB, 8 users, server 16 MiB/s: 4 s for client-server.
        assert_eq!(
            client_server(8.0 * MIB, 8.0, Some(16.0 * MIB), None),
            Some(4.0)
        );
        // 16 users, peers 2 MiB/s each: max(0.5, 16*8/(16+32)) = 2.67 s.
        let p2p = peer_to_peer(8.0 * MIB, 16.0, Some(16.0 * MIB), None, Some(32.0 * MIB)).unwrap();
        assert!((p2p - 128.0 / 48.0).abs() < 1e-9);
        // A slow download link dominates.
        assert_eq!(
            client_server(8.0 * MIB, 1.0, Some(16.0 * MIB), Some(MIB)),
            Some(8.0)
        );
        assert_eq!(client_server(1.0, 1.0, None, None), None);
    }

    proptest! {
        /// Peers only add capacity: the P2P bound never exceeds the CS bound.
        #[test]
        fn p2p_never_above_cs(f in 1.0f64..1e9, n in 1u32..10_000, us in 1.0f64..1e9, ui in 0.0f64..1e8) {
            let cs = client_server(f, f64::from(n), Some(us), None).unwrap();
            let p2p = peer_to_peer(f, f64::from(n), Some(us), None, Some(ui * f64::from(n))).unwrap();
            prop_assert!(p2p <= cs * (1.0 + 1e-12));
        }
    }
}
