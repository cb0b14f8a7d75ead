import Weft
import WeftNet
#if canImport(Glibc)
import Glibc
#endif

// The I/O workloads of issue 10 (and their Go twins in Scripts/go/io.go): an in-process echo
// server with a fiber per connection on loopback, and clients on the same scheduler.

/// Starts an echo server on `s` (127.0.0.1, any port); returns the listener (close it to stop).
private func startEchoServer() throws -> TCPListener {
  let l = try TCPListener.listen(host: "127.0.0.1", port: 0, backlog: 4096)
  spawn { () -> Void in
    while true {
      guard let c = try? l.accept() else { return }
      c.noDelay = true
      spawn { () -> Void in
        defer { c.close() }
        var buf = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
          guard let n = try? buf.withUnsafeMutableBytes({ try c.read(into: $0) }), n > 0 else { return }
          guard (try? buf.withUnsafeBytes({ try c.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) })) != nil else { return }
        }
      }
    }
  }
  return l
}

/// Percentile `p` (0…1) of `xs` (sorted in place), in µs from ns.
func percentileMicros(_ xs: inout [UInt64], _ p: Double) -> String {
  if xs.isEmpty { return "0" }
  xs.sort()
  let i = min(xs.count - 1, Int(Double(xs.count) * p))
  return String(format2: Double(xs[i]) / 1000)
}

@inline(__always) func nowNs() -> UInt64 {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Round trips of `size`-byte messages on `conns` connections, `rounds` each; latencies in ns.
private func echoRoundTrips(conns: Int, rounds: Int, size: Int) throws -> (ok: Bool, latencies: [UInt64]) {
  let l = try startEchoServer()
  defer { l.close() }
  let port = l.port
  let fibers = (0..<conns).map { k in spawn { () throws -> (Bool, [UInt64]) in
    let s = try TCPStream.connect(host: "127.0.0.1", port: port, timeout: .seconds(60))
    defer { s.close() }
    s.noDelay = true
    var msg = [UInt8](repeating: UInt8(truncatingIfNeeded: k), count: size)
    var back = [UInt8](repeating: 0, count: size)
    var lat = [UInt64]()
    lat.reserveCapacity(rounds)
    var ok = true
    for i in 0..<rounds {
      msg[0] = UInt8(truncatingIfNeeded: i)
      let t0 = nowNs()
      try s.write(msg)
      var got = 0
      while got < size {
        let n = try back.withUnsafeMutableBytes { try s.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[got...])) }
        if n == 0 { return (false, lat) }
        got += n
      }
      lat.append(nowNs() - t0)
      if back != msg { ok = false }
    }
    return (ok, lat)
  } }
  var ok = true, all: [UInt64] = []
  for f in fibers {
    let (o, lat) = try f.fetch()
    ok = ok && o
    all += lat
  }
  return (ok, all)
}

/// echo_rtt: one connection, `rounds` round trips of `size` bytes; p50/p99 latency.
let echoRTT = Workload(name: "echo_rtt", defaults: [("conns", "1"), ("rounds", "100000"), ("size", "64")]) { s, p in
  let (rounds, size) = (p.int("rounds"), p.int("size"))
  var (ok, lat) = try onFiber(s) { try echoRoundTrips(conns: 1, rounds: rounds, size: size) }
  return Outcome(operations: Double(rounds), ok: ok && lat.count == rounds,
                 extra: [("p50_us", percentileMicros(&lat, 0.5)), ("p99_us", percentileMicros(&lat, 0.99)),
                         ("p999_us", percentileMicros(&lat, 0.999)), ("max_us", percentileMicros(&lat, 1))])
}

/// echo_concurrent: `conns` connections × `rounds` round trips at once.
let echoConcurrent = Workload(name: "echo_concurrent", defaults: [("conns", "1000"), ("rounds", "100"), ("size", "64")]) { s, p in
  let (conns, rounds, size) = (p.int("conns"), p.int("rounds"), p.int("size"))
  var (ok, lat) = try onFiber(s) { try echoRoundTrips(conns: conns, rounds: rounds, size: size) }
  return Outcome(operations: Double(conns * rounds), ok: ok && lat.count == conns * rounds,
                 extra: [("p50_us", percentileMicros(&lat, 0.5)), ("p99_us", percentileMicros(&lat, 0.99))])
}

