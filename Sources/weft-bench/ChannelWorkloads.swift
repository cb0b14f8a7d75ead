import Weft

/// The channel workloads of shared/BENCHMARKS.md (registered in Extra.swift).
let channelWorkloads: [Workload] = [pingPong, chanThroughput, asyncMapWorkload]

/// ping_pong: two fibers exchange a counter over two unbuffered channels; ns per round trip.
let pingPong = Workload(name: "ping_pong", defaults: [("rounds", "200000")]) { s, p in
  let rounds = p.int("rounds")
  let v = try onFiber(s) { () -> Int in
    let ping = Channel<Int>(capacity: 0), pong = Channel<Int>(capacity: 0)
    let echo = spawn { for v in ping { try pong.put(v + 1) } }
    var v = 0
    for _ in 0..<rounds {
      try ping.put(v)
      v = try pong.take()
    }
    ping.close()
    try echo.wait()
    return v
  }
  return Outcome(operations: Double(rounds), ok: v == rounds)
}

/// chan_throughput: producers put 0..<items (split in ranges) into one buffered channel,
/// consumers take and sum until it is closed; the sum is checked.
let chanThroughput = Workload(name: "chan_throughput", defaults: [
  ("producers", "4"), ("consumers", "4"), ("capacity", "1024"), ("items", "2000000"),
]) { s, p in
  let producers = p.int("producers"), consumers = p.int("consumers")
  let capacity = p.int("capacity"), items = p.int("items")
  let t0 = monotonicSeconds()
  let total = try onFiber(s) { () -> Int in
    let ch = Channel<Int>(capacity: capacity)
    let ps = (0..<producers).map { i in
      spawn { for v in (i * items / producers)..<((i + 1) * items / producers) { try ch.put(v) } }
    }
    let cs = (0..<consumers).map { _ in
      spawn { () -> Int in
        var sum = 0
        for v in ch { sum &+= v }
        return sum
      }
    }
    for f in ps { try f.wait() }
    ch.close()
    return try cs.reduce(0) { try $0 + $1.fetch() }
  }
  let elapsed = monotonicSeconds() - t0
  let perSecond = Int((Double(items) / elapsed).rounded())
  return Outcome(operations: Double(items),
                 ok: producers > 0 && consumers > 0 && total == items * (items - 1) / 2,
                 extra: [("items_per_s", "\(perSecond)")])
}

/// 600 xorshift64 steps (shifts 13, 7, 17) from i+1: about 1 µs; the same function and count
/// as compute1us in Scripts/go/sync.go.
@inline(never)
func compute1us(_ i: Int) -> UInt64 {
  var x = UInt64(truncatingIfNeeded: i) &+ 1
  for _ in 0..<600 {
    x ^= x << 13
    x ^= x >> 7
    x ^= x << 17
  }
  return x
}

/// asyncmap: asyncMap over 0..<n with ntasks fibers; work=sleep1ms sleeps 1 ms and returns
/// 2i, work=compute1us returns compute1us(i). Results are checked in input order. The default
/// work= lists both variants; work=sleep1ms (or compute1us) narrows to one line.
let asyncMapWorkload: Workload = {
  var w = Workload(name: "asyncmap", defaults: [("work", "sleep1ms,compute1us"), ("n", "10000"), ("ntasks", "100")]) { s, p in
    let n = p.int("n"), ntasks = p.int("ntasks")
    let work = p.string("work")
    let f: @Sendable (Int) throws -> UInt64
    switch work {
    case "sleep1ms": f = { i in try sleep(seconds: 0.001); return UInt64(2 * i) }
    case "compute1us": f = compute1us
    default: throw BenchError("asyncmap: unknown work=\(work) (sleep1ms or compute1us)")
    }
    let t0 = monotonicSeconds()
    let out = try onFiber(s) { try asyncMap(0..<n, ntasks: ntasks, f) }
    let elapsed = monotonicSeconds() - t0
    // The check recomputes every result (for compute1us as long as the work itself), so it
    // is not timed, as in Scripts/go/sync.go.
    var ok = ntasks > 0 && out.count == n
    for (i, v) in out.enumerated() where ok {
      ok = v == (work == "sleep1ms" ? UInt64(2 * i) : compute1us(i))
    }
    return Outcome(operations: Double(n), ok: ok, seconds: elapsed)
  }
  w.variants = { p in p.string("work").split(separator: ",").map { p.with("work", String($0)) } }
  return w
}()

struct BenchError: Error, CustomStringConvertible {
  let description: String
  init(_ d: String) { description = d }
}
