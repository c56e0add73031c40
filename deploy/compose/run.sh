#!/usr/bin/env bash
# Runs the sharded topology under docker compose on this machine and checks its totals
# against one process's: the coordinator and 4 shard containers drive a `versus server`
# container with a fixed-iteration workload (config/scenario.toml), then `whole` runs
# the same workload as one process; the merged counts, errors and bytes must be equal.
#
#   deploy/compose/run.sh [path/to/versus]      # default: target/release/versus
#
# The image is built offline by `versus image` (no registry). Everything compose
# started is removed on exit, also on failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
versus="${1:-$here/../../target/release/versus}"
[ -x "$versus" ] || { echo "no versus binary at $versus; build it (cargo build --release) or pass its path" >&2; exit 2; }
command -v docker-compose >/dev/null || { echo "docker-compose is not installed" >&2; exit 3; }

export VERSUS_IMAGE="versus:compose-shards"
VERSUS_TOKEN="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export VERSUS_TOKEN
VERSUS_OUT="$(mktemp -d)"
export VERSUS_OUT
chmod 0777 "$VERSUS_OUT"   # the image runs as uid 65532
project="versus-shards-$$"
compose=(docker-compose -p "$project" -f "$here/docker-compose.yml")
cleanup() {
  "${compose[@]}" --profile whole down -v --remove-orphans >/dev/null 2>&1 || true
  docker rmi -f "$VERSUS_IMAGE" >/dev/null 2>&1 || true
  rm -rf "$VERSUS_OUT"
}
trap cleanup EXIT

"$versus" image --tag "$VERSUS_IMAGE"
"${compose[@]}" up -d server coordinator shard0 shard1 shard2 shard3
coordinator="$("${compose[@]}" ps -q coordinator)"
code="$(timeout 300 docker wait "$coordinator")" || { "${compose[@]}" logs --tail 50; exit 3; }
"${compose[@]}" logs coordinator | tail -n 30
[ "$code" = 0 ] || { echo "the coordinator exited $code" >&2; "${compose[@]}" logs --tail 30; exit 1; }
"${compose[@]}" --profile whole run --rm whole >/dev/null

python3 - "$VERSUS_OUT" <<'PY'
import json, sys
out = sys.argv[1]
def totals(path):
    r = json.load(open(path))
    get = r["runs"][0]["ops"]["get"]
    return get["count"], get["errors_total"], get["bytes"]
sharded = totals(f"{out}/sharded/report.json")
whole = totals(f"{out}/whole/report.json")
print(f"4 shards (merged): count {sharded[0]}, errors {sharded[1]}, bytes {sharded[2]}")
print(f"one process:       count {whole[0]}, errors {whole[1]}, bytes {whole[2]}")
if sharded != whole or whole[0] != 16 * 25:
    sys.exit("the merged totals differ from one process's (or from 16 users x 25 fetches)")
print("equal: the 4 shards together did exactly what one process did")
PY
