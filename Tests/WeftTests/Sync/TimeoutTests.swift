import Foundation
import Testing
@testable import Weft

/// `timeout:` on every blocking call: a wait that outlives it throws `TimeoutError` (naming
/// the operation and the timeout) and leaves no trace in the primitive; a notify that races
/// the timeout is delivered or passed to the next waiter, never lost.
@Suite struct TimeoutTests {
  static let short = Duration.milliseconds(3)

  /// `body` must throw TimeoutError for `operation`.
  func expectTimeout(_ operation: String, _ body: () throws -> Void) {
    do {
      try body()
      Issue.record("\(operation) did not time out")
    } catch let e as TimeoutError {
      #expect(e.operation == operation)
      #expect(e.timeout == Self.short)
    } catch {
      Issue.record("\(operation) threw \(error)")
    }
  }

  @Test func everyWaitTimesOutAndLeavesNoWaiter() throws {
    try onScheduler(threads: 2) { () throws -> Void in
      let c = Weft.Condition()
      try spawn(sticky: true) { self.expectTimeout("Condition.wait") { try c.wait(timeout: Self.short) } }.wait()
      #expect(c.waiterCount == 0)

      let tc = Threads.Condition()
      tc.lock()
      expectTimeout("Threads.Condition.wait") { try tc.wait(timeout: Self.short) }
      #expect((tc.underlyingLock as! ReentrantLock).isHeldByCurrentFiber)
      tc.unlock()
      #expect(tc.waiterCount == 0)

      let e = Event()
      expectTimeout("Event.wait") { try e.wait(timeout: Self.short) }
      #expect(e.waiterCount == 0)

      let s = Semaphore(1)
      try s.acquire()
      expectTimeout("Semaphore.acquire") { try s.acquire(timeout: Self.short) }
      #expect(s.inUse == 1)
      s.release()
      #expect(s.inUse == 0)  // WAITERS was cleared with the last waiter: the fast path works

      let ch = Channel<Int>(capacity: 1)
      expectTimeout("Channel.take") { _ = try ch.take(timeout: Self.short) }
      expectTimeout("Channel.fetch") { _ = try ch.fetch(timeout: Self.short) }
      expectTimeout("Channel.wait") { try ch.wait(timeout: Self.short) }
      try ch.put(1)
      expectTimeout("Channel.put") { try ch.put(2, timeout: Self.short) }
      #expect(try ch.take() == 1)
      #expect(!ch.isReady)  // 2 was not delivered

      let gate = Event()
      let f = spawn { try gate.wait() }
      expectTimeout("Fiber.wait") { try f.wait(timeout: Self.short) }
      expectTimeout("Fiber.wait") { try f.fetch(timeout: Self.short) }
      gate.notify()
      try f.wait(timeout: .seconds(600))

      let ev = OneWayEvent()
      expectTimeout("OneWayEvent.wait") { try ev.wait(timeout: Self.short) }
      #expect(ev.state == .empty)
      ev.notify()
      try ev.wait(timeout: Self.short)
    }
  }

  /// tryLock(timeout:) returns false when the holder keeps the lock, true when it lets go.
  @Test func tryLockWithTimeout() throws {
    try onScheduler(threads: 2) { () throws -> Void in
      let lock = ReentrantLock()
      let held = Event(), release = Event()
      let holder = spawn { lock.lock(); held.notify(); try release.wait(); lock.unlock() }
      try held.wait()
      #expect(try lock.tryLock(timeout: .milliseconds(2)) == false)
      let waiter = spawn { () -> Bool in
        let ok = try lock.tryLock(timeout: .seconds(600))
        if ok { lock.unlock() }
        return ok
      }
      waitUntilBlocked(waiter, in: "ReentrantLock.tryLock")
      release.notify()
      #expect(try waiter.fetch())
      try holder.wait()
      #expect(try lock.tryLock(timeout: .zero))
      lock.unlock()
    }
  }

  /// Zero and negative timeouts: zero gives up at once when it would wait; negative is an
  /// ArgumentError, checked even when the wait would not block.
  @Test func zeroAndNegativeTimeouts() throws {
    try onScheduler(threads: 1) { () throws -> Void in
      let e = Event()
      #expect(throws: TimeoutError.self) { try e.wait(timeout: .zero) }
      e.notify()
      #expect(throws: ArgumentError.self) { try e.wait(timeout: .milliseconds(-1)) }
      try e.wait(timeout: .zero)
      let ch = Channel<Int>(capacity: 1)
      #expect(throws: ArgumentError.self) { try ch.put(1, timeout: .seconds(-1)) }
      #expect(throws: TimeoutError.self) { _ = try ch.take(timeout: .zero) }
      #expect(throws: ArgumentError.self) { try Semaphore(1).acquire(timeout: .seconds(-2)) }
    }
  }

  /// From a plain thread (its thread fiber times itself out on the futex).
  @Test func timeoutsFromANonWorkerThread() throws {
    try withWatchdog {
      let ch = Channel<Int>(capacity: 0)
      #expect(throws: TimeoutError.self) { _ = try ch.take(timeout: .milliseconds(2)) }
      let s = Semaphore(1)
      try s.acquire()
      #expect(throws: TimeoutError.self) { try s.acquire(timeout: .milliseconds(2)) }
      s.release()
    }
  }

  /// Releases racing acquire timeouts: every permit is accounted for — each acquire either
  /// got one (and released it) or timed out holding none; at the end none is in use.
  @Test func semaphoreReleasesRacingTimeouts() throws {
    let rounds = syncScaled(3_000)
    let (got, timedOut) = try onScheduler(threads: 2) { () -> (Int, Int) in
      let s = Semaphore(1)
      let got = AtomicCounter(), timedOut = AtomicCounter()
      let meter = OccupancyMeter()
      let fs = (0..<4).map { k in
        spawn {
          for i in 0..<rounds {
            do {
              try s.acquire(timeout: .microseconds(20 * ((i + k) % 5)))
              meter.enter(); got.increment(); meter.leave()
              s.release()
            } catch is TimeoutError { timedOut.increment() }
          }
        }
      }
      for f in fs { try f.wait() }
      #expect(s.inUse == 0)
      #expect(meter.maximum == 1)
      return (got.count, timedOut.count)
    }
    #expect(got + timedOut == rounds * 4)
    #expect(got > 0)
  }

  /// Puts racing take timeouts on an unbuffered channel: every item put is taken exactly once.
  @Test func channelPutsRacingTakeTimeouts() throws {
    let n = syncScaled(2_000)
    let taken = try onScheduler(threads: 2) { () -> [Int] in
      let ch = Channel<Int>(capacity: 0)
      let seen = MutexBox<[Int]>([])
      let takers = (0..<3).map { _ in
        spawn {
          while true {
            do {
              let v = try ch.take(timeout: .microseconds(50))
              seen.withLock { $0.append(v) }
            } catch is TimeoutError { continue } catch { return }  // closed
          }
        }
      }
      for i in 0..<n { try ch.put(i) }
      ch.close()
      for t in takers { try t.wait() }
      return seen.withLock { $0 }
    }
    #expect(taken.sorted() == Array(0..<n))
  }
}
