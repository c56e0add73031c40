#!/usr/bin/env bash
# ci/perf-gate.sh BASE_REV HEAD_REV [SCENARIO]
#
# The performance-regression gate: does HEAD_REV make the reference server slower than
# BASE_REV? It builds both revisions, runs them interleaved on this machine with an A/A
# control, compares them with `versus compare`, and fails only on a regression that is
# significant, reproduces, and comes with a clean control.
#
#   1. Builds `versus` for both revisions (git worktrees in a temporary directory, one
#      after the other, into one persistent CARGO_TARGET_DIR so later gates build
#      incrementally) and copies each binary out. A revision is anything `git rev-parse`
#      knows, or WORKTREE: the working tree as it is, uncommitted changes included (built
#      in place). `merge` and `compare` run with the working tree's own build (the PR's,
#      in CI), which is also the head's when HEAD_REV is the checked-out commit.
#   2. Runs SCENARIO (default scenarios/ci-gate.toml) with three arms: A (base), B (head)
#      and A' (base again, the A/A control), in blocks of six runs that read the same
#      forwards and backwards (A B A' A' B A: ABBA for A/B and for A/A at once), the roles
#      rotating from block to block (B A' A A A' B, then A' A B B A A') so that no arm
#      keeps the first or the middle slots. Slow drifts of the machine cancel out, and
#      every arm sees the same mix of moments. One warm-up run of each binary comes first
#      and is not counted. A run during which other processes took a good share of the
#      CPU is done again (VERSUS_GATE_MAX_FOREIGN), whatever its arm.
#   3. Merges each arm's reports into one (`versus merge`: the runs become repetitions,
#      in the order they ran) and compares B with A and A' with A (`versus compare
#      --paired --metric …`). Every arm has two runs per block, so repetition i of B ran
#      in the same block as repetition i of A, seconds apart: the change is the median of
#      those per-pair ratios, with a 95% bootstrap interval over the pairs, so a drift of
#      the machine over the minutes of the round cancels out.
#   4. Decides. B vs A regressed (the whole interval beyond the threshold) → a second
#      round of blocks (the reproduction). FAIL (exit 1) only when both rounds say
#      regressed and the A/A control was clean in both. PASS (exit 0) when round 1's
#      B vs A is within the threshold (or improved) and its control was clean. Anything
#      else is INCONCLUSIVE (exit 0, with a line saying so and why): too noisy, a
#      regression that did not reproduce, or a control that saw a difference between
#      identical builds. The control is clean when, for every deciding metric, the 95%
#      interval of A' vs A contains "no change": the procedure found no difference where
#      there is none. (A wide interval around 0 is noise, not bias; it does not stop a
#      regression whose own interval lies beyond the threshold despite that noise.)
#
# Output: the markdown for a pull-request comment is written to $OUT/perf-gate.md and
# printed; $OUT/verdict holds one word (pass, regressed or inconclusive); each round's
# merged reports and comparisons stay in $OUT/round-N/.
#
# Exit codes: 0 pass or inconclusive, 1 regression (significant, reproduced, clean
# control), 2 bad usage, 3 the gate could not run (a build or a run failed).
#
# Knobs (environment variables):
#   VERSUS_GATE_BLOCKS=72         blocks per round (6 runs each: 2 per arm); a multiple of 3
#                                 rotates the roles evenly
#   VERSUS_GATE_DURATION=         length of each run, such as 3s (default: the scenario's)
#   VERSUS_GATE_THRESHOLD=3%      how much worse a metric may get
#   VERSUS_GATE_METRICS="get.rps server.cpu_per_op"
#                                 metrics that decide, space-separated (see `versus compare
#                                 --metric`): by default the throughput and the server's
#                                 CPU time per request (exact: it sees extra work per
#                                 request even while the load generator limits the rate)
#   VERSUS_GATE_OUT=perf-gate-out where the results go
#   VERSUS_GATE_TARGET=<repo>/target/perf-gate   the persistent CARGO_TARGET_DIR
#   VERSUS_GATE_HEAD_ENV=         extra environment of every head run, space-separated
#                                 VAR=VALUE pairs, such as "VERSUS_TEST_SLOWDOWN_NS=5000"
#                                 (the server's test-only slowdown hook, to test the gate)
#   VERSUS_GATE_BASE_ENV=         the same for the base runs (A and A')
#   VERSUS_GATE_PIN=auto          pin the load generator and the server to CPUs with
#                                 taskset, as HARNESS_CPUS:SERVER_CPUS such as "0:1";
#                                 auto = 0:1 when the machine has 2 CPUs or more (where
#                                 the scheduler puts the two processes otherwise changes
#                                 from run to run, and the latency with it); off = never
#   VERSUS_GATE_REPRODUCE=1       0 skips the reproduction round (a regression is then
#                                 reported as inconclusive, never as a failure)
#   VERSUS_GATE_MAX_FOREIGN=0.3   a run during which other processes used more than this
#                                 many cores (machine CPU time minus the run's own, from
#                                 /proc/stat) is done again; "off" never redoes runs
#   VERSUS_GATE_RETRIES=2         redos per run at most (and one per planned run in all)
#   VERSUS_GATE_KEEP=0            1 keeps the temporary directory (worktrees, raw reports)
#
# Needs git, cargo, jq, and taskset when VERSUS_GATE_PIN is set. Everything runs on
# loopback.

