//! The termination signals a target node stops on (SIGTERM, SIGINT), installed before
//! its ready line is printed so that none sent right after it is missed, and the end of
//! the harness that started it ([`crate::harness_watch`]).

use anyhow::Context;

/// The termination signals, installed before the ready line so none is missed.
pub struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers.
    pub fn install() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let term =
                signal(SignalKind::terminate()).context("could not install a SIGTERM handler")?;
            let int =
                signal(SignalKind::interrupt()).context("could not install a SIGINT handler")?;
            Ok(Signals { term, int })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Waits for a signal, or for the harness that started this node to end; returns
    /// what happened.
    pub async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
                _ = crate::harness_watch::harness_gone() => "the end of the harness that started this node",
            }
        }
        #[cfg(not(unix))]
        {
            match tokio::signal::ctrl_c().await {
                Ok(()) => "Ctrl-C",
                Err(_) => std::future::pending().await,
            }
        }
    }
}
