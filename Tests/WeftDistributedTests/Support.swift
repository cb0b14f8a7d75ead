import Foundation
import Testing
import Weft
@testable import WeftDistributed
import WeftDistributedFixtures

/// Whether the tests run under ThreadSanitizer (Scripts/test.sh sets WEFT_TSAN=1).
let underTSan = ProcessInfo.processInfo.environment["WEFT_TSAN"] != nil

/// The worker executable, next to the test bundle.
let fixturePath: String = {
  let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
  for d in [dir, dir.deletingLastPathComponent()] where FileManager.default.fileExists(atPath: d.appendingPathComponent("weft-distributed-fixture").path) {
    return d.appendingPathComponent("weft-distributed-fixture").path
  }
  return dir.appendingPathComponent("weft-distributed-fixture").path
}()

/// The cluster every test shares: this process (1) and three workers (2, 3, 4), started once.
/// Tests that kill or stop a worker add their own.
let sharedWorkers: [Int] = {
  registerFixtures()
  configureCluster {
    $0.heartbeatInterval = .milliseconds(200)
    $0.heartbeatTimeout = .milliseconds(underTSan ? 3000 : 1000)
    $0.maxMessageBytes = 1 << 20
  }
  return try! addProcs(3, executable: fixturePath)
}()

/// Runs `body` on a fiber of the shared scheduler (the one remote calls are served on), awaited
/// without blocking the test's Swift task, bounded by a watchdog that dumps the scheduler and
/// aborts (never used to synchronise).
func onFiber<R: Sendable>(_ what: String = #function, seconds: Double = 120, _ body: @escaping @Sendable () throws -> R) async throws -> R {
  let watchdog = Watchdog(what, seconds: seconds)
  defer { watchdog.stop() }
  return try await spawn { _ = sharedWorkers; return try body() }.value
}

/// A thread that aborts the test process with a state dump unless stopped in time.
final class Watchdog: @unchecked Sendable {
  // SAFETY: `stopped` is guarded by `condition`.
  private let condition = NSCondition()
  private var stopped = false

  init(_ what: String, seconds: Double) {
    Thread { [self] in
      let deadline = Date().addingTimeInterval(seconds)
      condition.lock()
      while !stopped {
        if !condition.wait(until: deadline) && !stopped {
          FileHandle.standardError.write(Data("WATCHDOG: \(what) made no progress for \(seconds) s\n\(Scheduler.shared.stateDump())\n".utf8))
          abort()
        }
      }
      condition.unlock()
    }.start()
  }

  func stop() {
    condition.lock()
    stopped = true
    condition.broadcast()
    condition.unlock()
  }
}

/// Whether `body` throws an error of type `E` satisfying `check`; records an issue otherwise.
func expectThrows<E: Error>(_ errorType: E.Type, _ check: (E) -> Bool = { _ in true }, sourceLocation: SourceLocation = #_sourceLocation,
                            _ body: () throws -> Void) {
  do {
    try body()
    Issue.record("expected \(E.self), nothing was thrown", sourceLocation: sourceLocation)
  } catch let e as E {
    #expect(check(e), "unexpected \(e)", sourceLocation: sourceLocation)
  } catch {
    Issue.record("expected \(E.self), got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
  }
}
