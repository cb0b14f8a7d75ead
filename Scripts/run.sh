#!/usr/bin/env bash
# The main job (README): builds in release and runs weft-stress, every stress scenario for a
# short default duration, with one summary line per scenario and a verdict (Docs/Testing.md).
# Arguments go to weft-stress (e.g. `Scripts/run.sh spawn --duration 10`, `--help`).
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh
swift build -c release --product weft-stress
.build/release/weft-stress "$@"
