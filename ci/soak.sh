#!/usr/bin/env bash
# Soak test: a steady load (scenarios/soak.toml) held for a long time on each
# architecture in turn, printing the resident memory (RSS) growth of the harness and of
# each target role (server, seed, peer) after a warm-up. Fails (exit 1) when a role grew
# more than the threshold, or when the scenario's own thresholds failed.
#
#   ci/soak.sh                      # 10 minutes per architecture, both architectures
#   ci/soak.sh 3m                   # the duration as an argument
#   SOAK_DURATION=3m SOAK_WARMUP=30s SOAK_ARCHS=cs ci/soak.sh
#
# Settings (environment):
#   SOAK_DURATION   load time per architecture (default 10m; or the first argument)
#   SOAK_WARMUP     time after the nodes are up that is not judged (default 1m)
#   SOAK_WINDOW     the first and last windows compared, by median (default 1m, shrunk to
#                   a third of the judged time when that is shorter)
#   SOAK_INTERVAL   time between RSS samples (default 5s)
#   SOAK_THRESHOLD  largest growth allowed per role (default 5%)
#   SOAK_ARCHS      architectures, space-separated (default "cs p2p")
#   SOAK_SCENARIO   scenario file (default scenarios/soak.toml)
#   SOAK_OUT        where reports, logs and rss.csv go (default versus-report/soak)
#
# Expect the harness to grow a little, linearly: it keeps a summary and a compressed
# histogram per second of the run for the report and the .hlog file (about 1.2 KB/s with
# this scenario, ~0.7 MiB or 4-5% of its RSS over 10 minutes). The targets should stay flat.
#
# Builds `versus` in release mode first. Everything runs on loopback; the harness and
# every node it starts are stopped on exit, also on Ctrl-C. Exit codes: 0 passed,
# 1 a role grew too much or a threshold failed, 2 bad settings, 3 a run failed.
set -euo pipefail

cd "$(dirname "$0")/.."
duration="${1:-${SOAK_DURATION:-10m}}"
arch_args=()
for arch in ${SOAK_ARCHS:-cs p2p}; do
    arch_args+=(--arch "$arch")
done

cargo build --release -q -p versus

exec python3 ci/soak_rss.py \
    --duration "$duration" \
    --warmup "${SOAK_WARMUP:-1m}" \
    --window "${SOAK_WINDOW:-1m}" \
    --interval "${SOAK_INTERVAL:-5s}" \
    --threshold "${SOAK_THRESHOLD:-5%}" \
    --scenario "${SOAK_SCENARIO:-scenarios/soak.toml}" \
    --out "${SOAK_OUT:-versus-report/soak}" \
    "${arch_args[@]}"
