#!/usr/bin/env bash
# Installs what is missing, then builds and runs every test:
#   1. release build, warnings as errors: all tests (unit, tools, constant-time under valgrind)
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build: the unit tests
#   3. clang libFuzzer build: every decoder fuzzed for a bounded time (scripts/fuzz.sh)
#   4. soak: many clients against one hopboxd, checked against a model (scripts/soak.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

jobs=$(nproc)

echo "== release build"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DHOPBOX_WERROR=ON >/dev/null
cmake --build build/release -j "$jobs"
ctest --test-dir build/release --output-on-failure -j "$jobs"

echo "== sanitizer build (address, undefined)"
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOPBOX_WERROR=ON \
  -DHOPBOX_SANITIZE=ON -DHOPBOX_BENCHMARKS=OFF >/dev/null
cmake --build build/asan -j "$jobs"
ctest --test-dir build/asan -L unit --output-on-failure -j "$jobs"

echo "== fuzzing (libFuzzer + ASan/UBSan, clang), bounded"
scripts/fuzz.sh "${HOPBOX_FUZZ_SECONDS:-20}"

echo "== soak (many clients against one hopboxd, checked against a model)"
scripts/soak.sh "${HOPBOX_SOAK_MINUTES:-2}"
