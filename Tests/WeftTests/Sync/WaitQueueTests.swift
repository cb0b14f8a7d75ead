import Foundation
import Testing
@testable import Weft

@Suite struct SyncWaitQueueTests {
  /// Park/wake through the queue from fibers and from the test's own thread.
  @Test func parkAndWakeFibersAndThreads() throws {
    try withWatchdog {
      let q = WaitQueue()
      let woke = AtomicCounter()
      let fibers = (0..<4).map { _ in
        spawn { let me = AnyFiber.currentContext; q.lock(); #expect(q.parkUnlocking(me, reason: "test") == nil); woke.increment() }
      }
      let thread = JoinableThread {
        let me = AnyFiber.currentContext
        q.lock()
        #expect(q.parkUnlocking(me, reason: "test") == nil)
        woke.increment()
      }
      while q.withLockedCount() < 5 { yield() }
      q.lock()
      var all = q.dequeueAll()
      q.unlock()
      #expect(all.count == 5)
      WaitQueue.wakeAll(&all)
      for f in fibers { try f.wait() }
      thread.join()
      #expect(woke.count == 5)
    }
  }

  /// A timed wait that nobody notifies times out and leaves the queue, running the owner's
  /// hook under the lock; a notified one reports nil.
  @Test func timedWaitTimesOutOrIsNotified() throws {
    try withWatchdog { () throws -> Void in
      let hookRan = AtomicCounter()
      let q = WaitQueue(afterUnlink: { _ in hookRan.increment() })
      let timeout = spawn { () -> Bool in
        let me = AnyFiber.currentContext
        q.lock()
        return q.parkUnlocking(me, reason: "test", deadline: monotonicNanoseconds() + 2_000_000).isTimedOut
      }
      #expect(try timeout.fetch())
      #expect(hookRan.count == 1)
      #expect(q.withLockedCount() == 0)

      let notified = spawn { () -> Bool in
        let me = AnyFiber.currentContext
        q.lock()
        return q.parkUnlocking(me, reason: "test", deadline: monotonicNanoseconds() + 60_000_000_000) == nil
      }
      while q.withLockedCount() < 1 { yield() }
      q.lock()
      let f = q.dequeue()
      q.unlock()
      f?.wake()
      #expect(try notified.fetch())

      // The same from a plain thread (its thread fiber runs the timeout itself).
      let me = AnyFiber.currentContext
      q.lock()
      #expect(q.parkUnlocking(me, reason: "test", deadline: monotonicNanoseconds() + 1_000_000).isTimedOut)
      #expect(q.withLockedCount() == 0)
    }
  }

  /// Timed waits whose notify races the deadline: each wait is either notified or timed out,
  /// exactly once; a stale timeout never disturbs the fiber's next wait (WaitRecord R6).
  @Test func timeoutsRacingNotifies() throws {
    let (notified, timedOut) = try onScheduler(threads: 3) { () -> (Int, Int) in
      let q = WaitQueue()
      let notified = AtomicCounter(), timedOut = AtomicCounter()
      let rounds = syncScaled(2_000)
      let waiter = spawn {
        let me = AnyFiber.currentContext
        for i in 0..<rounds {
          q.lock()
          let ok = q.parkUnlocking(me, reason: "test", deadline: monotonicNanoseconds() + UInt64(i % 4) * 20_000) == nil
          if ok { notified.increment() } else { timedOut.increment() }
        }
      }
      let notifier = spawn {
        while !waiter.isDone {
          q.lock()
          let f = q.dequeue()
          q.unlock()
          f?.wake()
          yield()
        }
      }
      try waiter.wait()
      try notifier.wait()
      #expect(notified.count + timedOut.count == rounds)
      #expect(q.withLockedCount() == 0)
      return (notified.count, timedOut.count)
    }
    #expect(notified + timedOut == syncScaled(2_000))
  }
}

extension Optional where Wrapped == WaitInterruption {
  var isTimedOut: Bool { if case .timedOut? = self { return true } else { return false } }
}
