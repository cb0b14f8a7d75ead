import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Weft

/// Blocks in a function of this file, so that the SIGQUIT dump must name it.
@inline(never)
func sigquitProbeBlocksHere(_ event: Event, _ counter: Counter) throws {
  try event.wait()
  counter.increment()
}

/// SIGQUIT prints every scheduler's dump with backtraces, and the program goes on.
@Suite struct SignalDumpTests {
  @Test func sigquitPrintsTheDumpAndTheProgramGoesOn() async {
    let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
      let s = Scheduler(threads: 2, trackFibers: true)
      let event = Event()
      let counter = Counter()
      let f = s.spawn { try sigquitProbeBlocksHere(event, counter) }
      while f.stateDescription != "parked" { sched_yield() }
      let before = Diagnostics.signalDumpCount
      // Process-directed, as `kill -QUIT pid`: the exit test's thread blocks SIGQUIT, so
      // the diagnostics thread (which unblocks it) takes the signal.
      kill(getpid(), SIGQUIT)
      // The diagnostics thread prints the dump; wait for it (bounded by the test's time limit).
      while Diagnostics.signalDumpCount == before { sched_yield() }
      event.notify()
      try f.wait()
      precondition(counter.value == 1)
      s.shutdown()
      exit(0)
    }
    let text = stderrText(result)
    #expect(text.contains("Weft: state dump (SIGQUIT)"), "\(text)")
    #expect(text.contains("blocked on Event.wait"), "\(text)")
    #expect(text.contains("at WeftTests.sigquitProbeBlocksHere"), "\(text)")
  }

  @Test func sigquitDumpCanBeTurnedOff() async {
    // With the dump off, SIGQUIT has its default action again: the child dies of it.
    await #expect(processExitsWith: .signal(SIGQUIT)) {
      let s = Scheduler(threads: 1)
      Diagnostics.dumpsOnSIGQUIT = false
      _ = s
      kill(getpid(), SIGQUIT)
      // Whichever thread takes it, the default action ends the process before this does.
      while true { sched_yield() }
    }
  }

  @Test func dumpOfAllSchedulersNamesEachOne() throws {
    let s = Scheduler(threads: 1, trackFibers: true)
    defer { s.shutdown() }
    let text = Diagnostics.dumpAllSchedulers()
    #expect(text.hasPrefix("Weft: state dump (SIGQUIT)"))
    #expect(text.contains("Weft scheduler: 1 workers"))
    #expect(text.contains("non-worker threads blocked in Weft:"))
  }
}
