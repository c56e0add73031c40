"""Shared pieces of the ci/ performance scripts: tool installation (nginx, wrk, oha),
nginx on loopback (plain, HTTPS, HTTP/2), `versus run --url`, wrk and oha runs, process
CPU accounting. Standard library only."""

import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERSUS = os.path.join(ROOT, "target", "release", "versus")
TOOLS = os.path.join(ROOT, "target", "tools")
GEN_CORE, SERVER_CORE = "1", "0"


def ensure_tools(packages=(("nginx", "/usr/sbin/nginx"), ("wrk", "/usr/bin/wrk")), build=True):
    """Installs nginx and wrk (or `packages`) when missing (apt-get, needs root) and builds
    versus --release (unless not `build`)."""
    missing = [p for p, b in packages if not os.path.exists(b)]
    if missing:
        print(f"installing {' '.join(missing)}", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "versus"], cwd=ROOT, check=True)


def ensure_oha():
    """The oha binary: on PATH, or installed from crates.io into target/tools when missing
    (`cargo install oha --locked`, a few minutes)."""
    found = shutil.which("oha") or next(
        (p for p in [os.path.join(TOOLS, "bin", "oha")] if os.path.exists(p)), None)
    if found:
        return found
    print(f"installing oha into {TOOLS} (cargo install oha --locked)", flush=True)
    subprocess.run(["cargo", "install", "oha", "--locked", "-q", "--root", TOOLS], check=True)
    return os.path.join(TOOLS, "bin", "oha")


def nginx_version():
    out = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr
    found = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(x) for x in found.groups()) if found else (0, 0, 0)


def self_signed(workdir):
    """A self-signed certificate for 127.0.0.1 (openssl); returns (cert, key) paths."""
    cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_nofile():
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def wait_port(port, proc, what):
    deadline = time.time() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                sys.exit(f"{what} did not start on port {port}")
            time.sleep(0.05)


