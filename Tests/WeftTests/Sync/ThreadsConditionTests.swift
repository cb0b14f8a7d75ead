import Foundation
import Testing
@testable import Weft

/// A lock that knows nothing about owners (a binary semaphore), to exercise Threads.Condition
/// and Lockable with a plain `AbstractLock`.
final class SemaphoreLock: AbstractLock {
  let semaphore = Semaphore(1)
  func lock() { try! semaphore.acquire() }  // never interrupted in these tests
  func unlock() { semaphore.release() }
  func tryLock() -> Bool { false }
  var isLocked: Bool { semaphore.inUse > 0 }
}

@Suite struct SyncThreadsConditionTests {
  struct Failure: Error, Equatable { let code: Int }

  /// Julia's isempty(c): under the lock, false exactly while a fiber waits; notify empties it.
  @Test func isEmptyWhileNoFiberWaits() throws {
    let seen = try onScheduler(threads: 2) { () -> [Bool] in
      let c = Threads.Condition()
      var seen = [c.isEmpty]
      let waiter = spawn { c.withLock { _ = try? c.wait() } }
      while c.withLock({ c.isEmpty }) { yield() }
      c.withLock {
        seen.append(c.isEmpty)
        c.notify()
        seen.append(c.isEmpty)
      }
      try waiter.wait()
      seen.append(c.isEmpty)
      return seen
    }
    #expect(seen == [true, false, true, true])
  }

  /// Julia's idiom: lock(c); while !ready wait(c); unlock(c) — with the waiter and the
  /// notifier on different workers.
  @Test func idiomaticWaitLoop() throws {
    let got = try onScheduler(threads: 2) { () -> Int? in
      let c = Threads.Condition()
      let ready = UnsafeBox(false)
      let waiter = spawn { () -> Int? in
        c.lock()
        defer { c.unlock() }
        var v: Int? = nil
        while !ready.value { v = try c.wait() as? Int }
        return v
      }
      c.withLock {
        ready.value = true
        c.notify(value: 3)
      }
      return try waiter.fetch()
    }
    // The waiter either saw `ready` without waiting (nil) or was woken with 3.
    #expect(got == nil || got == 3)
  }

  @Test func notifyCountsAndValues() throws {
    let values = try onScheduler(threads: 2) { () -> [Int] in
      let c = Threads.Condition()
      let fs = (0..<3).map { _ in spawn { try c.withLock { try c.wait() as? Int ?? -1 } } }
      while c.withLock({ c.waiterCount }) < 3 { yield() }
      let one = c.withLock { c.notify(value: 1, all: false) }
      let rest = c.withLock { c.notify(value: 2) }
      #expect(one == 1)
      #expect(rest == 2)
      #expect(c.withLock { c.notify() } == 0)
      return try fs.map { try $0.fetch() }.sorted()
    }
    #expect(values == [1, 2, 2])
  }

  @Test func notifyErrorIsThrownHoldingTheLock() throws {
    let ok = try onScheduler(threads: 2) { () -> Bool in
      let c = Threads.Condition()
      let waiter = spawn { () -> Bool in
        c.lock()
        defer { c.unlock() }
        do { try c.wait(); return false } catch let e as Failure { return e.code == 9 && c.isLocked }
      }
      while c.withLock({ c.waiterCount }) < 1 { yield() }
      c.withLock { _ = c.notify(error: Failure(code: 9)) }
      return try waiter.fetch()
    }
    #expect(ok)
  }

  @Test func waitFirstJumpsTheQueue() throws {
    let order = try onScheduler(threads: 2) { () -> [String] in
      let c = Threads.Condition()
      let rec = LineRecorder()
      var fs: [Fiber<Void>] = []
      for (i, name) in ["a", "b", "first"].enumerated() {
        fs.append(spawn { try c.withLock { try c.wait(first: name == "first"); rec.record(name) } })
        while c.withLock({ c.waiterCount }) < i + 1 { yield() }
      }
      for k in 1...3 {
        c.withLock { _ = c.notify(all: false) }
        while rec.all.count < k { yield() }
      }
      for f in fs { try f.wait() }
      return rec.all
    }
    #expect(order == ["first", "a", "b"])
  }

  /// The lock is released completely while waiting, even when held recursively, and the
  /// recursion count is restored on return.
  @Test func waitWhileHeldRecursively() throws {
    let result = try onScheduler(threads: 2) { () -> [Int] in
      let l = ReentrantLock()
      let c = Threads.Condition(lock: l)
      let ready = UnsafeBox(false)
      let waiter = spawn { () -> [Int] in
        l.lock(); l.lock(); l.lock()
        while !ready.value { try c.wait() }
        let depth = l.recursionCount
        l.unlock(); l.unlock(); l.unlock()
        return [depth, l.isLocked ? 1 : 0]
      }
      while c.withLock({ c.waiterCount }) < 1 { yield() }
      // Proves the waiter released all three levels: we can take the lock.
      l.lock()
      ready.value = true
      c.notify()
      l.unlock()
      return try waiter.fetch()
    }
    #expect(result == [3, 0])
  }

