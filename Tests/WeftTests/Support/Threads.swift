import Foundation

/// Runs `body` on a new Foundation `Thread` (not a Weft worker) and blocks the caller until it
/// returns, handing back its result or error. The join is a semaphore, not a sleep.
func onNewThread<R: Sendable>(_ body: @escaping @Sendable () throws -> R) throws -> R {
  let result = ThreadResult<R>()
  let done = DispatchSemaphore(value: 0)
  let thread = Thread {
    result.set(Result { try body() })
    done.signal()
  }
  thread.stackSize = 4 << 20
  thread.start()
  done.wait()
  return try result.get()
}

final class ThreadResult<R: Sendable>: @unchecked Sendable {
  // SAFETY: written once by the thread before it signals the semaphore the reader waits on.
  private var value: Result<R, any Error>?
  func set(_ r: Result<R, any Error>) { value = r }
  func get() throws -> R { try value!.get() }
}
