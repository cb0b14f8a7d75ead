import Foundation
import Testing
@testable import Weft

@Suite("Channel manual examples")
struct ChannelExampleTests {
  /// The manual's jobs/results example: a feeder puts 12 job ids, 4 workers take them, "work"
  /// (sleeping is the workload here, not synchronisation) and put (id, time) results; the
  /// main thread takes 12 results. Every job is done exactly once.
  @Test func jobsAndResultsWorkerPool() throws {
    try withWatchdog { () throws in
      let jobs = Channel<Int>(capacity: 32)
      let results = Channel<(Int, Double)>(capacity: 32)
      let n = 12
      @Sendable func doWork() throws {
        for jobID in jobs {
          let execTime = Double(jobID % 3 + 1) / 1000  // 1–3 ms instead of rand() seconds
          try sleep(seconds: execTime)
          try results.put((jobID, execTime))
        }
      }
      errormonitor(spawn(sticky: true) { for i in 1...n { try jobs.put(i) } })
      let workers = (0..<4).map { _ in errormonitor(spawn(sticky: true) { try doWork() }) }
      var done: [Int] = []
      for _ in 0..<n {
        let (jobID, execTime) = try results.take()
        #expect(execTime == Double(jobID % 3 + 1) / 1000)
        done.append(jobID)
      }
      #expect(done.sorted() == Array(1...n))
      jobs.close()
      for w in workers { try w.wait() }
    }
  }

  /// "More on Channels": n instances of `foo` take from c1 and put to c2.
  @Test func pipelineOfTwoChannels() throws {
    try withWatchdog { () throws in
      let c1 = Channel<Int>(capacity: 32), c2 = Channel<Int>(capacity: 32)
      let foos = (0..<4).map { _ in spawn { for data in c1 { try c2.put(data * 10) } } }
      let feeder = spawn { for i in 0..<1000 { try c1.put(i) }; c1.close() }
      var sum = 0
      for _ in 0..<1000 { sum += try c2.take() }
      #expect(sum == 10 * 999 * 1000 / 2)
      try feeder.wait()
      for f in foos { try f.wait() }
    }
  }

  /// Ping-pong over two unbuffered channels, as the benchmark does, between a fiber and a
  /// Foundation thread and between two fibers.
  @Test func pingPong() throws {
    try withWatchdog { () throws in
      let ping = Channel<Int>(), pong = Channel<Int>()
      let echo = spawn { for v in ping { try pong.put(v + 1) } }
      var v = 0
      for _ in 0..<2000 { try ping.put(v); v = try pong.take() }
      ping.close()
      try echo.wait()
      #expect(v == 2000)

      let ping2 = Channel<Int>(), pong2 = Channel<Int>()
      let echo2 = spawn { for v in ping2 { try pong2.put(v + 1) } }
      let driver = spawn { () -> Int in
        var v = 0
        for _ in 0..<20_000 { try ping2.put(v); v = try pong2.take() }
        ping2.close()
        return v
      }
      #expect(try driver.fetch() == 20_000)
      try echo2.wait()
    }
  }

  /// Producers and consumers on a private two-worker scheduler, sticky and migratable mixed.
  @Test func ownSchedulerMixedStickiness() throws {
    let s = Scheduler(threads: 2)
    defer { s.shutdown() }
    try withWatchdog(scheduler: s) { () throws in
      let c = Channel<Int>(capacity: 4)
      let total = try s.spawn { () -> Int in
        let producers = (0..<8).map { p in
          spawn(sticky: p % 2 == 0) { for i in 0..<500 { try c.put(p * 500 + i) } }
        }
        let consumers = (0..<8).map { k in
          spawn(sticky: k % 2 == 1) { () -> Int in var s = 0; for x in c { s += x }; return s }
        }
        for p in producers { try p.wait() }
        c.close()
        return try consumers.reduce(0) { try $0 + $1.fetch() }
      }.fetch()
      #expect(total == 4000 * 3999 / 2)
    }
  }
}