set -euo pipefail

usage() {
    sed -n '2,3p' "$0" | sed 's/^# \{0,1\}//' >&2
    echo "see the header of $0 for the knobs" >&2
    exit 2
}

[[ $# -ge 2 && $# -le 3 ]] || usage
BASE_REV=$1
HEAD_REV=$2

REPO=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
SCENARIO=$(realpath "${3:-$REPO/scenarios/ci-gate.toml}")
BLOCKS=${VERSUS_GATE_BLOCKS:-72}
DURATION=${VERSUS_GATE_DURATION:-}
THRESHOLD=${VERSUS_GATE_THRESHOLD:-3%}
METRICS=${VERSUS_GATE_METRICS:-get.rps server.cpu_per_op}
OUT=$(realpath -m "${VERSUS_GATE_OUT:-perf-gate-out}")
GATE_TARGET=$(realpath -m "${VERSUS_GATE_TARGET:-$REPO/target/perf-gate}")
HEAD_ENV=${VERSUS_GATE_HEAD_ENV:-}
BASE_ENV=${VERSUS_GATE_BASE_ENV:-}
PIN=${VERSUS_GATE_PIN:-auto}
case $PIN in
auto) if (($(nproc) >= 2)) && command -v taskset >/dev/null; then PIN=0:1; else PIN=; fi ;;
off) PIN= ;;
esac
REPRODUCE=${VERSUS_GATE_REPRODUCE:-1}
MAX_FOREIGN=${VERSUS_GATE_MAX_FOREIGN:-0.3}
RETRIES=${VERSUS_GATE_RETRIES:-2}
KEEP=${VERSUS_GATE_KEEP:-0}

die() { echo "perf-gate: $*" >&2; exit "${EXIT_CODE:-3}"; }
say() { echo "perf-gate: $*" >&2; }

[[ -f $SCENARIO ]] || EXIT_CODE=2 die "no scenario file $SCENARIO"
[[ $BLOCKS =~ ^[1-9][0-9]*$ ]] || EXIT_CODE=2 die "VERSUS_GATE_BLOCKS must be a positive number, not '$BLOCKS'"
[[ $THRESHOLD =~ ^[0-9]+(\.[0-9]+)?%$ ]] || EXIT_CODE=2 die "VERSUS_GATE_THRESHOLD must be a percentage such as 3%, not '$THRESHOLD'"
for var in $HEAD_ENV $BASE_ENV; do
    [[ $var =~ ^[A-Za-z_][A-Za-z0-9_]*=.*$ ]] || EXIT_CODE=2 die "extra environment must be VAR=VALUE pairs, not '$var'"