  /// Producer/consumer over a bounded buffer: two Threads.Conditions sharing one lock; every
  /// item consumed exactly once.
  @Test func producerConsumer() throws {
    let producers = 4, consumers = 4, perProducer = syncScaled(2_500), capacity = 8
    let seen = try onScheduler(threads: 3) { () -> [Int] in
      let l = ReentrantLock()
      let notFull = Threads.Condition(lock: l)
      let notEmpty = Threads.Condition(lock: l)
      let buffer = UnsafeBox<[Int]>([])
      let finished = UnsafeBox(0)
      let ps = (0..<producers).map { p in
        spawn {
          for i in 0..<perProducer {
            try l.withLock {
              while buffer.value.count == capacity { try notFull.wait() }
              buffer.value.append(p * perProducer + i)
              notEmpty.notify(all: false)
            }
          }
          l.withLock { finished.value += 1; notEmpty.notify() }
        }
      }
      let cs = (0..<consumers).map { _ in
        spawn { () -> [Int] in
          var got: [Int] = []
          while true {
            let item: Int? = try l.withLock {
              while buffer.value.isEmpty && finished.value < producers { try notEmpty.wait() }
              if buffer.value.isEmpty { return nil }
              notFull.notify(all: false)
              return buffer.value.removeFirst()
            }
            guard let item else { return got }
            got.append(item)
          }
        }
      }
      for p in ps { try p.wait() }
      return try cs.flatMap { try $0.fetch() }
    }
    #expect(seen.count == producers * perProducer)
    #expect(Set(seen).count == producers * perProducer)
  }

  /// notify racing wait across workers (ping-pong on a turn counter): no lost wake-up.
  @Test func notifyRacingWaitAcrossWorkers() throws {
    let rounds = syncScaled(10_000)
    let final = try onScheduler(threads: 2) { () -> Int in
      let c = Threads.Condition()
      let turn = UnsafeBox(0)
      let players = (0..<2).map { me in
        spawn {
          for i in 0..<rounds {
            try c.withLock {
              while turn.value != 2 * i + me { try c.wait() }
              turn.value += 1
              c.notify()
            }
          }
        }
      }
      for p in players { try p.wait() }
      return c.withLock { turn.value }
    }
    #expect(final == 2 * rounds)
  }

  /// Non-worker threads wait on a Threads.Condition alongside fibers.
  @Test func threadsAndFibersWaitTogether() throws {
    try withWatchdog {
      let c = Threads.Condition()
      let go = UnsafeBox(false)
      let woke = AtomicCounter()
      let threads = (0..<2).map { _ in
        JoinableThread {
          c.lock()
          while !go.value { try! c.wait() }
          c.unlock()
          woke.increment()
        }
      }
      let fibers = (0..<3).map { _ in
        spawn { try c.withLock { while !go.value { try c.wait() } }; woke.increment() }
      }
      while c.withLock({ c.waiterCount }) < 5 { yield() }  // off the workers: sched_yield
      c.withLock { go.value = true; c.notify() }
      for t in threads { t.join() }
      for f in fibers { try f.wait() }
      #expect(woke.count == 5)
    }
  }

  /// With a lock that cannot tell its owner, wait falls back to unlock/lock.
  @Test func worksWithAPlainAbstractLock() throws {
    let got = try onScheduler(threads: 2) { () -> Int? in
      let c = Threads.Condition(lock: SemaphoreLock())
      let ready = UnsafeBox(false)
      let waiter = spawn { () -> Int? in
        try c.withLock {
          var v: Int? = nil
          while !ready.value { v = try c.wait() as? Int }
          return v
        }
      }
      while c.withLock({ c.waiterCount }) < 1 { yield() }
      c.withLock { ready.value = true; c.notify(value: 4) }
      return try waiter.fetch()
    }
    #expect(got == 4)
  }

  @Test func waitWithoutTheLockIsMisuse() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try? Threads.Condition().wait()
    }
    #expect(standardError(result).contains("Weft misuse: Threads.Condition.wait() called without holding the condition's lock"))
  }

  @Test func waitWithTheLockHeldByAnotherFiberIsMisuse() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let c = Threads.Condition()
      c.lock()
      _ = try? spawn { try c.wait() }.fetch()
    }
    #expect(standardError(result).contains("Weft misuse: Threads.Condition.wait() called without holding the condition's lock"))
  }

  @Test func notifyWithoutTheLockIsMisuse() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Threads.Condition().notify()
    }
    #expect(standardError(result).contains("Weft misuse: Threads.Condition.notify(value:all:) called without holding the condition's lock"))
  }

  @Test func notifyErrorWithoutTheLockIsMisuse() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Threads.Condition().notify(error: CancellationError())
    }
    #expect(standardError(result).contains("Weft misuse: Threads.Condition.notify(error:all:) called without holding"))
  }
}
