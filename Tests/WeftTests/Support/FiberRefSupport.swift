@testable import Weft

// The queue stress tests drive deques, inboxes and run-next slots directly with fibers that a
// ledger keeps alive (never submitted, so without a run reference): these overloads let them
// pass and compare `AnyFiber`s where the queues take and return uncounted `FiberRef`s.

extension WorkStealingDeque.Owner {
  func push(_ f: AnyFiber) { push(FiberRef(f)) }
}

extension StickyInbox.Producer {
  func push(_ f: AnyFiber) { push(FiberRef(f)) }
}

extension Worker {
  func pushRunNext(_ f: AnyFiber) { pushRunNext(FiberRef(f)) }
}

extension FiberLedger {
  @discardableResult func take(_ r: FiberRef) -> Int { take(r.fiber) }
}

extension FiberRef {
  var inboxNext: UInt { fiber.inboxNext }
}

func === (a: FiberRef?, b: AnyFiber) -> Bool { a == FiberRef(b) }
func !== (a: FiberRef, b: AnyFiber) -> Bool { a != FiberRef(b) }