done
if [[ -n $PIN ]]; then
    [[ $PIN =~ ^[0-9,-]+:[0-9,-]+$ ]] || EXIT_CODE=2 die "VERSUS_GATE_PIN must look like 0:1 (HARNESS_CPUS:SERVER_CPUS), not '$PIN'"
    command -v taskset >/dev/null || EXIT_CODE=2 die "VERSUS_GATE_PIN needs taskset (util-linux)"
fi
[[ $MAX_FOREIGN == off || $MAX_FOREIGN =~ ^[0-9]+(\.[0-9]+)?$ ]] || EXIT_CODE=2 die "VERSUS_GATE_MAX_FOREIGN must be a number of cores such as 0.3, or off, not '$MAX_FOREIGN'"
[[ $RETRIES =~ ^[0-9]+$ ]] || EXIT_CODE=2 die "VERSUS_GATE_RETRIES must be a whole number, not '$RETRIES'"
command -v jq >/dev/null || die "jq is needed to read the comparisons (apt-get install jq)"
command -v cargo >/dev/null || die "cargo is needed to build the revisions"

STARTED=$SECONDS
WORK=$(mktemp -d "${TMPDIR:-/tmp}/perf-gate.XXXXXX")
WORKTREES=()
CHILD=

# shellcheck source=ci/gate-lib.sh
source "$REPO/ci/gate-lib.sh"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

BUILD_STARTED=$SECONDS
resolve "$BASE_REV" BASE_KEY
resolve "$HEAD_REV" HEAD_KEY
build "$BASE_KEY" BASE_BIN
build "$HEAD_KEY" HEAD_BIN
build WORKTREE TOOL
BUILD_SECONDS=$((SECONDS - BUILD_STARTED))
"$TOOL" merge --help >/dev/null 2>&1 ||
    die "the working tree's versus has no 'merge' command; run the gate from a checkout that has it"

# --------------------------------------------------------------------------- measure

# A wrapper that starts the target nodes on the server CPUs (VERSUS_TARGET_EXE).
pinned_targets() {
    local bin=$1 wrapper="$1.pinned"
    if [[ ! -x $wrapper ]]; then
        printf '#!/bin/sh\nexec taskset -c %s %q "$@"\n' "${PIN#*:}" "$bin" >"$wrapper"
        chmod +x "$wrapper"
    fi
    echo "$wrapper"
}

# CPU time used on this machine, and by the processes this shell has waited for (the
# runs, their servers included), in clock ticks.
machine_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
our_ticks() { awk '{print $16 + $17}' "/proc/$$/stat"; }
HZ=$(getconf CLK_TCK)

# run_slot ARM DIR: run_arm, done again (at most VERSUS_GATE_RETRIES times, within a
# budget of one extra run per planned run) while other processes used more than
# VERSUS_GATE_MAX_FOREIGN cores during the run. Whether a run is disturbed does not
# depend on its arm, so redoing disturbed runs biases no arm; it keeps the pairs clean.
run_slot() {
    local arm=$1 dir=$2 attempt=0 m0 o0 t0 foreign
    while true; do
        m0=$(machine_ticks) o0=$(our_ticks) t0=$(date +%s%N)
        rm -rf "$dir"
        run_arm "$arm" "$dir"
        foreign=$(awk -v m="$(($(machine_ticks) - m0))" -v o="$(($(our_ticks) - o0))" \
            -v ns="$(($(date +%s%N) - t0))" -v hz="$HZ" \
            'BEGIN { f = (m - o) / hz / (ns / 1e9); printf "%.2f", (f < 0 ? 0 : f) }')
        if [[ $MAX_FOREIGN == off ]] || awk -v f="$foreign" -v max="$MAX_FOREIGN" 'BEGIN { exit !(f <= max) }'; then
            return
        fi
        if ((attempt >= RETRIES || ROUND_REDONE >= BLOCKS * 6)); then
            DISTURBED=$((DISTURBED + 1))
            say "  other processes used $foreign cores during this run; kept (no retry left)"
            return
        fi
        attempt=$((attempt + 1)) REDONE=$((REDONE + 1)) ROUND_REDONE=$((ROUND_REDONE + 1))
        say "  other processes used $foreign cores during this run; running it again"
    done
}

