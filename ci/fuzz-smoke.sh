#!/usr/bin/env bash
# A short run of every fuzz target (libFuzzer through cargo-fuzz, AddressSanitizer), as
# CI does it: SECONDS_EACH seconds per target (default 60) from the committed seeds.
# A crash fails the script and leaves the input under fuzz/artifacts/<target>/.
# The long runs (300 s and more each) are in fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${SECONDS_EACH:-60}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
# The sanitizer flags need nightly features; the stable toolchain accepts them so.
export RUSTC_BOOTSTRAP=1
cargo fuzz build
for target in scenario_parse chunk_codec chunk_roundtrip report_load store_open; do
  corpus="corpus/$target"
  mkdir -p "$corpus"
  seeds=()
  [ -d "seeds/$target" ] && seeds=("seeds/$target")
  extra=()
  [ "$target" = store_open ] && extra=(-max_len=4096)
  echo "== fuzz $target for ${seconds}s"
  log=$(mktemp)
  if ! cargo fuzz run "$target" "$corpus" "${seeds[@]}" -- -max_total_time="$seconds" \
      -artifact_prefix="$log-" "${extra[@]}" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz $target found a crash; its input: $(ls "$log"-* 2>/dev/null)" >&2
    exit 1
  fi
  grep -E 'Done [0-9]+ runs' "$log" || tail -n 2 "$log"
  rm -f "$log"
done
echo "fuzz smoke: every target ran ${seconds}s without a crash"
