import Synchronization
import Weft
#if canImport(Glibc)
import Glibc
#endif

/// Process CPU time (user + system), in seconds.
func processCPUSeconds() -> Double {
  var u = rusage()
  getrusage(RUSAGE_SELF.rawValue, &u)
  return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
}

/// idle_cpu: CPU the scheduler burns (1) fully idle for `idle_ms`, and (2) while a fiber
/// spawns an empty fiber every 1 ms for `ms` milliseconds. Idle workers must park.
let idleCPU = Workload(name: "idle_cpu", defaults: [("ms", "500")]) { s, p in
  let ms = p.int("ms")
  // (1) Fully idle: all workers parked.
  let idleStart = processCPUSeconds()
  let t0 = monotonicSeconds()
  while monotonicSeconds() - t0 < Double(ms) / 2000 { usleep(10_000) }
  let idleCPUms = (processCPUSeconds() - idleStart) * 1000
  // (2) A spawn every millisecond.
  let cpu0 = processCPUSeconds()
  let w0 = monotonicSeconds()
  let spawned = try onFiber(s) { () -> Int in
    var n = 0
    let end = monotonicSeconds() + Double(ms) / 1000
    while monotonicSeconds() < end {
      try sleep(seconds: 0.001)
      try spawn {}.wait()
      n += 1
    }
    return n
  }
  let busyPercent = (processCPUSeconds() - cpu0) / (monotonicSeconds() - w0) * 100
  return Outcome(operations: Double(spawned), ok: spawned > 0,
                 extra: [("spawns", "\(spawned)"), ("idle_cpu_ms", "\(String(format2: idleCPUms))"),
                         ("cpu_percent", "\(String(format2: busyPercent))")])
}

/// sleep_accuracy: `sleeps` sleeps of 1 ms while another fiber busy-loops on a worker;
/// reports how late they wake (none may wake early).
let sleepAccuracy = Workload(name: "sleep_accuracy", defaults: [("sleeps", "200")]) { s, p in
  let sleeps = p.int("sleeps")
  let stop = Atomic<Bool>(false)
  let result = try onFiber(s) { () -> (early: Int, mean: Double, max: Double) in
    let hog = spawn { while !stop.load(ordering: .relaxed) {} }
    var early = 0, total = 0.0, worst = 0.0
    for _ in 0..<sleeps {
      let a = monotonicSeconds()
      try sleep(seconds: 0.001)
      let late = (monotonicSeconds() - a - 0.001) * 1e6
      if late < 0 { early += 1 }
      total += late
      worst = max(worst, late)
    }
    stop.store(true, ordering: .relaxed)
    try hog.wait()
    return (early, total / Double(sleeps), worst)
  }
  return Outcome(operations: Double(sleeps), ok: result.early == 0,
                 extra: [("late_us_mean", String(format2: result.mean)), ("late_us_max", String(format2: result.max))])
}

/// fairness: on one worker, two "hog" fibers hand off to each other forever (each wakes the
/// other and waits) while two "light" fibers yield in a loop; the light ones must progress.
let fairness = Workload(name: "fairness", defaults: [("rounds", "100000")]) { _, p in
  let rounds = p.int("rounds")
  let own = Scheduler(threads: 1)
  defer { own.shutdown() }
  let light = Counter()
  let done = Atomic<Bool>(false)
  let ok = try onFiber(own) { () -> Bool in
    let lights = (0..<2).map { _ in spawn { while !done.load(ordering: .relaxed) { light.increment(); yield() } } }
    let partner = Mutex<AnyFiber?>(nil)
    let a = Fiber(sticky: false) { () throws -> Void in
      for _ in 0..<rounds {
        let b = partner.withLock { $0 }!
        schedule(b)
        _ = try wait()
      }
      done.store(true, ordering: .relaxed)
      schedule(partner.withLock { $0 }!, value: -1)
    }
    let b = Fiber(sticky: false) { () throws -> Void in
      while true {
        if (try wait()) as? Int == -1 { return }
        schedule(a)
      }
    }
    partner.withLock { $0 = b }
    schedule(b)
    yield()  // one worker: b runs until it waits, so a's first schedule(b) finds it waiting
    schedule(a)
    try a.wait()
    try b.wait()
    for l in lights { try l.wait() }
    return light.value > 0
  }
  return Outcome(operations: Double(rounds), ok: ok, extra: [("light_progress", "\(light.value)")])
}
