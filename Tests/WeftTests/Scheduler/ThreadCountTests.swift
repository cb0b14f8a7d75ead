#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Weft

// WEFT_NUM_THREADS (Julia's JULIA_NUM_THREADS): "N", "N,M" (M interactive threads), "auto".
// The environment is process-wide and other tests run in parallel, so every case runs in its
// own child process (an exit test) that sets the variable and parses it.

@Suite struct ThreadCountTests {
  /// (text, default threads, interactive threads); -1 stands for the CPU count.
  static let valid: [(String, Int, Int)] = [
    ("4", 4, 0), ("4,1", 4, 1), ("2,3", 2, 3), (" 3 ", 3, 0), ("1,0", 1, 0),
    ("auto", -1, 0), ("auto,2", -1, 2), ("3,auto", 3, 1),
    ("0", 1, 0),  // at least one default thread
  ]

  @Test(arguments: valid)
  func parses(_ text: String, _ threads: Int, _ interactive: Int) async {
    let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) { [text, threads, interactive] in
      setenv("WEFT_NUM_THREADS", text, 1)
      let (d, i) = Scheduler.threadCountsFromEnvironment()
      let want = (threads == -1 ? Scheduler.cpuCount : threads, interactive)
      if (d, i) != want {
        writeToStandardError("WEFT_NUM_THREADS=\(text): got \((d, i)), want \(want)\n")
        exit(1)
      }
    }
    #expect(stderrText(result).isEmpty)
  }

  @Test func unsetMeansOneDefaultThreadPerCPU() async {
    await #expect(processExitsWith: .success) {
      unsetenv("WEFT_NUM_THREADS")
      let (d, i) = Scheduler.threadCountsFromEnvironment()
      if d != Scheduler.cpuCount || i != 0 { exit(1) }
    }
  }

  @Test(arguments: ["abc", "", "4,x", "-1", "2,-1", "1.5"])
  func rejects(_ text: String) async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { [text] in
      setenv("WEFT_NUM_THREADS", text, 1)
      _ = Scheduler.threadCountsFromEnvironment()
    }
    #expect(stderrText(result).contains("is not a thread count: use N, N,M or auto"))
  }

  /// The shared scheduler starts with the counts from the environment.
  @Test func sharedSchedulerUsesTheEnvironment() async {
    await #expect(processExitsWith: .success) {
      setenv("WEFT_NUM_THREADS", "3,1", 1)
      let counts = try spawn { (Threads.nthreads(), Threads.nthreads(.interactive)) }.fetch()
      let pool = try spawn(pool: .interactive) { Threads.threadpool() }.fetch()
      if counts != (3, 1) || pool != .interactive || Threads.nthreads() != 3 { exit(1) }
    }
  }
}
