//! Rules that span several keys ("an open model needs a rate"), checked after parsing.
//! Each failure names the key to change and says how.

use std::time::Duration;

use super::faults::FaultTarget;
use super::model::{LoadModel, Scenario, Workload, WorkloadKind};
use crate::metric::Metric;
use crate::metric::REQUEST_PREFIX;

/// The longest run a scenario may ask for: every load loop is bounded in time.
pub(super) const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);
/// The most users (or connections) a scenario may ask for.
pub(super) const MAX_USERS: u32 = 1_000_000;

type Problem = (String, String);

fn problem(key: &str, message: impl Into<String>) -> Result<(), Problem> {
    Err((key.to_string(), message.into()))
}

/// Checks the cross-key rules; the first problem found is returned as (key, message).
/// Each `[[phases]]` entry is checked as the scenario it makes, its keys named
/// `phases[i].…`.
pub(super) fn check(s: &Scenario) -> Result<(), Problem> {
    check_one(s)?;
    let phases = s.phase_scenarios();
    let mut names: Vec<String> = phases
        .first()
        .and_then(|p| p.0.clone())
        .into_iter()
        .collect();
    for (i, (name, phase)) in phases.into_iter().enumerate().skip(1) {
        let name = name.unwrap_or_default();
        if name.trim().is_empty() || names.contains(&name) {
            problem(
                &format!("phases[{}].name", i - 1),
                "must be a name no other phase has",
            )?;
        }
        names.push(name);
        check_one(&phase).map_err(|(key, message)| {
            let local = key.starts_with("workload") || key.starts_with("load");
            let key = if local {
                format!("phases[{}].{key}", i - 1)
            } else {
                key
            };
            (key, message)
        })?;
    }
    Ok(())
}

fn check_one(s: &Scenario) -> Result<(), Problem> {
    if s.name.trim().is_empty() {
        problem("name", "must not be empty")?;
    }
    check_workload(s)?;
    check_load(s)?;
    check_thresholds(s)?;
    check_faults(s)?;
    super::network::check(s)?;
    if !s.architectures.cs && !s.architectures.p2p && s.workload.kind != WorkloadKind::Url {
        problem(
            "architectures",
            "enables neither cs nor p2p; set cs = true or p2p = true",
        )?;
    }
    let ready = s.architectures.ready_timeout.0;
    if ready.is_zero() || ready > Duration::from_secs(600) {
        problem(
            "architectures.ready_timeout",
            "must be above 0 and at most 10m",
        )?;
    }
    let image = &s.architectures.image;
    if image.trim().is_empty() || image.chars().any(char::is_whitespace) {
        problem(
            "architectures.image",
            format!("{image:?} is not an image name; give a tag such as \"versus:0.1.0\" (what `versus image` builds)"),
        )?;
    }
    s.architectures.peers_per_process.check(s)?;
    if s.architectures.servers == 0 || s.architectures.servers > 64 {
        problem("architectures.servers", "must be between 1 and 64")?;
    }
    let (replication, servers) = (s.architectures.replication, s.architectures.servers);
    if replication == 0 || replication > servers {
        problem(
            "architectures.replication",
            format!("{replication} must be between 1 and architectures.servers ({servers}): each object is held by that many replicas"),
        )?;
    }
    let adversaries = s.architectures.corrupt_peers + s.architectures.stall_peers;
    if adversaries >= s.load.users.max(1) {
        problem(
            "architectures.corrupt_peers",
            format!(
                "corrupt_peers + stall_peers = {adversaries} must be below load.users ({}): at least one honest peer is needed",
                s.load.users
            ),
        )?;
    }
    Ok(())
}

fn check_workload(s: &Scenario) -> Result<(), Problem> {
    let w = &s.workload;
    match (w.kind, &w.url) {
        (WorkloadKind::Url, None) if w.requests.is_none() => problem(
            "workload.url",
            "kind = \"url\" needs url = \"http://host:port/path\" (or https://), or requests = \"FILE\"",
        )?,
        (WorkloadKind::Url, None) => {}
        (WorkloadKind::Url, Some(url)) => {
            if let Err(e) = crate::scenario::url::Target::parse(url) {
                problem("workload.url", e.to_string())?;
            }
        }
        (_, Some(_)) => problem(
            "workload.url",
            "applies only to kind = \"url\"; remove it or change the kind",
        )?,
        _ => {}
    }
    check_request_keys(w)?;
    if w.kind == WorkloadKind::Url && s.network.tls {
        problem(
            "network.tls",
            "applies to the reference servers, not to a url workload; write the url as https://… instead",
        )?;
    }
    if w.kind != WorkloadKind::Url && w.object_size.bytes() == 0 {
        problem("workload.object_size", "must be at least 1 byte")?;
    }
    if w.kind == WorkloadKind::Fetch && !(1..=100_000).contains(&w.objects) {
        problem("workload.objects", "must be between 1 and 100000")?;
    }
    if !(w.zipf_exponent.is_finite() && w.zipf_exponent > 0.0 && w.zipf_exponent <= 10.0) {
        problem(
            "workload.zipf_exponent",
            "must be a number above 0 and at most 10 (1.0 is classic Zipf)",
        )?;
    }
    Ok(())
}

