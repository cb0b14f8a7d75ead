import CWeft  // weft_gettid
import Foundation
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

  /// A SIGQUIT taken by a thread asleep in Weft's futex wait (a thread blocked in `wait`, as a
  /// deadlocked program's main thread is) prints the dump too. Under ThreadSanitizer the
  /// signal used to stay pending there for ever: TSan runs handlers at the thread's next
  /// intercepted call, and the raw futex system call is none (CWeft.c, weft_futex_wait).
  @Test func sigquitTakenByAThreadAsleepInAWaitPrintsTheDump() async {
    let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
      let s = Scheduler(threads: 1, trackFibers: true)
      let event = Event()
      let f = s.spawn { try sigquitProbeBlocksHere(event, Counter()) }
      while f.stateDescription != "parked" { sched_yield() }
      let tid = Counter(), thread = Counter()
      let waiter = Thread {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGQUIT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)  // exit tests' threads block it
        thread.store(Int(bitPattern: pthread_self()))
        tid.store(Int(weft_gettid()))
        try? f.wait()
      }
      waiter.start()
      // Until that thread sleeps in the kernel's futex wait (its state in /proc), so that the
      // signal interrupts the wait rather than arriving before it.
      while tid.value == 0 || !threadSleepsInFutex(tid.value) { sched_yield() }
      let before = Diagnostics.signalDumpCount
      precondition(pthread_kill(pthread_t(bitPattern: thread.value), SIGQUIT) == 0)
      let deadline = monotonicNanoseconds() + 60_000_000_000  // the watchdog
      while Diagnostics.signalDumpCount == before {
        if monotonicNanoseconds() > deadline { exit(3) }
        sched_yield()
      }
      event.notify()
      try f.wait()
      s.shutdown()
      exit(0)
    }
    let text = stderrText(result)
    #expect(text.contains("Weft: state dump (SIGQUIT)"), "\(text)")
    #expect(text.contains("blocked on Event.wait"), "\(text)")
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

/// True when thread `tid` of this process is asleep in a futex wait (/proc/self/task/TID/wchan;
/// where the kernel hides wchan, asleep at all: state S in its stat line).
func threadSleepsInFutex(_ tid: Int) -> Bool {
  let task = "/proc/self/task/\(tid)"
  guard let wchan = try? String(contentsOfFile: task + "/wchan", encoding: .utf8) else { return false }
  if wchan.contains("futex") { return true }
  guard wchan == "0", let stat = try? String(contentsOfFile: task + "/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")") else { return false }
  return stat[stat.index(close, offsetBy: 2)...].hasPrefix("S")
}
