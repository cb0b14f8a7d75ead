import Testing
@testable import Weft

/// The worker loop's policies on their own (Scheduler/LoopPolicy.swift), with no scheduler:
/// each is a value the loop asks, so each rule is checked here exactly as the loop uses it.
/// (The scheduler-level effects are in FairnessTests, DirectSwitchTests and SchedulerTests.)
@Suite struct LoopPolicyTests {
  @Test func fairnessLooksAtTheSharedQueuesEveryIntervalAlternatingWhichFirst() {
    var tick = FairnessTick()
    var turns: [(Int, FairnessTick.Turn)] = []
    for i in 1...(4 * Int(FairnessTick.interval)) {
      let t = tick.next()
      if t != .localFirst { turns.append((i, t)) }
    }
    let n = Int(FairnessTick.interval)
    #expect(turns.map(\.0) == [n, 2 * n, 3 * n, 4 * n])
    #expect(turns.map(\.1) == [.inboxFirst, .injectorFirst, .inboxFirst, .injectorFirst])
  }

  @Test func runNextIsCappedThenTheStreakStartsOver() {
    var streak = RunNextStreak()
    var admitted: [Bool] = []
    for _ in 0...RunNextStreak.cap { admitted.append(streak.admitFromLoop()) }
    #expect(admitted == Array(repeating: true, count: RunNextStreak.cap) + [false], "the cap lets the queued fibers run")
    #expect(streak.length == 0)
    let again = streak.admitFromLoop()
    #expect(again, "a new streak after the queues had their turn")
  }

  @Test func directSwitchesCountInTheSameStreakAsTheLoop() {
    var streak = RunNextStreak()
    let first = streak.admitFromLoop()
    #expect(first)
    for _ in 1..<RunNextStreak.cap {
      #expect(streak.allowsDirectSwitch(finishing: false))
      streak.countDirectSwitch(finishing: false)
    }
    #expect(!streak.allowsDirectSwitch(finishing: false), "at the cap the switch goes through the loop")
    let fromLoop = streak.admitFromLoop()
    #expect(!fromLoop, "and the loop takes a queued fiber first")
  }

  @Test func aFinishedFibersWaiterStartsANewStreak() {
    var streak = RunNextStreak()
    for _ in 0..<RunNextStreak.cap { streak.countDirectSwitch(finishing: false) }
    #expect(!streak.allowsDirectSwitch(finishing: false))
    #expect(streak.allowsDirectSwitch(finishing: true), "a chain of completions always ends")
    streak.countDirectSwitch(finishing: true)
    #expect(streak.length == 1)
    streak.reset()
    #expect(streak.length == 0)
  }

  @Test(arguments: [2, 3, 4, 16])
  func stealOrderVisitsEveryOtherWorkerOncePerRoundDequesFirst(count: Int) {
    var order = StealOrder(seed: 12345)
    var starts = Set<Int>()
    for me in 0..<count {
      for _ in 0..<20 {
        let visits = order.visits(count: count, me: me)
        #expect(visits.count == 2 * (count - 1))
        let first = visits.prefix(count - 1), second = visits.suffix(count - 1)
        #expect(first.allSatisfy { !$0.includingRunNext }, "run-next slots only in the second round")
        #expect(second.allSatisfy { $0.includingRunNext })
        #expect(Set(first.map(\.victim)) == Set((0..<count).filter { $0 != me }))
        #expect(first.map(\.victim) == second.map(\.victim), "both rounds in the same order")
        starts.insert(visits[0].victim)
      }
    }
    #expect(starts.count == count, "the random start reaches every worker")
  }

  @Test func stealOrderStopsAtTheFirstFindAndAWorkerAloneStealsNothing() {
    var order = StealOrder(seed: 7)
    var seen = 0
    let found = order.forEachVisit(count: 4, me: 0) { _ in seen += 1; return seen == 2 }
    #expect(found && seen == 2)
    let alone = order.visits(count: 1, me: 0)
    #expect(alone.isEmpty)
  }

  @Test func searchSpinsForItsBudgetFromTheFirstEmptyRound() {
    var budget = SearchBudget()
    let t0: UInt64 = 1_000_000
    let due = t0 + SearchBudget.spinNanoseconds
    let answers = [t0, due - 1, due, due + 1].map { budget.keepSearching(now: $0) }
    #expect(answers == [true, true, true, false], "at the deadline one last round (G2), then park")
  }

  /// G2: a search whose rounds are slow reaches its deadline inside the grace; its last round
  /// takes everything, so a lone fiber is never left behind by every search in turn.
  @Test func theGraceNeverOutlastsTheSearch() {
    var budget = SearchBudget()
    let t0: UInt64 = 1_000_000
    let first = budget.keepSearching(now: t0)
    #expect(first && !budget.graceIsOver)
    let second = budget.keepSearching(now: t0 + SearchBudget.spinNanoseconds)  // 2 rounds, long ones
    #expect(second && budget.emptyRounds < SearchBudget.graceRounds)
    #expect(budget.graceIsOver, "the last round has no grace")
    let third = budget.keepSearching(now: t0 + SearchBudget.spinNanoseconds + 1)
    #expect(!third)
  }

  @Test func theStealGraceEndsAfterItsRounds() {
    var budget = SearchBudget()
    var graceOver: [Bool] = [budget.graceIsOver]
    for round in 1...(SearchBudget.graceRounds + 1) {
      _ = budget.keepSearching(now: UInt64(round))
      graceOver.append(budget.graceIsOver)
    }
    let expected = Array(repeating: false, count: SearchBudget.graceRounds) + [true, true]
    #expect(graceOver == expected, "G1: a victim's only fiber is left alone for \(SearchBudget.graceRounds) empty rounds")
  }
}

extension StealOrder {
  /// The visits of one search among `count` workers by worker `me`.
  mutating func visits(count: Int, me: Int) -> [Visit] {
    var out: [Visit] = []
    forEachVisit(count: count, me: me) { out.append($0); return false }
    return out
  }
}
