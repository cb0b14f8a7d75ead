import Foundation
import Testing
@testable import Weft

@Suite struct SyncEventTests {
  /// Level-triggered: waiters block until notify; then every wait returns at once until reset.
  @Test func levelTriggeredNotifyAndReset() throws {
    let log = try onScheduler(threads: 2) { () -> [String] in
      let e = Event()
      let rec = LineRecorder()
      #expect(!e.isSet)
      let waiters = (0..<3).map { i in spawn { try e.wait(); rec.record("w\(i)") } }
      while e.waiterCount < 3 { yield() }
      #expect(rec.all.isEmpty)
      e.notify()
      for w in waiters { try w.wait() }
      #expect(e.isSet)
      try e.wait()  // set: returns at once
      e.notify()  // already set: nothing changes
      e.reset()
      #expect(!e.isSet)
      let late = spawn { try e.wait(); rec.record("late") }
      while e.waiterCount < 1 { yield() }
      #expect(!late.isDone)
      e.notify()
      try late.wait()
      return rec.all.sorted()
    }
    #expect(log == ["late", "w0", "w1", "w2"])
  }

  /// Autoreset: each notify releases at most one waiter; with none waiting, the next wait.
  @Test func autoresetReleasesOneAtATime() throws {
    let counts = try onScheduler(threads: 2) { () -> [Int] in
      let e = Event(autoreset: true)
      e.notify()
      #expect(e.isSet)
      try e.wait()  // consumes the stored notification
      #expect(!e.isSet)
      let released = AtomicCounter()
      let waiters = (0..<3).map { _ in spawn { try e.wait(); released.increment() } }
      while e.waiterCount < 3 { yield() }
      var seen: [Int] = []
      for k in 1...3 {
        e.notify()
        while released.count < k { yield() }
        seen.append(released.count)
        #expect(!e.isSet)
      }
      for w in waiters { try w.wait() }
      return seen
    }
    #expect(counts == [1, 2, 3])
  }

  /// Acquire/release: plain writes before notify are visible after wait (TSan checks this).
  @Test func notifyPublishesWrites() throws {
    let sum = try onScheduler(threads: 2) { () -> Int in
      var total = 0
      for _ in 0..<2_000 {
        let e = Event()
        let box = UnsafeBox<[Int]>([])
        let reader = spawn { () -> Int in try e.wait(); return box.value.reduce(0, +) }
        let writer = spawn { box.value = [1, 2, 3]; e.notify() }
        total += try reader.fetch()
        try writer.wait()
      }
      return total
    }
    #expect(sum == 2_000 * 6)
  }

  /// Two fibers ping-pong over two autoreset Events (the event_ping_pong benchmark): every
  /// round trip completes, none lost.
  @Test func pingPongOverAutoresetEvents() throws {
    let rounds = syncScaled(isDebugBuild ? 40_000 : 200_000)
    let count = try onScheduler(threads: 2) { () -> Int in
      let a = Event(autoreset: true), b = Event(autoreset: true)
      let n = UnsafeBox(0)
      let ping = spawn { for _ in 0..<rounds { a.notify(); try b.wait() } }
      let pong = spawn { for _ in 0..<rounds { try a.wait(); n.value += 1; b.notify() } }
      try ping.wait()
      try pong.wait()
      return n.value
    }
    #expect(count == rounds)
  }

  /// notify racing wait: a fresh Event per round, waiter and notifier spawned on any worker.
  @Test(arguments: [false, true])
  func notifyRacingWait(autoreset: Bool) throws {
    let rounds = syncScaled(5_000)
    let woke = try onScheduler(threads: 3) { () -> Int in
      let woke = AtomicCounter()
      for _ in 0..<rounds {
        let e = Event(autoreset: autoreset)
        let w = spawn { try e.wait(); woke.increment() }
        let n = spawn { e.notify() }
        try w.wait()
        try n.wait()
      }
      return woke.count
    }
    #expect(woke == rounds)
  }

  /// Foundation threads and fibers wait on one Event; a fiber notifies.
  @Test func threadsAndFibersWaitTogether() throws {
    try withWatchdog {
      let e = Event()
      let woke = AtomicCounter()
      let threads = (0..<3).map { _ in JoinableThread { try! e.wait(); woke.increment() } }
      let fibers = (0..<3).map { _ in spawn { try e.wait(); woke.increment() } }
      while e.waiterCount < 6 { yield() }
      try spawn { e.notify() }.wait()
      for t in threads { t.join() }
      for f in fibers { try f.wait() }
      try e.wait()  // the test's own thread: already set
      #expect(woke.count == 6)
    }
  }

  /// Autoreset hand-off between a plain thread and a fiber, many rounds.
  @Test func threadFiberPingPong() throws {
    try withWatchdog {
      let a = Event(autoreset: true), b = Event(autoreset: true)
      let rounds = 2_000
      let pong = spawn { for _ in 0..<rounds { try a.wait(); b.notify() } }
      for _ in 0..<rounds { a.notify(); try b.wait() }
      try pong.wait()
    }
  }

  @Test func waitWithTimeout() throws {
    try withWatchdog { () throws -> Void in
      // From a plain thread.
      let e = Event()
      #expect(throws: TimeoutError.self) { try e.wait(timeout: .milliseconds(5)) }
      #expect(e.waiterCount == 0)
      e.notify()
      try e.wait(timeout: .milliseconds(5))
      #expect(throws: ArgumentError.self) { try e.wait(timeout: .seconds(-1)) }
      try e.wait(timeout: .seconds(Int64.max))  // already set
      // From fibers: one times out, one is notified in time.
      let f = Event(autoreset: true)
      let timedOut = spawn { () -> Bool in
        do { try f.wait(timeout: .milliseconds(5)); return false } catch let t as TimeoutError {
          return t.operation == "Event.wait" && t.timeout == .milliseconds(5)
        }
      }
      #expect(try timedOut.fetch())
      let waiting = spawn { try f.wait(timeout: .seconds(1 << 40)) }  // effectively forever
      while f.waiterCount < 1 { yield() }
      f.notify()
      try waiting.fetch()
      #expect(!f.isSet)  // handed to the waiter, not stored
    }
  }
}
