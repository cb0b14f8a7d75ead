#!/usr/bin/env bash
# The main job (README): builds in release and runs the benchmark executable's quick pass.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh
swift build -c release --product weft-bench
.build/release/weft-bench "$@"
