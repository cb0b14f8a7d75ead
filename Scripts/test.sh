#!/usr/bin/env bash
# The test command (README): installs dependencies, then runs the whole test suite in debug,
# builds the documentation (DocC, no warnings, every public symbol documented), runs the tests
# under ThreadSanitizer, a quick weft-bench pass in release, and weft-stress: a short pass
# in release and a small one under ThreadSanitizer; the command-line checks; the benchmark chart script.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh
# Exit tests crash child processes on purpose (stack overflow, misuse). Crashes on fiber
# stacks no longer reach Swift's crash backtracer (Docs/Debugging.md, section 5; the
# CrashHygieneTests check it in children run without this variable), but on other threads it
# still symbolicates every crash for seconds: turn it off to keep the exit tests fast.
export SWIFT_BACKTRACE=enable=no
# ThreadSanitizer cannot see Synchronization.Mutex on Linux; grpc-swift's state behind it is
# suppressed (the file says what and why). Child processes (WeftDistributed's workers) inherit it.
export TSAN_OPTIONS="suppressions=$PWD/Scripts/tsan-suppressions.txt${TSAN_OPTIONS:+ $TSAN_OPTIONS}"
echo "== unit and concurrency tests (debug)"
swift test 2>&1 | tee /tmp/weft-test-debug.log | grep -vE "^(◇|↳)|started\.$" || true
grep -qE "Test run with [0-9]+ tests? .*passed" /tmp/weft-test-debug.log || { echo "debug tests failed"; exit 1; }
echo "== documentation: DocC catalog and comments, warnings are errors; every public symbol documented"
# Reuses the debug build for the symbol graph (about 1 minute on 2 cores, 2 with a fresh plugin build).
swift package generate-documentation --target Weft --warnings-as-errors
python3 Scripts/doc-coverage.py
echo "== concurrency tests under ThreadSanitizer"
# WEFT_TSAN=1 tells the tests they run under ThreadSanitizer (they also detect it themselves):
# a few scale down there (TSan maps ~3.4 regions per live fiber).
WEFT_TSAN=1 swift test --sanitize=thread --scratch-path .build-tsan --filter "${WEFT_TSAN_FILTER:-.}" 2>&1 | tee /tmp/weft-test-tsan.log | grep -vE "^(◇|↳)|started\.$" || true
grep -qE "Test run with [0-9]+ tests? .*passed" /tmp/weft-test-tsan.log || { echo "TSan tests failed"; exit 1; }
! grep -q "ThreadSanitizer: " /tmp/weft-test-tsan.log || { echo "ThreadSanitizer reported a race"; exit 1; }
echo "== weft-async-example: Weft from @main async code (debug, then its checks)"
swift build --product weft-async-example
.build/debug/weft-async-example | tee /tmp/weft-async-example.log
grep -q "all checks passed" /tmp/weft-async-example.log || { echo "weft-async-example failed"; exit 1; }
echo "== release build of weft-bench"
swift build -c release --product weft-bench
echo "== weft-bench quick pass (release)"
.build/release/weft-bench fib27 yield_many chained_spawn fairness
.build/release/weft-bench executor_hop await_fiber fiber_await_async n=100000
.build/release/weft-bench spawn_many n=100000
# The distributed workloads (issue 13): weft-bench starts copies of itself as worker processes.
.build/release/weft-bench remotecall_fetch remote_channel pmap_scaling n=500 items=8 iters=1000000
# -- weft-stress (issue 5): a short pass in release (every scenario for 2 s, ~30 s on 2 cores),
# then a small one under ThreadSanitizer (reuses .build-tsan from the TSan tests; ~15 s).
echo "== weft-stress short pass (release)"
swift build -c release --product weft-stress
echo "== command lines: --help exits 0, a bad value exits 2 and says what is wrong"
expect_exit() {  # expect_exit STATUS TEXT COMMAND...: COMMAND exits STATUS and prints TEXT
  local status=$1 text=$2 out rc=0
  shift 2
  out=$("$@" 2>&1) || rc=$?
  [[ $rc -eq $status && $out == *"$text"* ]] || { echo "$*: exit $rc, expected $status and '$text':"; echo "$out"; exit 1; }
}
expect_exit 0 "selftest-deadlock" .build/release/weft-stress --help
expect_exit 2 "not a number of seconds" .build/release/weft-stress --duration abc
expect_exit 2 "unknown scenario 'spwan'" .build/release/weft-stress spwan
expect_exit 0 "chan_throughput" .build/release/weft-bench --help
expect_exit 2 "unknown workload 'fib28'" .build/release/weft-bench fib28
.build/release/weft-stress --duration "${WEFT_STRESS_DURATION:-2}"
echo "== weft-stress under ThreadSanitizer (small scale)"
swift build --sanitize=thread --scratch-path .build-tsan --product weft-stress
.build-tsan/debug/weft-stress --duration 1 --scale 0.05 --watchdog 120 2>&1 | tee /tmp/weft-stress-tsan.log
! grep -q "ThreadSanitizer: " /tmp/weft-stress-tsan.log || { echo "ThreadSanitizer reported a race in weft-stress"; exit 1; }
echo "== bench-chart.py turns a bench-compare table into an SVG"
python3 Scripts/bench-chart.py Docs/bench/2026-12-01.txt > /tmp/weft-bench-chart.svg
[[ $(grep -c "<rect" /tmp/weft-bench-chart.svg) -ge 10 ]] || { echo "bench-chart.py drew no bars"; exit 1; }