/// `method`, `headers`, `body`, `requests`, `order`, `http2` and `streams` belong to a
/// url workload, and a requests file says each request's method and body itself.
fn check_request_keys(w: &Workload) -> Result<(), Problem> {
    let given = [
        ("workload.method", w.method.is_some()),
        ("workload.headers", !w.headers.is_empty()),
        ("workload.body", w.body.is_some()),
        ("workload.requests", w.requests.is_some()),
        ("workload.order", !w.order.is_cycle()),
        ("workload.http2", w.http2),
        ("workload.streams", w.streams.is_some()),
    ];
    for (key, set) in given {
        if set && w.kind != WorkloadKind::Url {
            problem(
                key,
                "applies only to kind = \"url\"; remove it or change the kind",
            )?;
        }
    }
    if w.requests.is_some() {
        for (key, set) in [
            ("workload.method", w.method.is_some()),
            ("workload.body", w.body.is_some()),
        ] {
            if set {
                problem(key, "a requests file gives each request's method and body; remove this key (headers still apply to every request)")?;
            }
        }
    } else if !w.order.is_cycle() {
        problem("workload.order", "applies only with requests = \"FILE\"")?;
    }
    Ok(())
}

fn check_load(s: &Scenario) -> Result<(), Problem> {
    let l = &s.load;
    let open = l.model == LoadModel::Open;
    if open && l.rate.is_none() && l.stages.is_empty() {
        problem(
            "load.rate",
            "the open model needs rate = \"<n>/s\" (or stages with rates)",
        )?;
    }
    if !open && l.rate.is_some() {
        problem(
            "load.rate",
            "applies only to the open model; add model = \"open\" or remove rate",
        )?;
    }
    if let Some(rate) = l.rate {
        if !(rate.per_sec() > 0.0 && rate.per_sec() <= 10_000_000.0) {
            problem("load.rate", "must be above 0 and at most 10000000/s")?;
        }
    }
    if !(1..=MAX_USERS).contains(&l.users) {
        problem("load.users", format!("must be between 1 and {MAX_USERS}"))?;
    }
    if l.stages.is_empty() && (l.duration.0.is_zero() || l.duration.0 > MAX_DURATION) {
        problem("load.duration", "must be above 0 and at most 24h")?;
    }
    if l.timeout.0.is_zero() || l.timeout.0 > Duration::from_secs(3600) {
        problem("load.timeout", "must be above 0 and at most 1h")?;
    }
    if !(1..=MAX_USERS).contains(&l.connections) {
        problem(
            "load.connections",
            format!("must be between 1 and {MAX_USERS}"),
        )?;
    }
    if l.max_in_flight < l.connections.min(MAX_USERS) {
        problem("load.max_in_flight", "must be at least load.connections")?;
    }
    if l.threads > 256 {
        problem("load.threads", "must be at most 256 (0 picks one per core)")?;
    }
    if s.workload.kind == WorkloadKind::FlashCrowd && open {
        problem(
            "load.model",
            "a flash crowd is closed: every user downloads once; remove model = \"open\"",
        )?;
    }
    let mut total = Duration::ZERO;
    for (i, stage) in l.stages.iter().enumerate() {
        let key = |k: &str| format!("load.stages[{i}].{k}");
        if stage.duration.0.is_zero() {
            problem(&key("duration"), "must be above 0")?;
        }
        total += stage.duration.0;
        match (open, stage.users, stage.rate) {
            (false, None, _) => problem(&key("users"), "closed-model stages need users = N")?,
            (false, _, Some(_)) => {
                problem(&key("rate"), "closed-model stages take users, not rate")?
            }
            (true, _, None) => problem(&key("rate"), "open-model stages need rate = \"<n>/s\"")?,
            (true, Some(_), _) => problem(&key("users"), "open-model stages take rate, not users")?,
            _ => {}
        }
        if stage.users.is_some_and(|u| u > MAX_USERS) {
            problem(&key("users"), format!("must be at most {MAX_USERS}"))?;
        }
    }
    if total > MAX_DURATION {
        problem("load.stages", "add up to more than 24h")?;
    }
    Ok(())
}

fn check_faults(s: &Scenario) -> Result<(), Problem> {
    let run_time = if s.load.stages.is_empty() {
        s.load.duration.0
    } else {
        s.load.stages.iter().map(|st| st.duration.0).sum()
    };
    let run_time = run_time.max(s.load.timeout.0);
    for (i, f) in s.faults.iter().enumerate() {
        check_fault(s, i, f, run_time)?;
    }
    if let Some(c) = &s.churn {
        check_churn(c, run_time)?;
    }
    Ok(())
}

