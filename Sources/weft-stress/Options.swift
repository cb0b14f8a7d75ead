import ArgumentParser
import Weft
import WeftCommandLine

/// The settings of a run (WeftCommandLine's `StressArguments` resolved: every default filled).
typealias Options = StressSettings

/// weft-stress's command line: `StressArguments`, with help that lists every scenario and
/// the exit statuses.
struct WeftStressCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "weft-stress",
    abstract: "Runs stress scenarios against the Weft runtime and checks conservation (Docs/Testing.md).",
    discussion: catalog("Scenarios", allScenarios.map { ($0.name, $0.checks) }) + "\n\n"
      + catalog("Self-test scenarios (fail on purpose; run only when named)", selfTestScenarios.map { ($0.name, $0.checks) })
      + "\n\n"
      + catalog("Exit status", [
        ("0", "every scenario passed"), ("1", "a scenario failed"),
        ("\(usageExitStatus)", "a bad command line (or WEFT_STRESS_SCALE)"), ("3", "the watchdog fired"),
      ]))

  @OptionGroup var arguments: StressArguments
}

/// The settings and the scenarios to run, from `arguments` and the environment; prints the
/// help and exits 0 on `--help`, prints what is wrong and exits 2 on a bad command line.
func parseCommandLine(_ arguments: [String]) -> (Options, [Scenario]) {
  WeftStressCommand.parseOrExit(arguments) { command in
    let o = try command.arguments.settings(
      environment: environmentValues(["WEFT_STRESS_SCALE", "WEFT_NUM_THREADS"]), cpuCount: Scheduler.cpuCount,
      clockSeed: nowNanoseconds() % 1_000_000_000)
    let known = allScenarios + selfTestScenarios
    let picked = try o.selected(all: allScenarios.map(\.name), hidden: selfTestScenarios.map(\.name))
    return (o, picked.map { known[$0] })
  }
}
