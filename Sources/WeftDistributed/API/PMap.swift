// `pmap`: a registered function over a collection, on a set of workers (Distributed.jl's
// `pmap`), results in input order.
//
// Algorithm: the indices wait in a channel; one fiber per worker takes an index, calls the
// function there with `remotecallFetch`, stores the result, and takes the next. A worker that
// exits mid-call gives its item back to the channel when the policy allows a retry (another
// worker's fiber takes it) and its fiber stops; the first error that may not be retried
// closes the channel, lets the calls in flight finish, and is thrown.

import Foundation
import Weft

/// When `pmap` tries an item again (Distributed.jl's `retry_delays` / `retry_check`).
public struct RetryPolicy: Sendable {
  /// Tries per item, the first included (1: no retry).
  public var attempts: Int
  /// Whether an error the function threw (`RemoteError`) is retried too, or only a worker's exit.
  public var retryRemoteErrors: Bool
  /// A policy of `attempts` tries per item.
  public init(attempts: Int, retryRemoteErrors: Bool = false) {
    self.attempts = attempts
    self.retryRemoteErrors = retryRemoteErrors
  }
  /// Each item is tried once: the first failure is thrown.
  public static let none = RetryPolicy(attempts: 1)
  /// An item whose worker exited is tried again on another, up to 3 tries in all.
  public static let onWorkerExit = RetryPolicy(attempts: 3)
}

/// Calls the function registered as `name` on each of `items`, spread over `workers` (all of
/// them by default), and returns the results in the items' order (Distributed.jl's
/// `pmap(f, workerpool, c)`). Parks the calling fiber, never its worker.
/// - Throws: the first `RemoteError` or `ProcessExitedError` that `retry` does not cover
///   (after the calls in flight have finished); `ProcessExitedError` when every worker is
///   gone with items left; `ArgumentError` for an empty worker list or fewer than 1 attempt.
///   Interrupting the calling fiber (`cancel()`, `schedule(_:error:)`) cancels the calls in
///   flight, on their workers too, and throws that interruption.
public func pmap<Item: Encodable & Sendable, Value: Decodable & Sendable>(
  _ name: String, _ items: [Item], on workers: [Int]? = nil, retry: RetryPolicy = .none,
  returning: Value.Type = Value.self
) throws -> [Value] {
  let pool = workers ?? WeftDistributed.workers()
  guard !pool.isEmpty else { throw ArgumentError("pmap: no workers to run on") }
  guard retry.attempts >= 1 else { throw ArgumentError("pmap: a retry policy needs at least 1 attempt, got \(retry.attempts)") }
  if items.isEmpty { return [] }
  let run = PMapRun<Value>(count: items.count, workers: pool.count)
  for i in items.indices { try run.queue.put(PMapJob(index: i, attempt: 1)) }
  // The worker fibers report their end here rather than being fetched: a fetch could run one
  // inline (Completion C4), and this fiber would then not be interruptible until it returned.
  let finished = Channel<Int>(capacity: pool.count)
  let fibers = pool.map { w in
    spawn {
      defer { try? finished.put(w) }
      for job in run.queue {
        if run.stopped { return }  // failed or cancelled: leave the rest
        do {
          run.store(try remotecallFetch(name, on: w, items[job.index], returning: Value.self), at: job.index)
        } catch let e as ProcessExitedError {
          run.retryOrFail(job, e, allowed: job.attempt < retry.attempts)
          run.workerLost(e)
          return
        } catch let e as RemoteError {
          run.retryOrFail(job, e, allowed: retry.retryRemoteErrors && job.attempt < retry.attempts)
        } catch {
          run.retryOrFail(job, error, allowed: false)
        }
      }
    }
  }
  do {
    for _ in fibers { _ = try finished.take() }  // throws only if this fiber is interrupted
  } catch {
    run.fail(error)  // no further item starts; the calls in flight are cancelled with their fibers
    for f in fibers { f.cancel() }
    throw error
  }
  return try run.results()
}

struct PMapJob: Sendable {
  var index: Int
  var attempt: Int
}

/// One `pmap` call's shared state: the queue, the results, the first fatal error.
final class PMapRun<Value: Sendable>: @unchecked Sendable {
  // SAFETY: `state` is `Locked`; `queue` is a Weft channel.
  let queue: Channel<PMapJob>
  private struct State {
    var results: [Value?]
    var left: Int
    var workersLeft: Int
    var failure: (any Error)?
  }
  private let state: Locked<State>

  init(count: Int, workers: Int) {
    queue = Channel(capacity: count)
    state = Locked(State(results: Array(repeating: nil, count: count), left: count, workersLeft: workers))
  }

  func store(_ v: Value, at i: Int) {
    let done: Bool = state.withLock { s in
      s.results[i] = v
      s.left -= 1
      return s.left == 0
    }
    if done { queue.close() }
  }

  func retryOrFail(_ job: PMapJob, _ e: any Error, allowed: Bool) {
    if allowed, (try? queue.put(PMapJob(index: job.index, attempt: job.attempt + 1))) != nil { return }
    fail(e)
  }

  /// A worker's fiber stopped: with none left and items outstanding, the map fails.
  func workerLost(_ e: ProcessExitedError) {
    let none = state.withLock { s in s.workersLeft -= 1; return s.workersLeft == 0 && s.left > 0 }
    if none { fail(ProcessExitedError(worker: e.worker, reason: "every pmap worker has exited (last: \(e.reason))")) }
  }

  /// Whether the map has failed (or was interrupted): no item may start any more.
  var stopped: Bool { state.withLock { $0.failure != nil } }

  func fail(_ e: any Error) {
    state.withLock { s in if s.failure == nil { s.failure = e } }
    queue.close()
  }

  func results() throws -> [Value] {
    try state.withLock { s in
      if let e = s.failure { throw e }
      return s.results.map { $0! }
    }
  }
}
