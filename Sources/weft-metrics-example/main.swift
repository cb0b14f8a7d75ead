import CoreMetrics
import Weft
import WeftMetrics

// weft-metrics-example: exports a scheduler's metrics through swift-metrics while a small
// workload runs, printing the backend's values after each phase, then exits.
//
//   swift run weft-metrics-example

let backend = PrintingMetricsFactory()
MetricsSystem.bootstrap(backend)

let scheduler = Scheduler(threads: 2)
let reporter = WeftMetricsReporter(scheduler: scheduler, interval: .milliseconds(100),
                                   dimensions: [("scheduler", "example")])
reporter.start()

func phase(_ name: String, _ work: () throws -> Void) rethrows {
  try work()
  reporter.report()  // also reported every 100 ms in the background
  print("== after \(name)")
  print(backend.render())
  print()
}

try phase("10,000 spawns and joins") {
  let fibers = (0..<10_000).map { i in scheduler.spawn { i &* 2 } }
  for f in fibers { _ = try f.fetch() }
}

let gate = Event()
let blocked = (0..<100).map { _ in scheduler.spawn { try gate.wait() } }
try phase("100 fibers blocked on an Event, 10 sleepers") {
  let sleepers = (0..<10).map { _ in scheduler.spawn { try sleep(for: .milliseconds(20)) } }
  for s in sleepers { try s.wait() }
  while scheduler.metrics.fibersParked < 100 { try sleep(for: .milliseconds(1)) }
}

try phase("the Event notified") {
  gate.notify()
  for f in blocked { try f.wait() }
}

reporter.stop()
print(scheduler.metrics)
scheduler.shutdown()
