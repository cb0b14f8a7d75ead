import Foundation
import Testing
@testable import Weft

/// Yields (on a fiber) or spins (on a thread) until `f` is parked in the wait named `what`
/// (`parkWaiting` sets the name after the fiber joined its site's list). Bounded by the watchdog.
func waitUntilBlocked(_ f: AnyFiber, in what: String) {
  while !(f.waitingOnDescription == what && f.stateDescription == "parked") {
    if Worker.current != nil { yield() } else { cpuRelax() }
  }
}

/// The error a fiber's `fetch()` failed with, unwrapped from `TaskFailedError`.
func failure<R>(of f: Fiber<R>) -> (any Error)? {
  do { _ = try f.fetch(); return nil } catch let e as TaskFailedError { return e.underlying } catch { return error }
}

/// Julia's `schedule(t, err; error=true)` on a fiber blocked in each kind of wait: it is taken
/// out of that wait at once (`list_deletefirst!`), the wait throws the error, and nothing of
/// the primitive's state is lost. Each test failed on the main branch before interruptible
/// waits (the fiber stayed linked, or the error was dropped).
@Suite struct InterruptTests {
  /// The first case: an interrupted Condition waiter stayed in the list, and the next
  /// notify woke the finished fiber ("schedule(_:) of fiber N, which is done").
  @Test func conditionWaiterIsUnlinked() throws {
    try onScheduler(threads: 2) { () throws -> Void in
      let c = Weft.Condition()
      let w = spawn(sticky: true) { try c.wait() }
      waitUntilBlocked(w, in: "Condition.wait")
      schedule(w, error: Boom(tag: 1))
      #expect(failure(of: w) as? Boom == Boom(tag: 1))
      #expect(c.waiterCount == 0)
      #expect(c.notify() == 0)
    }
  }

  /// An interrupted fiber that then waits on a second condition is not woken by the first.
  @Test func interruptedFiberWaitsOnASecondCondition() throws {
    let got = try onScheduler(threads: 2) { () -> Int? in
      let c1 = Weft.Condition(), c2 = Weft.Condition()
      let w = spawn(sticky: true) { () -> Int? in
        do { try c1.wait() } catch is Boom {}
        return try c2.wait() as? Int
      }
      waitUntilBlocked(w, in: "Condition.wait")
      schedule(w, error: Boom())
      while c2.waiterCount == 0 { yield() }
      #expect(c1.notify(value: 1) == 0)
      #expect(c2.notify(value: 2) == 1)
      return try w.fetch()
    }
    #expect(got == 2)
  }

  /// Interrupted Event waiters throw (the error used to be dropped and the wait returned).
  @Test func eventWaiterThrows() throws {
    try onScheduler(threads: 2) { () throws -> Void in
      let e = Event()
      let w = spawn { try e.wait() }
      waitUntilBlocked(w, in: "Event.wait")
      schedule(w, error: Boom(tag: 2))
      #expect(failure(of: w) as? Boom == Boom(tag: 2))
      #expect(e.waiterCount == 0)
      e.notify()
      try e.wait()
    }
  }

  /// An interrupted Semaphore waiter holds no permit: mutual exclusion survives (it used to
  /// return without a permit), and the next release goes to the next waiter.
  @Test func semaphoreWaiterHoldsNoPermit() throws {
    try onScheduler(threads: 2) { () throws -> Void in
      let s = Semaphore(1)
      try s.acquire()
      let first = spawn { try s.acquire() }
      waitUntilBlocked(first, in: "Semaphore.acquire")
      let second = spawn { try s.acquire(); s.release() }
      while s.queue.withLockedCount() < 2 { yield() }
      schedule(first, error: Boom())
      #expect(failure(of: first) is Boom)
      #expect(s.inUse == 1)  // still only ours
      s.release()
      try second.wait()
      #expect(s.inUse == 0)
      // The last interrupted waiter clears the WAITERS bit: release takes its fast path.
      let third = spawn { try s.acquire() }
      try third.wait()
      #expect(s.inUse == 1)
      s.release()
    }
  }

