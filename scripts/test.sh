#!/usr/bin/env bash
# Runs the whole test suite: sets up and builds when needed, then CTest (unit + integration).
#   scripts/test.sh                 everything
#   scripts/test.sh -L unit         only the unit tests (any ctest arguments are passed on)
# Environment: BUILD_DIR (./build), CI=true (warnings are errors, perf gate runs).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$BEAMLINE_ROOT/scripts/setup.sh"
cd "$BUILD_DIR"
ctest --output-on-failure -j "$(nproc)" "$@"
