/// Y1: a worker's fibers that wait behind everything else it could run — they yielded, or
/// the run-next cap moved them out of the slot — in one FIFO order, kept in two queues:
/// - migratable ones in a work-stealing deque used as a FIFO (the owner pushes at the bottom
///   and takes at the top, as thieves do): the worker may go on to run a fiber that never
///   yields, and another worker must then be able to take them (YieldedStealTests; found
///   by weft-stress timer-storm, where a woken sleeper was stranded behind a spinner);
/// - sticky ones, which only this worker may run, in an owner-only ring, each with the
///   deque's push count at the time it came (its mark): the sticky head is older than the
///   migratable head exactly when every fiber pushed to the deque before it has been taken
///   (`takenAtTop >= mark`), so the two together are one FIFO.
///
/// Owner only, in `Worker.Local`; thieves reach the deque through `Worker.yieldedDeque`.
struct YieldedQueues {
  let migratable: WorkStealingDeque.Owner
  /// Pairs of words: the mark, then the fiber (uncounted, FiberRef O2).
  private var sticky = LocalQueue()

  init(migratable: WorkStealingDeque.Owner) { self.migratable = migratable }

  @inline(__always) mutating func append(_ f: FiberRef, sticky isSticky: Bool) {
    if isSticky {
      sticky.appendWord(UInt(bitPattern: migratable.pushedCount))
      sticky.appendWord(f.bits)
    } else {
      migratable.push(f)
    }
  }

  /// The oldest waiting fiber of either kind.
  @inline(__always) mutating func popFirst() -> FiberRef? {
    if sticky.count > 0 && migratable.takenAtTop >= Int(bitPattern: sticky.firstWord) {
      return popSticky()
    }
    return migratable.takeOldest() ?? popSticky()
  }

  /// Sticky fibers waiting (migratable ones: the deque's `approximateCount`).
  var stickyCount: Int { sticky.count / 2 }

  @inline(__always) private mutating func popSticky() -> FiberRef? {
    guard sticky.count > 0 else { return nil }
    _ = sticky.popFirstWord()
    return FiberRef(bits: sticky.popFirstWord())
  }

  /// At the worker's deinit: drops what is left (the deque drops its own).
  mutating func free() {
    while let f = popSticky() { f.dropRunReference() }  // abandoned at shutdown (FiberRef O1)
    sticky.free()
  }
}
