import Testing
@testable import Weft

// Julia's errormonitor(t): "Unhandled Task ERROR: …" on standard error when t fails. Checked in
// a child process (an exit test) whose standard error is captured.

@Suite struct ErrorMonitorTests {
  @Test func printsUnhandledTaskErrorForFailedFibersOnly() async {
    let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
      // A fiber that fails after the monitor is attached. The message is written by a
      // completion hook; hooks run in order, so once ours has run the message is out.
      let t = errormonitor(spawn { () throws -> Int in throw Boom(tag: 11) })
      let printed = Latch()
      t.onCompletion { _ in printed.open() }
      printed.wait()
      // A fiber that already failed: the message is written at once.
      let late = spawn { () throws -> Int in throw Boom(tag: 12) }
      _ = try? late.wait()
      errormonitor(late)
      // A fiber that succeeds: nothing is written.
      let fine = errormonitor(spawn { 5 })
      let printedFine = Latch()
      fine.onCompletion { _ in printedFine.open() }
      printedFine.wait()
      writeToStandardError("END\n")
    }
    let text = stderrText(result)
    #expect(text.contains("Unhandled Task ERROR: Boom(11)"))
    #expect(text.contains("Unhandled Task ERROR: Boom(12)"))
    #expect(text.components(separatedBy: "Unhandled Task ERROR").count == 3, "\(text)")
    #expect(text.contains("END"))
  }

  /// errormonitor returns its argument, so it composes like Julia's `errormonitor(@async …)`.
  @Test func returnsItsArgument() throws {
    let t = spawn { 1 }
    #expect(errormonitor(t) === t)
    #expect(try t.fetch() == 1)
  }
}
