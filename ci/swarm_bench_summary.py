#!/usr/bin/env python3
"""Summarises ci/swarm-bench.sh runs: one line per size and binary.

Usage: swarm_bench_summary.py OUT_DIR N... (OUT_DIR/n<N>/<label>/run<r>/report.json).
Reads each run's report.json (efficiency, traffic, resources, peer hosting) and stderr.log (the
harness's "peers started in", "every peer joined the swarm" and "swarm settled" lines) and
prints a markdown table. Swarm start is launch + join + settle: peers launched to ready, ready
to every peer joined (connected, with a routing table), then joined to quiet (CPU under 0.3
cores; at most architectures.ready_timeout). Harnesses before 2026-12-07 did not log the join,
which then shows as "—" (it was inside neither of the other two).
"""

import json
import re
import statistics
import sys
from pathlib import Path

GIB = float(1 << 30)
DURATION = re.compile(r"([0-9.]+)(ns|µs|us|ms|s)\b")
UNITS = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def seconds(text):
    m = DURATION.search(text)
    return float(m.group(1)) * UNITS[m.group(2)] if m else None


def start_times(log):
    """(launch to ready, ready to joined, joined to settled) in seconds, from the harness's
    info lines; None for a phase not logged."""
    launched = joined = settled = None
    for line in ANSI.sub("", log).splitlines():
        if "peers started in" in line:
            launched = seconds(line.split("peers started in", 1)[1])
        elif "every peer joined the swarm" in line:
            joined = seconds(line.split("every peer joined the swarm", 1)[1])
        elif "swarm settled" in line:
            settled = seconds(line.split("swarm settled", 1)[1])
    return launched, joined, settled


def failed_row(n, label, run_dir):
    """A table row for a run that wrote no report: how far it got, and why it stopped."""
    log_path = run_dir / "stderr.log"
    log = log_path.read_text(errors="replace") if log_path.exists() else ""
    errors = [ANSI.sub("", l).strip() for l in log.splitlines() if l.startswith("error")]
    why = (errors[-1] if errors else "no error line (see stderr.log)").replace("|", "/")
    start = " + ".join("—" if v is None else f"{v:.1f}" for v in start_times(log))
    return (f"| {n} | {label} | {run_dir.name} failed | {why[:300]} | | | | | | | {start} | | | |")


def one_run(run_dir):
    report = json.loads((run_dir / "report.json").read_text())
    run = next(r for r in report["runs"] if r["arch"] == "p2p")
    n = run["users"]
    size = report["scenario"]["workload"]["object_size"]
    size = size if isinstance(size, (int, float)) else None
    traffic = run.get("traffic", {})
    sent = sum(traffic.get(role, {}).get("tx_bytes", 0) for role in ("seed", "peer"))
    res = run.get("resources", {})
    cpu = sum(res.get(role, {}).get("cpu_s", 0.0) for role in ("seed", "peer"))
    get = run.get("ops", {}).get("get", {})
    delivered = get.get("bytes") or 0
    errors = get.get("errors_total", 0)
    log = (run_dir / "stderr.log").read_text(errors="replace")
    launched, joined, settled = start_times(log)
    return {
        "eff": run.get("efficiency"),
        "makespan": (run.get("completion") or {}).get("makespan_s"),
        "bound": run.get("bound_s"),
        "redundant": (sent - delivered) / delivered if delivered else None,
        "cpu_per_gib": cpu / (delivered / GIB) if delivered else None,
        # Per peer: a peer host's RSS / its peers (older reports: per process).
        "rss_peer": res.get("peer", {}).get("peak_rss_per_node_bytes")
        or res.get("peer", {}).get("peak_rss_per_process_bytes"),
        "launched": launched,
        "joined": joined,
        "settled": settled,
        "errors": errors,
        "n": n,
        "size": size,
        "cores": run.get("cpu_cores_used"),
        "hosting": "{processes}×{peers_per_process}".format(**run["peer_hosting"])
        if run.get("peer_hosting") else "?",
        "load": (run_dir / "loadavg").read_text().strip() if (run_dir / "loadavg").exists() else "?",
    }


def stats(values, fmt):
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    med = statistics.median(values)
    if len(values) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} [{fmt.format(min(values))}, {fmt.format(max(values))}]"


def main():
    out = Path(sys.argv[1])
    sizes = sys.argv[2:]
    print("| N | build | runs | efficiency med [min, max] | makespan s | bound s | redundant bytes | "
          "CPU s per GiB | peak RSS per peer MiB | peer processes × peers each | start: launch s + join s + settle s | "
          "cores used | errors | load (1 min) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        base = out / f"n{n}"
        if not base.is_dir():
            continue
        labels = sorted(p.name for p in base.iterdir() if p.is_dir())
        by_label = {}
        for label in labels:
            runs = sorted((base / label).glob("run*"), key=lambda p: int(p.name[3:]))
            rows = [one_run(r) for r in runs if (r / "report.json").exists()]
            by_label[label] = rows
            failed = [r for r in runs if not (r / "report.json").exists()]
            for run in failed:
                print(failed_row(n, label, run))
            if not rows:
                continue
            col = lambda k: [r[k] for r in rows]
            start = " + ".join(
                "—" if all(v is None for v in col(k)) else stats(col(k), "{:.1f}")
                for k in ("launched", "joined", "settled"))
            rss = [v / (1 << 20) if v else None for v in col("rss_peer")]
            print(f"| {n} | {label} | {len(rows)} | {stats(col('eff'), '{:.3f}')} | "
                  f"{stats(col('makespan'), '{:.1f}')} | {stats(col('bound'), '{:.1f}')} | "
                  f"{stats([r * 100 if r is not None else None for r in col('redundant')], '{:.1f}%')} | "
                  f"{stats(col('cpu_per_gib'), '{:.1f}')} | {stats(rss, '{:.0f}')} | "
                  f"{' '.join(sorted(set(col('hosting'))))} | {start} | "
                  f"{stats(col('cores'), '{:.2f}')} | {sum(col('errors'))} | {' '.join(col('load'))} |")
        if len(labels) == 2:
            a, b = (by_label[l] for l in labels)
            ratios = [y["eff"] / x["eff"] for x, y in zip(a, b) if x["eff"] and y["eff"]]
            cpu = [y["cpu_per_gib"] / x["cpu_per_gib"] for x, y in zip(a, b)
                   if x["cpu_per_gib"] and y["cpu_per_gib"]]
            if ratios:
                print(f"| {n} | {labels[1]}/{labels[0]} | {len(ratios)} pairs | "
                      f"ratio {stats(ratios, '{:.3f}')} | | | | ratio {stats(cpu, '{:.2f}')} | | | | | | |")


if __name__ == "__main__":
    main()
