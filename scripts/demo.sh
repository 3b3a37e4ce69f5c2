#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: installs what is missing, builds, and shows the
# system as far as it exists today (see README.md, "Status").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j "$(nproc)"

vectors=../shared/vectors
echo
echo "== 1. Our engine and scheme against independent implementations (CIRCL-based)"
if [ -f "$vectors/bls12381/pairing_circl.json" ]; then
  build/release/tools/hopbox-vectors/hopbox-vectors "$vectors/bls12381/pairing_circl.json"
  build/release/tools/hopbox-vectors/hopbox-vectors "$vectors/mupre/mupre_v1.json"
else
  echo "(no $vectors here: skipping the known-answer checks)"
fi

echo
echo "== 2. What the engine costs on this machine (medians of 3 runs)"
build/release/bench/bls12_381_bench --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true \
  --benchmark_filter='BM_(Pairing|MillerLoop|FinalExponentiation|G1MulSecret|G2MulSecret|GtPowSecret|HashToG2)$' \
  2>/dev/null | grep -E 'Benchmark|median'

echo
echo "== 3. The proxy re-encryption scheme against the seed paper's Table 3"
build/release/tools/hopbox-bench/hopbox-bench table3 --runs 11

echo
echo "== 4. The cloud service under load: devices of two users downloading through"
echo "      re-encryption chains of 1 to 4 hops (cache off, then on)"
build/release/hopboxd/bench/hopboxd_load --clients 4 --seconds 2

echo
echo "== 5. Protocols 1 and 2 with a CA: users with hardware-bound keys (SoftHSM2), one cloud,"
echo "      ending with a device loss and a 2-of-3 recovery"
scripts/demo_protocol1.sh