# run_arm ARM DIR: one run of the scenario by arm A, B or C (= A') into DIR.
run_arm() {
    local arm=$1 dir=$2 bin extra
    case $arm in
    B) bin=$HEAD_BIN extra=$HEAD_ENV ;;
    *) bin=$BASE_BIN extra=$BASE_ENV ;;
    esac
    local cmd=(env)
    # shellcheck disable=SC2206 # VAR=VALUE pairs, split on spaces on purpose
    cmd+=($extra)
    if [[ -n $PIN ]]; then
        cmd+=("VERSUS_TARGET_EXE=$(pinned_targets "$bin")" taskset -c "${PIN%%:*}")
    fi
    cmd+=("$bin" run "$SCENARIO" --out "$dir" --progress none)
    [[ -n $DURATION ]] && cmd+=(--duration "$DURATION")
    local status=0
    run_child timeout 300 "${cmd[@]}" >"$dir.log" 2>&1 || status=$?
    # 1 = a threshold of the scenario failed: the run happened and is measured.
    if [[ $status -gt 1 || ! -f $dir/report.json ]]; then
        cat "$dir.log" >&2
        die "run $dir of arm $arm failed (exit $status)"
    fi
}

# The order of one block: a palindrome of the three arms, rotated by block number.
block_order() {
    local arms=(A B C) r=$(($1 % 3))
    local o=${arms[r]} m=${arms[(r + 1) % 3]} i=${arms[(r + 2) % 3]}
    echo "$o $m $i $i $m $o"
}

arm_name() { case $1 in A) echo "A (base)" ;; B) echo "B (head)" ;; C) echo "A' (base, control)" ;; esac; }

# round N: runs the blocks of round N and writes round-N/{base,head,control}.json and the
# comparisons round-N/{ab,aa}.{json,md}.
round() {
    local n=$1 dir="$OUT/round-$1" raw="$WORK/round-$1"
    mkdir -p "$dir" "$raw"
    declare -A reports=([A]="" [B]="" [C]="")
    local b arm count=0 total=$((BLOCKS * 6))
    ROUND_REDONE=0
    for ((b = 0; b < BLOCKS; b++)); do
        for arm in $(block_order "$b"); do
            count=$((count + 1))
            local run_dir="$raw/$count-$arm"
            say "round $n: run $count/$total, $(arm_name "$arm")"
            run_slot "$arm" "$run_dir"
            reports[$arm]+=" $run_dir/report.json"
        done
    done
    local side file
    for side in A:base B:head C:control; do
        file="$dir/${side#*:}.json"
        # shellcheck disable=SC2086 # a list of paths without spaces (our temp dir)
        "$TOOL" merge "$file" ${reports[${side%%:*}]} 2>>"$dir/merge.log" ||
            die "versus merge failed for round $n (see $dir/merge.log)"
    done
    # Relative to $OUT (the working directory), so the comparisons name short paths.
    local flags=(--paired --threshold "$THRESHOLD") rel="round-$n"
    for m in $METRICS; do flags+=(--metric "$m"); done
    compare "$rel/base.json" "$rel/head.json" "$rel/ab" "${flags[@]}" --expect-different-builds
    compare "$rel/base.json" "$rel/control.json" "$rel/aa" "${flags[@]}"
}

# compare BASE CAND OUT_PREFIX FLAGS...: both formats; exit 0 or 1 is a verdict.
compare() {
    local base=$1 cand=$2 prefix=$3
    shift 3
    local format status
    for format in json md; do
        status=0
        "$TOOL" compare "$base" "$cand" "$@" --format "$format" --out "$prefix.$format" || status=$?
        [[ $status -le 1 ]] || die "versus compare failed on $base and $cand (exit $status)"
    done
}

