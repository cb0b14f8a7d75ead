import Weft
#if canImport(Glibc)
import Glibc
#endif

/// The command line: `weft-stress [SCENARIO ...] [--duration S] [--scale K] [--seed N]
/// [--workers N] [--interactive N] [--watchdog S] [--round R] [--soak] [--trap] [--no-track] [--list]`.
struct Options: Sendable {
  var names: [String] = []
  /// Seconds per scenario.
  var duration = Options.defaultDuration
  var scale = 1.0
  var seed: UInt64 = 0
  var seedGiven = false
  var workers = Scheduler.cpuCount
  /// Workers of the interactive pool (1 by default, so cross-pool paths always run).
  var interactive = 1
  var watchdog = 30.0
  /// Run only this round's seed (again and again), to reproduce a failure.
  var round: Int? = nil
  var soak = false
  var trap = false
  var trackFibers = true
  var list = false

  static let defaultDuration = 2.0
  /// In soak mode the resident set is sampled per scenario; `--duration` of this many
  /// seconds or more turns it on by itself.
  static let soakThreshold = 60.0

  static let usage = """
    usage: weft-stress [SCENARIO ...] [options]
      SCENARIO        a scenario name, or a group prefix ("spawn" = spawn-flat spawn-tree spawn-chain);
                      none: every scenario
      --duration S    seconds per scenario (default \(fixed(defaultDuration, 1))); 60 or more turns on soak mode
      --scale K       multiply every size by K (default: $WEFT_STRESS_SCALE, else 1)
      --seed N        seed for every random choice (default: from the clock, printed)
      --workers N     default-pool worker threads (default: $WEFT_NUM_THREADS, else the CPU count)
      --interactive N interactive-pool worker threads (default 1; 0: fibers asking for it run in the default pool)
      --watchdog S    dump the scheduler and fail when no progress for S seconds (default 30)
      --round R       run only round R's shapes, repeatedly (with --seed, to reproduce a failure)
      --soak          sample resident memory at start/middle/end of each scenario and fail on growth
      --trap          stop the program at the first failed check (for a debugger or core dump)
      --no-track      do not track live fibers (faster spawns; dumps then list no blocked fibers)
      --list          print the scenarios and what each checks
    """

  static func parse(_ arguments: [String]) -> Options {
    var o = Options()
    if let env = getenv("WEFT_STRESS_SCALE") {
      let text = String(cString: env)
      guard let k = Double(text), k > 0 else { fail("WEFT_STRESS_SCALE=\(text) is not a positive number") }
      o.scale = k
    }
    if let env = getenv("WEFT_NUM_THREADS"), let n = Int(String(cString: env).split(separator: ",").first ?? ""), n > 0 {
      o.workers = n
    }
    var args = ArraySlice(arguments)
    func value(_ flag: String) -> String {
      guard let v = args.popFirst() else { fail("\(flag) needs a value") }
      return v
    }
    while let a = args.popFirst() {
      switch a {
      case "--duration":
        guard let d = Double(value(a)), d >= 0 else { fail("--duration needs seconds ≥ 0") }
        o.duration = d
      case "--scale":
        guard let k = Double(value(a)), k > 0 else { fail("--scale needs a positive number") }
        o.scale = k
      case "--seed":
        let v = value(a)
        guard let s = UInt64(v) ?? (v.hasPrefix("0x") ? UInt64(v.dropFirst(2), radix: 16) : nil) else {
          fail("--seed needs an unsigned integer")
        }
        o.seed = s
        o.seedGiven = true
      case "--workers":
        guard let n = Int(value(a)), n >= 1 else { fail("--workers needs a count ≥ 1") }
        o.workers = n
      case "--interactive":
        guard let n = Int(value(a)), n >= 0 else { fail("--interactive needs a count ≥ 0") }
        o.interactive = n
      case "--watchdog":
        guard let s = Double(value(a)), s > 0 else { fail("--watchdog needs seconds > 0") }
        o.watchdog = s
      case "--round":
        guard let r = Int(value(a)), r >= 0 else { fail("--round needs a round number ≥ 0") }
        o.round = r
      case "--soak": o.soak = true
      case "--trap": o.trap = true
      case "--no-track": o.trackFibers = false
      case "--list": o.list = true
      case "--help", "-h":
        print(usage)
        exit(0)
      default:
        if a.hasPrefix("-") { fail("unknown option \(a)") }
        o.names.append(a)
      }
    }
    if !o.seedGiven { o.seed = nowNanoseconds() % 1_000_000_000 }
    if o.duration >= soakThreshold { o.soak = true }
    return o
  }

  /// The scenarios named on the command line (exact names or group prefixes), in run order;
  /// `hidden` ones run only when named.
  func selected(from all: [Scenario], hidden: [Scenario] = []) -> [Scenario] {
    if names.isEmpty { return all }
    let known = all + hidden
    func matches(_ s: Scenario, _ n: String) -> Bool { s.name == n || s.name.hasPrefix(n + "-") }
    for n in names where !known.contains(where: { matches($0, n) }) {
      Options.fail("unknown scenario \(n); known: " + all.map(\.name).joined(separator: " "))
    }
    return known.filter { s in names.contains { matches(s, $0) } }
  }

  /// The command that reruns `scenario` with this run's settings (and `round`, if given).
  func rerunCommand(_ scenario: String, round: Int?) -> String {
    var parts = ["swift run -c release weft-stress", scenario, "--seed \(seed)"]
    if let round { parts.append("--round \(round)") }
    parts.append("--scale \(trimmed(scale))")
    parts.append("--workers \(workers)")
    parts.append("--interactive \(interactive)")
    parts.append("--duration \(trimmed(duration))")
    if !trackFibers { parts.append("--no-track") }
    return parts.joined(separator: " ")
  }

  static func fail(_ message: String) -> Never {
    printError("weft-stress: \(message)\n\(usage)")
    exit(2)
  }
}

func trimmed(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }
