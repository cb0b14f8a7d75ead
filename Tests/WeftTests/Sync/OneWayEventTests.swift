import Foundation
import Testing
@testable import Weft

@Suite struct SyncOneWayEventTests {
  /// The manual's example, with a recorder instead of println, run on a fiber (the sticky child
  /// shares the parent's worker, as `@async` does).
  @Test func manualExampleOnAFiber() throws {
    let lines = try onScheduler(threads: 2) { try Self.manualExample() }
    #expect(lines == ["notifying...", "done"])
  }

  /// The manual's OneWayEvent example; returns the lines it "prints".
  static func manualExample() throws -> [String] {
    let rec = LineRecorder()
    let ev = OneWayEvent()
    try sync {
      spawn(sticky: true) {
        try ev.wait()
        rec.record("done")
      }
      rec.record("notifying...")
      ev.notify()
    }
    return rec.all
  }

  /// The same from a plain thread: there the sticky child runs in parallel and may wait first.
  @Test func manualExampleOnAThread() throws {
    let lines = try withWatchdog { try Self.manualExample() }
    #expect(lines == ["notifying...", "done"])
  }

  @Test func waitAfterNotifyReturnsAtOnce() throws {
    let ev = OneWayEvent()
    #expect(!ev.isNotified)
    ev.notify()
    ev.notify()  // a second notify does nothing
    #expect(ev.isNotified)
    try ev.wait()
    try ev.wait()
  }

  /// The state snapshot: .empty, .waiting while a fiber is parked in wait(), .notifying after
  /// notify (and forever); notify before any wait goes straight to .notifying.
  @Test func stateSnapshots() throws {
    let seen = try onScheduler(threads: 2) { () -> [OneWayEvent.State] in
      let ev = OneWayEvent()
      var seen = [ev.state]
      let waiter = spawn(sticky: true) { try ev.wait() }
      while ev.state == .empty { yield() }  // the sticky waiter shares this worker: it parked
      seen.append(ev.state)
      ev.notify()
      seen.append(ev.state)
      try waiter.wait()
      try ev.wait()
      seen.append(ev.state)
      let early = OneWayEvent()
      early.notify()
      seen.append(early.state)
      return seen
    }
    #expect(seen == [.empty, .waiting, .notifying, .notifying, .notifying])
  }

  /// notify racing wait across workers: thousands of rounds, none lost.
  @Test func notifyRacingWaitStress() throws {
    let rounds = syncScaled(20_000)
    let woke = try onScheduler(threads: 3) { () -> Int in
      let woke = AtomicCounter()
      var pending: [Fiber<Void>] = []
      for i in 0..<rounds {
        let ev = OneWayEvent()
        let w = spawn { try ev.wait(); woke.increment() }
        let n = spawn { if i % 3 == 0 { yield() }; ev.notify() }
        pending.append(w)
        pending.append(n)
        if pending.count >= 64 {
          for f in pending { try f.wait() }
          pending.removeAll(keepingCapacity: true)
        }
      }
      for f in pending { try f.wait() }
      return woke.count
    }
    #expect(woke == rounds)
  }

  /// Plain threads as waiter or notifier.
  @Test func threadsAsWaiterAndNotifier() throws {
    try withWatchdog {
      for _ in 0..<500 {
        let a = OneWayEvent(), b = OneWayEvent()
        let t = JoinableThread { try! a.wait(); b.notify() }
        let f = spawn { a.notify() }
        try b.wait()
        t.join()
        try f.wait()
      }
    }
  }

  @Test func secondWaiterIsMisuse() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let ev = OneWayEvent()
      let first = spawn { try ev.wait() }
      while !first.isStarted { yield() }
      while ev.isNotified == false && first.stateDescription != "parked" { yield() }
      try! ev.wait()
    }
    #expect(standardError(result).contains("Weft misuse: OneWayEvent.wait() while another fiber waits on it"))
  }
}
