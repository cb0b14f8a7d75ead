/// The random numbers of a scenario. Every random choice is drawn from a `StressRandom`
/// seeded from the run's seed, the scenario's name, the round and (inside fibers) the
/// fiber's own index, never from shared state: so the same seed makes the same shapes
/// (sizes, branchings, durations, who fails), whatever order the workers run fibers in.
struct StressRandom: Sendable {
  private var state: UInt64

  init(seed: UInt64) { state = seed }

  /// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, good enough for test shapes.
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Uniform in `range` (slightly biased for huge ranges; irrelevant here).
  mutating func int(_ range: ClosedRange<Int>) -> Int {
    let span = UInt64(range.upperBound - range.lowerBound) &+ 1
    if span == 0 { return Int(truncatingIfNeeded: next()) }
    return range.lowerBound + Int(next() % span)
  }

  /// True with probability `p`.
  mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }

  /// Uniform in [0, 1).
  mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

  mutating func pick<T>(_ xs: [T]) -> T { xs[int(0...xs.count - 1)] }

  /// A seed for an independent stream, derived from this one's seed and `parts`.
  static func derive(_ seed: UInt64, _ parts: UInt64...) -> UInt64 {
    var r = StressRandom(seed: seed)
    var x = r.next()
    for p in parts {
      r = StressRandom(seed: x ^ (p &* 0xD6E8_FEB8_6659_FD93))
      x = r.next()
    }
    return x
  }

  /// A stable 64-bit hash of a name (FNV-1a), to give each scenario its own stream.
  static func hash(_ s: String) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
    return h
  }
}
