#!/usr/bin/env bash
# Runs the Weft benchmarks (weft-bench) and their Go counterparts (Scripts/go) with the same
# arguments, one after the other, and prints a comparison table (shared/BENCHMARKS.md).
#
# Usage: Scripts/bench-compare.sh [WORKLOAD ...] [--workers N] [key=value ...]
#
# The raw benchmark lines and build output go to stderr; the table goes to stdout.
# Exit status: non-zero if either side printed check=FAIL or exited non-zero.
#
# Environment:
#   WEFT_BENCH_OUTPUT=path  read the Weft lines from this file instead of building and running
#                           weft-bench (to test the table, or to reuse an earlier run)
#   GO_BENCH_OUTPUT=path    the same for the Go lines
#   GO=path                 the go command (default: go)
#
# Ratio column: Go ns_per_op / Weft ns_per_op, so > 1 means Weft is faster. Rows are matched on
# the workload name plus its parameters (every key=value field except ns_per_op, total_ms,
# check and the extra fields spawns, items_per_s, bytes_per_task, base_rss_kb, peak_rss_kb,
# p50_us, p99_us, mb_per_s).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go_cmd=${GO:-go}

weft_rc=0
if [[ -n ${WEFT_BENCH_OUTPUT:-} ]]; then
  cp "$WEFT_BENCH_OUTPUT" "$tmp/weft.txt"
  weft_src="file $WEFT_BENCH_OUTPUT"
else
  (cd "$root" && swift build -c release --product weft-bench) >&2
  echo "== weft-bench $*" >&2
  (cd "$root" && .build/release/weft-bench "$@") | tee "$tmp/weft.txt" >&2 || weft_rc=$?
  weft_src=".build/release/weft-bench"
fi

go_rc=0
if [[ -n ${GO_BENCH_OUTPUT:-} ]]; then
  cp "$GO_BENCH_OUTPUT" "$tmp/go.txt"
  go_src="file $GO_BENCH_OUTPUT"
else
  (cd "$root/Scripts/go" && GOPROXY=off "$go_cmd" build -o gobench .) >&2
  echo "== Scripts/go/gobench $*" >&2
  "$root/Scripts/go/gobench" "$@" | tee "$tmp/go.txt" >&2 || go_rc=$?
  go_src="Scripts/go/gobench"
fi

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
swift_version=$(swift --version 2>/dev/null | head -n 1 || true)
go_version=$("$go_cmd" version 2>/dev/null || true)

echo "Weft vs Go, one run each, same machine (ratio = Go/Weft; > 1 means Weft faster)"
echo "machine: ${cpu:-unknown CPU}, $(nproc) cores (nproc)"
echo "swift:   ${swift_version:-unknown} (-c release; lines from $weft_src)"
echo "go:      ${go_version:-unknown} (lines from $go_src)"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "args:    ${*:-(none: all workloads)}"
echo

{ sed 's/^/weft /' "$tmp/weft.txt"; sed 's/^/go /' "$tmp/go.txt"; } | awk -v failfile="$tmp/fails" '
  BEGIN {
    split("ns_per_op total_ms check spawns items_per_s bytes_per_task base_rss_kb peak_rss_kb p50_us p99_us p999_us max_us mb_per_s", x, " ")
    for (i in x) notkey[x[i]] = 1
  }
  # Only result lines: "<side> <name> k=v ... ns_per_op=... total_ms=... check=..."
  $NF !~ /^check=/ || $0 !~ / ns_per_op=/ { next }
  {
    side = $1; key = $2; ns = ""; bpt = ""; chk = ""
    for (i = 3; i <= NF; i++) {
      eq = index($i, "="); if (eq == 0) continue
      k = substr($i, 1, eq - 1); v = substr($i, eq + 1)
      if (k == "ns_per_op") ns = v
      else if (k == "bytes_per_task") bpt = v
      else if (k == "check") chk = v
      if (!(k in notkey)) key = key " " $i
    }
    if (!(key in seen)) { seen[key] = 1; order[++n] = key }
    nsv[side, key] = ns
    if (bpt != "") bytes[side, key] = bpt
    if (chk != "OK") { failed[side, key] = 1; nfail++ }
  }
  function cell(side, key) {
    if (!((side, key) in nsv)) return "-"
    return sprintf("%.1f%s", nsv[side, key], ((side, key) in failed) ? " FAIL" : "")
  }
  END {
    w = 8
    for (i = 1; i <= n; i++) if (length(order[i]) > w) w = length(order[i])
    fmt = "%-" w "s  %14s  %14s  %9s\n"
    printf fmt, "workload", "weft ns/op", "go ns/op", "go/weft"
    for (i = 1; i <= n; i++) {
      k = order[i]
      ratio = "-"
      if ((("weft", k) in nsv) && (("go", k) in nsv) && nsv["weft", k] + 0 > 0)
        ratio = sprintf("%.2f", nsv["go", k] / nsv["weft", k])
      printf fmt, k, cell("weft", k), cell("go", k), ratio
    }
    for (i = 1; i <= n; i++) {
      k = order[i]
      if (k !~ /^many_waiters_memory/) continue
      printf "\n%s: bytes_per_task weft=%s go=%s\n", k, \
        (("weft", k) in bytes) ? bytes["weft", k] : "-", \
        (("go", k) in bytes) ? bytes["go", k] : "-"
    }
    print nfail + 0 > failfile
  }'
fails=$(cat "$tmp/fails")

for side in weft go; do
  if ! grep -q ' ns_per_op=.* check=' "$tmp/$side.txt"; then
    echo "warning: no result lines from the $side side" >&2
  fi
done

status=0
if [[ $fails -gt 0 ]]; then
  echo "error: $fails result line(s) with check=FAIL" >&2
  status=1
fi
if [[ $weft_rc -ne 0 ]]; then
  echo "error: weft-bench exited with status $weft_rc" >&2
  status=1
fi
if [[ $go_rc -ne 0 ]]; then
  echo "error: the Go benchmark exited with status $go_rc" >&2
  status=1
fi
exit $status
