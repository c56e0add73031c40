//! Regions: `[[network.regions]]` (named shares of the users), `network.latency_matrix`
//! (the one-way latency from each region, a row, to each region, a column) and
//! `network.server_region` (where the servers and the seed are), with the rules that
//! span these keys.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::model::{Scenario, WorkloadKind};

/// `[[network.regions]]`: a named share of the users.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// Its name, as `server_region` and the report name it.
    pub name: String,
    /// The share of the users (P2P: their peers; CS: the harness's users) in this
    /// region; the shares sum to 1 (0: a region of servers only).
    pub share: f64,
}

/// Keys checked here, for messages.
const REGIONS: &str = "network.regions";
const MATRIX: &str = "network.latency_matrix";
const SERVER: &str = "network.server_region";

/// The most regions a scenario may have (a container run's subnet holds 16 blocks).
pub const MAX_REGIONS: usize = 16;
/// The longest one-way latency the matrix may give.
const MAX_LATENCY: Duration = Duration::from_secs(10);
/// How far the shares may be from summing to one.
const SHARE_TOLERANCE: f64 = 1e-6;

/// The smallest latency a node adds with regions (the matrix's smallest entry), the
/// bound on the jitter; `None` without regions.
pub(super) fn smallest_latency(s: &Scenario) -> Option<Duration> {
    let n = &s.network;
    if n.regions.is_empty() {
        return None;
    }
    Some(
        n.latency_matrix
            .iter()
            .flatten()
            .map(|d| d.0)
            .min()
            .unwrap_or_default(),
    )
}