  /// Channel put, take, fetch and wait: the interrupted fiber leaves the channel's queues;
  /// a put's item is not delivered, and later traffic is unaffected.
  @Test func channelOperationsAreUnlinked() throws {
    try onScheduler(threads: 2) { () throws -> Void in
      let ch = Channel<Int>(capacity: 0)
      let taker = spawn { try ch.take() }
      waitUntilBlocked(taker, in: "Channel.take")
      schedule(taker, error: Boom(tag: 3))
      #expect(failure(of: taker) as? Boom == Boom(tag: 3))

      let putter = spawn { try ch.put(99) }
      waitUntilBlocked(putter, in: "Channel.put")
      #expect(ch.isReady)
      schedule(putter, error: Boom(tag: 4))
      #expect(failure(of: putter) as? Boom == Boom(tag: 4))
      #expect(!ch.isReady)  // the item left with its putter

      let buffered = Channel<Int>(capacity: 2)
      let fetcher = spawn { try buffered.fetch() }
      let waiter = spawn { try buffered.wait() }
      waitUntilBlocked(fetcher, in: "Channel.fetch")
      waitUntilBlocked(waiter, in: "Channel.wait")
      schedule(fetcher, error: Boom(tag: 5))
      schedule(waiter, error: Boom(tag: 6))
      #expect(failure(of: fetcher) as? Boom == Boom(tag: 5))
      #expect(failure(of: waiter) as? Boom == Boom(tag: 6))

      // Traffic goes on: 7 reaches a new taker, not the interrupted putter's 99.
      let later = spawn { try ch.take() }
      try ch.put(7)
      #expect(try later.fetch() == 7)
      try buffered.put(1)
      #expect(try buffered.fetch() == 1)
    }
  }

  /// Iteration cannot throw: an interrupted `for x in channel` ends, and the interruption is
  /// kept for the fiber's next interruptible wait (not lost).
  @Test func interruptedIterationEndsAndKeepsTheError() throws {
    try onScheduler(threads: 2) { () throws -> Void in
      let ch = Channel<Int>(capacity: 4)
      let reader = spawn { () -> [Int] in
        var seen: [Int] = []
        for x in ch { seen.append(x) }
        do { try Event().wait() } catch let e as Boom { seen.append(100 + e.tag) }
        return seen
      }
      try ch.put(1)
      while ch.isReady { yield() }
      waitUntilBlocked(reader, in: "Channel.take")
      schedule(reader, error: Boom(tag: 7))
      #expect(try reader.fetch() == [1, 107])
    }
  }

  /// fiber.wait() and fetch() of another fiber: the waiter leaves; the awaited fiber goes on.
  @Test func fiberWaitIsUnlinked() throws {
    try onScheduler(threads: 2) { () throws -> Void in
      let gate = Event()
      let target = spawn { try gate.wait(); return 5 }
      waitUntilBlocked(target, in: "Event.wait")  // started: the waiters cannot run it inline (C4)
      let w1 = spawn { try target.fetch() }
      let w2 = spawn { try target.wait() }
      waitUntilBlocked(w1, in: "Fiber.wait")
      waitUntilBlocked(w2, in: "Fiber.wait")
      schedule(w1, error: Boom(tag: 8))
      schedule(w2, error: Boom(tag: 9))
      #expect(failure(of: w1) as? Boom == Boom(tag: 8))
      #expect(failure(of: w2) as? Boom == Boom(tag: 9))
      #expect(!target.isDone)
      gate.notify()
      #expect(try target.fetch() == 5)
    }
  }

  /// sleep, timedWait and the bare wait(): interrupted long before their time.
  @Test func sleepTimedWaitAndBareWait() throws {
    try onScheduler(threads: 2) { () throws -> Void in
      let start = monotonicNanoseconds()
      let sleeper = spawn { try sleep(seconds: 600) }
      let poller = spawn { _ = try timedWait(timeout: 600, pollInterval: 0.05) { false } }
      let bare = spawn { _ = try wait() }
      waitUntilBlocked(sleeper, in: "sleep")
      waitUntilBlocked(poller, in: "sleep")
      waitUntilBlocked(bare, in: "wait()")
      for (i, f) in [sleeper, poller, bare].enumerated() { schedule(f, error: Boom(tag: 10 + i)) }
      #expect(failure(of: sleeper) as? Boom == Boom(tag: 10))
      #expect(failure(of: poller) as? Boom == Boom(tag: 11))
      #expect(failure(of: bare) as? Boom == Boom(tag: 12))
      #expect(monotonicNanoseconds() - start < 60_000_000_000)  // one-sided: far from 600 s
    }
  }

  /// OneWayEvent: an interrupted waiter leaves the event empty; it can wait again.
  @Test func oneWayEventWaiterThrowsAndCanWaitAgain() throws {
    try onScheduler(threads: 2) { () throws -> Void in
      let ev = OneWayEvent()
      let w = spawn { () -> Bool in
        do { try ev.wait(); return false } catch is Boom {}
        try ev.wait()
        return true
      }
      waitUntilBlocked(w, in: "OneWayEvent.wait")
      schedule(w, error: Boom())
      while !(w.stateDescription == "parked" && ev.state == .waiting) { yield() }
      ev.notify()
      #expect(try w.fetch())
    }
  }

