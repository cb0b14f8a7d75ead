import ArgumentParser

/// weft-stress's command line (Docs/Testing.md): `weft-stress [SCENARIO ...] [--duration S]
/// [--scale K] [--seed N] [--workers N] [--interactive N] [--watchdog S] [--round R] [--soak]
/// [--trap] [--no-track] [--list]`. What the options parse to; `settings(...)` then fills in
/// the defaults that come from the environment and the clock.
public struct StressArguments: ParsableArguments {
  @Argument(help: ArgumentHelp(
    "A scenario name, or a group prefix (\"spawn\" = spawn-flat spawn-tree spawn-chain); none: every scenario.",
    valueName: "scenario"))
  public var scenarios: [String] = []

  @Option(parsing: .unconditional,
          help: ArgumentHelp("Seconds per scenario (default 2); 60 or more turns on soak mode.", valueName: "seconds"),
          transform: { try Value.seconds($0, allowZero: true) })
  public var duration: Double = StressSettings.defaultDuration

  @Option(parsing: .unconditional,
          help: ArgumentHelp("Multiply every size by K (default: $WEFT_STRESS_SCALE, else 1).", valueName: "K"),
          transform: Value.positiveNumber)
  public var scale: Double?

  @Option(parsing: .unconditional,
          help: ArgumentHelp("Seed for every random choice, decimal or 0x hex (default: from the clock, printed).",
                             valueName: "N"),
          transform: Value.seed)
  public var seed: UInt64?

  @Option(parsing: .unconditional,
          help: ArgumentHelp("Default-pool worker threads (default: $WEFT_NUM_THREADS, else the CPU count).", valueName: "N"),
          transform: { try Value.count($0, minimum: 1) })
  public var workers: Int?

  @Option(parsing: .unconditional,
          help: ArgumentHelp("Interactive-pool worker threads (default 1; 0: fibers asking for it run in the default pool).",
                             valueName: "N"),
          transform: { try Value.count($0, minimum: 0) })
  public var interactive: Int = 1

  @Option(parsing: .unconditional,
          help: ArgumentHelp("Dump the scheduler and fail when nothing progresses for this many seconds (default 30).",
                             valueName: "seconds"),
          transform: { try Value.seconds($0, allowZero: false) })
  public var watchdog: Double = 30

  @Option(parsing: .unconditional,
          help: ArgumentHelp("Run only round R's shapes, repeatedly (with --seed, to reproduce a failure).", valueName: "R"),
          transform: { try Value.count($0, minimum: 0) })
  public var round: Int?

  @Flag(help: "Sample resident memory at the start, middle and end of each scenario and fail on growth.")
  public var soak = false

  @Flag(help: "Stop the program at the first failed check (for a debugger or a core dump).")
  public var trap = false

  @Flag(name: .customLong("no-track"), help: "Do not track live fibers (faster spawns; dumps then list no blocked fibers).")
  public var noTrack = false

  @Flag(help: "Print the scenarios and what each checks.")
  public var list = false

  public init() {}

  /// The settings of this run: `WEFT_STRESS_SCALE` and `WEFT_NUM_THREADS` from `environment`
  /// where `--scale` and `--workers` were not given, `cpuCount` workers without either, and
  /// `clockSeed` without `--seed`.
  /// - Throws: `ValidationError` when `WEFT_STRESS_SCALE` (needed) is not a positive number.
  public func settings(environment: [String: String], cpuCount: Int,
                       clockSeed: @autoclosure () -> UInt64) throws -> StressSettings {
    var scale = self.scale ?? 1
    if self.scale == nil, let text = environment["WEFT_STRESS_SCALE"] {
      do { scale = try Value.positiveNumber(text) } catch {
        throw ValidationError("WEFT_STRESS_SCALE=\(text) is \(error) (unset it or pass --scale)")
      }
    }
    var workers = self.workers ?? cpuCount
    // As the runtime reads it: the first of a "4,1" pair; anything else leaves the CPU count.
    if self.workers == nil, let text = environment["WEFT_NUM_THREADS"],
       let n = Int(text.split(separator: ",").first ?? ""), n > 0 {
      workers = n
    }
    return StressSettings(
      names: scenarios, duration: duration, scale: scale, seed: seed ?? clockSeed(), seedGiven: seed != nil,
      workers: workers, interactive: interactive, watchdog: watchdog, round: round,
      soak: soak || duration >= StressSettings.soakThreshold, trap: trap, trackFibers: !noTrack, list: list)
  }
}

/// The settings of one weft-stress run, every default filled in.
public struct StressSettings: Sendable, Equatable {
  /// Scenario names or group prefixes from the command line; empty: every scenario.
  public var names: [String]
  /// Seconds per scenario.
  public var duration: Double
  public var scale: Double
  public var seed: UInt64
  public var seedGiven: Bool
  public var workers: Int
  /// Workers of the interactive pool (1 by default, so cross-pool paths always run).
  public var interactive: Int
  public var watchdog: Double
  /// Run only this round's seed (again and again), to reproduce a failure.
  public var round: Int?
  public var soak: Bool
  public var trap: Bool
  public var trackFibers: Bool
  public var list: Bool

  public static let defaultDuration = 2.0
  /// In soak mode the resident set is sampled per scenario; `--duration` of this many
  /// seconds or more turns it on by itself.
  public static let soakThreshold = 60.0

  public init(names: [String], duration: Double, scale: Double, seed: UInt64, seedGiven: Bool, workers: Int,
              interactive: Int, watchdog: Double, round: Int?, soak: Bool, trap: Bool, trackFibers: Bool, list: Bool) {
    self.names = names
    self.duration = duration
    self.scale = scale
    self.seed = seed
    self.seedGiven = seedGiven
    self.workers = workers
    self.interactive = interactive
    self.watchdog = watchdog
    self.round = round
    self.soak = soak
    self.trap = trap
    self.trackFibers = trackFibers
    self.list = list
  }

  /// The indices into `all + hidden` of the scenarios the command line names (exact names or
  /// group prefixes), in run order; every one of `all` when none is named. `hidden` ones run
  /// only when named.
  /// - Throws: `ValidationError` naming an unknown scenario and listing the known ones.
  public func selected(all: [String], hidden: [String] = []) throws -> [Int] {
    if names.isEmpty { return Array(all.indices) }
    let known = all + hidden
    func matches(_ s: String, _ n: String) -> Bool { s == n || s.hasPrefix(n + "-") }
    for n in names where !known.contains(where: { matches($0, n) }) {
      throw ValidationError("unknown scenario '\(n)' (neither a name nor a group prefix); known: "
        + all.joined(separator: " "))
    }
    return known.indices.filter { i in names.contains { matches(known[i], $0) } }
  }

  /// The command that reruns `scenario` with this run's settings (and `round`, if given).
  public func rerunCommand(_ scenario: String, round: Int?) -> String {
    var parts = ["swift run -c release weft-stress", scenario, "--seed \(seed)"]
    if let round { parts.append("--round \(round)") }
    parts.append("--scale \(trimmed(scale))")
    parts.append("--workers \(workers)")
    parts.append("--interactive \(interactive)")
    parts.append("--duration \(trimmed(duration))")
    if !trackFibers { parts.append("--no-track") }
    return parts.joined(separator: " ")
  }
}

/// `x` without a fractional part when it has none: `2`, `0.5`.
public func trimmed(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x) }
