#!/usr/bin/env python3
"""Versus as a load generator vs wrk, and the harness's memory per idle user.

1. Throughput: `versus run --url` and `wrk` against the same nginx file, interleaved
   (A B A B ...), both pinned to the same core (nginx on another). Prints each round,
   the medians and the ratios versus/wrk of requests per second and of requests per
   CPU-second of the load generator (the fair "per core" figure when nginx, not the
   generator, is the bottleneck). Goal: ratio >= 1.
2. Memory: RSS of `versus run` holding 10,000 closed users (one keep-alive connection
   each, long think time) minus RSS with 10 users, per user. Goal: <= 16 KiB.

Usage: ci/loadgen-vs-wrk.py [--rounds 5] [--seconds 5] [--connections 32] [--idle-users 10000]
       (--rounds 0 skips part 1, --idle-users 0 part 2)
Installs nginx and wrk with apt-get when missing (needs root), builds versus --release.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from perfkit import (GEN_CORE, SERVER_CORE, VERSUS, ensure_tools, interleaved, print_ratios, raise_nofile,
                     run_versus, run_wrk, start_nginx, stop)


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
    nginx, url = start_nginx(work, os.urandom(1024))
    try:
        print(f"nginx on core {SERVER_CORE}, load generators on core {GEN_CORE}, {args.connections} connections, "
              f"{args.seconds}s per run, {args.rounds} interleaved rounds", flush=True)
        seconds, users = args.seconds, args.connections

        def wrk():
            rps = run_wrk(url, seconds, users)
            return rps, rps * seconds

        def versus():
            rps, count, _ = run_versus(url, seconds, users, os.path.join(work, "out"))
            return rps, count

        if args.rounds > 0:
            rows = interleaved(args.rounds, {"wrk": wrk, "versus": versus})
            print_ratios("HTTP/1.1", rows, "versus", "wrk")
        if args.idle_users > 10:
            base = idle_rss(url, 10, os.path.join(work, "idle-10"))
            full = idle_rss(url, args.idle_users, os.path.join(work, "idle-full"))
            per_user = (full - base) * 1024 / (args.idle_users - 10)
            print(f"idle users: RSS {base / 1024:.1f} MiB with 10, {full / 1024:.1f} MiB with {args.idle_users}; "
                  f"{per_user / 1024:.2f} KiB per idle user (goal <= 16 KiB)")
    finally:
        stop(nginx)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
