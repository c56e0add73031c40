#!/usr/bin/env python3
"""Versus as a load generator vs wrk, and the harness's memory per idle user.

1. Throughput: `versus run --url` and `wrk` against the same nginx file, interleaved
   (A B A B ...), both pinned to the same core (nginx on another). Prints each round,
   the medians and the ratios versus/wrk of requests per second and of requests per
   CPU-second of the load generator (the fair "per core" figure when nginx, not the
   generator, is the bottleneck). Goal: ratio >= 1.
2. Memory: RSS of `versus run` holding 10,000 closed users (one keep-alive connection
   each, long think time) minus RSS with 10 users, per user. Goal: < 16 KiB.

Usage: ci/loadgen-vs-wrk.py [--rounds 5] [--seconds 5] [--connections 32] [--idle-users 10000]
Installs nginx and wrk with apt-get when missing (needs root), builds versus --release.
"""

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERSUS = os.path.join(ROOT, "target", "release", "versus")
GEN_CORE, SERVER_CORE = "1", "0"


def ensure_tools():
    missing = [p for p, b in (("nginx", "/usr/sbin/nginx"), ("wrk", "/usr/bin/wrk")) if not os.path.exists(b)]
    if missing:
        print(f"installing {' '.join(missing)}", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "versus"], cwd=ROOT, check=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_nofile():
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def start_nginx(workdir):
    port = free_port()
    root = os.path.join(workdir, "www")
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "1k.bin"), "wb") as f:
        f.write(os.urandom(1024))
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
  server {{ listen 127.0.0.1:{port} backlog=16384; root {root}; }}
}}
""")
    proc = subprocess.Popen(["taskset", "-c", SERVER_CORE, "nginx", "-c", conf, "-p", workdir],
                            preexec_fn=raise_nofile)
    deadline = time.time() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline:
                proc.kill()
                sys.exit("nginx did not start")
            time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port}/1k.bin"


def timed(cmd):
    """Runs cmd; returns (stdout, cpu seconds of the child)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=raise_nofile)
    out, err = proc.communicate()
    if proc.returncode != 0:
        sys.exit(f"{cmd[2:4]} failed ({proc.returncode}): {err[-2000:]}")
    # RUSAGE_CHILDREN accumulates; take the difference around each child.
    return out, err


def cpu_of(fn):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = fn()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return result, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run_wrk(url, seconds, connections):
    out, _ = timed(["taskset", "-c", GEN_CORE, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url])
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    sys.exit(f"cannot read wrk output:\n{out}")


def run_versus(url, seconds, connections, outdir):
    timed(["taskset", "-c", GEN_CORE, VERSUS, "run", "--url", url, "--users", str(connections), "--threads", "1",
           "--duration", f"{seconds}s", "--progress", "none", "--out", outdir])
    with open(os.path.join(outdir, "report.json")) as f:
        report = json.load(f)
    get = report["runs"][0]["ops"]["get"]
    if get["errors_total"]:
        sys.exit(f"versus saw errors: {get['errors']}")
    return get["count"] / report["runs"][0]["duration_s"]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def idle_rss(url, users, outdir):
    """RSS (KiB) of versus holding `users` idle keep-alive users, once all have connected."""
    proc = subprocess.Popen(
        [VERSUS, "run", "--url", url, "--users", str(users), "--threads", "1", "--duration", "12s",
         "--set", "load.think_time=10m", "--progress", "none", "--out", outdir],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=raise_nofile)
    time.sleep(8)
    rss = rss_kib(proc.pid)
    _, err = proc.communicate()
    if proc.returncode != 0:
        sys.exit(f"idle run failed: {err.decode()[-2000:]}")
    with open(os.path.join(outdir, "report.json")) as f:
        get = json.load(f)["runs"][0]["ops"]["get"]
    if get["count"] - get["errors_total"] != users:
        sys.exit(f"only {get['count'] - get['errors_total']} of {users} users connected: {get['errors']}")
    return rss


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--idle-users", type=int, default=10000)
    args = ap.parse_args()
    ensure_tools()
    work = tempfile.mkdtemp(prefix="versus-wrk-")
    nginx, url = start_nginx(work)
    try:
        print(f"nginx on core {SERVER_CORE}, load generators on core {GEN_CORE}, {args.connections} connections, "
              f"{args.seconds}s per run, {args.rounds} interleaved rounds", flush=True)
        rows = []
        for r in range(args.rounds):
            order = ["wrk", "versus"] if r % 2 == 0 else ["versus", "wrk"]
            result = {}
            for tool in order:
                if tool == "wrk":
                    result[tool] = cpu_of(lambda: run_wrk(url, args.seconds, args.connections))
                else:
                    result[tool] = cpu_of(lambda: run_versus(url, args.seconds, args.connections,
                                                             os.path.join(work, f"out-{r}")))
            (w_rps, w_cpu), (v_rps, v_cpu) = result["wrk"], result["versus"]
            w_eff, v_eff = w_rps * args.seconds / w_cpu, v_rps * args.seconds / v_cpu
            rows.append((w_rps, v_rps, w_eff, v_eff))
            print(f"round {r + 1}: wrk {w_rps:9.0f} req/s ({w_cpu:.2f} CPU-s, {w_eff:9.0f} req/CPU-s)   "
                  f"versus {v_rps:9.0f} req/s ({v_cpu:.2f} CPU-s, {v_eff:9.0f} req/CPU-s)   "
                  f"ratio {v_rps / w_rps:.3f}", flush=True)
        med = [statistics.median(c) for c in zip(*rows)]
        ratios = [v / w for w, v, _, _ in rows]
        eff_ratios = [v / w for _, _, w, v in rows]
        print(f"median req/s: wrk {med[0]:.0f}, versus {med[1]:.0f}; "
              f"median ratio versus/wrk = {statistics.median(ratios):.3f}")
        print(f"median req per CPU-second: wrk {med[2]:.0f}, versus {med[3]:.0f}; "
              f"median ratio versus/wrk = {statistics.median(eff_ratios):.3f}")
        base = idle_rss(url, 10, os.path.join(work, "idle-10"))
        full = idle_rss(url, args.idle_users, os.path.join(work, "idle-full"))
        per_user = (full - base) * 1024 / (args.idle_users - 10)
        print(f"idle users: RSS {base / 1024:.1f} MiB with 10, {full / 1024:.1f} MiB with {args.idle_users}; "
              f"{per_user / 1024:.2f} KiB per idle user (goal < 16 KiB)")
    finally:
        nginx.kill()
        nginx.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
