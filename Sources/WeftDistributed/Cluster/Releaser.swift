// The client side of reference counting: releases of dropped `Future`s and `RemoteChannel`s,
// sent to their owners in batches, after the call that created each one was answered (R2).
//
// A deinit never blocks: it hands the release to a Swift task. One drainer task per owner
// sends what has gathered in one `Release` message, then looks again. `flush()` waits until
// every release handed over so far has been sent (tests count the owner's entries after it).

import Foundation

final class Releaser: Sendable {
  private struct State {
    var queued: [Int: [RRID]] = [:]
    var draining: Set<Int> = []
    /// Releases handed over and not yet sent.
    var outstanding = 0
    var flushWaiters: [CheckedContinuation<Void, Never>] = []
  }
  private let state = Locked(State())

  /// Releases one object's count on `owner`, once `created` (the call that made the entry)
  /// has been answered.
  func release(_ rrid: RRID, owner: Int, after created: Task<Void, any Error>?) {
    let cluster = Cluster.shared
    if owner == cluster.myID, created == nil { cluster.refs.release(rrid, cluster.myID); return }
    state.withLock { $0.outstanding += 1 }
    Task.detached {
      _ = await created?.result
      self.enqueue(rrid, owner: owner)
    }
  }

  private func enqueue(_ rrid: RRID, owner: Int) {
    let start: Bool = state.withLock { s in
      s.queued[owner, default: []].append(rrid)
      return s.draining.insert(owner).inserted
    }
    if start { Task.detached { await self.drain(owner) } }
  }

  private func drain(_ owner: Int) async {
    let cluster = Cluster.shared
    while true {
      let batch: [RRID] = state.withLock { s in
        let b = s.queued.removeValue(forKey: owner) ?? []
        if b.isEmpty { s.draining.remove(owner) }
        return b
      }
      if batch.isEmpty { return }
      let me = cluster.myID
      if owner == me {
        for r in batch { cluster.refs.release(r, me) }
      } else if let p = try? cluster.peer(owner) {
        // A failed release (the owner exited) has nothing left to free.
        _ = try? await p.call(Methods.release, ReleaseRequest(client: me, rrids: batch), maxMessageBytes: cluster.options.maxMessageBytes)
      }
      let waiters: [CheckedContinuation<Void, Never>] = state.withLock { s in
        s.outstanding -= batch.count
        guard s.outstanding == 0 else { return [] }
        defer { s.flushWaiters = [] }
        return s.flushWaiters
      }
      for w in waiters { w.resume() }
    }
  }

  /// Returns once every release handed over before the call has been sent and answered.
  func flush() async {
    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
      let now: Bool = state.withLock { s in
        if s.outstanding == 0 { return true }
        s.flushWaiters.append(c)
        return false
      }
      if now { c.resume() }
    }
  }
}
