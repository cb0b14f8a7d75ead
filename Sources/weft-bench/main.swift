import ArgumentParser
import Weft
import WeftCommandLine
import WeftDistributed
#if canImport(Glibc)
import Glibc
#endif

// weft-bench: the workloads of shared/BENCHMARKS.md, one line each:
//   <name> <param>=<value> ... [extra=value ...] ns_per_op=<float> total_ms=<float> check=OK|FAIL

let allWorkloads: [Workload] = [
  spawnMany, skynet, fib(27), fib(30), yieldMany, chainedSpawn, manyWaitersMemory,
  forkJoin(workers: 1), forkJoin(workers: 2), idleCPU, sleepAccuracy, fairness,
] + extraWorkloads

// The distributed workloads start this executable as their worker processes: they must know
// the same functions, and become workers here, before any argument is read (they get none).
registerBenchFunctions()
runWorkerIfLaunched()

let command = WeftBenchCommand.parseOrExit(Array(CommandLine.arguments.dropFirst())) { c in
  try c.arguments.check(against: allWorkloads.map { ($0.name, $0.defaults) })
  return c.arguments
}
let selected = command.workloads, overrides = command.overrides, workers = command.workers

// Self-check, in top-level code on purpose (DESIGN.md): closures written in main.swift are
// main-actor isolated unless @Sendable, and the runtime would trap when one ran on a worker.
// This is README's example; it must run on a worker and return.
@Sendable func readmeFib(_ n: Int) throws -> Int {
  if n < 2 { return n }
  let a = spawn { try readmeFib(n - 1) }
  let b = try readmeFib(n - 2)
  return try a.fetch() + b
}
let selfCheck = try spawn { (try readmeFib(20), Threads.threadid()) }.fetch()
guard selfCheck.0 == 6765, selfCheck.1 > 0 else {
  print("weft-bench: self-check failed: fib(20) = \(selfCheck.0) on thread \(selfCheck.1)")
  exit(1)
}

let scheduler = workers.map { Scheduler(threads: $0) } ?? Scheduler.shared
var failed = false
for w in allWorkloads where selected.isEmpty || selected.contains(w.name) {
  var base = Params(values: [:])
  for (k, v) in w.defaults { base.values[k] = overrides[k] ?? v }
  do {
    try (w.session ?? { _, passes in try passes() })(scheduler) {
      for p in w.variants?(base) ?? [base] {
        do {
          _ = try w.run(scheduler, p)  // warm-up
          let t0 = monotonicSeconds()
          let out = try w.run(scheduler, p)
          let total = out.seconds ?? monotonicSeconds() - t0
          let fields = w.defaults.map { "\($0.0)=\(p.string($0.0))" } + out.extra.map { "\($0.0)=\($0.1)" }
          let nsPerOp = total * 1e9 / max(out.operations, 1)
          print("\(w.name) \(fields.joined(separator: " ")) ns_per_op=\(String(format2: nsPerOp)) total_ms=\(String(format2: total * 1000)) check=\(out.ok ? "OK" : "FAIL")")
          if !out.ok { failed = true }
        } catch {
          print("\(w.name) error=\"\(error)\" check=FAIL")
          failed = true
        }
      }
    }
  } catch {  // the session itself failed (e.g. its worker processes did not start)
    print("\(w.name) error=\"\(error)\" check=FAIL")
    failed = true
  }
}
if workers != nil, scheduler !== Scheduler.shared { scheduler.shutdown() }
exit(failed ? 1 : 0)

/// weft-bench's command line: `BenchArguments`, with help that lists every workload and its
/// parameters.
struct WeftBenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "weft-bench",
    abstract: "Runs the Weft benchmarks of shared/BENCHMARKS.md, one result line each (Docs/Benchmarks.md).",
    discussion: catalog("Workloads (parameters and defaults)", allWorkloads.map { w in
      (w.name, w.defaults.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
    }) + "\n\n"
      + catalog("Exit status", [
        ("0", "every check passed"), ("1", "a check failed"), ("\(usageExitStatus)", "a bad command line"),
      ]))

  @OptionGroup var arguments: BenchArguments
}

extension String {
  init(format2 v: Double) {
    let scaled = (v * 100).rounded() / 100
    self = "\(scaled)"
  }
}
