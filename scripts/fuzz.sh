#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a bounded time,
# starting from valid encodings. Usage: scripts/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]
# (default 20 s, every target; a TARGET is a name without "fuzz_", e.g. `item r3`).
# A crash leaves its input in build/fuzz/findings/ and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(points scheme_objects item certs service pairing_code software_keystore r3 notification)
  build_targets=(fuzzers)
else
  build_targets=(make_seeds "${targets[@]/#/fuzz_}")
fi

cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DHOPBOX_FUZZ=ON -DHOPBOX_BENCHMARKS=OFF >/dev/null
cmake --build build/fuzz --target "${build_targets[@]}" -j "$(nproc)"

work=build/fuzz/run
rm -rf "$work"
mkdir -p "$work" build/fuzz/findings
build/fuzz/fuzz/make_seeds "$work/seeds"
for target in "${targets[@]}"; do
  corpus="$work/corpus_$target"
  mkdir -p "$corpus"
  cp "$work/seeds/$target"/* "$corpus"/
  echo "== fuzz_$target for ${seconds}s"
  status=0
  build/fuzz/fuzz/fuzz_$target -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -artifact_prefix=build/fuzz/findings/ -print_final_stats=1 "$corpus" \
    >"$work/$target.log" 2>&1 || status=$?
  grep -E "INITED|DONE|stat::number_of_executed_units" "$work/$target.log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$work/$target.log"
    echo "fuzz_$target failed (exit $status); the input is in build/fuzz/findings/" >&2
    exit 1
  fi
done
