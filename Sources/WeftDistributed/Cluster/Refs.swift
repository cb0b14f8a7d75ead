// The values this process owns on behalf of remote references (Distributed.jl's
// `PGRP.refs`), and the blocking channel operations in progress here.
//
// Reference counting (Distributed.jl's client sets, as counts):
// - R1: every `Future` or `RemoteChannel` object alive in process P counts once for P in its
//   owner's entry. The object's creator is counted by the call that creates the entry; an
//   object decoded in Q is counted before the bytes leave the sender (`addClient`, awaited
//   while encoding), so the sender's own release can never overtake it.
// - R2: an object's release (its deinit, or its `fetch` having cached the value) subtracts
//   one; it is sent only after the call that created the entry was answered (Releaser).
// - R3: an entry is freed when its counts reach zero, or when the last process counted in it
//   exits (`dropClient`).

import Foundation
import Weft

final class RefTable: Sendable {
  enum Value {
    /// A remote call's result: the fiber computing it, whose result is the encoded value.
    case future(Fiber<Data>)
    /// A remote channel's items, encoded.
    case channel(Channel<Data>)
  }

  struct Entry {
    var value: Value
    var clients: [Int: Int]
  }

  private let table = Locked<[RRID: Entry]>([:])

  /// A new entry counted once for `client` (R1); a second insert of the same id counts again.
  func insert(_ rrid: RRID, _ value: Value, client: Int) {
    table.withLock { t in
      if t[rrid] != nil { t[rrid]!.clients[client, default: 0] += 1 } else { t[rrid] = Entry(value: value, clients: [client: 1]) }
    }
  }

  /// Counts one more object in `client` (R1); throws if the entry is already freed.
  func addClient(_ rrid: RRID, _ client: Int) throws {
    try table.withLock { t in
      guard t[rrid] != nil else { throw DistributedError.freedReference("\(rrid)") }
      t[rrid]!.clients[client, default: 0] += 1
    }
  }

  /// One object fewer in `client` (R2); frees the entry when none is left (R3).
  func release(_ rrid: RRID, _ client: Int) {
    let freed: Entry? = table.withLock { t in
      guard var e = t[rrid], let n = e.clients[client] else { return nil }
      e.clients[client] = n > 1 ? n - 1 : nil
      if e.clients.isEmpty { return t.removeValue(forKey: rrid) }
      t[rrid] = e
      return nil
    }
    _ = freed  // released outside the lock: a channel's deinit may run fiber code
  }

  /// Forgets every object process `client` held (it exited, R3).
  func dropClient(_ client: Int) {
    let freed: [Entry] = table.withLock { t in
      var gone: [Entry] = []
      for (k, var e) in t where e.clients[client] != nil {
        e.clients[client] = nil
        if e.clients.isEmpty { gone.append(t.removeValue(forKey: k)!) } else { t[k] = e }
      }
      return gone
    }
    _ = freed
  }

  func future(_ rrid: RRID) throws -> Fiber<Data> {
    guard case .future(let f)? = table.withLock({ $0[rrid]?.value }) else { throw DistributedError.freedReference("\(rrid)") }
    return f
  }

  func channel(_ rrid: RRID) throws -> Channel<Data> {
    guard case .channel(let c)? = table.withLock({ $0[rrid]?.value }) else { throw DistributedError.freedReference("\(rrid)") }
    return c
  }

  /// The number of live entries (tests and `Distributed` statistics).
  var count: Int { table.withLock { $0.count } }
}

/// Blocking channel operations running here for remote callers, by the caller's operation id,
/// so that a `Cancel` can interrupt them (RemoteChannel, rule C1).
final class OpTable: Sendable {
  private struct State {
    var running: [RRID: AnyFiber] = [:]
    /// Cancels that arrived before their operation (separate HTTP/2 streams are not ordered),
    /// with when they arrived; dropped after a minute.
    var early: [RRID: ContinuousClock.Instant] = [:]
  }
  private let state = Locked(State())

  /// Records `fiber` as running `op`; cancels it at once if its cancel came first.
  func begin(_ op: RRID, _ fiber: AnyFiber) {
    let cancelNow: Bool = state.withLock { s in
      if s.early.removeValue(forKey: op) != nil { return true }
      s.running[op] = fiber
      return false
    }
    if cancelNow { fiber.cancel() }
  }

  /// The operations running now (tests).
  var count: Int { state.withLock { $0.running.count } }

  func end(_ op: RRID) { _ = state.withLock { $0.running.removeValue(forKey: op) } }

  func cancel(_ op: RRID) {
    let fiber: AnyFiber? = state.withLock { s in
      if let f = s.running.removeValue(forKey: op) { return f }
      let now = ContinuousClock.now
      s.early = s.early.filter { now - $0.value < .seconds(60) }
      s.early[op] = now
      return nil
    }
    fiber?.cancel()
  }
}
