import Testing
@testable import Weft

// Every `Weft misuse:` precondition of Sources/Weft/Tasks, as an exit test.

@Suite struct TaskMisuseTests {
  @Test func yieldToTheCallingFiber() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try spawn { _ = try yield(to: Fiber.current) }.fetch()
    }
    #expect(stderrText(r).contains("Weft misuse: yield(to:) the calling fiber itself"))
  }

  @Test func fiberStackSizeBelowTheMinimum() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Fiber(stackSize: 16 * 1024 - 1) { }
    }
    #expect(stderrText(r).contains("Weft misuse: stackSize 16383 is below the 16 KiB minimum"))
  }

  @Test func spawnStackSizeBelowTheMinimum() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      spawn(stackSize: 4096) { }
    }
    #expect(stderrText(r).contains("Weft misuse: stackSize 4096 is below the 16 KiB minimum"))
  }

  /// The fiber keeps its stack size in 32 bits (FiberCore `Placement`).
  @Test func fiberStackSizeAboveTheMaximum() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      spawn(stackSize: 1 << 32, with: 1) { $0 }
    }
    #expect(stderrText(r).contains("Weft misuse: stackSize 4294967296 is above the 4 GiB maximum"))
  }

  /// 16 KiB exactly is allowed.
  @Test func minimumStackSizeWorks() throws {
    #expect(try spawn(stackSize: 16 * 1024) { 1 }.fetch() == 1)
  }
}
