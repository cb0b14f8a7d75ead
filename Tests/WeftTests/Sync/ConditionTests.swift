import Foundation
import Testing
@testable import Weft

@Suite struct SyncConditionTests {
  struct Failure: Error, Equatable { let code: Int }

  /// wait returns the value passed to notify; notify returns how many it woke.
  @Test func waitReturnsNotifiedValue() throws {
    let (got, woken) = try onScheduler(threads: 2) { () -> (Int?, Int) in
      let c = Weft.Condition()
      let waiter = spawn(sticky: true) { try c.wait() as? Int }
      while c.waiterCount == 0 { yield() }
      let n = c.notify(value: 7)
      return (try waiter.fetch(), n)
    }
    #expect(got == 7)
    #expect(woken == 1)
  }

  /// Julia's isempty(c): true with no waiter, false while one waits, true again once the
  /// notify took it.
  @Test func isEmptyWhileNoFiberWaits() throws {
    let seen = try onScheduler(threads: 2) { () -> [Bool] in
      let c = Weft.Condition()
      var seen = [c.isEmpty]
      let waiter = spawn(sticky: true) { _ = try c.wait() }
      while c.isEmpty { yield() }  // the sticky waiter runs on this worker: parked once registered
      seen.append(c.isEmpty)
      seen.append(c.waiterCount == 1)
      c.notify()
      seen.append(c.isEmpty)
      try waiter.wait()
      return seen
    }
    #expect(seen == [true, false, true, true])
  }

  /// Edge-triggered: a notify with nobody waiting is lost and returns 0.
  @Test func notifyWithoutWaitersIsLost() throws {
    let result = try onScheduler(threads: 2) { () -> [Int] in
      let c = Weft.Condition()
      var out = [c.notify(), c.notify(value: 1, all: false)]
      let waiter = spawn(sticky: true) { try c.wait() as? String }
      while c.waiterCount == 0 { yield() }
      out.append(waiter.isDone ? 1 : 0)  // the earlier notifies did not release it
      out.append(c.notify(value: "late"))
      _ = try waiter.fetch()
      return out
    }
    #expect(result == [0, 0, 0, 1])
  }

  /// notify(all: false) wakes the first waiter only; all: true (the default) the rest;
  /// wait(first: true) jumps the queue.
  @Test func notifyOneAllAndFirst() throws {
    let order = try onScheduler(threads: 2) { () -> [String] in
      let c = Weft.Condition()
      let rec = LineRecorder()
      var fs: [Fiber<Void>] = []
      for name in ["a", "b"] {
        fs.append(spawn(sticky: true) { let v = try c.wait() as? Int; rec.record("\(name)\(v ?? -1)") })
        while c.waiterCount < fs.count { yield() }
      }
      fs.append(spawn(sticky: true) { let v = try c.wait(first: true) as? Int; rec.record("first\(v ?? -1)") })
      while c.waiterCount < 3 { yield() }
      #expect(c.notify(value: 1, all: false) == 1)
      while rec.all.count < 1 { yield() }
      #expect(c.notify(value: 2) == 2)
      for f in fs { try f.wait() }
      return rec.all
    }
    #expect(order == ["first1", "a2", "b2"])
  }

  @Test func notifyErrorIsThrownByWaiters() throws {
    let caught = try onScheduler(threads: 2) { () -> [Failure?] in
      let c = Weft.Condition()
      let fs = (0..<3).map { _ in
        spawn(sticky: true) { () -> Failure? in
          do { try c.wait(); return nil } catch let e as Failure { return e }
        }
      }
      while c.waiterCount < 3 { yield() }
      #expect(c.notify(error: Failure(code: 5)) == 3)
      return try fs.map { try $0.fetch() }
    }
    #expect(caught == [Failure(code: 5), Failure(code: 5), Failure(code: 5)])
  }

  /// The level-triggered pattern on a Condition (state + loop), thousands of rounds, with the
  /// waiter and notifier on one worker and another worker busy with unrelated fibers: no
  /// notification is lost.
  @Test func notifyRacingWaitOnOneWorker() throws {
    let rounds = syncScaled(20_000)
    let done = try onScheduler(threads: 2) { () -> Int in
      let c = Weft.Condition()
      let turn = UnsafeBox(0)  // confined to this worker, like the Condition
      let noise = (0..<4).map { _ in spawn { for _ in 0..<2_000 { yield() } } }
      let ping = spawn(sticky: true) {
        for i in 0..<rounds {
          while turn.value != 2 * i { try c.wait() }
          turn.value += 1
          c.notify()
          if i % 7 == 0 { yield() }
        }
      }
      let pong = spawn(sticky: true) {
        for i in 0..<rounds {
          while turn.value != 2 * i + 1 { try c.wait() }
          turn.value += 1
          c.notify()
        }
      }
      try ping.wait()
      try pong.wait()
      for f in noise { try f.wait() }
      return turn.value
    }
    #expect(done == 2 * rounds)
  }

  /// A non-worker thread can be a Condition's thread too (it binds on first use).
  @Test func bindsToANonWorkerThread() {
    let c = Weft.Condition()
    #expect(c.notify() == 0)  // binds to this thread
    #expect(c.notify(value: 1, all: false) == 0)
    #expect(c.notify(error: Failure(code: 1)) == 0)
  }

  @Test func useFromASecondWorkerIsMisuse() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let s = Scheduler(threads: 2)
      let c = Weft.Condition()
      _ = c.notify()  // binds to this (non-worker) thread
      _ = try? s.spawn { c.notify() }.fetch()
    }
    #expect(standardError(result).contains("Weft misuse: Condition.notify(value:all:) called on worker"))
    #expect(standardError(result).contains("use Threads.Condition"))
  }

  @Test func waitFromAnotherThreadIsMisuse() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let s = Scheduler(threads: 1)
      let c = Weft.Condition()
      _ = try? s.spawn { c.notify() }.fetch()  // binds to worker 1
      _ = try? c.wait()
    }
    #expect(standardError(result).contains("Weft misuse: Condition.wait() called on a thread that is not a Weft worker (thread fiber "))
    #expect(standardError(result).contains("but this Condition is used on worker 1"))
  }

  /// Two non-worker threads: the message tells them apart (by thread fiber) and names the fix.
  @Test func useFromTwoNonWorkerThreadsNamesBoth() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let c = Weft.Condition()
      _ = c.notify()  // binds to this (non-worker) thread
      let mine = AnyFiber.currentContext.id
      FileHandle.standardError.write(Data("bound by thread fiber \(mine)\n".utf8))
      _ = try? onNewThread { c.notify() }
    }
    let text = standardError(result)
    let bound = text.split(separator: "\n").first { $0.hasPrefix("bound by thread fiber ") }.map { $0.dropFirst(22) } ?? "?"
    #expect(text.contains("Weft misuse: Condition.notify(value:all:) called on a thread that is not a Weft worker (thread fiber "))
    #expect(text.contains("but this Condition is used on another thread that is not a Weft worker (thread fiber \(bound))"))
    #expect(text.contains("use Threads.Condition"))
  }
}
