// Async code awaiting a fiber: `try await fiber.value`, `await fiber.result`.
//
// The awaiting Swift task suspends on a continuation that the fiber's completion resumes
// (an `onCompletion` hook, Completion.swift): no thread blocks, no fiber parks. A fiber that
// is already done answers at once, without suspending.
//
// Cancellation rule (A1): cancelling the Swift task that awaits a fiber cancels the fiber
// (`AnyFiber.cancel()`: its current or next interruptible wait throws `CancellationError`)
// and the await goes on waiting for the fiber to finish, then returns its outcome — as
// `Task.value` does for a cancelled child. Every awaiter cancels: a fiber awaited by several
// tasks is cancelled when any of them is. A fiber that never waits, or that catches the
// `CancellationError`, keeps its awaiter waiting until it ends.
//
// A2: the continuation is resumed exactly once (Completion C5): at once when the fiber is
// already done, else by the finishing fiber after its waiters are woken.

extension AnyFiber {
  /// Suspends the calling task until this fiber is done; cancelling the task cancels the
  /// fiber (A1). Returns at once if it is done.
  @usableFromInline
  nonisolated(nonsending) func awaitDone() async {
    if state.loadAcquire() == FiberState.done { return }  // acquire: pairs with C1's release
    await withTaskCancellationHandler {
      await withUnsafeContinuation { (c: UnsafeContinuation<Void, Never>) in
        resumeWhenDone(c)  // A2
      }
    } onCancel: {
      self.cancel()  // A1
    }
  }
}

extension Fiber {
  /// The fiber's result, awaited from async code without blocking a thread (Swift's
  /// `Task.value`): suspends the calling task until the fiber finishes.
  ///
  /// - **Blocks**: nothing: the task suspends and is resumed by the fiber's completion (at
  ///   once when the fiber is already done).
  /// - **Cancellation**: cancelling the awaiting task cancels the fiber (`cancel()`), and the
  ///   await still returns the fiber's outcome once it has finished (Docs/Semantics.md).
  /// - **Ordering**: everything the fiber did happens-before the await returns.
  /// - Throws: `TaskFailedError` wrapping this fiber if its body threw (as `fetch()` does).
  /// - **Julia**: `fetch(t)` from async Swift code.
  @inlinable
  public var value: Result {
    get async throws {
      await awaitDone()
      return try fetch()  // done: returns or throws without waiting (C1)
    }
  }

  /// The fiber's outcome as a Swift `Result`, awaited like `value` (same cancellation rule):
  /// `.success` with the body's value, or `.failure` with its `TaskFailedError`.
  @inlinable
  public var result: Swift.Result<Result, any Error> {
    get async {
      await awaitDone()
      do { return .success(try fetch()) } catch { return .failure(error) }
    }
  }
}

extension Fiber {
  /// The fiber's outcome, awaited without cancelling it: cancelling the awaiting task ends
  /// the await at once with nil, and the fiber goes on (unlike `result`, rule A1). For
  /// WeftDistributed's `Fetch`, whose caller giving up (a timeout) must not cancel a value
  /// other processes may still fetch.
  @_spi(WeftDistributed)
  public func resultUnlessCancelled() async -> Swift.Result<Result, any Error>? {
    if !isDone {
      let once = ResumeOnce()
      await withTaskCancellationHandler {
        await withUnsafeContinuation { (c: UnsafeContinuation<Void, Never>) in
          once.arm(c)
          onCompletion { _ in once.resume() }
        }
      } onCancel: {
        once.resume()
      }
      if !isDone { return nil }  // cancelled first
    }
    do { return .success(try fetch()) } catch { return .failure(error) }
  }
}

/// A continuation resumed by the first of several parties (completion, cancellation), once;
/// a resume that comes before `arm` is kept and delivered by it.
final class ResumeOnce: @unchecked Sendable {
  // SAFETY: `continuation` and `fired` are guarded by the lock.
  private let words = AtomicBlock(count: 1)
  private var lock: FutexLock { FutexLock(words[0]) }
  private var continuation: UnsafeContinuation<Void, Never>?
  private var fired = false

  deinit { words.deallocate() }

  func arm(_ c: UnsafeContinuation<Void, Never>) {
    lock.lock()
    if fired { lock.unlock(); c.resume(); return }
    continuation = c
    lock.unlock()
  }

  func resume() {
    lock.lock()
    if fired { lock.unlock(); return }
    fired = true
    let c = continuation.take()
    lock.unlock()
    c?.resume()
  }
}
