#!/usr/bin/env bash
# ci/valgrind-gate.sh BASE_REV HEAD_REV
#
# The deterministic performance gate: does HEAD_REV make the reference server execute
# more instructions per request than BASE_REV? Instruction counts under valgrind do not
# depend on what else the machine does, so this gate sees a change of about 2% that the
# wall-clock gate (ci/perf-gate.sh) cannot tell from noise on a shared machine. It
# measures CPU work only: a server that waits (a lock, a sleep) is the wall-clock gate's.
#
#   1. Builds `versus` for both revisions and the working tree (as ci/perf-gate.sh does:
#      git worktrees, one persistent CARGO_TARGET_DIR; a revision may be WORKTREE).
#   2. One measurement: starts `versus server` under `valgrind --tool=cachegrind
#      --cache-sim=no` (it counts instructions only), publishes one 4 KiB object, lets
#      one closed-loop user (the working tree's `versus run --url`, not under valgrind)
#      GET it exactly VERSUS_VG_REQUESTS times over one connection, stops the server with
#      SIGTERM and reads the instruction total. A second server run without requests
#      gives what start-up and shutdown cost; the difference divided by the requests is
#      the instructions per request.
#   3. Three arms, A (base), B (head) and A' (base again, the A/A control), measured
#      VERSUS_VG_REPEAT times each, interleaved (A B A' A B A' …); each arm's median.
#   4. Decides: the change is B/A − 1 and the control's A'/A − 1. FAIL (exit 1) when the
#      change exceeds the threshold and the control is clean (within half the threshold:
#      the counts are reproducible enough to judge). PASS (exit 0) when the change is
#      within the threshold and the control is clean. INCONCLUSIVE (exit 0, with the
#      reason) when the control is not clean. Bad usage exits 2, a failed build or run 3.
#
# Output: markdown for a pull request in $OUT/valgrind-gate.md (also printed), one word
# in $OUT/verdict (pass, regressed or inconclusive), and every measurement in
# $OUT/measurements.tsv (arm, run, instructions with and without requests, per request).
#
# Knobs (environment variables):
#   VERSUS_VG_REQUESTS=20000   requests per measurement
#   VERSUS_VG_REPEAT=3         measurements per arm
#   VERSUS_VG_THRESHOLD=1%     how many more instructions per request count as a regression
#   VERSUS_VG_HEAD_ENV=        extra environment of the head's server, VAR=VALUE pairs,
#                              such as "VERSUS_TEST_SLOWDOWN_NS=200" (about 2% here)
#   VERSUS_VG_BASE_ENV=        the same for the base's servers (A and A')
#   VERSUS_VG_OUT=valgrind-gate-out   where the results go
#   VERSUS_GATE_TARGET=<repo>/target/perf-gate   the persistent CARGO_TARGET_DIR (shared
#                              with ci/perf-gate.sh)
#   VERSUS_VG_BASE_BIN=        a prebuilt `versus` for the base (BASE_REV is then only its
#                              name in the output); VERSUS_VG_HEAD_BIN the same for the
#                              head. With both, nothing is built and the head's binary
#                              drives the load.
#   VERSUS_VG_KEEP=0           1 keeps the temporary directory
#
# Needs git, cargo, valgrind, curl and jq. Everything runs on loopback.

set -euo pipefail

usage() {
    sed -n '2,3p' "$0" | sed 's/^# \{0,1\}//' >&2
    echo "see the header of $0 for the knobs" >&2
    exit 2
}

