/// A readable snapshot of a scheduler, for people debugging a hang (and for watchdogs).
///
/// Figures are read without stopping the workers, so they are approximate (each is a single
/// atomic read) but never block.
extension Scheduler {
  public func stateDump() -> String {
    var lines: [String] = []
    let shared = self === Scheduler.sharedIfStarted ? " (shared)" : ""
    lines.append("Weft scheduler\(shared): \(workers.count) workers, \(timers.count) timers pending, "
      + "stacks: \(stackStatistics.guarded) guarded mapped, \(stackStatistics.slabs) slabs, \(stackStatistics.cached) cached")
    for p in pools where !p.workers.isEmpty {
      let c = p.idle.counts
      lines.append("  pool \(p.kind): \(p.workers.count) workers, \(c.unparked) unparked, \(c.searching) searching, injector \(p.injector.approximateCount)")
      for w in p.workers {
        let status = Worker.Status(rawValue: w.status.loadAcquire()).map { "\($0)" } ?? "?"
        lines.append("    worker \(w.index + 1): \(status), deque \(w.deque.approximateCount), sticky inbox \(w.inbox.approximateCount), run-next \(w.hasRunNext ? 1 : 0)")
      }
    }
    return lines.joined(separator: "\n")
  }
}
