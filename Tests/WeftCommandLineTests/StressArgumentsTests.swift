import ArgumentParser
import Testing
@testable import WeftCommandLine

/// weft-stress's command line: every option of Docs/Testing.md, its default, the environment
/// variables, and what a bad value says.
@Suite struct StressArgumentsTests {
  func settings(_ args: [String], environment: [String: String] = [:]) throws -> StressSettings {
    try StressArguments.parse(args).settings(environment: environment, cpuCount: 8, clockSeed: 12345)
  }

  /// The message ArgumentParser prints after "Error: " for `args`, or nil if they parse.
  func message(_ args: [String]) -> String? {
    do {
      _ = try StressArguments.parse(args)
      return nil
    } catch {
      return StressArguments.message(for: error)
    }
  }

  @Test func defaults() throws {
    let s = try settings([])
    #expect(s == StressSettings(names: [], duration: 2, scale: 1, seed: 12345, seedGiven: false, workers: 8,
                                interactive: 1, watchdog: 30, round: nil, soak: false, trap: false, trackFibers: true,
                                list: false))
  }

  @Test func everyOptionAndScenariosInAnyOrder() throws {
    let s = try settings(["spawn", "--duration", "0.5", "--scale", "0.05", "--seed", "0x10", "--workers", "2",
                          "--interactive", "0", "timer-storm", "--watchdog", "120", "--round", "3", "--soak", "--trap",
                          "--no-track", "--list"])
    #expect(s == StressSettings(names: ["spawn", "timer-storm"], duration: 0.5, scale: 0.05, seed: 16, seedGiven: true,
                                workers: 2, interactive: 0, watchdog: 120, round: 3, soak: true, trap: true,
                                trackFibers: false, list: true))
    #expect(try settings(["--seed", "663469941"]).seed == 663_469_941)
    #expect(try settings(["--duration=10", "spawn"]).duration == 10)
    #expect(try settings(["--duration", "0"]).duration == 0)
  }

  /// Scripts/test.sh's and Scripts/run.sh's invocations.
  @Test func scriptInvocations() throws {
    #expect(try settings(["--duration", "2"]).duration == 2)
    let tsan = try settings(["--duration", "1", "--scale", "0.05", "--watchdog", "120"])
    #expect((tsan.duration, tsan.scale, tsan.watchdog) == (1, 0.05, 120))
    let run = try settings(["spawn", "--duration", "10"])
    #expect((run.names, run.duration) == (["spawn"], 10))
    #expect(try settings(["selftest-deadlock", "--watchdog", "1"]).watchdog == 1)
  }

  /// `--duration` of 60 s or more turns on soak mode by itself.
  @Test func longDurationTurnsOnSoak() throws {
    #expect(try settings(["--duration", "59.9"]).soak == false)
    #expect(try settings(["--duration", "60"]).soak == true)
    #expect(try settings(["--duration", "600"]).soak == true)
  }

  @Test func environment() throws {
    #expect(try settings([], environment: ["WEFT_STRESS_SCALE": "0.1"]).scale == 0.1)
    #expect(try settings(["--scale", "4"], environment: ["WEFT_STRESS_SCALE": "0.1"]).scale == 4)
    // --scale wins, so a bad variable does not matter then.
    #expect(try settings(["--scale", "4"], environment: ["WEFT_STRESS_SCALE": "lots"]).scale == 4)
    #expect(try settings([], environment: ["WEFT_NUM_THREADS": "4,1"]).workers == 4)
    #expect(try settings([], environment: ["WEFT_NUM_THREADS": "3"]).workers == 3)
    #expect(try settings([], environment: ["WEFT_NUM_THREADS": "auto"]).workers == 8)
    #expect(try settings(["--workers", "2"], environment: ["WEFT_NUM_THREADS": "4"]).workers == 2)
    do {
      _ = try settings([], environment: ["WEFT_STRESS_SCALE": "lots"])
      Issue.record("a bad WEFT_STRESS_SCALE was accepted")
    } catch let e as ValidationError {
      #expect(e.message == "WEFT_STRESS_SCALE=lots is not a number (unset it or pass --scale)")
    }
    #expect(throws: ValidationError.self) { try settings([], environment: ["WEFT_STRESS_SCALE": "0"]) }
  }

  /// Each bad value says what is wrong with it, not only what the option wants.
  @Test func badValuesSayWhatIsWrong() {
    #expect(message(["--duration", "abc"]) == "The value 'abc' is invalid for '--duration <seconds>': not a number of seconds")
    #expect(message(["--duration", "-1"])
      == "The value '-1' is invalid for '--duration <seconds>': a negative number of seconds (0 or more)")
    #expect(message(["--duration", "inf"])
      == "The value 'inf' is invalid for '--duration <seconds>': not a finite number of seconds")
    #expect(message(["--scale", "0"]) == "The value '0' is invalid for '--scale <K>': must be more than 0")
    #expect(message(["--scale", "big"]) == "The value 'big' is invalid for '--scale <K>': not a number")
    #expect(message(["--seed", "-5"])
      == "The value '-5' is invalid for '--seed <N>': not an unsigned 64-bit integer (decimal, or hexadecimal with 0x)")
    #expect(message(["--seed", "0xZZ"]) == "The value '0xZZ' is invalid for '--seed <N>': not a hexadecimal unsigned 64-bit integer")
    #expect(message(["--workers", "0"]) == "The value '0' is invalid for '--workers <N>': must be 1 or more")
    #expect(message(["--workers", "two"]) == "The value 'two' is invalid for '--workers <N>': not a whole number")
    #expect(message(["--interactive", "-1"]) == "The value '-1' is invalid for '--interactive <N>': must be 0 or more")
    #expect(message(["--watchdog", "0"]) == "The value '0' is invalid for '--watchdog <seconds>': must be more than 0 seconds")
    #expect(message(["--round", "1.5"]) == "The value '1.5' is invalid for '--round <R>': not a whole number")
    #expect(message(["--duration"]) == "Missing value for '--duration <seconds>'")
    #expect(message(["--durration", "2"])?.hasPrefix("Unknown option '--durration'") == true)
  }

  /// A bad command line exits with status 2 and prints the error and the usage to standard
  /// error; --help exits 0 with the help on standard output.
  @Test func exitStatusAndText() throws {
    do {
      _ = try StressArguments.parse(["--duration", "abc"])
      Issue.record("--duration abc was accepted")
    } catch {
      let exit = CommandLineExit(error, of: StressArguments.self, columns: 200)
      #expect(exit.status == 2)
      #expect(exit.toStandardError)
      #expect(exit.text.hasPrefix("Error: The value 'abc' is invalid for '--duration <seconds>': not a number of seconds\n"))
      #expect(exit.text.contains("Usage: "))
    }
    do {
      _ = try StressArguments.parse(["--help"])
      Issue.record("--help parsed")
    } catch {
      let exit = CommandLineExit(error, of: StressArguments.self, columns: 200)
      #expect(exit.status == 0)
      #expect(!exit.toStandardError)
      for option in ["--duration", "--scale", "--seed", "--workers", "--interactive", "--watchdog", "--round", "--soak",
                     "--trap", "--no-track", "--list"] {
        #expect(exit.text.contains(option), "help lacks \(option)")
      }
    }
    // A check after parsing (an unknown scenario) exits the same way.
    let late = CommandLineExit(ValidationError("unknown scenario 'x'"), of: StressArguments.self)
    #expect(late.status == 2)
    #expect(late.text.hasPrefix("Error: unknown scenario 'x'"))
  }

  @Test func selectsByNameAndGroupPrefix() throws {
    let all = ["spawn-flat", "spawn-tree", "spawn-chain", "timer-storm", "channel-traffic"]
    let hidden = ["selftest-deadlock", "selftest-ledger"]
    func pick(_ names: [String]) throws -> [String] {
      let s = try settings(names)
      return try s.selected(all: all, hidden: hidden).map { (all + hidden)[$0] }
    }
    #expect(try pick([]) == all)
    #expect(try pick(["spawn"]) == ["spawn-flat", "spawn-tree", "spawn-chain"])
    #expect(try pick(["timer-storm", "spawn-tree"]) == ["spawn-tree", "timer-storm"])  // run order, not named order
    #expect(try pick(["selftest-ledger"]) == ["selftest-ledger"])
    #expect(try pick(["selftest"]) == hidden)
    do {
      _ = try pick(["spawn-flat", "spwan"])
      Issue.record("an unknown scenario was accepted")
    } catch let e as ValidationError {
      #expect(e.message == "unknown scenario 'spwan' (neither a name nor a group prefix); known: " + all.joined(separator: " "))
    }
    // "spawn-f" is not a group: prefixes end where a "-" does.
    #expect(throws: ValidationError.self) { try pick(["spawn-f"]) }
  }

  /// The rerun command a failure prints parses back to the same settings.
  @Test func rerunCommandParsesBack() throws {
    let s = try settings(["--seed", "5", "--scale", "0.25", "--workers", "3", "--interactive", "0", "--duration", "1.5",
                          "--no-track"])
    let command = s.rerunCommand("spawn-flat", round: 7)
    #expect(command == "swift run -c release weft-stress spawn-flat --seed 5 --round 7 --scale 0.25 --workers 3 "
      + "--interactive 0 --duration 1.5 --no-track")
    let words = command.split(separator: " ").dropFirst(4).map(String.init)
    var back = try settings(words)
    #expect(back.round == 7)
    back.round = nil
    back.names = []
    #expect(back == s)
  }
}
