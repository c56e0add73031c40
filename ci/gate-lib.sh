# ci/gate-lib.sh: what the gates share (sourced by ci/perf-gate.sh and
# ci/valgrind-gate.sh): clean-up on exit, children the traps can stop, and building a
# revision (a git worktree in the temporary directory, into one persistent
# CARGO_TARGET_DIR). The sourcing script sets REPO, WORK, GATE_TARGET, KEEP, and defines
# die and say; WORKTREES and CHILD start empty.
# shellcheck shell=bash

# cleanup [STATUS]: the EXIT trap; exits with STATUS (default: the status it was called with).
cleanup() {
    local status=${1:-$?}
    if [[ -n $CHILD ]] && kill -0 "$CHILD" 2>/dev/null; then
        kill -TERM "$CHILD" 2>/dev/null || true
        wait "$CHILD" 2>/dev/null || true
    fi
    for tree in "${WORKTREES[@]}"; do
        git -C "$REPO" worktree remove --force "$tree" >/dev/null 2>&1 || true
    done
    git -C "$REPO" worktree prune >/dev/null 2>&1 || true
    if [[ $KEEP == 1 ]]; then
        say "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}

# Runs a command in the background and waits for it, so that the trap can stop it.
run_child() {
    "$@" &
    CHILD=$!
    local status=0
    wait "$CHILD" || status=$?
    CHILD=
    return "$status"
}

# ---------------------------------------------------------------------------- build

# resolve REV VAR: sets VAR to the key of a revision: WORKTREE, or its commit. A clean
# working tree at that commit is built in place, like WORKTREE (in CI the head is not
# built twice).
resolve() {
    local rev=$1 sha
    if [[ $rev == WORKTREE ]]; then
        printf -v "$2" '%s' WORKTREE
        return
    fi
    sha=$(git -C "$REPO" rev-parse --verify --quiet "$rev^{commit}") ||
        EXIT_CODE=2 die "unknown revision '$rev' (fetch it first; in CI check out with full history)"
    if [[ $sha == "$(git -C "$REPO" rev-parse HEAD)" &&
        -z $(git -C "$REPO" status --porcelain --untracked-files=no) ]]; then
        sha=WORKTREE
    fi
    printf -v "$2" '%s' "$sha"
}

# build KEY VAR: builds WORKTREE or a commit (once) and sets VAR to its copied binary.
build() {
    local key=$1 bin="$WORK/bin/versus-${1:0:12}" src
    if [[ ! -x $bin ]]; then
        mkdir -p "$WORK/bin"
        if [[ $key == WORKTREE ]]; then
            src=$REPO
        else
            src="$WORK/src-${key:0:12}"
            git -C "$REPO" worktree add --detach --quiet "$src" "$key" ||
                die "cannot check out $key into a worktree"
            WORKTREES+=("$src")
        fi
        say "building ${key:0:12} in $src (CARGO_TARGET_DIR=$GATE_TARGET)"
        run_child env CARGO_TARGET_DIR="$GATE_TARGET" \
            cargo build --release --quiet -p versus --manifest-path "$src/Cargo.toml" ||
            die "the build of ${key:0:12} failed"
        cp "$GATE_TARGET/release/versus" "$bin" || die "no binary after building ${key:0:12}"
    fi
    printf -v "$2" '%s' "$bin"
}

