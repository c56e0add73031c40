#!/usr/bin/env bash
# Emulation benchmark (issue 15): the same workloads under three set-ups, interleaved,
# so two questions can be answered side by side:
#
#   1. app vs kernel rate shaping (both in containers): do the targets' own token buckets
#      and the kernel's htb/IFB qdiscs give the same figures? Flash crowd (makespan,
#      efficiency) and a capped fetch workload (get/s, p50, p99). Should agree within 10 %.
#   2. process vs docker launcher (both app shaping): what do containers cost? Makespan
#      and CPU-seconds of the targets (and the harness) per run, the swarm's start time.
#
#   ci/emulation-bench.sh                          # N = 16, 3 rounds (needs a quiet machine)
#   EMU_BENCH_QUICK=1 ci/emulation-bench.sh        # N = 4, 1 round, short: a correctness check
#
# Set-ups: process-app (launcher = "process", emulation = "app"), docker-app, docker-kernel.
# Workloads: scenarios/flash-crowd.toml at N users (F = 8 MiB, u_s = 4 MiB/s,
# u_i = 512 KiB/s), and scenarios/fetch-small.toml with server and peer uploads capped
# (u_s = 2 MiB/s, u_i = 1 MiB/s) so the caps, not the CPU, set the rate.
#
# Settings (environment):
#   EMU_BENCH_USERS   N (default 16; quick: 4)
#   EMU_BENCH_ROUNDS  rounds, each running every set-up once per workload (default 3; quick: 1)
#   EMU_BENCH_SETUPS  which set-ups (default "process-app docker-app docker-kernel")
#   EMU_BENCH_BIN     the versus binary (default target/release/versus, built here)
#   EMU_BENCH_OUT     where reports go (default versus-report/emulation-bench); the table is
#                     also written to $EMU_BENCH_OUT/summary.md
#
# Docker set-ups need an engine and the image (`versus image` is run here); kernel
# emulation needs root (nsenter, tc, iptables). Every run is bounded by its scenario's
# duration; `versus run` removes every container and network it made. Exit codes: 0
# done, 2 bad settings, 3 a run failed (its log is named).
set -euo pipefail

cd "$(dirname "$0")/.."
quick="${EMU_BENCH_QUICK:-}"
users="${EMU_BENCH_USERS:-$([[ -n "$quick" ]] && echo 4 || echo 16)}"
rounds="${EMU_BENCH_ROUNDS:-$([[ -n "$quick" ]] && echo 1 || echo 3)}"
setups="${EMU_BENCH_SETUPS:-process-app docker-app docker-kernel}"
out="${EMU_BENCH_OUT:-versus-report/emulation-bench}"
bin="${EMU_BENCH_BIN:-}"
if [[ ! "$users" =~ ^[0-9]+$ || "$users" -lt 1 || ! "$rounds" =~ ^[0-9]+$ || "$rounds" -lt 1 ]]; then
    echo "EMU_BENCH_USERS and EMU_BENCH_ROUNDS must be positive integers" >&2
    exit 2
fi
for s in $setups; do
    case "$s" in
        process-app | docker-app | docker-kernel) ;;
        *) echo "EMU_BENCH_SETUPS: unknown set-up \"$s\" (process-app, docker-app, docker-kernel)" >&2; exit 2 ;;
    esac
done
if [[ -z "$bin" ]]; then
    cargo build --release -q -p versus
    bin="target/release/versus"
fi
if [[ ! -x "$bin" ]]; then
    echo "EMU_BENCH_BIN: $bin is not an executable" >&2
    exit 2
fi
if [[ "$setups" == *docker* ]]; then
    "$bin" image --tag versus:emulation-bench >/dev/null
fi
mkdir -p "$out"

# The --set arguments of a set-up.
setup_args() {
    case "$1" in
        process-app) echo "--launcher process" ;;
        docker-app) echo "--launcher docker --set architectures.image=versus:emulation-bench" ;;
        docker-kernel) echo "--launcher docker --set architectures.image=versus:emulation-bench --set network.emulation=kernel" ;;
    esac
}