/// echo_stream: `conns` connections each stream `messages` messages of `size` bytes through the
/// echo server (a writer fiber and a reader fiber per connection); MB/s one way.
let echoStream = Workload(name: "echo_stream", defaults: [("conns", "4"), ("messages", "50000"), ("size", "512")]) { s, p in
  let (conns, messages, size) = (p.int("conns"), p.int("messages"), p.int("size"))
  let t0 = monotonicSeconds()
  let ok = try onFiber(s) { () throws -> Bool in
    let l = try startEchoServer()
    defer { l.close() }
    let port = l.port
    let fibers = (0..<conns).map { k in spawn { () throws -> Bool in
      let c = try TCPStream.connect(host: "127.0.0.1", port: port, timeout: .seconds(60))
      defer { c.close() }
      let msg = [UInt8](repeating: UInt8(truncatingIfNeeded: k), count: size)
      let writer = spawn { () throws -> Void in for _ in 0..<messages { try c.write(msg) } }
      var total = 0
      var good = true
      var buf = [UInt8](repeating: 0, count: 64 * 1024)
      while total < messages * size {
        let n = try buf.withUnsafeMutableBytes { try c.read(into: $0) }
        if n == 0 { return false }
        if buf[0] != UInt8(truncatingIfNeeded: k) || buf[n - 1] != UInt8(truncatingIfNeeded: k) { good = false }
        total += n
      }
      try writer.wait()
      return good && total == messages * size
    } }
    return try fibers.allSatisfy { try $0.fetch() }
  }
  let seconds = monotonicSeconds() - t0
  let mb = Double(conns * messages * size) / 1e6
  return Outcome(operations: Double(conns * messages), ok: ok, extra: [("mb_per_s", String(format2: mb / seconds))])
}

/// io_wake_latency: a plain thread writes one byte to a pipe every ~2 ms; a fiber reads it and
/// records write→read latency while `busy` fibers busy-loop (calling yield()) on the workers.
/// busy=all: every worker computes, so only the reactor's monitor polls (target p99 < 15 ms);
/// busy=all-but-one: one worker is idle and blocks in epoll (target p99 < 1 ms).
let ioWakeLatency = Workload(
  name: "io_wake_latency", defaults: [("busy", "all,all-but-one"), ("rounds", "200"), ("interval_us", "2000")],
  run: { s, p in
    let rounds = p.int("rounds")
    let interval = UInt32(p.int("interval_us"))
    let workers = s.threadCount()
    let busy = p.string("busy") == "all" ? workers : max(0, workers - 1)
    var lat = try onFiber(s) { () throws -> [UInt64] in
      let (r, w) = try PipeEnd.makePipe()
      defer { r.close(); w.close() }
      let stop = StopFlag()
      let spinners = (0..<busy).map { _ in spawn { while !stop.isSet { yield() } } }
      let sent = TimeBox()
      let writer = Thread0 {
        for _ in 0..<rounds {
          usleep(interval)
          sent.store(nowNs())
          try? w.write([1])
        }
      }
      var lat: [UInt64] = []
      for _ in 0..<rounds {
        let b = try r.read(upTo: 1)
        if b.isEmpty { break }
        lat.append(nowNs() &- sent.load())
      }
      stop.set()
      for f in spinners { try f.wait() }
      writer.join()
      return lat
    }
    let n = lat.count
    return Outcome(operations: Double(n), ok: n == rounds,
                   extra: [("p50_us", percentileMicros(&lat, 0.5)), ("p99_us", percentileMicros(&lat, 0.99))])
  },
  variants: { p in p.string("busy").split(separator: ",").map { p.with("busy", String($0)) } })

let ioWorkloads: [Workload] = [echoRTT, echoConcurrent, echoStream, ioWakeLatency]

/// A flag set once (read by busy fibers; a plain load would be a data race).
final class StopFlag: @unchecked Sendable {
  // SAFETY: accessed only under `m`.
  private var m = pthread_mutex_t()
  private var v = false
  init() { pthread_mutex_init(&m, nil) }
  var isSet: Bool { pthread_mutex_lock(&m); defer { pthread_mutex_unlock(&m) }; return v }
  func set() { pthread_mutex_lock(&m); v = true; pthread_mutex_unlock(&m) }
}

/// The send time of the last byte (written by the writer thread before the byte, read after it).
final class TimeBox: @unchecked Sendable {
  // SAFETY: accessed only under `m`.
  private var m = pthread_mutex_t()
  private var v: UInt64 = 0
  init() { pthread_mutex_init(&m, nil) }
  func store(_ x: UInt64) { pthread_mutex_lock(&m); v = x; pthread_mutex_unlock(&m) }
  func load() -> UInt64 { pthread_mutex_lock(&m); defer { pthread_mutex_unlock(&m) }; return v }
}

/// A joinable OS thread (not a worker).
final class Thread0: @unchecked Sendable {
  // SAFETY: `t` is written once in init, read by join.
  private var t = pthread_t()
  init(_ body: @escaping @Sendable () -> Void) {
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    pthread_create(&t, nil, { arg in
      let b = Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue()
      b.body()
      return nil
    }, box)
  }
  func join() { pthread_join(t, nil) }
  private final class Box { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
}
