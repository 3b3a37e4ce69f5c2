#!/usr/bin/env bash
# Soak: many clients uploading, sharing, revoking, downloading through chains and refreshing
# at once against one hopboxd, checked against a model of who may read what; hopboxd's memory
# sampled. Usage: scripts/soak.sh [MINUTES] (default 2; CI runs 2). Needs the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-2}
if [ ! -x build/release/hopboxd/bench/hopboxd_soak ]; then
  cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build/release --target hopboxd_soak hopboxd
fi
exec build/release/hopboxd/bench/hopboxd_soak --minutes "$minutes"
