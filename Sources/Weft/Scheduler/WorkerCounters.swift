/// A worker's event counters, for `Scheduler.metrics` (Docs/Architecture.md, "Metrics").
///
/// Algorithm: per-CPU counters (Linux's `percpu_counter`, Go's per-P `sched` statistics).
/// - M1 single writer: every slot is written only by the worker's own thread, with a relaxed
///   load and a relaxed store of the new value — no read-modify-write instruction, no fence,
///   so an increment on the hot path (spawn, switch, park, wake, steal) costs two `mov`s.
/// - M2 readers on any thread load each slot relaxed and sum over the workers: a snapshot is
///   approximate (slots are read one after another while the workers run), every slot is
///   monotonic except `cachedStacks` (a gauge), and the sum of each slot never goes back.
/// - M3 events that happen off the scheduler's workers (a spawn or a wake from a non-worker
///   thread, or from a worker of another scheduler) are not the hot path: they go to the
///   scheduler's shared `OffWorkerCounters` with a full fetch-and-add.
/// - The block is cache-line aligned (`AtomicBlock(cacheAlignedCount:)`), so the owner's
///   stores never share a line with another worker's words.
///
/// | slot             | written by (M1)                                   | read by (M2)       |
/// |------------------|---------------------------------------------------|--------------------|
/// | spawned          | `Scheduler.submit` on this worker                 | `metrics`          |
/// | started          | `Worker.start` (a fiber gets its stack here)      | `metrics`, L1      |
/// | finished         | `afterSwitch(.finish)` (its stack is given back)  | `metrics`, L1      |
/// | finishedInline   | `runInlineIfPossible` (Completion I1)             | `metrics`          |
/// | parks            | `afterSwitch(.park)`, CAS running → parked won    | `metrics`          |
/// | wakes            | `Scheduler.enqueueWoken` on this worker           | `metrics`          |
/// | directSwitches   | `takeDirectSwitchTarget` (Worker+Switch D1)       | `metrics`          |
/// | stealAttempts    | `Worker.steal` (one sweep over the other workers) | `metrics`          |
/// | steals           | `Worker.steal` (fibers taken from another)        | `metrics`          |
/// | stealBatches     | `Worker.steal` (sweeps that took some: V1)        | tests              |
/// | jobSteals        | `JobQueue.stealJobs` (Swift jobs taken: J8)       | tests              |
/// | sleeps           | `Worker.parkIdle` (the worker slept on its futex) | `metrics`          |
/// | cachedStacks     | after `StackPool.take` / `give` on this worker    | `metrics` (gauge)  |
/// | switches         | `Worker.prepareToRun`, each switch into a fiber (loop or direct) | `LongRunningMonitor` (the switch epoch) |
/// | threadID         | `Worker.run`, once: the kernel thread id          | `LongRunningMonitor` (where to signal)  |
struct WorkerCounters: @unchecked Sendable {
  // SAFETY: the words are only accessed through AtomicWord (M1, M2); freed by the owning
  // worker's deinit.
  enum Slot: Int, CaseIterable {
    case spawned, started, finished, finishedInline, parks, wakes, directSwitches, stealAttempts, steals, stealBatches, jobSteals, sleeps, cachedStacks
    case switches, threadID
  }

  private let words = AtomicBlock(cacheAlignedCount: Slot.allCases.count)

  /// Owner only (M1): adds one.
  @inline(__always) func increment(_ slot: Slot) {
    let w = words[slot.rawValue]
    w.storeRelaxed(w.loadRelaxed() &+ 1)
  }

  /// Owner only (M1): adds `n`.
  @inline(__always) func add(_ slot: Slot, _ n: Int) {
    let w = words[slot.rawValue]
    w.storeRelaxed(w.loadRelaxed() &+ UInt(bitPattern: n))
  }

  /// Owner only (M1): sets a gauge.
  @inline(__always) func store(_ slot: Slot, _ value: Int) {
    words[slot.rawValue].storeRelaxed(UInt(bitPattern: value))
  }

  /// Any thread (M2).
  @inline(__always) func load(_ slot: Slot) -> Int { Int(bitPattern: words[slot.rawValue].loadRelaxed()) }

  func deallocate() { words.deallocate() }
}

/// M3: the scheduler's counters for events that happen off its workers.
struct OffWorkerCounters: @unchecked Sendable {
  // SAFETY: the words are only accessed atomically; freed by the scheduler's deinit.
  enum Slot: Int, CaseIterable { case spawned, wakes }

  private let words = AtomicBlock(cacheAlignedCount: Slot.allCases.count)

  @inline(never) func increment(_ slot: Slot) { words[slot.rawValue].fetchAddFull(1) }
  func load(_ slot: Slot) -> Int { Int(bitPattern: words[slot.rawValue].loadRelaxed()) }
  func deallocate() { words.deallocate() }
}
