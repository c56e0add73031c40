//! Kernel network emulation (`[network] emulation = "kernel"`): one container's rate
//! caps and loss, applied from the host inside the container's network namespace
//! (`nsenter -t <its pid> -n tc …`), so the image needs no tools.
//!
//! - Upload: an htb qdisc on the container's interface, its default class at the cap
//!   (a byte-limited fifo under it), the admin plane's port in an unshaped class.
//! - Download: the interface's ingress redirected (u32 match-all, `mirred`) to an IFB
//!   device made in the same namespace, shaped there the same way.
//! - Loss: an iptables `statistic --mode random` DROP rule on what arrives (any source,
//!   the admin port left alone): between containers every packet has that chance of
//!   being lost once, in both directions; client-server users in the harness (on the
//!   host) lose only what they send to the servers.
//!
//! Everything lives in the container's namespace and goes with it: the IFB device and
//! the rules are never in the host's. Caps are rates on the wire (headers included), as
//! a link's are; the goodput of TCP is about 3–4 % below.

use std::net::Ipv4Addr;
use std::process::Stdio;

use tokio::process::Command;
use versus_targets::units::ByteRate;

use crate::plan::links::KernelLink;

/// The IFB device each container's ingress goes through.
pub const IFB: &str = "vsifb0";
/// A rate far above what the bridge carries: the admin plane's class.
const UNSHAPED: &str = "10gbit";
/// Least burst of a capped class, bytes (a few GSO packets).
const MIN_BURST: u64 = 64 << 10;
/// Least queue of a capped class, bytes.
const MIN_QUEUE: u64 = 256 << 10;

/// What the kernel could not be made to do.
#[derive(Debug, thiserror::Error)]
pub enum ShapingError {
    /// `nsenter` is not installed.
    #[error("cannot run nsenter ({0}); network.emulation = \"kernel\" needs nsenter (util-linux), tc (iproute2) and iptables on the host")]
    NoNsenter(std::io::Error),
    /// A command failed in the namespace.
    #[error("network.emulation = \"kernel\": `{command}` in the network namespace of container process {pid} failed: {stderr}{hint}")]
    Failed {
        /// The command, as run inside the namespace.
        command: String,
        /// The container's main process.
        pid: u32,
        /// What it said.
        stderr: String,
        /// What to do, when known.
        hint: &'static str,
    },
    /// No interface carries the container's address.
    #[error(
        "network.emulation = \"kernel\": no interface has address {0} in the container's namespace"
    )]
    NoInterface(Ipv4Addr),
}

/// How one container's link is emulated.
#[derive(Debug, Clone, Copy)]
pub struct Emulated {
    /// The caps and loss.
    pub link: KernelLink,
    /// The container's address.
    pub ip: Ipv4Addr,
    /// The admin plane's port, never shaped.
    pub admin_port: u16,
}

/// A container's network namespace, entered through its main process.
#[derive(Debug, Clone, Copy)]
pub struct Namespace {
    /// The container's main process, as `docker inspect` gives it.
    pub pid: u32,
}

impl Namespace {
    /// Runs `tool args…` inside the namespace; returns its standard output.
    pub async fn run(&self, tool: &str, args: &[&str]) -> Result<String, ShapingError> {
        self.run_with_input(tool, args, None).await
    }

