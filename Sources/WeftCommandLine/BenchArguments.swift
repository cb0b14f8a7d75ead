import ArgumentParser

/// weft-bench's command line (Docs/Benchmarks.md, Scripts/bench-compare.sh, which passes the
/// same words to the Go side): `weft-bench [WORKLOAD ...] [--workers N] [key=value ...]`,
/// workload names and parameter overrides in any order.
public struct BenchArguments: ParsableArguments {
  @Argument(help: ArgumentHelp(
    "A workload to run (none: every workload), or a key=value override of a parameter of the workloads that run.",
    valueName: "workload | key=value"))
  public var items: [String] = []

  @Option(parsing: .unconditional,
          help: ArgumentHelp("Run on a scheduler of N worker threads made for this run (default: the shared "
                               + "scheduler, $WEFT_NUM_THREADS or the CPU count).", valueName: "N"),
          transform: { try Value.count($0, minimum: 1) })
  public var workers: Int?

  public init() {}

  /// The workload names, in command-line order.
  public var workloads: [String] { items.filter { !$0.contains("=") } }

  /// The `key=value` overrides (the last one wins for a key given twice).
  public var overrides: [String: String] {
    var o: [String: String] = [:]
    for item in items {
      guard let eq = item.firstIndex(of: "=") else { continue }
      o[String(item[..<eq])] = String(item[item.index(after: eq)...])
    }
    return o
  }

  public func validate() throws {
    for item in items where item.hasPrefix("=") {
      throw ValidationError("'\(item)' overrides no parameter: write key=value, e.g. n=100000")
    }
  }

  /// Checks the names and overrides against the workloads there are (`parameters`: each
  /// parameter and its default, as the workload prints them).
  /// - Throws: `ValidationError` for a workload that does not exist, a key that no workload
  ///   that runs has, and a value that is not whole numbers where the default is.
  public func check(against catalog: [(name: String, parameters: [(String, String)])]) throws {
    for name in workloads where !catalog.contains(where: { $0.name == name }) {
      throw ValidationError("unknown workload '\(name)'; known: " + catalog.map(\.name).joined(separator: " "))
    }
    let running = workloads.isEmpty ? catalog : catalog.filter { workloads.contains($0.name) }
    for (key, value) in overrides.sorted(by: { $0.key < $1.key }) {
      let defaults = running.flatMap { w in w.parameters.filter { $0.0 == key }.map(\.1) }
      if defaults.isEmpty {
        let keys = Set(running.flatMap { $0.parameters.map(\.0) }).sorted()
        throw ValidationError("no workload that runs has a parameter '\(key)' (theirs: \(keys.joined(separator: " ")))")
      }
      // "1,4,16,64": a default of whole numbers (or a list of them) takes only the same.
      if defaults.allSatisfy(isWholeNumbers), !isWholeNumbers(value) {
        throw ValidationError("'\(key)=\(value)': \(key) takes a whole number (or a comma-separated list of them)")
      }
    }
  }
}

private func isWholeNumbers(_ text: String) -> Bool {
  let parts = text.split(separator: ",", omittingEmptySubsequences: false)
  return !parts.isEmpty && parts.allSatisfy { Int($0) != nil }
}
