//! The shard's side of the coordinator (`versus run --coordinator URL`): join and wait
//! for the slice and the common start, then hand in the report (or say why there is
//! none). Plain HTTP, authorised with `VERSUS_TOKEN` when it is set; the coordinator
//! may start after its shards, so connecting is retried for a while.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use hyper::{Method, StatusCode};
use tokio_util::sync::CancellationToken;
use versus_targets::exposure::TOKEN_ENV;

use super::protocol::{Assignment, JoinRequest};
use crate::error::Failure;
use crate::launch::http_client::request;
use crate::plan::shard::Shard;

/// How long a shard keeps trying to reach a coordinator that is not up yet.
const CONNECT_FOR: Duration = Duration::from_secs(120);
/// How long one join may wait for the other shards (the coordinator answers sooner,
/// when they have all joined or its own deadline has passed).
const JOIN_WAIT: Duration = Duration::from_secs(3600);
/// How long handing in a report may take.
const SUBMIT_TIMEOUT: Duration = Duration::from_secs(300);

/// The slice and the start the coordinator handed out.
pub struct Given {
    /// This shard's slice.
    pub shard: Shard,
    /// The common start.
    pub start_at: SystemTime,
}

fn bearer() -> Option<String> {
    std::env::var(TOKEN_ENV)
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// `http://host:port[/]`, resolved.
async fn address(url: &str) -> Result<SocketAddr, Failure> {
    let authority = url
        .trim()
        .strip_prefix("http://")
        .ok_or_else(|| {
            Failure::Usage(format!(
                "--coordinator {url}: give http://HOST:PORT (the coordinator speaks plain HTTP)"
            ))
        })?
        .trim_end_matches('/');
    let deadline = tokio::time::Instant::now() + CONNECT_FOR;
    loop {
        let why = match tokio::net::lookup_host(authority).await {
            Ok(mut addrs) => match addrs.next() {
                Some(addr) => return Ok(addr),
                None => "it resolves to nothing".to_string(),
            },
            Err(e) => e.to_string(),
        };
        if tokio::time::Instant::now() > deadline {
            return Err(Failure::CannotRun(format!(
                "--coordinator {url}: cannot resolve {authority}: {why}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Sends one request, retrying while the coordinator cannot be reached.
async fn send(
    url: &str,
    path: &str,
    body: Bytes,
    timeout: Duration,
) -> Result<(StatusCode, Bytes), Failure> {
    let addr = address(url).await?;
    let token = bearer();
    let deadline = tokio::time::Instant::now() + CONNECT_FOR;
    loop {
        match request(
            addr,
            token.as_deref(),
            Method::POST,
            path,
            body.clone(),
            timeout,
        )
        .await
        {
            Ok(answer) => return Ok(answer),
            Err(e) if tokio::time::Instant::now() > deadline => {
                return Err(Failure::CannotRun(format!(
                    "cannot reach the coordinator at {url}: {e}"
                )))
            }
            Err(e) => {
                tracing::info!("coordinator not reachable yet: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// The coordinator's error answer, as a failure: a refusal (409) is bad usage, the rest
/// means the run could not be carried out.
fn refused(status: StatusCode, body: &[u8]) -> Failure {
    let text = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let message = format!("the coordinator answered {status}: {text}");
    if status == StatusCode::CONFLICT {
        Failure::Usage(message)
    } else {
        Failure::CannotRun(message)
    }
}

/// Joins the run at `url` as `shard` (or as whichever slice is free), with the
/// resolved scenario's `hash`; waits for every shard to join.
pub async fn join(
    url: &str,
    shard: Option<Shard>,
    hash: &str,
    stop: &CancellationToken,
) -> anyhow::Result<Given> {
    let join = JoinRequest {
        shard,
        build: super::protocol::build(),
        scenario_hash: hash.to_string(),
    };
    let body = Bytes::from(serde_json::to_vec(&join)?);
    eprintln!("joining the coordinator at {url}");
    let answer = tokio::select! {
        a = send(url, "/join", body, JOIN_WAIT) => a?,
        _ = stop.cancelled() => {
            return Err(Failure::Interrupted("waiting for the other shards".into()).into())
        }
    };
    let (status, body) = answer;
    if status != StatusCode::OK {
        return Err(refused(status, &body).into());
    }
    let given: Assignment = serde_json::from_slice(&body)
        .map_err(|e| Failure::CannotRun(format!("the coordinator's answer cannot be read: {e}")))?;
    let start_at = humantime::parse_rfc3339_weak(&given.start_at).map_err(|e| {
        Failure::CannotRun(format!(
            "the coordinator's start {:?} cannot be read: {e}",
            given.start_at
        ))
    })?;
    Ok(Given {
        shard: given.shard,
        start_at,
    })
}

/// Hands in the shard's report.json.
pub async fn submit(url: &str, shard: Shard, report: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(report).map_err(|e| {
        Failure::CannotRun(format!(
            "cannot read {} to hand it to the coordinator: {e}",
            report.display()
        ))
    })?;
    let path = format!("/report/{}", shard.index);
    let (status, body) = send(url, &path, Bytes::from(bytes), SUBMIT_TIMEOUT).await?;
    if status != StatusCode::OK {
        return Err(refused(status, &body).into());
    }
    eprintln!("shard {shard}: report handed to the coordinator at {url}");
    Ok(())
}

/// Tells the coordinator this shard has no report, and why (best effort).
pub async fn fail(url: &str, shard: Shard, why: &str) {
    let path = format!("/failed/{}", shard.index);
    if let Err(e) = send(url, &path, Bytes::from(why.to_string()), SUBMIT_TIMEOUT).await {
        tracing::warn!("could not tell the coordinator that shard {shard} failed: {e}");
    }
}