  /// An interrupt and the wait's own timeout racing on a OneWayEvent: the interrupter takes
  /// the waiter back (WAITING → EMPTY) and the timer fires before the waiter has resumed.
  /// The timer's action used to read EMPTY as "not yet waiting" and retry for ever, while the
  /// waiter, once resumed, waited in `Timers.cancel` for that action (found by weft-stress
  /// interrupt-storm): a hang.
  @Test func oneWayEventInterruptRacingItsTimeout() throws {
    try onScheduler(threads: 2, seconds: 30) { () throws -> Void in
      let ev = OneWayEvent()
      let w = spawn(sticky: true) { try ev.wait(timeout: .milliseconds(100)) }  // pinned to this worker
      waitUntilBlocked(w, in: "OneWayEvent.wait")
      schedule(w, error: Boom(tag: 15))  // taken back and woken; it cannot run while we hold the worker
      // Hold this worker (not a synchronisation: the outcome is the same if the timer is late)
      // past the deadline, so that the timer fires on the other worker while w is registered.
      let end = monotonicNanoseconds() + 400_000_000
      while monotonicNanoseconds() < end { cpuRelax() }
      #expect(failure(of: w) as? Boom == Boom(tag: 15))
      #expect(ev.state == .empty)
    }
  }

  /// `schedule(t, value:)` right after an interrupter woke `t` from its bare `wait()`, before
  /// `t` ran: `t` is runnable, so the value is kept for its next `wait()`. It used to stop the
  /// program ("already scheduled") while `t` was still registered, depending on a race (found
  /// by weft-stress interrupt-storm).
  @Test func scheduleAfterAnInterruptedBareWaitIsKept() throws {
    let got = try onScheduler(threads: 2) { () -> Int? in
      let w = spawn(sticky: true) { () -> Int? in  // pinned to this worker: it cannot run until we wait
        do { _ = try wait() } catch is Boom {}
        return try wait() as? Int
      }
      waitUntilBlocked(w, in: "wait()")
      schedule(w, error: Boom())
      schedule(w, value: 7)
      return try w.fetch()
    }
    #expect(got == 7)
  }

  /// Threads.Condition: the interrupted wait throws holding the lock again.
  @Test func threadsConditionRelocksBeforeThrowing() throws {
    try onScheduler(threads: 2) { () throws -> Void in
      let c = Threads.Condition()
      let w = spawn { () -> Bool in
        c.lock()
        defer { c.unlock() }
        do { try c.wait(); return false } catch is Boom { return (c.underlyingLock as! ReentrantLock).isHeldByCurrentFiber }
      }
      waitUntilBlocked(w, in: "Threads.Condition.wait")
      schedule(w, error: Boom())
      #expect(try w.fetch())
      c.lock()
      #expect(c.notify() == 0)
      c.unlock()
    }
  }

  /// yield(to:) suspends the caller like wait(): interruptible too.
  @Test func yieldToIsInterruptible() throws {
    try onScheduler(threads: 2) { () throws -> Void in
      let other = Fiber(sticky: false) { _ = try wait() }
      let w = spawn { _ = try yield(to: other) }
      waitUntilBlocked(w, in: "yield(to:)")
      schedule(w, error: Boom(tag: 13))
      #expect(failure(of: w) as? Boom == Boom(tag: 13))
      waitUntilBlocked(other, in: "wait()")
      schedule(other)
      try other.wait()
    }
  }

  /// An interrupt that finds the fiber running is kept for its next interruptible wait.
  @Test func interruptOfARunningFiberHitsItsNextWait() throws {
    try onScheduler(threads: 2) { () throws -> Void in
      let go = Counter()
      let w = spawn { () -> Int in
        while go.value != 1 { yield() }  // never spin without yielding: the test fiber may share this worker
        do { try Event().wait() } catch let e as Boom { return e.tag }
        return -1
      }
      while !w.isStarted { yield() }
      schedule(w, error: Boom(tag: 14))
      go.store(1)
      #expect(try w.fetch() == 14)
    }
  }

  /// Interrupts racing notifies on a Condition: every fiber ends exactly once, by the notify
  /// or by the interrupt, and a notify never counts an interrupted (unlinked) fiber.
  @Test func interruptsRacingNotifies() throws {
    let rounds = syncScaled(300)
    let (notified, interrupted, counted) = try onScheduler(threads: 2) { () -> (Int, Int, Int) in
      var n = 0, i = 0, counted = 0
      for _ in 0..<rounds {
        let c = Threads.Condition()
        let fs = (0..<4).map { _ in spawn { () -> Bool in c.lock(); defer { c.unlock() }; do { try c.wait(); return true } catch { return false } } }
        for f in fs { waitUntilBlocked(f, in: "Threads.Condition.wait") }
        let interrupter = spawn { for f in fs.prefix(2) { schedule(f, error: Boom()) } }
        c.lock()
        counted += c.notify(all: false) + c.notify(all: false)
        c.unlock()
        try interrupter.wait()
        c.lock()
        counted += c.notify()
        c.unlock()
        for f in fs { if try f.fetch() { n += 1 } else { i += 1 } }
      }
      return (n, i, counted)
    }
    #expect(notified + interrupted == rounds * 4)
    #expect(notified == counted)
    #expect(interrupted <= rounds * 2)
  }
}
