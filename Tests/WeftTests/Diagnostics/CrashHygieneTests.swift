import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Weft

/// Crashes on fiber stacks end cleanly in the default environment (Signals.c C1–C2): Weft's
/// message, death by the signal, and no swift-backtrace process left holding the output open
/// (it used to keep a parent's pipe open for over a minute). Each case runs this test binary
/// again as a child with SWIFT_BACKTRACE removed from its environment, so that Swift's crash
/// backtracer is on as it is for users; the child runs `crashChild` below.
@Suite struct CrashHygieneTests {
  /// The crash to cause, named by WEFT_CRASH_CHILD; a normal run (no such variable) does nothing.
  @Test func crashChild() throws {
    guard let what = getenv("WEFT_CRASH_CHILD").map({ String(cString: $0) }) else { return }
    switch what {
    case "overflow": _ = try spawn(stackSize: 64 * 1024) { useStack(bytes: 16 << 20) }.fetch()
    case "overflowWithNoise":
      // Another thread writes to stderr all the while, as a warning printed at the wrong
      // moment did: the overflow line must still come out whole.
      startStderrNoise()
      _ = try spawn(stackSize: 64 * 1024) { useStack(bytes: 16 << 20) }.fetch()
    case "fatalError": _ = try spawn { () -> Int in crashHygieneTrap("planned crash on a fiber") }.fetch()
    case "abort": _ = try spawn { () -> Int in abort() }.fetch()
    case "offFiber":
      // A crash on a thread that runs no fiber, while a scheduler (and Weft's handler) is up:
      // it goes to Swift's backtracer as before.
      let s = Scheduler(threads: 1)
      try s.spawn { }.wait()
      crashHygieneTrap("planned crash off fiber stacks")
    default: Issue.record("unknown WEFT_CRASH_CHILD \(what)")
    }
  }

  static func run(_ what: String) -> ChildRun {
    let run = runTestBinaryChild(filter: "CrashHygieneTests/crashChild", set: ["WEFT_CRASH_CHILD": what],
                                 unset: ["SWIFT_BACKTRACE"], timeoutSeconds: underTSan ? 60 : 30)
    #expect(run.pipeClosed, "the child's output was still open after the time limit: \(run.orphans) \(run.output)")
    #expect(run.orphans.isEmpty, "left behind, holding the output open: \(run.orphans)")
    return run
  }

  @Test func stackOverflowEndsCleanlyWithTheDefaultEnvironment() {
    let run = Self.run("overflow")
    #expect(run.output.contains("fiber stack overflow (stack size 65536 bytes, guard page hit)"), "\(run.output)")
    #expect(run.signal == SIGSEGV, "\(run)")
    #expect(!run.output.contains("Program crashed"), "\(run.output)")  // Swift's backtracer never ran
  }

  /// Regression: the overflow line went out in five writes, and a warning another thread
  /// printed meanwhile landed inside it (seen under load in the TSan suite); it is one write now.
  @Test func theOverflowLineIsOneWriteThatOtherOutputCannotSplit() {
    let run = Self.run("overflowWithNoise")
    #expect(run.output.contains("fiber stack overflow (stack size 65536 bytes, guard page hit): pass a larger stackSize"), "\(run.output.suffix(2000))")
    #expect(run.signal == SIGSEGV, "\(run.signal)")
  }

  @Test func aTrapOnAFiberEndsCleanlyWithItsBacktrace() {
    let run = Self.run("fatalError")
    #expect(run.output.contains("Fatal error: planned crash on a fiber"), "\(run.output)")
    #expect(run.output.contains("Weft: SIGILL"), "\(run.output)")
    #expect(run.output.contains("on a fiber's stack"), "\(run.output)")
    #expect(run.output.contains("backtrace of the crashed fiber"), "\(run.output)")
    #expect(run.signal == SIGILL || run.signal == SIGTRAP, "\(run)")
    #expect(!run.output.contains("Program crashed"), "\(run.output)")
  }

  @Test func anAbortOnAFiberEndsCleanly() {
    let run = Self.run("abort")
    #expect(run.output.contains("Weft: SIGABRT (abort) on a fiber's stack"), "\(run.output)")
    #expect(run.signal == SIGABRT, "\(run)")
  }

  /// The control: off fiber stacks Weft's handler passes the crash to Swift's backtracer,
  /// which prints its own report, and the child still ends (its backtracer with it).
  @Test(.disabled(if: underTSan, "Swift's crash backtracer fails under ThreadSanitizer on any stack (TSan CHECK failures, an orphan swift-backtrace): nothing of Weft's to check"))
  func aCrashOffFiberStacksStillReachesSwiftsBacktracer() {
    let run = Self.run("offFiber")
    #expect(run.output.contains("Fatal error: planned crash off fiber stacks"), "\(run.output)")
    #expect(!run.output.contains("on a fiber's stack"), "\(run.output)")
    #expect(run.output.contains("Program crashed"), "\(run.output)")
    #expect(run.signal == SIGILL || run.signal == SIGTRAP, "\(run)")
  }
}

/// Starts a thread that writes short lines to stderr until the process ends.
func startStderrNoise() {
  var thread = pthread_t()
  let rc = pthread_create(&thread, nil, { _ -> UnsafeMutableRawPointer? in
    while true { _ = write(2, "noise\n", 6) }
  }, nil)
  precondition(rc == 0, "pthread_create failed: \(rc)")
}

/// A Swift runtime trap (fatalError) in a function of this file.
@inline(never)
func crashHygieneTrap(_ message: String) -> Never { fatalError(message) }
