/// Thrown by `wait()` and `fetch()` of a fiber whose body threw (Julia's
/// `TaskFailedException`). `fiber.error` is the original error.
public struct TaskFailedError: Error, CustomStringConvertible, @unchecked Sendable {
  // SAFETY: the fiber's error is immutable once the fiber is done.
  public let fiber: AnyFiber
  public var underlying: any Error { fiber.error! }
  public init(fiber: AnyFiber) { self.fiber = fiber }
  public var description: String { "TaskFailedError: \(fiber) failed: nested fiber error: \(underlying)" }
}

/// The errors of several fibers, collected by `sync` (Julia's `CompositeException`).
public struct CompositeError: Error, CustomStringConvertible, @unchecked Sendable {
  // SAFETY: an immutable array of errors that were thrown and are no longer mutated.
  public let errors: [any Error]
  public init(_ errors: [any Error]) { self.errors = errors }
  public var description: String {
    "CompositeError (\(errors.count) error\(errors.count == 1 ? "" : "s")):\n"
      + errors.map { "  \($0)" }.joined(separator: "\n")
  }
}

/// An argument outside what a call accepts (Julia's `ArgumentError`), e.g. a negative sleep.
public struct ArgumentError: Error, CustomStringConvertible, Sendable {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { "ArgumentError: \(message)" }
}

/// An operation on an object in the wrong state (Julia's `InvalidStateException`).
public struct InvalidStateError: Error, CustomStringConvertible, Sendable {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { "InvalidStateError: \(message)" }
}
