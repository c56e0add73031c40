#!/usr/bin/env bash
# Regenerates every example report in reports/ with a release build. Each line below is
# also the one command that regenerates that report on its own.
# Takes about 13 minutes on a 2-core machine, plus about 12 for the swarm bench.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p versus
versus=target/release/versus
run() { echo "== $*" >&2; "$@" --progress plain; }

run $versus run                                                  --out reports/quickstart
run $versus run scenarios/flash-crowd.toml                       --out reports/flash-crowd
run $versus run scenarios/fetch-small.toml                       --out reports/fetch-small
run $versus sweep scenarios/scale-out.toml --users 32 --servers 1,2,4 --arch cs --out reports/scale-out
run $versus sweep scenarios/flash-crowd.toml --users 4,8,16,32,64 --out reports/flash-crowd-sweep
run $versus run scenarios/spof.toml                              --out reports/spof
run $versus sweep scenarios/churn.toml --users 16,32,64          --out reports/churn
# The swarm alone (issue 14); N = 1000 needs more memory than one process per peer allows here.
SWARM_BENCH_NS="16 64 256" SWARM_BENCH_BINS="head=$versus" SWARM_BENCH_OUT=target/swarm-bench ci/swarm-bench.sh
mkdir -p reports/swarm-bench && cp target/swarm-bench/summary.md reports/swarm-bench/summary.md