def start_nginx(workdir, body, tls=False, http2=False):
    """nginx (one worker, pinned to SERVER_CORE) serving `body` as /file, over HTTPS with a
    self-signed certificate when `tls`, offering HTTP/2 when `http2` (ALPN h2 over TLS, h2c
    with prior knowledge without); returns (proc, url)."""
    port = free_port()
    listen, directives = "", ""
    if tls:
        cert, key = self_signed(workdir)
        listen += " ssl"
        directives += f"ssl_certificate {cert}; ssl_certificate_key {key}; "
    if http2:
        if nginx_version() >= (1, 25, 1):
            directives += "http2 on; "
        else:
            listen += " http2"
    root = os.path.join(workdir, "www")
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "file"), "wb") as f:
        f.write(body)
    conf = os.path.join(workdir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1;
master_process off;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log;
worker_rlimit_nofile 65536;
events {{ worker_connections 30000; }}
http {{
  access_log off;
  client_body_temp_path {workdir}; proxy_temp_path {workdir}; fastcgi_temp_path {workdir};
  uwsgi_temp_path {workdir}; scgi_temp_path {workdir};
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  server {{ listen 127.0.0.1:{port}{listen} backlog=16384; {directives}root {root}; }}
}}
""")
    proc = subprocess.Popen(["taskset", "-c", SERVER_CORE, "nginx", "-c", conf, "-p", workdir],
                            preexec_fn=raise_nofile)
    wait_port(port, proc, "nginx")
    scheme = "https" if tls else "http"
    return proc, f"{scheme}://127.0.0.1:{port}/file"


def start_versus_server(body):
    """`versus server` (pinned to SERVER_CORE) holding `body`; returns (proc, url)."""
    proc = subprocess.Popen(["taskset", "-c", SERVER_CORE, VERSUS, "server"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, preexec_fn=raise_nofile)
    ready = json.loads(proc.stdout.readline())
    req = urllib.request.Request(f"http://{ready['data']}/objects", data=body, method="PUT")
    with urllib.request.urlopen(req, timeout=10) as resp:
        object_id = json.load(resp)["id"]
    return proc, f"http://{ready['data']}/objects/{object_id}"


def cpu_of(fn):
    """Runs fn(); returns (its result, CPU seconds its child processes used)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = fn()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return result, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run(cmd, env=None):
    """Runs cmd to completion (with `env` added to the environment); exits the script with
    its stderr if it fails."""
    proc = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=raise_nofile,
                          env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout


def run_versus(url, seconds, users, outdir, extra=()):
    """`versus run --url` with one thread on GEN_CORE; returns (requests per second,
    successful requests, the run's `http` field). Exits on any error."""
    run(["taskset", "-c", GEN_CORE, VERSUS, "run", "--url", url, "--users", str(users), "--threads", "1",
         "--duration", f"{seconds}s", "--progress", "none", "--out", outdir, *extra])
    with open(os.path.join(outdir, "report.json")) as f:
        report = json.load(f)
    the_run = report["runs"][0]
    get = the_run["ops"]["get"]
    if get["errors_total"]:
        sys.exit(f"versus saw errors: {get['errors']}")
    return get["count"] / the_run["duration_s"], get["count"], the_run.get("http", {})


def oha_json_flag(oha):
    """oha's flag for a JSON summary: `--output-format json` (1.5 on), `-j` before."""
    help_text = subprocess.run([oha, "--help"], capture_output=True, text=True).stdout
    return ["--output-format", "json"] if "--output-format" in help_text else ["-j"]


def run_oha(oha, url, seconds, connections, extra=()):
    """oha on GEN_CORE with one runtime thread (as versus --threads 1); returns (requests
    per second, successful requests). Exits on any error."""
    out = run(["taskset", "-c", GEN_CORE, oha, "--no-tui", *oha_json_flag(oha), "-z", f"{seconds}s",
               "-c", str(connections), *extra, url], env={"TOKIO_WORKER_THREADS": "1"})
    summary = json.loads(out)
    codes = summary.get("statusCodeDistribution", {})
    # HTTP/1.1 requests still in flight at the deadline are cut off and counted apart.
    errors = {k: v for k, v in summary.get("errorDistribution", {}).items() if "deadline" not in k}
    if errors or set(codes) - {"200"}:
        sys.exit(f"oha saw errors: {errors} {codes}")
    return summary["summary"]["requestsPerSec"], codes.get("200", 0)


def run_wrk(url, seconds, connections):
    """wrk with one thread on GEN_CORE; returns requests per second."""
    out = run(["taskset", "-c", GEN_CORE, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url])
    errors = [l for l in out.splitlines() if "Non-2xx" in l or "Socket errors" in l]
    if errors:
        sys.exit(f"wrk saw errors: {errors}")
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    sys.exit(f"cannot read wrk output:\n{out}")


def interleaved(rounds, tools):
    """Runs each tool of `tools` ({name: fn() -> (req/s, requests)}) once per round, the
    order alternating (A B, B A, …); prints each round; returns per tool its rounds'
    (req/s, requests per CPU-second of the tool's processes)."""
    names = list(tools)
    rows = {name: [] for name in names}
    for r in range(rounds):
        line = []
        for name in (names if r % 2 == 0 else names[::-1]):
            (rps, requests), cpu = cpu_of(tools[name])
            per_cpu = requests / cpu if cpu > 0 else float("nan")
            rows[name].append((rps, per_cpu))
            line.append(f"{name} {rps:9.0f} req/s ({cpu:.2f} CPU-s, {per_cpu:9.0f} req/CPU-s)")
        print(f"round {r + 1}: " + "   ".join(line), flush=True)
    return rows


def print_ratios(label, rows, ours, theirs):
    """Prints the medians of `ours` and `theirs` over the rounds, and the median of the
    per-round ratios ours/theirs, of req/s and of requests per CPU-second."""
    for i, what in ((0, "req/s"), (1, "req per CPU-second")):
        o = statistics.median(r[i] for r in rows[ours])
        t = statistics.median(r[i] for r in rows[theirs])
        ratio = statistics.median(a[i] / b[i] for a, b in zip(rows[ours], rows[theirs]))
        print(f"{label}: median {what}: {theirs} {t:.0f}, {ours} {o:.0f}; "
              f"median ratio {ours}/{theirs} = {ratio:.3f}", flush=True)


def stop(proc):
    proc.kill()
    proc.wait()