    /// [`Namespace::run`] with `input` on the tool's standard input.
    pub async fn run_with_input(
        &self,
        tool: &str,
        args: &[&str],
        input: Option<&str>,
    ) -> Result<String, ShapingError> {
        use tokio::io::AsyncWriteExt;
        let mut child = Command::new("nsenter")
            .args(["-t", &self.pid.to_string(), "-n", tool])
            .args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(ShapingError::NoNsenter)?;
        if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
            // A tool that exits early closes its input: its status says why.
            let _ = stdin.write_all(text.as_bytes()).await;
        }
        let out = child
            .wait_with_output()
            .await
            .map_err(ShapingError::NoNsenter)?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let hint = if stderr.contains("Operation not permitted")
            || stderr.contains("Permission denied")
        {
            " (entering a container's namespace and shaping it needs root: CAP_SYS_ADMIN and CAP_NET_ADMIN)"
        } else if stderr.contains("No such file") && stderr.contains("execute") {
            " (install iproute2 and iptables on the host)"
        } else {
            ""
        };
        Err(ShapingError::Failed {
            command: format!("{tool} {}", args.join(" ")),
            pid: self.pid,
            stderr,
            hint,
        })
    }

    /// The name of the interface holding `ip`.
    async fn interface(&self, ip: Ipv4Addr) -> Result<String, ShapingError> {
        let listing = self.run("ip", &["-o", "-4", "addr", "show"]).await?;
        interface_of(&listing, ip).ok_or(ShapingError::NoInterface(ip))
    }

    /// An htb root on `dev`: everything at `rate` except traffic whose `side` port
    /// (`sport`, `dport`) is `admin`.
    async fn cap(
        &self,
        dev: &str,
        rate: ByteRate,
        side: &str,
        admin: u16,
    ) -> Result<(), ShapingError> {
        let bytes = rate.bytes_per_sec();
        let rate = format!("{}bit", bytes.saturating_mul(8));
        let burst = format!("{}b", (bytes / 50).max(MIN_BURST));
        let queue = (bytes / 5).max(MIN_QUEUE).to_string();
        let admin = admin.to_string();
        let (rate, burst, queue, admin) = (
            rate.as_str(),
            burst.as_str(),
            queue.as_str(),
            admin.as_str(),
        );
        let steps: [&[&str]; 5] = [
            &[
                "qdisc", "add", "dev", dev, "root", "handle", "1:", "htb", "default", "10",
            ],
            &[
                "class", "add", "dev", dev, "parent", "1:", "classid", "1:10", "htb", "rate", rate,
                "ceil", rate, "burst", burst, "cburst", burst,
            ],
            &[
                "qdisc", "add", "dev", dev, "parent", "1:10", "handle", "10:", "bfifo", "limit",
                queue,
            ],
            &[
                "class", "add", "dev", dev, "parent", "1:", "classid", "1:20", "htb", "rate",
                UNSHAPED,
            ],
            &[
                "filter", "add", "dev", dev, "parent", "1:", "protocol", "ip", "prio", "1", "u32",
                "match", "ip", side, admin, "0xffff", "flowid", "1:20",
            ],
        ];
        for step in steps {
            self.run("tc", step).await?;
        }
        Ok(())
    }

    /// The interface's ingress through [`IFB`], capped at `rate` there.
    async fn cap_ingress(&self, dev: &str, rate: ByteRate, admin: u16) -> Result<(), ShapingError> {
        ifb_module_quietly().await;
        self.run("ip", &["link", "add", IFB, "type", "ifb"]).await?;
        self.run("ip", &["link", "set", IFB, "up"]).await?;
        self.run(
            "tc",
            &["qdisc", "add", "dev", dev, "handle", "ffff:", "ingress"],
        )
        .await?;
        self.run(
            "tc",
            &[
                "filter", "add", "dev", dev, "parent", "ffff:", "protocol", "all", "prio", "1",
                "u32", "match", "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev",
                IFB,
            ],
        )
        .await?;
        self.cap(IFB, rate, "dport", admin).await
    }

    /// Random drops of `share` of the packets arriving on `dev`, the admin port
    /// excepted. Only arrivals: a packet dropped on its way out would be a local send
    /// error that TCP retries at once, not a loss on the wire.
    async fn lose(&self, dev: &str, share: f64, admin: u16) -> Result<(), ShapingError> {
        let p = format!("{share:.6}");
        let admin = admin.to_string();
        let rule = [
            "-w",
            "-A",
            "INPUT",
            "-i",
            dev,
            "-p",
            "tcp",
            "!",
            "--dport",
            &admin,
            "-m",
            "statistic",
            "--mode",
            "random",
            "--probability",
            &p,
            "-j",
            "DROP",
        ];
        self.run("iptables", &rule).await.map(drop)
    }

    /// Applies `e` to this namespace.
    pub async fn emulate(&self, e: &Emulated) -> Result<(), ShapingError> {
        if e.link.is_empty() {
            return Ok(());
        }
        let dev = self.interface(e.ip).await?;
        if let Some(up) = e.link.upload {
            self.cap(&dev, up, "sport", e.admin_port).await?;
        }
        if let Some(down) = e.link.download {
            self.cap_ingress(&dev, down, e.admin_port).await?;
        }
        if let Some(loss) = e.link.loss.filter(|l| *l > 0.0) {
            self.lose(&dev, loss, e.admin_port).await?;
        }
        tracing::debug!(
            "kernel emulation on {} ({dev}, process {}): {:?}",
            e.ip,
            self.pid,
            e.link
        );
        Ok(())
    }
}

/// Loads the ifb module without its default devices (`numifbs=0`) when it is not
/// loaded yet: loading it on demand would leave `ifb0` and `ifb1` in the host's
/// namespace, which would outlive the run.
async fn ifb_module_quietly() {
    if std::path::Path::new("/sys/module/ifb").exists() {
        return;
    }
    let loaded = Command::new("modprobe")
        .args(["ifb", "numifbs=0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status()
        .await;
    if !loaded.is_ok_and(|s| s.success()) {
        tracing::debug!("modprobe ifb numifbs=0 failed; the kernel loads it on demand");
    }
}

/// The interface of `ip -o -4 addr show` output that holds `ip`.
fn interface_of(listing: &str, ip: Ipv4Addr) -> Option<String> {
    let needle = format!("inet {ip}/");
    listing
        .lines()
        .find(|l| l.contains(&needle))
        .and_then(|l| l.split_whitespace().nth(1))
        .map(|name| name.split('@').next().unwrap_or(name).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interface_is_the_one_with_the_address() {
        let listing = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n\
                       12: eth0    inet 10.200.0.3/20 brd 10.200.15.255 scope global eth0\\  valid_lft forever\n";
        assert_eq!(
            interface_of(listing, Ipv4Addr::new(10, 200, 0, 3)).as_deref(),
            Some("eth0")
        );
        assert_eq!(interface_of(listing, Ipv4Addr::new(10, 200, 0, 30)), None);
    }
}
