//! Live progress: an indicatif bar on a terminal, plain periodic lines otherwise (CI
//! logs), nothing with `--quiet`. Fed once a second from the aggregator.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::format::{format_duration_us, format_rate};
use crate::record::aggregate::IntervalSummary;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// A bar on a terminal, plain lines otherwise.
    Auto,
    /// Plain lines every few seconds.
    Plain,
    /// Nothing.
    Quiet,
}

/// Progress of one run.
pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    label: String,
    total: Duration,
    count: u64,
    errors: u64,
    last_plain_s: u64,
}

/// Plain lines are printed this often.
const PLAIN_EVERY_S: u64 = 5;

impl Progress {
    /// Starts showing progress of a run labelled `label` lasting about `total`.
    pub fn start(mode: ProgressMode, label: &str, total: Duration) -> Self {
        let tty = std::io::stderr().is_terminal();
        let bar = (mode == ProgressMode::Auto && tty).then(|| {
            let bar = ProgressBar::new(total.as_secs().max(1));
            let style = ProgressStyle::with_template("{prefix:>6} [{bar:30}] {pos}/{len}s {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(label.to_string());
            bar
        });
        Self {
            plain: mode != ProgressMode::Quiet && bar.is_none(),
            bar,
            label: label.to_string(),
            total,
            count: 0,
            errors: 0,
            last_plain_s: 0,
        }
    }

    /// Shows second `interval` (just finalized).
    pub fn interval(&mut self, interval: &IntervalSummary) {
        let (count, errors) = interval.finished_and_failed();
        self.count += count;
        self.errors += errors;
        let p99 = interval
            .ops
            .iter()
            .filter(|(name, _)| crate::record::op::is_request(name))
            .map(|(_, o)| o.p99_us)
            .max()
            .unwrap_or(0);
        let message = format!(
            "ops {} · errors {} · {} · p99 {}",
            self.count,
            self.errors,
            format_rate(count as f64),
            format_duration_us(p99 as f64)
        );
        let elapsed = u64::from(interval.t_s) + 1;
        if let Some(bar) = &self.bar {
            bar.set_position(elapsed.min(self.total.as_secs().max(1)));
            bar.set_message(message);
        } else if self.plain && elapsed >= self.last_plain_s + PLAIN_EVERY_S {
            self.last_plain_s = elapsed;
            eprintln!(
                "[{}] {elapsed}s/{}s {message}",
                self.label,
                self.total.as_secs()
            );
        }
    }

    /// Says the run is draining in-flight operations.
    pub fn draining(&self) {
        match &self.bar {
            Some(bar) => bar.set_message("draining in-flight operations…"),
            None if self.plain => {
                eprintln!("[{}] stopping: draining in-flight operations", self.label)
            }
            None => {}
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if self.plain {
            eprintln!(
                "[{}] done: {} operations, {} errors",
                self.label, self.count, self.errors
            );
        }
    }
}
