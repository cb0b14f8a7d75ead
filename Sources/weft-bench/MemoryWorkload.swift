import Weft

/// Memory of the first (cold) pass; the timed pass reuses pooled stacks, so the honest
/// figure is the one measured before any stack was cached (Docs/Benchmarks.md).
nonisolated(unsafe) var coldMemory: (base: Int, peak: Int)? = nil

/// many_waiters_memory: n fibers block on one shared Event; once all have started and are
/// parking, read peak RSS minus RSS before; then notify the event and wait for all.
let manyWaitersMemory = Workload(name: "many_waiters_memory", defaults: [("n", "100000")]) { s, p in
  let n = p.int("n")
  resetPeakResident()
  let base = residentKiB("VmRSS")
  let release = Event()
  let started = Counter()
  let woke = Counter()
  let peak = try onFiber(s) { () -> Int in
    var fibers: [Fiber<Void>] = []
    fibers.reserveCapacity(n)
    for _ in 0..<n { fibers.append(spawn { started.increment(); try release.wait(); woke.increment() }) }
    while started.value < n { yield() }
    let peak = residentKiB("VmHWM")
    release.notify()
    for f in fibers { try f.wait() }
    return peak
  }
  if coldMemory == nil { coldMemory = (base, peak) }
  let m = coldMemory!
  let perTask = (m.peak - m.base) * 1024 / max(n, 1)
  return Outcome(operations: Double(n), ok: woke.value == n,
                 extra: [("bytes_per_task", "\(perTask)"), ("base_rss_kb", "\(m.base)"), ("peak_rss_kb", "\(m.peak)")])
}
