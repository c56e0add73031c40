#!/usr/bin/env python3
"""Shards against one server at a fixed open-model rate: M = 1, 2, 4 shard processes.

One `versus server` (a real process) serves 16 objects of 4 KiB; every run drives it
with constant arrivals at RATE per second for DURATION (attached, `--attach`), first as
one unsharded process, then as M shard processes from a common `--start-at`, merged by
`versus merge --shards`. Printed (and written to --out as markdown): per M the
arrivals intended (the schedule's count, R x D), the merged count and whether it equals
the intended count exactly, and the merged p50 and p99 against the unsharded run's
(the issue asks for within 5 %). Runs are interleaved per repetition, whole first.

    ci/shards-bench.py [--versus target/release/versus] [--rate 2000] [--duration 20s]
                       [--shards 1,2,4] [--repeat 3] [--server-latency 10ms]
                       [--out reports/shards-bench.md]

Run it on a quiet machine: the shards, the server and the unsharded run share its cores.
On two cores a sub-millisecond loopback latency moves by ±20 % between two runs of the
same unsharded load (the scheduler, not the sharding): `--server-latency` gives the
server a known one-way delay (`versus server --latency`), as a network would, so the
comparison is of the measurement, not of the CPU's jitter. The summary gives, per M, the
median over repetitions of the merged/unsharded ratio, beside the unsharded run's own
spread between repetitions (the noise floor).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

SCENARIO = """
name = "shards-bench"
[workload]
kind = "fetch"
objects = 16
object_size = "4KiB"
popularity = "uniform"
verify = false
[load]
model = "open"
arrivals = "constant"
connections = 64
max_in_flight = 4096
timeout = "10s"
[architectures]
cs = true
p2p = false
servers = 1
"""


def start_server(versus, latency):
    extra = ["--latency", latency] if latency else []
    proc = subprocess.Popen([versus, "server", *extra], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    ready = json.loads(proc.stdout.readline())
    return proc, ready


def run(args, limit):
    out = subprocess.run(args, capture_output=True, text=True, timeout=limit)
    if out.returncode != 0:
        sys.exit(f"{' '.join(args)} exited {out.returncode}:\n{out.stderr[-2000:]}")
    return out


def get_op(path):
    with open(path) as f:
        report = json.load(f)
    runs = report["runs"][0]
    return runs["ops"]["get"], runs.get("schedule") or {}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--versus", default="target/release/versus")
    p.add_argument("--rate", type=int, default=2000)
    p.add_argument("--duration", default="20s")
    p.add_argument("--shards", default="1,2,4")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--server-latency", default="", help="the server's one-way delay, e.g. 10ms")
    p.add_argument("--out", default="reports/shards-bench.md")
    a = p.parse_args()
    seconds = float(a.duration.rstrip("s"))
    intended = int(round(a.rate * seconds))
    ms = [int(m) for m in a.shards.split(",")]
    limit = seconds * 4 + 120
    server, ready = start_server(a.versus, a.server_latency)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            scenario = os.path.join(tmp, "scenario.toml")
            with open(scenario, "w") as f:
                f.write(SCENARIO)
            targets = os.path.join(tmp, "targets.toml")
            with open(targets, "w") as f:
                f.write(f'[[targets]]\nrole = "server"\ndata = "{ready["data"]}"\nadmin = "{ready["admin"]}"\n')
            common = [scenario, "--attach", targets, "--rate", str(a.rate), "--duration", a.duration, "--progress", "none"]
            for rep in range(a.repeat):
                whole_dir = os.path.join(tmp, f"whole-{rep}")
                run([a.versus, "run", *common, "--out", whole_dir], limit)
                whole, whole_schedule = get_op(os.path.join(whole_dir, "report.json"))
                for m in ms:
                    start = (datetime.now(timezone.utc) + timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
                    dirs = [os.path.join(tmp, f"m{m}-{rep}-shard{i}") for i in range(m)]
                    procs = [
                        subprocess.Popen(
                            [a.versus, "run", *common, "--shard", f"{i}/{m}", "--start-at", start, "--out", d],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                        )
                        for i, d in enumerate(dirs)
                    ]
                    for proc in procs:
                        _, err = proc.communicate(timeout=limit)
                        if proc.returncode != 0:
                            sys.exit(f"a shard exited {proc.returncode}: {err[-2000:]}")
                    merged_path = os.path.join(tmp, f"merged-{m}-{rep}.json")
                    run([a.versus, "merge", "--shards", merged_path, *[os.path.join(d, "report.json") for d in dirs]], limit)
                    merged, schedule = get_op(merged_path)
                    rows.append({
                        "rep": rep + 1, "m": m, "intended": schedule.get("intended"),
                        "count": merged["count"], "dropped": schedule.get("dropped", 0),
                        "p50": merged["latency_us"]["p50"], "p99": merged["latency_us"]["p99"],
                        "whole_count": whole["count"], "whole_intended": whole_schedule.get("intended"),
                        "whole_p50": whole["latency_us"]["p50"], "whole_p99": whole["latency_us"]["p99"],
                    })
                    print(json.dumps(rows[-1]), flush=True)
                    time.sleep(1)
    finally:
        server.kill()
        server.wait()
    lines = [
        f"# Shards at a fixed open-model rate ({a.rate}/s for {a.duration}, constant arrivals, one `versus server`"
        + (f" with a {a.server_latency} one-way delay" if a.server_latency else "") + ")",
        "",
        f"Rate x duration: {intended}; the schedule's own count (the unsharded run's intended arrivals) is the exact target. Command: `{' '.join(sys.argv)}`",
        "",
        "| rep | M | intended (unsharded) | merged count | = intended | dropped | p50 µs (unsharded) | Δp50 | p99 µs (unsharded) | Δp99 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        d50 = (r["p50"] / r["whole_p50"] - 1) * 100 if r["whole_p50"] else float("nan")
        d99 = (r["p99"] / r["whole_p99"] - 1) * 100 if r["whole_p99"] else float("nan")
        lines.append(
            f"| {r['rep']} | {r['m']} | {r['intended']} ({r['whole_intended']}) | {r['count']} "
            f"| {'yes' if r['count'] == r['intended'] == r['whole_intended'] else 'NO'} "
            f"| {r['dropped']} | {r['p50']} ({r['whole_p50']}) | {d50:+.1f} % | {r['p99']} ({r['whole_p99']}) | {d99:+.1f} % |"
        )
    lines += ["", "Per M, medians over the repetitions (merged / unsharded − 1), and the unsharded run's own",
              "spread between repetitions ((max − min) / median) as the noise floor:", "",
              "| M | counts exact | median Δp50 | median Δp99 |", "|---|---|---|---|"]
    for m in ms:
        mine = [r for r in rows if r["m"] == m]
        exact = all(r["count"] == r["intended"] == r["whole_intended"] for r in mine)
        d50 = statistics.median((r["p50"] / r["whole_p50"] - 1) * 100 for r in mine)
        d99 = statistics.median((r["p99"] / r["whole_p99"] - 1) * 100 for r in mine)
        lines.append(f"| {m} | {'yes' if exact else 'NO'} ({len(mine)} runs) | {d50:+.1f} % | {d99:+.1f} % |")
    wholes = {r["rep"]: r for r in rows}.values()
    for key in ("whole_p50", "whole_p99"):
        values = [r[key] for r in wholes]
        spread = (max(values) - min(values)) / statistics.median(values) * 100
        lines.append(f"\nUnsharded {key[6:]} over the repetitions: {min(values)}–{max(values)} µs (spread {spread:.1f} %).")
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with open(a.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