/// `1 row`, `2 rows`, `1 entry`, `0 entries`.
fn plural(n: usize, word: &str) -> String {
    match (n, word.strip_suffix('y')) {
        (1, _) => format!("1 {word}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        (_, None) => format!("{n} {word}s"),
    }
}

/// The rules of the region keys: the first problem as (key, message).
pub(super) fn check(s: &Scenario) -> Result<(), (String, String)> {
    let n = &s.network;
    let fail = |key: &str, message: String| Err((key.to_string(), message));
    if n.regions.is_empty() {
        if !n.latency_matrix.is_empty() {
            return fail(
                MATRIX,
                format!("needs [[{REGIONS}]]: name the regions its rows and columns are, in order"),
            );
        }
        if n.server_region.is_some() {
            return fail(SERVER, format!("needs [[{REGIONS}]] to name a region of"));
        }
        return Ok(());
    }
    let names: Vec<&str> = n.regions.iter().map(|r| r.name.as_str()).collect();
    let listed = names.join(", ");
    if names.len() > MAX_REGIONS {
        return fail(
            REGIONS,
            format!("{} regions; at most {MAX_REGIONS}", names.len()),
        );
    }
    if s.workload.kind == WorkloadKind::Url {
        return fail(
            REGIONS,
            "place the nodes the harness starts; a url workload starts none".into(),
        );
    }
    if !n.latency.0.is_zero() {
        return fail(
            "network.latency",
            format!("and [[{REGIONS}]] both set: with regions the latency between two nodes is their regions' entry of {MATRIX}; remove network.latency (an in-region latency goes on the matrix's diagonal)"),
        );
    }
    let mut total = 0.0;
    for (i, region) in n.regions.iter().enumerate() {
        let name = region.name.trim();
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid || names[..i].contains(&region.name.as_str()) {
            return fail(
                &format!("{REGIONS}[{i}].name"),
                format!(
                    "{:?} must be a name no other region has, of letters, digits, '-' and '_'",
                    region.name
                ),
            );
        }
        if !(region.share.is_finite() && (0.0..=1.0).contains(&region.share)) {
            return fail(
                &format!("{REGIONS}[{i}].share"),
                format!("{} must be a share from 0 to 1 (0.25 = a quarter of the users; 0 = servers only)", region.share),
            );
        }
        total += region.share;
    }
    if (total - 1.0).abs() > SHARE_TOLERANCE {
        return fail(
            &format!("{REGIONS}[0].share"),
            format!("the shares of {REGIONS} sum to {total}, not 1; make them add up to 1"),
        );
    }
    let r = names.len();
    let shape = format!("a {r}×{r} matrix: one row per region ({listed}), in the order they are written, each with one one-way latency to every region, such as [[\"5ms\", \"40ms\"], [\"40ms\", \"5ms\"]] for two");
    if n.latency_matrix.len() != r {
        return fail(
            MATRIX,
            format!(
                "has {} for {r} regions; give {shape}",
                plural(n.latency_matrix.len(), "row")
            ),
        );
    }
    for (i, row) in n.latency_matrix.iter().enumerate() {
        if row.len() != r {
            return fail(
                MATRIX,
                format!(
                    "row {i} ({}) has {} for {r} regions; give {shape}",
                    names[i],
                    plural(row.len(), "entry")
                ),
            );
        }
        if let Some(d) = row.iter().find(|d| d.0 > MAX_LATENCY) {
            return fail(
                MATRIX,
                format!(
                    "{d} (row {i}, {}) is more than {}; give a one-way latency of at most that",
                    names[i],
                    MAX_LATENCY.as_secs()
                ),
            );
        }
    }
    if let Some(server) = &n.server_region {
        if !names.contains(&server.as_str()) {
            return fail(
                SERVER,
                format!("{server:?} is not a region; the regions are {listed}"),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    const BASE: &str = "name = \"t\"\n[workload]\nkind = \"fetch\"\n";
    const TWO: &str = "[[network.regions]]\nname = \"eu\"\nshare = 0.5\n[[network.regions]]\nname = \"us\"\nshare = 0.5\n";

    fn problem(network: &str, regions: &str) -> Option<(String, String)> {
        let text = format!("{BASE}[network]\n{network}\n{regions}");
        crate::scenario::parse("t.toml", &text, &[])
            .err()
            .map(|e| (e.key.clone().unwrap_or_default(), e.to_string()))
    }

    const MATRIX: &str = "latency_matrix = [[\"5ms\", \"40ms\"], [\"40ms\", \"5ms\"]]";

    #[test]
    fn a_valid_region_profile_parses() {
        assert_eq!(
            problem(&format!("{MATRIX}\nserver_region = \"us\""), TWO),
            None
        );
        assert_eq!(problem(MATRIX, TWO), None);
    }

    #[test]
    fn bad_region_profiles_name_the_key() {
        let cases = [
            ("latency_matrix = [[\"5ms\", \"40ms\"]]", TWO, "network.latency_matrix", "1 row for 2 regions"),
            ("latency_matrix = [[\"5ms\"], [\"40ms\", \"5ms\"]]", TWO, "network.latency_matrix", "row 0"),
            ("", TWO, "network.latency_matrix", "0 rows for 2"),
            (&format!("{MATRIX}\nserver_region = \"asia\""), TWO, "network.server_region", "\"asia\" is not a region"),
            (&format!("{MATRIX}\nlatency = \"10ms\""), TWO, "network.latency", "remove network.latency"),
            (MATRIX, "", "network.latency_matrix", "needs [[network.regions]]"),
            (MATRIX, "[[network.regions]]\nname = \"eu\"\nshare = 0.5\n[[network.regions]]\nname = \"us\"\nshare = 0.4\n", "network.regions[0].share", "sum to"),
            (MATRIX, "[[network.regions]]\nname = \"eu\"\nshare = 0.5\n[[network.regions]]\nname = \"eu\"\nshare = 0.5\n", "network.regions[1].name", "no other region"),
            (&format!("{MATRIX}\njitter = \"6ms\""), TWO, "network.jitter", "5ms"),
        ];
        for (network, regions, key, words) in cases {
            let (k, message) =
                problem(network, regions).unwrap_or_else(|| panic!("{network} {regions} passed"));
            assert_eq!(k, key, "{message}");
            assert!(message.contains(words), "{message}");
        }
        let (k, message) = problem(
            "latency_matrix = [[\"5ms\", \"-40ms\"], [\"40ms\", \"5ms\"]]",
            TWO,
        )
        .unwrap();
        assert!(k.starts_with("network.latency_matrix"), "{k}: {message}");
    }
}
