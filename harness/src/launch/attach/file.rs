//! The targets file of `--attach FILE`: the data and admin addresses of targets the
//! harness did not start (StatefulSet pods, compose services, another machine's).
//!
//! ```toml
//! [[targets]]
//! role = "server"                      # server | seed | peer
//! count = 2                            # default 1; {i} below becomes 0, 1, …
//! data = "server-{i}.servers:8080"     # host:port (a peer's: its multiaddr)
//! admin = "server-{i}.servers:9090"    # host:port of its admin plane
//! ```
//!
//! Nodes of a role are numbered in file order: the scenario's server `k` is the k-th
//! server listed. Addresses are resolved when the run starts (retried until the node
//! answers, so pods that are still starting are waited for).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::arch::Role;

/// The most nodes one entry may stand for (a bound on the expansion of `count`).
const MAX_COUNT: usize = 100_000;

/// One attached node's addresses, as written (host names are resolved later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The data plane: `host:port`, or a peer's multiaddr.
    pub data: String,
    /// The admin plane: `host:port`.
    pub admin: String,
}

/// Every attached node, by role, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    /// The file it was read from (for messages).
    pub file: PathBuf,
    /// The nodes of each role.
    pub by_role: BTreeMap<Role, Vec<Address>>,
}

/// A targets file that cannot be used (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum TargetsError {
    /// It cannot be read.
    #[error("--attach {file}: cannot read it: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// It is not a valid targets file.
    #[error("--attach {file}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// What is wrong, with the line and key.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileModel {
    targets: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    role: String,
    #[serde(default = "one")]
    count: usize,
    data: String,
    admin: String,
}

fn one() -> usize {
    1
}

impl Targets {
    /// Reads and checks `path`.
    pub fn read(path: &Path) -> Result<Targets, TargetsError> {
        let text = std::fs::read_to_string(path).map_err(|source| TargetsError::Read {
            file: path.display().to_string(),
            source,
        })?;
        Targets::parse(path, &text)
    }

    /// Parses the text of a targets file read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Targets, TargetsError> {
        let invalid = |message: String| TargetsError::Invalid {
            file: path.display().to_string(),
            message,
        };
        let model: FileModel = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let mut by_role: BTreeMap<Role, Vec<Address>> = BTreeMap::new();
        for (n, entry) in model.targets.iter().enumerate() {
            let key = format!("targets[{n}]");
            let role = match entry.role.as_str() {
                "server" => Role::Server,
                "seed" => Role::Seed,
                "peer" => Role::Peer,
                other => {
                    return Err(invalid(format!(
                        "{key}.role = {other:?}: expected \"server\", \"seed\" or \"peer\""
                    )))
                }
            };
            if entry.count == 0 || entry.count > MAX_COUNT {
                return Err(invalid(format!(
                    "{key}.count = {}: expected 1 to {MAX_COUNT}",
                    entry.count
                )));
            }
            if entry.count > 1 && !(entry.data.contains("{i}") && entry.admin.contains("{i}")) {
                return Err(invalid(format!(
                    "{key}: count = {} needs {{i}} in both data and admin (each node has its own addresses)",
                    entry.count
                )));
            }
            for what in [&entry.data, &entry.admin] {
                if what.trim().is_empty() {
                    return Err(invalid(format!("{key}: data and admin must not be empty")));
                }
            }
            let nodes = by_role.entry(role).or_default();
            for i in 0..entry.count {
                let at = |t: &str| t.replace("{i}", &i.to_string());
                nodes.push(Address {
                    data: at(&entry.data),
                    admin: at(&entry.admin),
                });
            }
        }
        Ok(Targets {
            file: path.to_path_buf(),
            by_role,
        })
    }

    /// The nodes of `role`.
    pub fn of(&self, role: Role) -> &[Address] {
        self.by_role.get(&role).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_counts_in_file_order() {
        let t = Targets::parse(
            Path::new("t.toml"),
            r#"
            [[targets]]
            role = "server"
            data = "a:1"
            admin = "a:2"
            [[targets]]
            role = "server"
            count = 2
            data = "s-{i}:8080"
            admin = "s-{i}:9090"
            "#,
        )
        .expect("valid");
        let servers = t.of(Role::Server);
        assert_eq!(servers.len(), 3);
        assert_eq!(servers[2].admin, "s-1:9090");
        assert!(t.of(Role::Peer).is_empty());
    }

    #[test]
    fn refuses_bad_entries_naming_the_key() {
        for (text, says) in [
            (
                "[[targets]]\nrole = \"db\"\ndata = \"a:1\"\nadmin = \"a:2\"",
                "targets[0].role",
            ),
            (
                "[[targets]]\nrole = \"peer\"\ncount = 3\ndata = \"a:1\"\nadmin = \"a:2\"",
                "{i}",
            ),
            ("[[targets]]\nrole = \"peer\"\ndata = \"a:1\"", "admin"),
            (
                "[[targets]]\nrole = \"peer\"\ndata = \"a\"\nadmin = \"b\"\nport = 1",
                "port",
            ),
        ] {
            let e = Targets::parse(Path::new("t.toml"), text).expect_err(text);
            let e = e.to_string();
            assert!(e.contains("--attach t.toml") && e.contains(says), "{e}");
        }
    }
}