verdict_of() { jq -r '.verdict' "$1"; }

# clean_of AA.json: "clean" when every metric's interval contains no change (1 for a
# ratio, 0 for a difference; without an interval, when it passed), else "not clean".
clean_of() {
    jq -r '
        def neutral: if .kind == "difference" then 0 else 1 end;
        if (.metrics | length) > 0 and (.metrics | all(
            if .interval == null then .verdict == "pass"
            else .interval.low <= neutral and neutral <= .interval.high end))
        then "clean" else "not clean" end' "$1"
}

# The decisive metrics of a comparison on one line:
# `get.p50` +4.1% [+3.2%, +5.0%] regressed
changes_of() {
    jq -r '
        def fixed: (. * 10 | round) as $t | ($t | fabs) as $a
            | (if $t < 0 then "−" else "+" end) + "\($a / 10 | floor).\($a % 10)";
        def change($kind): if . == null then "—"
            elif $kind == "difference" then (. * 100 | fixed) + " pp"
            else ((. - 1) * 100 | fixed) + "%" end;
        [.metrics[] | .kind as $k
            | "`\(.metric)` \(.estimate | change($k))"
              + (if .interval == null then ""
                 else " [\(.interval.low | change($k)), \(.interval.high | change($k))]" end)
        ] | join("; ")' "$1"
}

MEASURE_STARTED=$SECONDS
REDONE=0 DISTURBED=0
mkdir -p "$OUT"
cd "$OUT"
rm -rf round-* perf-gate.md verdict
say "warm-up: one run of each binary (not counted)"
run_arm A "$WORK/warmup-base"
run_arm B "$WORK/warmup-head"

round 1
AB1=$(verdict_of "$OUT/round-1/ab.json")
AA1=$(clean_of "$OUT/round-1/aa.json")
ROUNDS=1
AB2= AA2=
if [[ $AB1 == regressed && $REPRODUCE == 1 ]]; then
    say "round 1 says regressed: reproduction round"
    round 2
    ROUNDS=2
    AB2=$(verdict_of "$OUT/round-2/ab.json")
    AA2=$(clean_of "$OUT/round-2/aa.json")
fi
MEASURE_SECONDS=$((SECONDS - MEASURE_STARTED))

# ---------------------------------------------------------------------------- decide

if [[ $AB1 == regressed ]]; then
    if [[ $REPRODUCE != 1 ]]; then
        VERDICT=inconclusive
        WHY="round 1 measured a regression; the reproduction round is switched off (VERSUS_GATE_REPRODUCE=0), so it is not confirmed"
    elif [[ $AB2 != regressed ]]; then
        VERDICT=inconclusive
        WHY="round 1 measured a regression, but the reproduction round did not ($AB2)"
    elif [[ $AA1 != clean || $AA2 != clean ]]; then
        VERDICT=inconclusive
        WHY="a regression was measured in both rounds, but the A/A control was not clean (round 1 $AA1, round 2 $AA2): identical builds looked different, so the machine cannot be trusted right now"
    else
        VERDICT=regressed
        WHY="significant in both rounds (the whole 95% interval beyond $THRESHOLD), and the A/A control was clean in both (no difference between identical builds)"
    fi
elif [[ $AB1 == pass || $AB1 == improved ]]; then
    if [[ $AA1 == clean ]]; then
        VERDICT=pass
        WHY="head is within $THRESHOLD of base (95% interval), and the A/A control was clean"
        [[ $AB1 == pass ]] || WHY="head is better than base by more than $THRESHOLD (95% interval), and the A/A control was clean"
    else
        VERDICT=inconclusive
        WHY="head looks within $THRESHOLD of base, but the A/A control was not clean: identical builds looked different, so neither verdict can be trusted"
    fi
