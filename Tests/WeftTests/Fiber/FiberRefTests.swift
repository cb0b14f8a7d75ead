import Testing
@testable import Weft

// The run reference (FiberRef O1) and its debug ledger (O4). The ledger exists in debug
// builds, which is what `swift test` builds; each check runs in a child process (an exit
// test), so that no other test's fibers are in flight while the ledger is read.

@Suite struct FiberRefTests {
  @Test func droppingARunReferenceTwiceIsCaught() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let f = Fiber<Void> {}
      let ref = FiberRef.takeRunReference(f)
      ref.dropRunReference()
      ref.dropRunReference()
      withExtendedLifetime(f) {}
    }
    #expect(stderrText(r).contains("run reference was dropped twice"))
  }

  @Test func takingARunReferenceTwiceIsCaught() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let f = Fiber<Void> {}
      _ = FiberRef.takeRunReference(f)
      _ = FiberRef.takeRunReference(f)
    }
    #expect(stderrText(r).contains("took its run reference twice"))
  }

  /// Every way a fiber can run and end — joined, run inline, direct switches, sticky, parked
  /// on channels and events, failed, interrupted — drops its run reference exactly once, and
  /// no fiber is freed before it finished (a freed fiber would crash the run).
  @Test func everyFinishedFiberDroppedItsRunReference() async {
    await #expect(processExitsWith: .success) {
      let s = Scheduler(threads: 2)
      let total = try s.spawn { () throws -> Int in
        let ch = Channel<Int>(capacity: 0)
        let producer = spawn { for i in 0..<500 { try ch.put(i) }; ch.close() }
        var sum = 0
        for x in ch { sum += x }
        try producer.wait()
        let kids = (0..<200).map { i in spawn(sticky: i % 3 == 0) { i } }  // some run inline
        for k in kids { sum += try k.fetch() }
        let failing = spawn { () throws -> Int in throw CancellationError() }
        _ = try? failing.fetch()
        let e = Event()
        let blocked = spawn { try e.wait() }
        yield()
        blocked.cancel()
        _ = try? blocked.wait()
        return sum
      }.fetch()
      s.shutdown()
      guard total == (0..<500).reduce(0, +) + (0..<200).reduce(0, +) else { fatalError("wrong sum \(total)") }
      guard RunReferenceLedger.runReferencesHeld == 0 else {
        fatalError("\(RunReferenceLedger.runReferencesHeld) run references left")
      }
    }
  }
}