# The scenario and --set arguments of a workload.
workload_args() {
    case "$1" in
        flash) echo "scenarios/flash-crowd.toml --users $users" ;;
        fetch)
            local duration="15s"
            [[ -n "$quick" ]] && duration="5s"
            echo "scenarios/fetch-small.toml --users $users --set load.duration=$duration --set network.server_upload=2MiB/s --set network.peer_upload=1MiB/s"
            ;;
    esac
}

for round in $(seq 1 "$rounds"); do
    # Reverse the order every other round, so no set-up always runs first.
    order="$setups"
    if (( round % 2 == 0 )); then
        order="$(echo "$setups" | tr ' ' '\n' | tac | tr '\n' ' ')"
    fi
    for workload in flash fetch; do
        for setup in $order; do
            dir="$out/$workload-$setup-$round"
            log="$dir.log"
            echo "round $round/$rounds: $workload on $setup" >&2
            set +e
            # shellcheck disable=SC2046
            "$bin" run $(workload_args "$workload") $(setup_args "$setup") \
                --progress none --out "$dir" >"$log" 2>&1
            code=$?
            set -e
            # 1 is a failed threshold: the figures still count.
            if [[ $code -ne 0 && $code -ne 1 ]]; then
                echo "run failed (exit $code): see $log" >&2
                exit 3
            fi
        done
    done
done

python3 - "$out" "$users" <<'EOF'
import json, pathlib, statistics, sys
from collections import defaultdict

out, users = pathlib.Path(sys.argv[1]), sys.argv[2]
figures = defaultdict(lambda: defaultdict(list))
for report in sorted(out.glob("*-*-*/report.json")):
    workload, setup = report.parent.name.split("-", 1)
    setup = setup.rsplit("-", 1)[0]
    for run in json.loads(report.read_text())["runs"]:
        key = (workload, run["arch"], setup)
        f = figures[key]
        get = run.get("ops", {}).get("get", {})
        f["emulation"].append(run.get("network", {}).get("emulation", "app"))
        if run.get("completion"):
            f["makespan_s"].append(run["completion"]["makespan_s"])
        if run.get("efficiency") is not None:
            f["efficiency"].append(run["efficiency"])
        if get.get("rps") is not None:
            f["get_per_s"].append(get["rps"])
        lat = get.get("latency_us") or {}
        for q in ("p50", "p99"):
            if q in lat:
                f[f"{q}_ms"].append(lat[q] / 1000)
        cpu = sum(r.get("cpu_s", 0) for role, r in run.get("resources", {}).items() if role != "harness")
        f["target_cpu_s"].append(cpu)
        f["harness_cpu_s"].append(run.get("resources", {}).get("harness", {}).get("cpu_s", 0))

def med(v):
    return statistics.median(v) if v else None

columns = ["makespan_s", "efficiency", "get_per_s", "p50_ms", "p99_ms", "target_cpu_s", "harness_cpu_s"]
lines = [f"# Emulation benchmark, N = {users}", "",
         "| workload | arch | set-up | runs | " + " | ".join(columns) + " |",
         "|---" * (4 + len(columns)) + "|"]
for (workload, arch, setup), f in sorted(figures.items()):
    cells = [f"{med(f[c]):.3f}" if f[c] else "–" for c in columns]
    lines.append(f"| {workload} | {arch} | {setup} | {len(f['emulation'])} | " + " | ".join(cells) + " |")
lines += ["", "Ratios of medians (kernel / app in containers; docker / process with app shaping):", ""]
for (workload, arch) in sorted({(w, a) for (w, a, _) in figures}):
    for num, den, label in [("docker-kernel", "docker-app", "kernel/app"), ("docker-app", "process-app", "docker/process")]:
        a, b = figures.get((workload, arch, num)), figures.get((workload, arch, den))
        if not a or not b:
            continue
        parts = []
        for c in columns:
            x, y = med(a[c]), med(b[c])
            if x is not None and y:
                parts.append(f"{c} {x / y:.2f}")
        lines.append(f"- {workload} {arch} {label}: " + ", ".join(parts))
text = "\n".join(lines) + "\n"
(out / "summary.md").write_text(text)
print(text)
EOF
