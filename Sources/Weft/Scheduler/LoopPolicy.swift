// The worker loop's policies, each in one place and each a plain value a test can drive on
// its own (Tests/WeftTests/Scheduler/LoopPolicyTests.swift). The loop (Worker.swift) and
// the direct switch (Worker+Switch.swift) only ask them.
//
// | policy            | type            | asked by                                           |
// |-------------------|-----------------|----------------------------------------------------|
// | fairness check    | FairnessTick    | `Worker.findLocalWork`, every loop turn            |
// | run-next cap      | RunNextStreak   | `findLocalWork` and `takeDirectSwitchTarget`       |
// | steal order       | StealOrder      | `Worker.steal`                                     |
// | search, then park | SearchBudget    | `Worker.searchForWork` (its steal grace: `steal`)  |
// | the timer role    | Timers (T2)     | `Worker.parkIdle` (Timers.swift holds the rule)    |

/// Go's fairness rule: every `interval`-th loop turn looks at the shared queues (the pool's
/// injector and this worker's sticky inbox) before the local ones, so that a worker whose
/// local queues never empty still takes injected and sticky work. Which of the two goes first
/// alternates, so that a busy inbox cannot starve the injector, nor a busy injector the inbox.
struct FairnessTick {
  static let interval: UInt = 61
  private(set) var tick: UInt = 0

  enum Turn: Equatable { case localFirst, injectorFirst, inboxFirst }

  /// Counts one loop turn and says which queues it looks at first.
  @inline(__always) mutating func next() -> Turn {
    tick &+= 1
    guard tick % FairnessTick.interval == 0 else { return .localFirst }
    return (tick / FairnessTick.interval) & 1 == 0 ? .injectorFirst : .inboxFirst
  }
}

/// The run-next cap: a fiber woken by the running one runs next (the run-next slot, a direct
/// switch), but at most `cap` times in a row; the next pick goes through the queues, so two
/// fibers handing off to each other cannot starve the rest. The loop and the direct switch
/// count in one streak (Worker+Switch D1). A finished fiber's waiter starts a new streak: a
/// chain of completions always ends, only hand-offs that park can go on for ever.
struct RunNextStreak {
  static let cap = 3
  private(set) var length = 0

  /// A run-next fiber is about to run from the loop: true to run it, false when the cap is
  /// reached (the caller queues it behind the rest; the streak starts over).
  @inline(__always) mutating func admitFromLoop() -> Bool {
    if length < RunNextStreak.cap { length += 1; return true }
    length = 0
    return false
  }

  /// Whether a direct switch may take the run-next fiber now.
  @inline(__always) func allowsDirectSwitch(finishing: Bool) -> Bool {
    finishing || length < RunNextStreak.cap
  }

  /// A direct switch took the run-next fiber.
  @inline(__always) mutating func countDirectSwitch(finishing: Bool) {
    length = finishing ? 1 : length + 1
  }

  /// Something other than a run-next hand-off ran (a queued fiber, a finish).
  @inline(__always) mutating func reset() { length = 0 }
}

/// The order in which a searching worker visits the others: from a random start (xorshift64,
/// per worker), every other worker once per round, two rounds; the first round takes only
/// deques, the second also the victims' run-next slots (a fiber there was just woken for
/// its worker's cache; take it only when nothing else is found). Tokio and Go steal in
/// the same order.
struct StealOrder {
  private(set) var randomState: UInt64

  init(seed: UInt64) { randomState = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }

  struct Visit: Equatable {
    let victim: Int
    let includingRunNext: Bool
  }

  /// Calls `body` for each visit until it returns true; returns whether it did. Allocates
  /// nothing (the search path runs it on every attempt).
  @inline(__always) @discardableResult
  mutating func forEachVisit(count n: Int, me: Int, _ body: (Visit) -> Bool) -> Bool {
    guard n > 1 else { return false }
    var r = randomState  // xorshift64
    r ^= r << 13
    r ^= r >> 7
    r ^= r << 17
    randomState = r
    let start = Int(r % UInt64(n))
    for round in 0..<2 {
      for k in 0..<n {
        let victim = (start + k) % n
        if victim == me { continue }
        if body(Visit(victim: victim, includingRunNext: round == 1)) { return true }
      }
    }
    return false
  }
}

/// How long a worker that found nothing keeps searching before it parks (bounded spinning,
/// DESIGN.md; Go spins a few µs too): `spinNanoseconds` from the first empty round.
///
/// - G1 (a busy worker's next fiber): for its first `graceRounds` empty rounds, a searcher
///   leaves a victim's deque alone while it holds a single fiber. That fiber is almost always
///   the one its worker runs next: a child just spawned by a fiber that is about to finish or
///   wait (each link of a chain of spawns), which runs there on warm caches a few hundred
///   nanoseconds later. Taken at once, it moved every other link of chained_spawn to the
///   other worker, cache-cold, and the worker left behind slept and was woken again (99,853
///   steals and 6,569 sleeps per 200,000 links; Docs/Benchmarks.md, step 8). After the grace
///   (~1–2 µs per round: a sweep, 64 pauses and a `sched_yield`, Worker W5) the fiber is
///   taken as before, so a fiber queued behind a long-running one waits a few microseconds
///   at most. Go's `runqgrab` waits 3 µs before it takes a running P's `runnext` for the
///   same reason. Deques with more fibers, where the oldest is the big half of a fork–join
///   split, are stolen from at once.
///
/// - G2: the grace never outlasts the search. Rounds can be long (a searcher sharing a busy
///   CPU gets one per time slice of the others, Worker W5), so a search may reach its deadline
///   in fewer rounds than the grace; it then makes one last round with no grace before it
///   parks. Without it, a worker that found a lone fiber in a deque went round for ever: each
///   search ended inside the grace, and parking saw the fiber and searched again.
struct SearchBudget {
  static let spinNanoseconds: UInt64 = 20_000
  /// G1: empty rounds before a searcher takes a victim's only queued fiber.
  static let graceRounds = 4
  private var deadline: UInt64 = 0
  private(set) var emptyRounds = 0
  /// G2: the deadline has passed; the next round is the last one.
  private var lastRound = false

  /// After an empty round at `now`: true while the search should go on.
  @inline(__always) mutating func keepSearching(now: UInt64) -> Bool {
    if lastRound { return false }
    emptyRounds &+= 1
    if deadline == 0 { deadline = now &+ SearchBudget.spinNanoseconds; return true }
    if now >= deadline { lastRound = true }  // G2: one more round, with no grace
    return true
  }

  /// G1, G2: whether the searcher may take a victim's only queued fiber now.
  @inline(__always) var graceIsOver: Bool { lastRound || emptyRounds >= SearchBudget.graceRounds }
}
