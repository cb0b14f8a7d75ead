import ArgumentParser
import Foundation
import Weft
import WeftCommandLine
import WeftDistributed
#if canImport(Glibc)
import Glibc
#endif

// weft-montecarlo: a Monte-Carlo estimate of pi on worker processes (issue 13's example).
// The samples are split into chunks, each with its own seed; `pmap` runs the chunks on the
// workers (copies of this executable started by `addProcs`) and the hits are summed here:
// pi ≈ 4 · hits / samples, since a point uniform in the unit square falls inside the quarter
// circle with probability pi/4.
//
//   swift build -c release --product weft-montecarlo
//   .build/release/weft-montecarlo --workers 2 --samples 20000000

/// One chunk of samples, the unit of work `pmap` hands to a worker.
struct Chunk: Codable, Sendable {
  var seed: UInt64
  var samples: Int

  /// How many of `samples` points (x, y) uniform in [0, 1)² have x² + y² < 1.
  func hits() -> Int {
    var rng = SplitMix64(seed: seed)
    var inside = 0
    for _ in 0..<samples {
      let x = rng.nextUnitDouble(), y = rng.nextUnitDouble()
      if x * x + y * y < 1 { inside += 1 }
    }
    return inside
  }
}

/// SplitMix64 (Steele, Lea and Flood 2014): one addition and two multiplications per 64 bits,
/// and any seed is a good one, so chunk k can simply start from seed k.
struct SplitMix64 {
  private var state: UInt64
  init(seed: UInt64) { state = seed }

  @inline(__always) mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A double uniform in [0, 1): the top 53 bits.
  @inline(__always) mutating func nextUnitDouble() -> Double { Double(next() >> 11) * 0x1p-53 }
}

// Every process, the workers included, registers the chunk function; a process started by
// addProcs then becomes a worker here and never returns (it reads no arguments).
register("montecarlo.hits") { (c: Chunk) in c.hits() }
runWorkerIfLaunched()

/// weft-montecarlo's command line.
struct MonteCarloCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "weft-montecarlo",
    abstract: "Estimates pi by Monte-Carlo sampling, with pmap over worker processes started on this machine.")

  @Option(parsing: .unconditional, help: ArgumentHelp("Worker processes to start on this machine (default 2).", valueName: "N"),
          transform: { try Value.count($0, minimum: 1) })
  var workers = 2

  @Option(parsing: .unconditional, help: ArgumentHelp("Points to sample in all (default 20000000).", valueName: "S"),
          transform: { try Value.count($0, minimum: 1) })
  var samples = 20_000_000

  @Option(parsing: .unconditional,
          help: ArgumentHelp("Chunks to split the samples into (default: 8 per worker, so a slow worker holds up little).",
                             valueName: "K"),
          transform: { try Value.count($0, minimum: 1) })
  var chunks: Int?
}

let options = MonteCarloCommand.parseOrExit(Array(CommandLine.arguments.dropFirst())) { $0 }
let (workerCount, samples) = (options.workers, options.samples)
let chunkCount = min(options.chunks ?? 8 * workerCount, samples)
// Chunk k gets samples/chunkCount points, and the first samples % chunkCount one more.
let chunks = (0..<chunkCount).map { k in
  Chunk(seed: UInt64(k), samples: samples / chunkCount + (k < samples % chunkCount ? 1 : 0))
}

/// What one run measured.
struct Run: Sendable {
  var hits: Int
  var startSeconds: Double
  var pmapSeconds: Double
}

let run: Run
do {
  run = try spawn { () throws -> Run in
    let t0 = ContinuousClock.now
    let ids = try addProcs(workerCount)
    let t1 = ContinuousClock.now
    let hits: [Int]
    do { hits = try pmap("montecarlo.hits", chunks, on: ids, returning: Int.self) } catch {
      try? removeProcs(ids)
      throw error
    }
    let t2 = ContinuousClock.now
    try removeProcs(ids)
    return Run(hits: hits.reduce(0, +), startSeconds: seconds(t1 - t0), pmapSeconds: seconds(t2 - t1))
  }.fetch()
} catch {
  var text = "weft-montecarlo: \((error as? TaskFailedError)?.rootCause ?? error)\n"
  text.withUTF8 { b in _ = write(2, b.baseAddress, b.count) }
  exit(1)
}

let estimate = 4 * Double(run.hits) / Double(samples)
print("weft-montecarlo: \(samples) samples in \(chunkCount) chunks on \(workerCount) worker processes")
print("estimate \(String(format: "%.7f", estimate))")
print("error    \(String(format: "%.2e", abs(estimate - Double.pi))) (vs Double.pi)")
print("time     \(String(format: "%.3f", run.pmapSeconds)) s for pmap (starting the workers: \(String(format: "%.3f", run.startSeconds)) s)")
print("rate     \(String(format: "%.1f", Double(samples) / run.pmapSeconds / 1e6)) M samples/s")

func seconds(_ d: Duration) -> Double {
  let (s, a) = d.components
  return Double(s) + Double(a) / 1e18
}
