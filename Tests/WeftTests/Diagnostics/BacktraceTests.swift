import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Weft

/// A function of this file that blocks: its name must show up in the fiber's backtrace.
/// `@inline(never)` and the work after the wait keep it a real frame in release builds.
@inline(never)
func backtraceProbeBlocksHere(_ event: Event, _ counter: Counter) throws {
  try event.wait()
  _ = counter.increment()
}

/// One more level, so the test can check the order of the frames (innermost first).
@inline(never)
func backtraceProbeOuter(_ event: Event, _ counter: Counter) throws {
  try backtraceProbeBlocksHere(event, counter)
  _ = counter.increment()
}

/// Backtraces of parked fibers (FiberState F5): the public `snapshot()` API and the dump text.
@Suite struct BacktraceTests {
  @Test func parkedFiberShowsTheFunctionItBlocksIn() throws {
    let s = Scheduler(threads: 2, trackFibers: true)
    defer { s.shutdown() }
    try withWatchdog(60, scheduler: s) {
      let event = Event()
      let counter = Counter()
      let f = s.spawn { try backtraceProbeOuter(event, counter) }
      spinUntil { f.stateDescription == "parked" }

      let snap = s.snapshot()
      let info = try #require(snap.fibers.first { $0.id == f.id })
      #expect(info.waitingOn == "Event.wait")
      let names = info.backtrace.compactMap(\.name)
      #expect(!info.backtrace.isEmpty)
      let inner = try #require(names.firstIndex { $0.contains("backtraceProbeBlocksHere") }, "\(names)")
      let outer = try #require(names.firstIndex { $0.contains("backtraceProbeOuter") }, "\(names)")
      #expect(inner < outer)
      // Weft's own frames (park, switch, Event.wait) come first; userFrames starts at ours.
      #expect(info.backtrace.first?.isWeft == true)
      #expect(info.backtrace.userFrames.first?.name?.contains("backtraceProbeBlocksHere") == true, "\(info.backtrace.map(\.description).joined(separator: "\n"))")
      #expect(info.backtrace.contains { $0.name?.contains("Event.wait") == true && $0.isWeft })
      #expect(info.backtrace.allSatisfy { $0.image != nil })

      let dump = s.stateDump()
      #expect(dump.contains("fiber \(f.id) blocked on Event.wait"))
      #expect(dump.contains("at WeftTests.backtraceProbeBlocksHere"), "\(dump)")

      // Waking it after the walks works as ever (the walker gave the fiber back, F5).
      event.notify()
      try f.wait()
      #expect(counter.value == 2)
    }
  }

  /// Walks race with wakes: every wake waits for a walk in progress, none is lost, and a
  /// walk of a fiber that is not parked returns nothing.
  @Test func walksRacingWakesLoseNothing() throws {
    let s = Scheduler(threads: 2, trackFibers: true)
    defer { s.shutdown() }
    try withWatchdog(120, scheduler: s) {
      let rounds = underTSan ? 200 : 2000
      let event = Event(autoreset: true)
      let done = Counter()
      let f = s.spawn { for _ in 0..<rounds { try event.wait() }; _ = done.increment() }
      let walked = Counter()
      let walkerDone = DispatchSemaphore(value: 0)
      Thread {
        while done.value == 0 { if s.snapshot(backtraceLimit: 10).fibers.contains(where: { !$0.backtrace.isEmpty }) { walked.increment() } }
        walkerDone.signal()
      }.start()
      for _ in 0..<rounds {
        spinUntil { f.stateDescription == "parked" || f.isDone }
        event.notify()
      }
      try f.wait()
      walkerDone.wait()
      #expect(done.value == 1)
      #expect(f.parkedReturnAddresses() == nil)
    }
  }

  @Test func demanglesSwiftSymbols() {
    #expect(Symbolicator.demangle("$s4Weft8AnyFiberC4parkyyF") == "Weft.AnyFiber.park() -> ()")
    #expect(Symbolicator.demangle("main") == nil)
  }
}