/// One `[[faults]]` entry, `faults[i]`, within a load of `run_time`.
fn check_fault(
    s: &Scenario,
    i: usize,
    f: &crate::scenario::faults::Fault,
    run_time: std::time::Duration,
) -> Result<(), Problem> {
    let key = |k: &str| format!("faults[{i}].{k}");
    if f.at.0 >= run_time {
        problem(
            &key("at"),
            format!(
                "is at or after the end of the load ({run_time:?}); the fault would never happen"
            ),
        )?;
    }
    if f.duration.is_some() && !f.action.can_last() {
        problem(
            &key("duration"),
            format!(
                "applies to kill, pause and leave (undone after it), not to {}; remove it",
                f.action.name()
            ),
        )?;
    }
    if f.duration.is_some_and(|d| d.0.is_zero()) {
        problem(&key("duration"), "must be above 0")?;
    }
    let sized = f.count.is_some() || f.fraction.is_some();
    if sized && !f.target.is_plural() {
        problem(
            &key(if f.count.is_some() {
                "count"
            } else {
                "fraction"
            }),
            format!(
                "applies to the plural targets `servers` and `peers`, not to `{}`",
                f.target
            ),
        )?;
    }
    if f.count.is_some() && f.fraction.is_some() {
        problem(&key("fraction"), "give count or fraction, not both")?;
    }
    if f.count == Some(0) {
        problem(&key("count"), "must be at least 1")?;
    }
    if let Some(fr) = f.fraction {
        if !(fr > 0.0 && fr <= 1.0) {
            problem(
                &key("fraction"),
                "must be above 0 and at most 1 (0.25 = a quarter)",
            )?;
        }
    }
    match f.target {
        FaultTarget::Server(n) if n >= s.architectures.servers => problem(
            &key("target"),
            format!(
                "names server {n}, but there are {} server(s), numbered from 0",
                s.architectures.servers
            ),
        )?,
        FaultTarget::Peer(n) if n >= s.load.users => problem(
            &key("target"),
            format!(
                "names peer {n}, but there are {} user peers, numbered from 0",
                s.load.users
            ),
        )?,
        FaultTarget::Holders(_)
            if s.workload.kind != crate::scenario::model::WorkloadKind::Fetch =>
        {
            problem(
                &key("target"),
                "holders:K names object K of a fetch workload; set workload.kind = \"fetch\"",
            )?
        }
        FaultTarget::Holders(k) if k >= s.workload.objects => problem(
            &key("target"),
            format!(
                "names object {k}, but the workload has {} objects, numbered from 0",
                s.workload.objects
            ),
        )?,
        _ => {}
    }
    Ok(())
}

/// `[churn]`, within a load of `run_time`.
fn check_churn(
    c: &crate::scenario::faults::Churn,
    run_time: std::time::Duration,
) -> Result<(), Problem> {
    for (k, rate) in [
        ("leave_per_minute", Some(c.leave_per_minute)),
        ("join_per_minute", c.join_per_minute),
    ] {
        if let Some(r) = rate {
            if !(r.is_finite() && (0.0..=60.0).contains(&r)) {
                problem(
                    &format!("churn.{k}"),
                    "must be a share of peers per minute between 0 and 60 (0.10 = 10 % per minute)",
                )?;
            }
        }
    }
    match (c.mean_session, c.leave_per_minute > 0.0) {
        (Some(_), true) => problem(
            "churn.mean_session",
            "and churn.leave_per_minute both set; choose per-peer sessions (mean_session) or evenly spaced shares (leave_per_minute)",
        )?,
        (Some(m), false) if m.0.is_zero() => {
            problem("churn.mean_session", "must be longer than 0s, such as \"20s\"")?
        }
        _ => {}
    }
    if let Some(k) = c.shape {
        if !(k.is_finite() && (0.1..=10.0).contains(&k)) {
            problem(
                "churn.shape",
                "must be between 0.1 and 10 (the Weibull shape, or the lognormal sigma)",
            )?;
        }
    }
    if c.start.0 >= run_time {
        problem(
            "churn.start",
            "is at or after the end of the load; churn would never begin",
        )?;
    }
    Ok(())
}

fn check_thresholds(s: &Scenario) -> Result<(), Problem> {
    let one_shot = s.workload.kind == WorkloadKind::FlashCrowd;
    let url = s.workload.kind == WorkloadKind::Url;
    for t in &s.thresholds.0 {
        let key = format!("thresholds.{}", t.metric);
        match &t.metric {
            Metric::Makespan | Metric::Efficiency if !one_shot => problem(
                &key,
                "applies only to one-shot workloads (kind = \"flash-crowd\")",
            )?,
            // A url workload's named requests are checked once the requests are read.
            Metric::Latency { op, .. } | Metric::Rps { op } | Metric::OpErrorRate { op }
                if op != "get" && !(url && op.starts_with(REQUEST_PREFIX)) =>
            {
                problem(
                    &key,
                    format!("this workload does not measure `{op}` operations; use get"),
                )?
            }
            _ => {}
        }
    }
    Ok(())
}
