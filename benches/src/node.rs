//! A benchmark binary that doubles as a target node.
//!
//! The harness launches the reference targets as `<its own executable> server …` or
//! `… peer …` (see `versus::launch::process`). Inside a benchmark, its own executable is
//! the benchmark binary, so a benchmark that runs whole architectures calls
//! [`run_if_asked`] first thing in `main`: started as a node, the binary serves as
//! `versus server` or `versus peer` would, with the same arguments, and never reaches
//! criterion. No `versus` binary has to be built or found for `cargo bench`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use versus_targets::peer::PeerArgs;
use versus_targets::server::ServerArgs;

/// The node command lines the harness uses.
#[derive(Parser)]
#[command(
    name = "versus-bench-node",
    about = "A target node inside a benchmark binary"
)]
struct NodeCli {
    #[command(subcommand)]
    node: Node,
}

#[derive(Subcommand)]
enum Node {
    /// The client-server object store.
    Server(ServerArgs),
    /// The peer-to-peer swarm node.
    Peer(PeerArgs),
}

/// The subcommands that make this process a node.
pub const NODE_COMMANDS: [&str; 2] = ["server", "peer"];

/// When this process was started as a target node (first argument `server` or `peer`),
/// runs that node until it is told to stop and returns its exit code (0, or 2 for bad
/// arguments, 3 when it failed). Otherwise returns `None` at once.
pub fn run_if_asked() -> Option<ExitCode> {
    let first = std::env::args().nth(1)?;
    if !NODE_COMMANDS.contains(&first.as_str()) {
        return None;
    }
    let cli = match NodeCli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return Some(ExitCode::from(2));
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot build the node's Tokio runtime: {e}");
            return Some(ExitCode::from(3));
        }
    };
    let result = runtime.block_on(async {
        match cli.node {
            Node::Server(args) => versus_targets::server::run(args).await,
            Node::Peer(args) => versus_targets::peer::run(args).await,
        }
    });
    Some(match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(3)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn node_command_lines_parse() {
        NodeCli::command().debug_assert();
        let cli = NodeCli::try_parse_from([
            "bench",
            "server",
            "--listen",
            "127.0.0.1:0",
            "--max-object-size",
            "1073741824",
        ])
        .expect("a server command line");
        assert!(matches!(cli.node, Node::Server(_)));
        let cli = NodeCli::try_parse_from(["bench", "peer", "--admin", "127.0.0.1:0"])
            .expect("a peer command line");
        assert!(matches!(cli.node, Node::Peer(_)));
    }
}
