import Foundation
import Testing
@testable import Weft

/// `cancel()`: the current or next interruptible wait throws `CancellationError`; sticky;
/// `sync` joins every child whatever happens, and cancels them only when asked.
@Suite struct CancellationTests {
  @Test func cancelAParkedFiber() throws {
    try onScheduler(threads: 2) { () throws -> Void in
      let e = Event()
      let w = spawn { try e.wait() }
      waitUntilBlocked(w, in: "Event.wait")
      #expect(!w.isCancelled)
      w.cancel()
      #expect(w.isCancelled)
      #expect(failure(of: w) is CancellationError)
      #expect(e.waiterCount == 0)
    }
  }

  /// A running fiber sees it at its next wait, and at every wait after (sticky);
  /// checkCancellation throws too; a wait that need not block does not throw.
  @Test func cancelARunningFiberIsSticky() throws {
    try onScheduler(threads: 2) { () throws -> Void in
      let go = Counter()
      let w = spawn { () -> [String] in
        var log: [String] = []
        while go.value != 1 { yield() }  // never spin without yielding: the test fiber may share this worker
        log.append(Fiber.isCancelled ? "flag" : "no flag")
        do { try Fiber.checkCancellation() } catch is CancellationError { log.append("check") }
        let set = Event()
        set.notify()
        try set.wait()  // does not block: returns
        log.append("set event")
        for _ in 0..<2 {
          do { try sleep(seconds: 600) } catch is CancellationError { log.append("sleep") }
        }
        return log
      }
      while !w.isStarted { yield() }
      w.cancel()
      go.store(1)
      #expect(try w.fetch() == ["flag", "check", "set event", "sleep", "sleep"])
    }
  }

  /// ReentrantLock.lock() cannot be cancelled: the fiber gets the lock; its next
  /// interruptible wait throws.
  @Test func cancelDoesNotInterruptLock() throws {
    try onScheduler(threads: 2) { () throws -> Void in
      let lock = ReentrantLock()
      lock.lock()
      let w = spawn { () -> Bool in
        lock.lock()
        lock.unlock()
        do { try Event().wait() } catch is CancellationError { return true }
        return false
      }
      waitUntilBlocked(w, in: "ReentrantLock.lock")
      w.cancel()
      lock.unlock()
      #expect(try w.fetch())
    }
  }

  /// A fiber cancelled before it starts runs, and its first wait throws.
  @Test func cancelBeforeStart() throws {
    try onScheduler(threads: 2) { () throws -> Void in
      let f = Fiber(sticky: false) { () -> String in
        do { try Channel<Int>().take(); return "took" } catch is CancellationError { return "cancelled" }
      }
      f.cancel()
      schedule(f)
      #expect(try f.fetch() == "cancelled")
    }
  }

  /// Cancelling the fiber of a `sync` scope does not cancel its children: the join goes on
  /// until every child is done, then throws CancellationError.
  @Test func syncScopeCancelDoesNotCancelChildren() throws {
    try onScheduler(threads: 2) { () throws -> Void in
      let gate = Event()
      let children = MutexBox<[AnyFiber]>([])
      let scope = spawn {
        try sync {
          let child = spawn { try gate.wait() }
          children.withLock { $0.append(child) }
          while !child.isStarted { yield() }  // not run inline by the join: the join parks
        }
      }
      waitUntilBlocked(scope, in: "Fiber.wait")
      scope.cancel()
      while scope.waitingOnDescription != "Fiber.wait" || scope.stateDescription != "parked" { yield() }
      let child = children.withLock { $0[0] }
      #expect(!child.isCancelled)
      #expect(!scope.isDone)  // still joining
      gate.notify()
      #expect(failure(of: scope) is CancellationError)
      #expect(child.isDone && !child.isFailed)
    }
  }

  /// sync(cancelOnError: true): a failing child cancels its siblings; the scope throws
  /// every error, after all children are done.
  @Test func syncCancelOnError() throws {
    let errors = try onScheduler(threads: 2) { () -> [String] in
      do {
        try sync(cancelOnError: true) {
          spawn { try Event().wait() }  // blocked until cancelled
          spawn { try sleep(seconds: 600) }
          spawn { throw Boom(tag: 1) }
        }
        return []
      } catch let c as CompositeError {
        return c.errors.map { e in
          guard let t = e as? TaskFailedError else { return "\(e)" }
          return t.underlying is CancellationError ? "cancelled" : "\(t.underlying)"
        }.sorted()
      }
    }
    #expect(errors == ["Boom(1)", "cancelled", "cancelled"])
  }

  /// With cancelOnError, cancelling the scope's fiber cancels the children too.
  @Test func syncCancelOnErrorPropagatesCancellation() throws {
    try onScheduler(threads: 2) { () throws -> Void in
      let started = Counter()
      let scope = spawn {
        try sync(cancelOnError: true) {
          spawn { started.increment(); try Event().wait() }
        }
      }
      while started.value != 1 { yield() }
      waitUntilBlocked(scope, in: "Fiber.wait")
      scope.cancel()
      let e = failure(of: scope) as? CompositeError
      #expect(e?.errors.first is CancellationError)
      #expect(e?.errors.count == 2)
    }
  }
}
