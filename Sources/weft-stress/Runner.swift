import Weft
#if canImport(Glibc)
import Glibc
#endif

/// The result of running one scenario.
struct Outcome {
  let name: String
  var rounds = 0
  var ops = 0
  var invariants = 0
  var seconds = 0.0
  var failures: [String] = []
  var failureCount = 0
  var failedRound: Int? = nil
  /// Resident set (KiB) after the first round, at half time and at the end (soak mode).
  var rss: (start: Int, middle: Int, end: Int)? = nil
  var rssLimitKiB = 0
  var notes: [(String, Int)] = []
  var passed: Bool { failureCount == 0 }
}

/// Soak mode fails when the resident set grows by more than this between the middle and the
/// end of a scenario: 8 MiB plus 5% of the middle reading (Docs/Testing.md, "Soak").
func soakGrowthLimitKiB(middle: Int) -> Int { 8 * 1024 + middle / 20 }

/// Runs rounds of `scenario` until `options.duration` is spent (at least one round) or a
/// check fails; after each round, checks that every fiber of the round has finished.
func run(_ scenario: Scenario, options: Options, scheduler: Scheduler) -> Outcome {
  var out = Outcome(name: scenario.name)
  let failures = Failures(trap: options.trap)
  let ops = Tally(), invariants = Tally(), notes = Notes()
  let scenarioSeed = StressRandom.derive(options.seed, StressRandom.hash(scenario.name))
  let start = nowSeconds()
  var rssStart = 0, rssMiddle: Int? = nil
  repeat {
    let index = options.round ?? out.rounds
    Watchdog.setActivity(.init(scenario: scenario.name, round: index, rerun: options.rerunCommand(scenario.name, round: index)))
    let round = Round(scheduler: scheduler, index: index, seed: StressRandom.derive(scenarioSeed, UInt64(index)),
                      scale: options.scale, workers: options.workers, interactive: options.interactive, failures: failures, ops: ops,
                      invariants: invariants, notes: notes)
    do {
      try scenario.round(round)
    } catch {
      failures.record("round \(index) threw \(error)")
    }
    awaitDrained(scheduler, failures: failures, invariants: invariants)
    Progress.bump()
    out.rounds += 1
    if !failures.isEmpty { out.failedRound = index; break }
    if options.soak {
      if out.rounds == 1 { releaseFreeHeap(); rssStart = residentKiB() }
      if rssMiddle == nil && nowSeconds() - start >= options.duration / 2 { releaseFreeHeap(); rssMiddle = residentKiB() }
    }
  } while nowSeconds() - start < options.duration
  if failures.isEmpty { scenario.conclude?(notes, failures, options.workers) }
  out.seconds = nowSeconds() - start
  if options.soak {
    releaseFreeHeap()
    let end = residentKiB()
    let middle = rssMiddle ?? rssStart
    out.rss = (rssStart, middle, end)
    out.rssLimitKiB = soakGrowthLimitKiB(middle: middle)
    invariants.add()
    if end - middle > out.rssLimitKiB {
      failures.record("resident memory grew from \(mebibytes(middle)) at half time to \(mebibytes(end)) at the end "
        + "(limit +\(mebibytes(out.rssLimitKiB))): something leaks (fibers, stacks or queue nodes)")
    }
  }
  out.ops = ops.total
  out.invariants = invariants.total
  out.failures = failures.messages
  out.failureCount = failures.count
  out.notes = notes.all
  return out
}

/// Every fiber a round started must have finished once the round has joined them: waits
/// (polling, bounded) until the scheduler's live-fiber count is 0. A fiber leaves the count
/// just after waking its joiners, so a short wait is normal. Needs fiber tracking.
private func awaitDrained(_ scheduler: Scheduler, failures: Failures, invariants: Tally) {
  guard scheduler.tracksFibers else { return }
  invariants.add()
  let deadline = nowSeconds() + 5
  while let n = scheduler.liveFiberCount, n > 0 {
    if nowSeconds() > deadline {
      failures.record("\(n) fibers still live 5 s after the round joined them (lost wake-up or leak):\n"
        + scheduler.stateDump(listLimit: 20))
      return
    }
    sched_yield()
  }
}

/// One summary line: verdict, name, rounds, operations and throughput, invariants, time and
/// the scenario's own figures.
func summaryLine(_ o: Outcome, nameWidth: Int) -> String {
  let name = padded(o.name, nameWidth)
  var line = "\(o.passed ? "PASS" : "FAIL")  \(name)  ops \(grouped(o.ops)) (\(rate(Double(o.ops) / max(o.seconds, 1e-9))))"
    + "  invariants \(grouped(o.invariants))  rounds \(o.rounds)  \(fixed(o.seconds, 2)) s"
  if !o.notes.isEmpty { line += "  " + o.notes.map { "\($0.0)=\(grouped($0.1))" }.joined(separator: " ") }
  if let r = o.rss {
    line += "\n      rss: start \(mebibytes(r.start)), middle \(mebibytes(r.middle)), end \(mebibytes(r.end)) "
      + "(middle→end \(r.end >= r.middle ? "+" : "")\(mebibytes(r.end - r.middle)), limit +\(mebibytes(o.rssLimitKiB)))"
  }
  return line
}
