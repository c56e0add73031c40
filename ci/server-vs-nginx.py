#!/usr/bin/env python3
"""`versus server` vs nginx serving the same 1 KiB object.

Same load generator (wrk, one thread, pinned to core 1), each server alone on core 0
with one worker (nginx: worker_processes 1; versus server: one runtime thread), runs
interleaved A B A B ... Prints each round, the medians and the median ratio of requests
per second versus/nginx. Goal: >= 0.8.

Usage: ci/server-vs-nginx.py [--rounds 6] [--seconds 5] [--connections 64]
"""

import argparse
import os
import shutil
import statistics
import tempfile

from perfkit import GEN_CORE, SERVER_CORE, ensure_tools, run_wrk, start_nginx, start_versus_server, stop


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=64)
    args = ap.parse_args()
    ensure_tools()
    body = os.urandom(1024)
    work = tempfile.mkdtemp(prefix="versus-nginx-")
    print(f"servers on core {SERVER_CORE}, wrk -t1 -c{args.connections} on core {GEN_CORE}, "
          f"{args.seconds}s per run, {args.rounds} interleaved rounds", flush=True)
    ratios, rows = [], []
    try:
        for r in range(args.rounds):
            result = {}
            for name in (["nginx", "versus"] if r % 2 == 0 else ["versus", "nginx"]):
                proc, url = start_nginx(work, body) if name == "nginx" else start_versus_server(body)
                try:
                    result[name] = run_wrk(url, args.seconds, args.connections)
                finally:
                    stop(proc)
            ratio = result["versus"] / result["nginx"]
            ratios.append(ratio)
            rows.append((result["nginx"], result["versus"]))
            print(f"round {r + 1}: nginx {result['nginx']:9.0f} req/s   versus server {result['versus']:9.0f} req/s"
                  f"   ratio {ratio:.3f}", flush=True)
        print(f"median req/s: nginx {statistics.median(r[0] for r in rows):.0f}, "
              f"versus server {statistics.median(r[1] for r in rows):.0f}; "
              f"median ratio versus/nginx = {statistics.median(ratios):.3f} (goal >= 0.8)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
