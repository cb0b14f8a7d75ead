import Foundation
import Testing
@testable import Weft

// Every blocking call works from a thread that is not a Weft worker: it blocks that OS thread
// (its "thread fiber" sleeps on a futex), never a worker.

@Suite struct NonWorkerThreadTests {
  /// The whole task API from one non-worker thread; returns a list of failed checks.
  private static func exercise(_ s: Scheduler?) throws -> [String] {
    var failures: [String] = []
    func check(_ ok: Bool, _ what: String) { if !ok { failures.append(what) } }
    @discardableResult func spawnHere<R>(sticky: Bool = false, _ body: @escaping @Sendable () throws -> R) -> Fiber<R> {
      s.map { $0.spawn(sticky: sticky, body) } ?? spawn(sticky: sticky, body)
    }

    check(Threads.threadid() == 0 && Threads.threadpool() == nil, "not a worker")
    let me = Fiber.current
    check(me.isThreadFiber && me === Fiber.current, "thread fiber is stable")

    // spawn + fetch / wait, sticky and migratable
    check(try spawnHere { 6 * 7 }.fetch() == 42, "fetch")
    check(try spawnHere(sticky: true) { Threads.threadid() }.fetch() > 0, "sticky fetch runs on a worker")
    try spawnHere { try sleep(seconds: 0.002) }.wait()
    do { try spawnHere { () throws -> Void in throw Boom(tag: 1) }.wait(); check(false, "wait throws") }
    catch let e as TaskFailedError { check((e.underlying as? Boom)?.tag == 1, "underlying") }

    // created fiber + schedule: from a thread it goes to the scheduler of the calling
    // context (the shared one), or explicitly to `s`.
    let created = Fiber { 1 }
    if let s { s.schedule(created) } else { schedule(created) }
    check(try created.fetch() == 1, "schedule created")

    // sleep and timedWait block the thread
    let t0 = monotonicNanoseconds()
    try sleep(seconds: 0.005)
    check(monotonicNanoseconds() - t0 >= 5_000_000, "sleep lower bound")
    let slow = spawnHere { try sleep(seconds: 0.3) }
    check(try timedWait(timeout: 0.02, pollInterval: 0.005) { slow.isDone } == .timedOut, "timedWait timed out")
    check(try timedWait(timeout: 10, pollInterval: 0.005) { slow.isDone } == .ok, "timedWait ok")

    // sync
    let count = Counter()
    try sync { for _ in 0..<10 { _ = spawnHere { try sleep(seconds: 0.001); count.increment() } } }
    check(count.value == 10, "sync waited")
    do {
      try sync { _ = spawnHere { () throws -> Void in throw Boom() } }
      check(false, "sync throws")
    } catch let e as CompositeError { check(e.errors.count == 1, "composite") }

    // bare wait() on the thread, woken by a fiber with a value, then with an error
    let v = try { () throws -> (any Sendable)? in
      spawnHere { schedule(me, value: "from a fiber") }
      return try wait()
    }()
    check(v as? String == "from a fiber", "wait() value")
    do {
      spawnHere { schedule(me, error: Boom(tag: 2)) }
      _ = try wait()
      check(false, "wait() throws")
    } catch let e as Boom { check(e.tag == 2, "wait() error") }

    // a fiber waiting for a fiber that the thread wakes
    let registered = Latch()
    let box = Locked<AnyFiber?>(nil)
    let waiter = spawnHere { () throws -> Int in
      box.withLock { $0 = Fiber.current }
      registered.open()
      return try wait() as! Int
    }
    registered.wait()
    schedule(box.snapshot!, value: 5)
    check(try waiter.fetch() == 5, "thread wakes fiber")
    return failures
  }

  @Test func fromTheTestThreadWithTheSharedScheduler() throws {
    let failures = try withWatchdog { try NonWorkerThreadTests.exercise(nil) }
    #expect(failures == [])
  }

  @Test func fromTheTestThreadWithAnExplicitScheduler() throws {
    let failures = try withScheduler(threads: 2) { s in try NonWorkerThreadTests.exercise(s) }
    #expect(failures == [])
  }

  /// Several Foundation threads at once, each blocking only itself.
  @Test func fromManyFoundationThreadsAtOnce() {
    withScheduler(threads: 2) { s in
      let results = Locked<[[String]]>([])
      let done = DispatchGroup()
      for _ in 0..<4 {
        done.enter()
        let t = Thread {
          let r = (try? NonWorkerThreadTests.exercise(s)) ?? ["threw"]
          results.withLock { $0.append(r) }
          done.leave()
        }
        t.start()
      }
      done.wait()
      #expect(results.snapshot.count == 4)
      #expect(results.snapshot.allSatisfy { $0.isEmpty }, "\(results.snapshot)")
    }
  }

  /// A thread blocked in a Weft wait does not occupy a worker: with one worker, a fiber can
  /// still run (and wake the thread) while the thread waits.
  @Test func aBlockedThreadDoesNotHoldAWorker() throws {
    let v = try withScheduler(threads: 1) { s in
      try onNewThread { () throws -> Int in
        let me = Fiber.current
        let gate = Latch()
        s.spawn { gate.wait(); schedule(me, value: 3) }
        s.spawn { gate.open() }
        return try wait() as! Int
      }
    }
    #expect(v == 3)
  }

  /// The thread fiber is released when its thread exits (no crash, new thread, new fiber).
  @Test func threadFiberPerThread() throws {
    let a = try onNewThread { Fiber.current.id }
    let b = try onNewThread { Fiber.current.id }
    #expect(a != b)
  }

  /// yield(to:) from a non-worker thread: the thread blocks until the fiber schedules it back
  /// (the fiber starts on the shared scheduler, the calling context's).
  @Test func yieldToFromAThread() throws {
    let seen = try withWatchdog {
      try onNewThread { () throws -> [String] in
        let me = Fiber.current
        let f = Fiber { () throws -> Int in
          schedule(me, value: "hello")
          let v = try wait() as? Int ?? -1
          schedule(me, value: "bye")
          return v
        }
        let r1 = try yield(to: f) as? String ?? "nil"
        let r2 = try yield(to: f, value: 5) as? String ?? "nil"
        return [r1, r2, "\(try f.fetch())"]
      }
    }
    #expect(seen == ["hello", "bye", "5"])
  }
}