[[ $# -eq 2 ]] || usage
BASE_REV=$1
HEAD_REV=$2

REPO=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
REQUESTS=${VERSUS_VG_REQUESTS:-20000}
REPEAT=${VERSUS_VG_REPEAT:-3}
THRESHOLD=${VERSUS_VG_THRESHOLD:-1%}
HEAD_ENV=${VERSUS_VG_HEAD_ENV:-}
BASE_ENV=${VERSUS_VG_BASE_ENV:-}
OUT=$(realpath -m "${VERSUS_VG_OUT:-valgrind-gate-out}")
GATE_TARGET=$(realpath -m "${VERSUS_GATE_TARGET:-$REPO/target/perf-gate}")
KEEP=${VERSUS_VG_KEEP:-0}

die() { echo "valgrind-gate: $*" >&2; exit "${EXIT_CODE:-3}"; }
say() { echo "valgrind-gate: $*" >&2; }

[[ $REQUESTS =~ ^[1-9][0-9]*$ ]] || EXIT_CODE=2 die "VERSUS_VG_REQUESTS must be a positive number, not '$REQUESTS'"
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || EXIT_CODE=2 die "VERSUS_VG_REPEAT must be a positive number, not '$REPEAT'"
[[ $THRESHOLD =~ ^[0-9]+(\.[0-9]+)?%$ ]] || EXIT_CODE=2 die "VERSUS_VG_THRESHOLD must be a percentage such as 1%, not '$THRESHOLD'"
for var in $HEAD_ENV $BASE_ENV; do
    [[ $var =~ ^[A-Za-z_][A-Za-z0-9_]*=.*$ ]] || EXIT_CODE=2 die "extra environment must be VAR=VALUE pairs, not '$var'"
done
for tool in valgrind curl jq cargo; do
    command -v "$tool" >/dev/null || die "$tool is needed (apt-get install $tool)"
done

STARTED=$SECONDS
WORK=$(mktemp -d "${TMPDIR:-/tmp}/valgrind-gate.XXXXXX")
WORKTREES=()
CHILD=
SERVER=
# shellcheck source=ci/gate-lib.sh
source "$REPO/ci/gate-lib.sh"
stop_server() {
    if [[ -n $SERVER ]] && kill -0 "$SERVER" 2>/dev/null; then
        kill -TERM "$SERVER" 2>/dev/null || true
        wait "$SERVER" 2>/dev/null || true
    fi
    SERVER=
}
trap 'exit_status=$?; stop_server; cleanup "$exit_status"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# side REV PREBUILT VAR: sets VAR to the prebuilt binary, or builds REV.
side() {
    local key
    if [[ -n $2 ]]; then
        [[ -x $2 ]] || EXIT_CODE=2 die "no executable $2"
        printf -v "$3" '%s' "$(realpath "$2")"
    else
        resolve "$1" key
        build "$key" "$3"
    fi
}
side "$BASE_REV" "${VERSUS_VG_BASE_BIN:-}" BASE_BIN
side "$HEAD_REV" "${VERSUS_VG_HEAD_BIN:-}" HEAD_BIN
if [[ -n ${VERSUS_VG_BASE_BIN:-} && -n ${VERSUS_VG_HEAD_BIN:-} ]]; then
    TOOL=$HEAD_BIN
else
    build WORKTREE TOOL
fi
BUILD_SECONDS=$((SECONDS - STARTED))

# instructions BIN ENV N DIR: sets COUNT to the server's instruction total for N
# requests (0: none). Runs in this shell, so that the traps can stop the server.
instructions() {
    local bin=$1 extra=$2 n=$3 dir=$4 pid addr id
    mkdir -p "$dir"
    # shellcheck disable=SC2086 # VAR=VALUE pairs, split on spaces on purpose
    env $extra valgrind --tool=cachegrind --cache-sim=no --branch-sim=no \
        --cachegrind-out-file="$dir/cachegrind.out" \
        "$bin" server --listen 127.0.0.1:0 --admin 127.0.0.1:0 >"$dir/ready" 2>"$dir/server.log" &
    pid=$!
    SERVER=$pid
    for _ in $(seq 600); do
        grep -q '"ready"' "$dir/ready" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || { cat "$dir/server.log" >&2; die "the server under valgrind exited before it was ready"; }
        sleep 0.1
    done
    addr=$(jq -r .data "$dir/ready") || die "no ready line from the server under valgrind"
    head -c 4096 /dev/zero | tr '\0' 'v' >"$dir/object"
    id=$(curl -sf -X PUT --data-binary @"$dir/object" "http://$addr/objects" | jq -r .id) ||
        die "cannot publish the object at $addr"
    if ((n > 0)); then
        run_child "$TOOL" run --url "http://$addr/objects/$id" --users 1 \
            --set "load.iterations=$n" --duration 30m --progress none --out "$dir/report" \
            >"$dir/run.log" 2>&1 || { cat "$dir/run.log" >&2; die "the load run against $addr failed"; }
        local count
        count=$(jq '.runs[0].ops.get.count - .runs[0].ops.get.errors_total' "$dir/report/report.json")
        [[ $count == "$n" ]] || die "$count of $n requests succeeded ($dir/report)"
    fi
    stop_server
    COUNT=$(awk '/^summary:/ { print $2 }' "$dir/cachegrind.out")
    [[ $COUNT =~ ^[0-9]+$ ]] || die "no instruction total in $dir/cachegrind.out"
}

# per_request ARM RUN: one measurement of an arm: sets VALUE to the instructions per
# request and appends the measurement to measurements.tsv.
per_request() {
    local arm=$1 run=$2 bin extra full idle dir="$WORK/$1-$2"
    case $arm in
    B) bin=$HEAD_BIN extra=$HEAD_ENV ;;
    *) bin=$BASE_BIN extra=$BASE_ENV ;;
    esac
    instructions "$bin" "$extra" 0 "$dir/idle"
    idle=$COUNT
    instructions "$bin" "$extra" "$REQUESTS" "$dir/full"
    full=$COUNT
    VALUE=$(((full - idle) / REQUESTS))
    printf '%s\t%s\t%s\t%s\t%s\n' "$arm" "$run" "$full" "$idle" "$VALUE" >>"$OUT/measurements.tsv"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
change() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.2f", (b / a - 1) * 100 }'; }

mkdir -p "$OUT"
printf 'arm\trun\tinstructions\tidle_instructions\tper_request\n' >"$OUT/measurements.tsv"
declare -A VALUES=([A]="" [B]="" [C]="")
MEASURE_STARTED=$SECONDS
for run in $(seq "$REPEAT"); do
    for arm in A B C; do
        per_request "$arm" "$run"
        VALUES[$arm]+="$VALUE "
        say "run $run/$REPEAT, arm $arm: $VALUE instructions per request"
    done
done
MEASURE_SECONDS=$((SECONDS - MEASURE_STARTED))

A=$(tr ' ' '\n' <<<"${VALUES[A]}" | grep . | median)
B=$(tr ' ' '\n' <<<"${VALUES[B]}" | grep . | median)
C=$(tr ' ' '\n' <<<"${VALUES[C]}" | grep . | median)
AB=$(change "$A" "$B")
AA=$(change "$A" "$C")
LIMIT=${THRESHOLD%\%}
control_clean=$(awk -v c="$AA" -v t="$LIMIT" 'BEGIN { print ((c < 0 ? -c : c) <= t / 2) ? 1 : 0 }')
over=$(awk -v c="$AB" -v t="$LIMIT" 'BEGIN { print (c > t) ? 1 : 0 }')
if [[ $control_clean != 1 ]]; then
    VERDICT=inconclusive STATUS=0
    WHY="the A/A control moved ${AA}% (more than half the ${THRESHOLD} threshold): the counts did not reproduce"
elif [[ $over == 1 ]]; then
    VERDICT=regressed STATUS=1
    WHY="the head executes ${AB}% instructions per request (threshold ${THRESHOLD})"
else
    VERDICT=pass STATUS=0
    WHY="${AB}% instructions per request, within the ${THRESHOLD} threshold"
fi
minutes() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
{
    echo "## Versus valgrind gate: **$VERDICT**"
    echo
    echo "$WHY."
    echo
    echo "| arm | instructions per request (median of $REPEAT) | change vs base |"
    echo "|---|---:|---:|"
    echo "| A (base, \`$BASE_REV\`) | $A | — |"
    echo "| B (head, \`$HEAD_REV\`) | $B | ${AB}% |"
    echo "| A' (base again, control) | $C | ${AA}% |"
    echo
    echo "The reference server under \`valgrind --tool=cachegrind\`, $REQUESTS GETs of a 4 KiB object by one user, start-up taken out. Builds $(minutes "$BUILD_SECONDS"), measurements $(minutes "$MEASURE_SECONDS"), wall time $(minutes $((SECONDS - STARTED)))."
} >"$OUT/valgrind-gate.md"
echo "$VERDICT" >"$OUT/verdict"
cat "$OUT/valgrind-gate.md"
exit "$STATUS"
