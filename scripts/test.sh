#!/usr/bin/env bash
# Runs the whole test suite: sets up and builds when needed, then CTest (unit + integration).
#   scripts/test.sh                 everything
#   scripts/test.sh -L unit         only the unit tests (any ctest arguments are passed on)
#   scripts/test.sh --tsan [ARGS]   a ThreadSanitizer build in build-tsan (no benchmarks), then the
#                                   unit and integration suites under it with the suppressions of
#                                   tests/tsan.supp (each one a documented false positive); any
#                                   other report fails its suite. docs_commands is left out: it
#                                   drives the operator scripts, not threads of ours.
# Environment: BUILD_DIR (./build, ./build-tsan with --tsan), CI=true (warnings are errors, perf gate runs).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ctest_args=()
if [ "${1:-}" = "--tsan" ]; then
    shift
    export BUILD_DIR="${TSAN_BUILD_DIR:-$BEAMLINE_ROOT/build-tsan}"
    export CMAKE_ARGS="-DBEAMLINE_TSAN=ON -DBEAMLINE_BUILD_PERF=OFF ${CMAKE_ARGS:-}"
    # history_size: the default keeps too little for reports between far-apart accesses to show
    # both stacks; exitcode stays TSan's 66 so a report fails the suite.
    export TSAN_OPTIONS="suppressions=$BEAMLINE_ROOT/tests/tsan.supp history_size=4 ${TSAN_OPTIONS:-}"
    ctest_args=(-E '^docs_commands$')
fi

"$BEAMLINE_ROOT/scripts/setup.sh"
cd "$BUILD_DIR"
ctest --output-on-failure -j "$(nproc)" "${ctest_args[@]}" "$@"
