import ArgumentParser
import Testing
@testable import WeftCommandLine

/// weft-bench's command line: workload names, key=value overrides and --workers in any order
/// (Scripts/test.sh, Scripts/bench-compare.sh, Docs/Benchmarks.md), checked against the
/// workloads there are.
@Suite struct BenchArgumentsTests {
  let catalog: [(name: String, parameters: [(String, String)])] = [
    ("spawn_many", [("n", "1000000")]), ("fib27", [("n", "27")]), ("fairness", [("rounds", "100000")]),
    ("lock_contention", [("fibers", "1,4,16,64"), ("iters", "100000")]),
    ("asyncmap", [("work", "sleep1ms,compute1us"), ("n", "10000"), ("ntasks", "100")]),
  ]

  func parsed(_ args: [String]) throws -> BenchArguments {
    let a = try BenchArguments.parse(args)
    try a.check(against: catalog)
    return a
  }

  /// The message after "Error: " for `args`, or nil if they parse and check out.
  func message(_ args: [String]) -> String? {
    do {
      _ = try parsed(args)
      return nil
    } catch {
      return BenchArguments.message(for: error)
    }
  }

  @Test func namesOverridesAndWorkersInAnyOrder() throws {
    let a = try parsed(["spawn_many", "n=100000", "--workers", "2", "fib27"])
    #expect(a.workloads == ["spawn_many", "fib27"])
    #expect(a.overrides == ["n": "100000"])
    #expect(a.workers == 2)
    let b = try parsed(["--workers", "1", "fib27"])
    #expect((b.workloads, b.workers) == (["fib27"], 1))
    let none = try parsed([])
    #expect(none.workloads.isEmpty && none.overrides.isEmpty && none.workers == nil)
    // The last of a key given twice wins; a value may hold "=" and ",".
    let c = try parsed(["n=1", "n=2", "asyncmap", "work=compute1us,sleep1ms"])
    #expect(c.overrides == ["n": "2", "work": "compute1us,sleep1ms"])
    #expect(try parsed(["lock_contention", "fibers=1,8"]).overrides == ["fibers": "1,8"])
    // Without names an override applies to every workload that has the key.
    #expect(try parsed(["n=5"]).overrides == ["n": "5"])
  }

  @Test func badInputSaysWhatIsWrong() {
    #expect(message(["--workers", "abc"]) == "The value 'abc' is invalid for '--workers <N>': not a whole number")
    #expect(message(["--workers", "0"]) == "The value '0' is invalid for '--workers <N>': must be 1 or more")
    #expect(message(["--workers"]) == "Missing value for '--workers <N>'")
    #expect(message(["fib28"]) == "unknown workload 'fib28'; known: spawn_many fib27 fairness lock_contention asyncmap")
    #expect(message(["fib27", "rounds=5"]) == "no workload that runs has a parameter 'rounds' (theirs: n)")
    #expect(message(["spawn_many", "n=lots"])
      == "'n=lots': n takes a whole number (or a comma-separated list of them)")
    #expect(message(["lock_contention", "fibers=1,x"])
      == "'fibers=1,x': fibers takes a whole number (or a comma-separated list of them)")
    #expect(message(["=5"]) == "'=5' overrides no parameter: write key=value, e.g. n=100000")
    #expect(message(["--warmup"])?.hasPrefix("Unknown option '--warmup'") == true)
  }

  @Test func exitStatus() {
    do {
      _ = try parsed(["fib28"])
      Issue.record("an unknown workload was accepted")
    } catch {
      let exit = CommandLineExit(error, of: BenchArguments.self)
      #expect(exit.status == 2)
      #expect(exit.text.hasPrefix("Error: unknown workload 'fib28'"))
    }
  }
}

/// The help sections that list scenarios and workloads.
@Suite struct HelpCatalogTests {
  @Test func alignsNamesAndWrapsUnderTheDescription() {
    let text = catalog("Scenarios", [("a", "short"), ("longer-name", "one two three four five six")], columns: 32)
    #expect(text == """
      Scenarios:
        a            short
        longer-name  one two three
                     four five six
      """)
    for line in text.split(separator: "\n") { #expect(line.count <= 32) }
    #expect(catalog("Exit status", [("0", "")]) == "Exit status:\n  0")
  }
}
