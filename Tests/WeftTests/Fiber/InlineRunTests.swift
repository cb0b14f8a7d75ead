import Foundation
import Testing
@testable import Weft

/// Completion I1/I2: a waiter runs a not-yet-started child of its own deque inline.
@Suite struct InlineRunTests {
  @Test func childRunsInlineWithItsOwnIdentity() throws {
    let s = Scheduler(threads: 1)
    defer { s.shutdown() }
    try withWatchdog(30, scheduler: s) {
      let (parentID, childSawID, childWasParent) = try s.spawn { () throws -> (UInt64, UInt64, Bool) in
        let parent = Fiber.current
        let child = spawn { () -> (UInt64, Bool) in (Fiber.current.id, Fiber.current === parent) }
        let r = try child.fetch()
        #expect(Fiber.current === parent)  // identity restored after the inline run
        return (parent.id, r.0, r.1)
      }.fetch()
      #expect(childSawID != parentID)
      #expect(!childWasParent)
    }
  }

  @Test func inlineChildThatParksResumesIntoItsWaiter() throws {
    let s = Scheduler(threads: 2)
    defer { s.shutdown() }
    try withWatchdog(60, scheduler: s) {
      let total = try s.spawn { () throws -> Int in
        var sum = 0
        for i in 0..<200 {
          let child = spawn { () throws -> Int in
            try sleep(seconds: 0.001)  // parks inline on the waiter's stack; may resume elsewhere
            yield()
            return i
          }
          sum += try child.fetch()
        }
        return sum
      }.fetch()
      #expect(total == (0..<200).reduce(0, +))
    }
  }

  @Test func inlineChildErrorsReachTheWaiter() throws {
    struct Boom: Error {}
    let s = Scheduler(threads: 1)
    defer { s.shutdown() }
    try withWatchdog(30, scheduler: s) {
      let caught = try s.spawn { () -> Bool in
        let child = spawn { () throws -> Int in throw Boom() }
        do { _ = try child.fetch(); return false } catch let e as TaskFailedError {
          return e.fiber === child && e.underlying is Boom
        }
      }.fetch()
      #expect(caught)
    }
  }

  @Test func stickyOrSizedChildrenAreNotInlined() throws {
    let s = Scheduler(threads: 1)
    defer { s.shutdown() }
    try withWatchdog(30, scheduler: s) {
      let ok = try s.spawn { () throws -> Bool in
        let sized = spawn(stackSize: 1 << 20) { Fiber.current.stackSize }
        return try sized.fetch() == 1 << 20
      }.fetch()
      #expect(ok)
    }
  }

  @Test func deepForkJoinOnSeveralWorkers() throws {
    @Sendable func fib(_ n: Int) throws -> Int {
      if n < 2 { return n }
      let a = spawn { try fib(n - 1) }
      let b = try fib(n - 2)
      return try a.fetch() + b
    }
    let s = Scheduler(threads: 2)
    defer { s.shutdown() }
    try withWatchdog(120, scheduler: s) {
      let r = try s.spawn { try fib(18) }.fetch()
      #expect(r == 2584)
    }
  }
}

extension InlineRunTests {
  /// I3: a spawn-then-fetch chain far deeper than one stack holds still completes.
  @Test func deepSpawnFetchChainDoesNotOverflowOneStack() throws {
    @Sendable func chain(_ n: Int) throws -> Int {
      if n == 0 { return 0 }
      return try spawn { try chain(n - 1) }.fetch() + 1
    }
    let s = Scheduler(threads: 1, stackSize: 64 * 1024)
    defer { s.shutdown() }
    try withWatchdog(120, scheduler: s) {
      let depth = try s.spawn { try chain(3000) }.fetch()
      #expect(depth == 3000)
    }
  }
}

extension InlineRunTests {
  /// I4: a fiber that already ran, parked, and was woken into the deque (displaced from the
  /// run-next slot) must resume on its own stack when fetched, not run its body again.
  @Test func wokenFiberInTheDequeIsNotRunInline() throws {
    let s = Scheduler(threads: 1)
    defer { s.shutdown() }
    try withWatchdog(30, scheduler: s) {
      let result = try s.spawn { () throws -> Int in
        let c = spawn { () throws -> Int in (try wait() as? Int ?? -100) + 1 }
        let d = spawn { () throws -> Int in (try wait() as? Int ?? -100) + 2 }
        yield()  // one worker: c and d run until they park in wait()
        #expect(c.isStarted && d.isStarted && !c.isDone)
        schedule(c, value: 10)  // c → this worker's run-next slot
        schedule(d, value: 20)  // d → run-next, c displaced to the bottom of the deque
        let rc = try c.fetch()  // c sits at the bottom, runnable, but already started
        return rc * 100 + (try d.fetch())
      }.fetch()
      #expect(result == 11 * 100 + 22)
    }
  }
}

extension InlineRunTests {
  /// I3: a child inherits no less stack than it would have had on its own. A default-stack
  /// child fetched by a fiber with a 64 KiB stack recurses through ~120 KB: it must run on
  /// its own stack (run inline on the waiter's, it overflowed and aborted the process).
  @Test func childIsNotInlinedOntoASmallerStack() throws {
    let s = Scheduler(threads: 1)
    defer { s.shutdown() }
    try withWatchdog(30, scheduler: s) {
      let r = try s.spawn(stackSize: 64 * 1024) { () throws -> Int in
        try spawn { recurseThroughStack(depth: 120) }.fetch()
      }.fetch()
      #expect(r == 120)
    }
  }
}

/// Uses about 1 KB of stack per level (a 1,000-byte temporary allocation, which Swift puts on
/// the stack below 1 KiB) and returns `depth`.
@inline(never)
func recurseThroughStack(depth: Int) -> Int {
  if depth == 0 { return 0 }
  return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1000) { buffer in
    buffer.initialize(repeating: UInt8(truncatingIfNeeded: depth))
    return Int(buffer[depth % 1000] == UInt8(truncatingIfNeeded: depth) ? 1 : 0) + recurseThroughStack(depth: depth - 1)
  }
}
