#!/usr/bin/env python3
"""Instructions the load generator executes per request, counted by valgrind (repeatable
on a shared machine, unlike wall-clock figures).

`versus run --url` runs under `valgrind --tool=callgrind --separate-threads=yes` with one
closed-loop user on one worker thread against nginx, for exactly N1 and then N2
requests (`load.iterations`); the worker thread's instruction count at N2 minus that at
N1, divided by N2 - N1, is what one request costs the thread that drives the load (its
runtime, timers and epoll included; the start-up, the report and the other threads
left out). Prints it per mode: plain HTTP/1.1 and, with --modes, h2c.

Usage: ci/loadgen-instructions.py [--n1 2000] [--n2 12000] [--modes http1,h2c] [--keep DIR]
       VERSUS=path/to/versus ci/loadgen-instructions.py   (another build; default
       target/release/versus)
Needs valgrind and nginx (installed with apt-get when missing).
"""

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import perfkit
from perfkit import ensure_tools, start_nginx, stop

WORKER_FN = "user_loop"


def worker_instructions(outdir):
    """The instruction total of the thread that ran the users (its file names user_loop)."""
    for path in glob.glob(os.path.join(outdir, "callgrind.out.*")):
        with open(path, errors="replace") as f:
            text = f.read()
        if WORKER_FN in text:
            found = re.search(r"^(?:summary|totals):\s*(\d+)", text, re.M)
            if found:
                return int(found.group(1))
    sys.exit(f"no callgrind file in {outdir} holds the worker thread ({WORKER_FN})")


def measure(versus, url, requests, work, extra):
    """The worker thread's instructions for a run of exactly `requests` requests."""
    outdir = tempfile.mkdtemp(dir=work)
    cmd = ["valgrind", "--tool=callgrind", "--separate-threads=yes",
           f"--callgrind-out-file={outdir}/callgrind.out.%p", versus, "run", "--url", url,
           "--users", "1", "--threads", "1", "--duration", "30m", "--set", f"load.iterations={requests}",
           "--progress", "none", "--out", os.path.join(outdir, "report"), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"valgrind run failed ({proc.returncode}): {proc.stderr[-3000:]}")
    with open(os.path.join(outdir, "report", "report.json")) as f:
        get = json.load(f)["runs"][0]["ops"]["get"]
    if get["count"] != requests or get["errors_total"]:
        sys.exit(f"expected {requests} clean requests, got {get['count']} ({get['errors']})")
    return worker_instructions(outdir)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n1", type=int, default=2000)
    ap.add_argument("--n2", type=int, default=12000)
    ap.add_argument("--modes", default="http1,h2c", help="comma-separated: http1, h2c")
    ap.add_argument("--keep", help="keep the callgrind files in this directory")
    args = ap.parse_args()
    if not 0 < args.n1 < args.n2:
        sys.exit("--n1 and --n2: need 0 < n1 < n2")
    if not shutil.which("valgrind"):
        sys.exit("needs valgrind (apt-get install valgrind)")
    versus = os.environ.get("VERSUS")
    ensure_tools(packages=(("nginx", "/usr/sbin/nginx"),), build=not versus)
    versus = versus or perfkit.VERSUS
    work = args.keep or tempfile.mkdtemp(prefix="versus-instr-")
    os.makedirs(work, exist_ok=True)
    try:
        for mode in [m for m in args.modes.split(",") if m]:
            site = tempfile.mkdtemp(dir=work, prefix=f"nginx-{mode}-")
            nginx, url = start_nginx(site, os.urandom(1024), http2=mode == "h2c")
            extra = ["--http2"] if mode == "h2c" else []
            try:
                low = measure(versus, url, args.n1, work, extra)
                high = measure(versus, url, args.n2, work, extra)
            finally:
                stop(nginx)
            per_request = (high - low) / (args.n2 - args.n1)
            print(f"{mode}: worker thread {low} instructions at {args.n1} requests, {high} at {args.n2}: "
                  f"{per_request:.0f} instructions per request ({os.path.basename(versus)})", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