else
    VERDICT=inconclusive
    WHY="the 95% interval of head vs base straddles the threshold: too noisy to tell a change of $THRESHOLD (A/A control: $AA1)"
fi

WALL=$((SECONDS - STARTED))
minutes() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
# `HEAD` (`0123456789ab`), or `WORKTREE` (working tree, `0123456789ab-dirty`)
describe_rev() {
    local sha
    sha=$(jq -r '.tool.git_sha' "$OUT/round-1/$2.json")
    [[ $sha == *-dirty ]] && sha="${sha:0:12}-dirty" || sha=${sha:0:12}
    echo "\`$1\` ($([[ $1 == WORKTREE ]] && echo "working tree, ")\`$sha\`)"
}

{
    case $VERDICT in
    regressed) echo "## ❌ Performance gate: regressed" ;;
    pass) echo "## ✅ Performance gate: pass" ;;
    *) echo "## ⚠️ Performance gate: inconclusive" ;;
    esac
    echo
    echo "**Verdict: $VERDICT** — $WHY."
    echo
    echo "| round | head vs base (B/A) | verdict | A/A control (A'/A) | control |"
    echo "|---|---|---|---|---|"
    for ((r = 1; r <= ROUNDS; r++)); do
        echo "| $r | $(changes_of "$OUT/round-$r/ab.json") | $(verdict_of "$OUT/round-$r/ab.json") | $(changes_of "$OUT/round-$r/aa.json") | $(clean_of "$OUT/round-$r/aa.json") |"
    done
    echo
    echo "- base: $(describe_rev "$BASE_REV" base)${BASE_ENV:+ with \`$BASE_ENV\`}; head: $(describe_rev "$HEAD_REV" head)${HEAD_ENV:+ with \`$HEAD_ENV\`}"
    echo "- scenario \`$(realpath --relative-to="$REPO" "$SCENARIO")\`${DURATION:+ (runs of $DURATION)}; $BLOCKS blocks of 6 interleaved runs per round (A B A' A' B A, rotated), $((BLOCKS * 2)) runs per arm; decided on \`$METRICS\` at ±$THRESHOLD${PIN:+; pinned harness:server CPUs $PIN}"
    SATURATED=$(jq '[.runs[] | select(.harness.cpu_saturated)] | length' "$OUT/round-1/base.json")
    RUNS=$(jq '.runs | length' "$OUT/round-1/base.json")
    if ((SATURATED * 2 > RUNS)); then
        echo "- the load generator was CPU-saturated in $SATURATED of $RUNS base runs: the throughput moves only once the server's work per request exceeds the load generator's, so a smaller server slowdown passes (see the README)"
    fi
    if [[ $MAX_FOREIGN != off ]]; then
        echo "- other processes on the machine: $REDONE run(s) done again because they used more than $MAX_FOREIGN cores meanwhile; $DISTURBED disturbed run(s) kept after $RETRIES retries"
    fi
    echo "- change = median over pairs of runs made side by side (same block) of head / base, with a 95% bootstrap interval over the pairs; regressed = the whole interval beyond the threshold"
    echo "- wall time $(minutes "$WALL") (build $(minutes "$BUILD_SECONDS"), measurement $(minutes "$MEASURE_SECONDS")) on $(jq -r '.machine | "\(.cpu_model), \(.cores) cores"' "$OUT/round-1/base.json")"
    echo
    for ((r = 1; r <= ROUNDS; r++)); do
        echo "<details><summary>Round $r: head vs base</summary>"
        echo
        cat "$OUT/round-$r/ab.md"
        echo "</details>"
        echo
        echo "<details><summary>Round $r: A/A control</summary>"
        echo
        cat "$OUT/round-$r/aa.md"
        echo "</details>"
        echo
    done
} >"$OUT/perf-gate.md"

echo "$VERDICT" >"$OUT/verdict"
cat "$OUT/perf-gate.md"
echo "perf-gate: $VERDICT in $(minutes "$WALL")" >&2
[[ $VERDICT == regressed ]] && exit 1
exit 0
