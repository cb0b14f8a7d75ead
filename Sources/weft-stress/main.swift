import Weft
import WeftCommandLine
#if canImport(Glibc)
import Glibc
#endif

// weft-stress: runs stress scenarios against the Weft runtime and checks conservation
// (Docs/Testing.md). One summary line per scenario, then a verdict and the scheduler's
// metrics over the run (Scheduler.metrics); exit status 0 when every
// scenario passed, 1 when one failed, 2 for bad arguments, 3 when the watchdog fired.

let (options, scenarios) = parseCommandLine(Array(CommandLine.arguments.dropFirst()))
let width = allScenarios.map(\.name.count).max() ?? 10

if options.list {
  for s in allScenarios { print(padded(s.name, width) + "  " + s.checks) }
  exit(0)
}

let scheduler = Scheduler(threads: options.workers, interactiveThreads: options.interactive, trackFibers: options.trackFibers)
print("weft-stress: \(scenarios.count) scenario\(scenarios.count == 1 ? "" : "s"), \(trimmed(options.duration)) s each, "
  + "scale \(trimmed(options.scale)), \(options.workers)+\(options.interactive) workers (default+interactive), seed \(options.seed)"
  + (options.round.map { ", round \($0) only" } ?? "") + (options.soak ? ", soak mode" : "")
  + ", watchdog \(trimmed(options.watchdog)) s" + (options.trackFibers ? "" : ", fibers not tracked"))
flushOutput()
Watchdog.start(scheduler: scheduler, seconds: options.watchdog)

let runStart = nowSeconds()
var failed: [Outcome] = []
for s in scenarios {
  let o = run(s, options: options, scheduler: scheduler)
  print(summaryLine(o, nameWidth: width))
  if !o.passed {
    failed.append(o)
    for m in o.failures { print("      " + m.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n      ")) }
    if o.failureCount > o.failures.count { print("      … \(o.failureCount - o.failures.count) more failures") }
    print("      seed \(options.seed), round \(o.failedRound.map(String.init) ?? "?"); rerun: "
      + options.rerunCommand(s.name, round: o.failedRound))
  }
  flushOutput()
}
let total = nowSeconds() - runStart
if failed.isEmpty {
  print("weft-stress: PASS: \(scenarios.count) of \(scenarios.count) scenarios passed in \(fixed(total, 1)) s (seed \(options.seed))")
} else {
  print("weft-stress: FAIL: \(failed.count) of \(scenarios.count) scenarios failed (\(failed.map(\.name).joined(separator: ", "))); "
    + "seed \(options.seed)")
}
// The scheduler's counters over the whole run (Scheduler.metrics), one compact block.
print(scheduler.metrics.description.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
flushOutput()
exit(failed.isEmpty ? 0 : 1)
