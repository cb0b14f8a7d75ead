// The master's heartbeat: every `heartbeatInterval` it pings each worker; one that has not
// answered within `heartbeatTimeout` is reported unresponsive (a stopped — SIGSTOP — or
// overloaded process), and reported again when it answers. A worker that exits is reported
// by its exit (Launcher) or its lost connection, not here.

import Foundation

/// What the master knows of a worker's health.
public enum WorkerHealth: Sendable, Equatable, CustomStringConvertible {
  /// It answered its last heartbeat in time.
  case responsive
  /// Its last heartbeat went unanswered for `heartbeatTimeout` or more.
  case unresponsive
  /// It has left the cluster (exited, was removed, or its connection was lost).
  case exited
  public var description: String {
    switch self { case .responsive: "responsive"; case .unresponsive: "unresponsive"; case .exited: "exited" }
  }
}

final class HealthMonitor: Sendable {
  private struct State {
    var watched: [Int: WorkerHealth] = [:]
    var handlers: [@Sendable (Int, WorkerHealth) -> Void] = []
    var running = false
  }
  private let state = Locked(State())

  func watch(_ id: Int) {
    let start: Bool = state.withLock { s in
      s.watched[id] = .responsive
      defer { s.running = true }
      return !s.running
    }
    if start { Task.detached { await self.run() } }
  }

  func forget(_ id: Int) {
    let known = state.withLock { $0.watched.removeValue(forKey: id) != nil }
    if known { report(id, .exited) }
  }

  func health(_ id: Int) -> WorkerHealth? { state.withLock { $0.watched[id] } }

  func onChange(_ handler: @escaping @Sendable (Int, WorkerHealth) -> Void) {
    state.withLock { $0.handlers.append(handler) }
  }

  private func report(_ id: Int, _ h: WorkerHealth) {
    let handlers = state.withLock { $0.handlers }
    switch h {
    case .unresponsive:
      Cluster.shared.log("worker \(id) has not answered a heartbeat within \(Cluster.shared.options.heartbeatTimeout): stopped (SIGSTOP) or overloaded?")
    case .responsive: Cluster.shared.log("worker \(id) answers its heartbeat again")
    case .exited: break
    }
    for f in handlers { f(id, h) }
  }

  private func run() async {
    let cluster = Cluster.shared
    while true {
      let o = cluster.options
      try? await Task.sleep(for: o.heartbeatInterval)  // the heartbeat's period, not a synchronisation
      let ids = state.withLock { Array($0.watched.keys) }
      await withTaskGroup(of: Void.self) { group in
        for id in ids {
          group.addTask {
            guard let p = try? cluster.peer(id) else { return }
            let ok: Bool
            do {
              _ = try await p.call(Methods.ping, Empty(), timeout: o.heartbeatTimeout, maxMessageBytes: o.maxMessageBytes)
              ok = true
            } catch is ProcessExitedError { return } catch { ok = false }
            let changed: Bool = self.state.withLock { s in
              guard let old = s.watched[id] else { return false }
              s.watched[id] = ok ? .responsive : .unresponsive
              return old != s.watched[id]
            }
            if changed { self.report(id, ok ? .responsive : .unresponsive) }
          }
        }
      }
    }
  }
}
